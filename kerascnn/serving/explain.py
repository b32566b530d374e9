"""The served `explain` signatures: Grad-CAM in the SavedModel, so that TF Serving answers "why" with no code of
ours.

- `explain` takes `images` as `serving_default` does (uint8 [batch, height, width, channels], through the same
  request guard and evaluation transform) and explains each image's top-1 class;
- `explain_class` takes the same `images` and `class_index` (int32 [batch]; -1: the top-1) to explain another.
A SavedModel signature has no optional input, hence the two. Both return `probabilities` (float32 [batch,
classes]), the explained `class_index` (int32 [batch]) and `heatmap`, float32 [batch, height, width] in [0, 1] at
the request image's size: kerascnn.analysis.grad_cam of the model's input, placed back where the evaluation
transform took it from (its centre crop of the image resized by the shorter side), zero outside the crop.

The gradient is computed in the served graph; the explain functions read the model's variables (the archive then
keeps them beside the constant-weight forward pass of the other signatures), so the graph holds the weights once
as constants, not twice.
"""

import tensorflow as tf

from kerascnn.analysis.attribution import grad_cam_maps, targets


def explain_endpoints(model, preprocess_images, resize, pad=0):
    """{signature name: tf.function} for `model` (serving_model's, a classifier) whose images
    `preprocess_images` (the serving transform) resizes by the shorter side to `resize` before its centre crop,
    then frames with `pad` pixels (DataConfig.pad): the frame's part of the map is no part of the image."""
    size = model.input_shape[1]
    images_spec = tf.TensorSpec([None, None, None, None], tf.uint8, name="images")

    def explain_batch(images, class_index):
        inputs = preprocess_images(images)
        probabilities = tf.cast(model(inputs, training=False), tf.float32)
        classes, _ = targets(probabilities, class_index)  # the top-1 of the probabilities is the scores' top-1
        cams = grad_cam_maps(model, inputs, classes)[:, pad : size - pad, pad : size - pad]
        heatmap = place_back(cams, tf.shape(images)[1], tf.shape(images)[2], size - 2 * pad, resize)
        return {"probabilities": probabilities, "class_index": tf.cast(classes, tf.int32), "heatmap": heatmap}

    @tf.function(input_signature=[images_spec])
    def explain(images):
        return explain_batch(images, None)

    @tf.function(input_signature=[images_spec, tf.TensorSpec([None], tf.int32, name="class_index")])
    def explain_class(images, class_index):
        return explain_batch(images, class_index)

    return {"explain": explain, "explain_class": explain_class}


def place_back(cams, height, width, size, resize):
    """[N, size, size] maps of the centre crop -> [N, height, width]: the crop's region of an image whose shorter
    side was resized to `resize` (kerascnn.data.transforms.eval_transform), bilinear, zeros outside."""
    short = tf.minimum(height, width)
    scale = tf.cast(resize, tf.float64) / tf.cast(short, tf.float64)
    resized_h = tf.where(height == short, resize, tf.cast(tf.cast(height, tf.float64) * scale, tf.int32))
    resized_w = tf.where(width == short, resize, tf.cast(tf.cast(width, tf.float64) * scale, tf.int32))
    back = lambda pixels: tf.cast(tf.round(tf.cast(pixels, tf.float64) / scale), tf.int32)  # noqa: E731
    side, top, left = back(size), back((resized_h - size) // 2), back((resized_w - size) // 2)
    side_h, side_w = tf.minimum(side, height - top), tf.minimum(side, width - left)
    maps = tf.image.resize(cams[..., None], tf.stack([side_h, side_w]), method="bilinear")[..., 0]
    return tf.pad(maps, [[0, 0], [top, height - side_h - top], [left, width - side_w - left]])
