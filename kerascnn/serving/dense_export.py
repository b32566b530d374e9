"""The SavedModel of a segmentation model, for TF Serving (export.py does the classifiers').

- `serving_default` takes `images`, uint8 [batch, height, width, channels] of any size, and returns `classes`
  (int32 [batch, height, width]: each pixel's class, at the input's own size), `scores` (float32, the winning
  probability of each pixel) and `class_names` (string [batch, classes]: the names of the class indices);
- `serving_bytes` takes `image_bytes`, encoded images [batch], and returns the same and `mask_png` (each image's
  class map as an 8-bit gray PNG, what a REST client saves as it is). Images of different sizes in one request
  have their `classes` padded to the largest with -1 (and `scores` with 0); `mask_png` is each image's own size.
  A batch whose padded masks would be over the batch's pixel limit is refused.
The masks are built a band of rows at a time (kerascnn.serving.masks), equal to resizing the probabilities whole
and taking each pixel's best, without holding [height, width, classes] floats (docs/serving.md measures it).
The resize to the model's input and back run inside the graph, as in the evaluator
(segmentation.predict_classes); the folder loads with plain TensorFlow.
"""

import tensorflow as tf

from kerascnn.data.dense import eval_image
from kerascnn.data.transforms import decode_image
from kerascnn.serving import guard as serving_guard
from kerascnn.serving.export import inference_function, write_archive
from kerascnn.serving.masks import upsampled_masks
from kerascnn.serving.transforms import serving_limits


def write_segmentation_saved_model(
    model, folder, *, class_names, data_config, model_name, warmup_image=None, max_pixels=None, max_batch_pixels=None
):
    """Exports a segmentation `model` (kerascnn.training.models.serving_model's) with the two signatures, labels,
    warm-up requests and the serving limits. Requests go through the classifiers' guard first
    (kerascnn.serving.guard): images over `max_pixels` each or `max_batch_pixels` together (default
    data.max_image_pixels), and encoded images whose header is not one of its formats, are refused before anything
    is decoded."""
    max_pixels, max_batch_pixels = serving_limits(data_config, max_pixels, max_batch_pixels)
    size, _, channels = model.input_shape[1:]
    names = tf.constant(list(class_names))

    forward = inference_function(model)
    # Each pixel's class is held in one byte while the masks are built, where the classes and the padding's -1 fit,
    # and widened to int32 once, for the whole batch: masks.upsampled_masks says why.
    compact = tf.int8 if len(class_names) <= 127 else tf.int32

    def answer(inputs, sizes):
        classes, scores = upsampled_masks(tf.cast(forward(inputs), tf.float32), sizes, compact)
        return classes, scores, tf.tile(names[tf.newaxis], [tf.shape(classes)[0], 1])

    @tf.function(input_signature=[tf.TensorSpec([None, None, None, None], tf.uint8, name="images")])
    def serve_images(images):
        images = serving_guard.checked_images(images, max_pixels, max_batch_pixels)
        sizes = tf.tile(tf.shape(images)[tf.newaxis, 1:3], [tf.shape(images)[0], 1])
        classes, scores, class_names = answer(eval_image(images, size, channels, data_config), sizes)
        return {"classes": tf.cast(classes, tf.int32), "scores": scores, "class_names": class_names}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="image_bytes")])
    def serve_bytes(image_bytes):
        def load(encoded):
            image = decode_image(encoded, channels)
            return eval_image(image, size, channels, data_config), tf.shape(image)[:2]

        inputs, sizes = tf.map_fn(
            load,
            serving_guard.checked_batch(image_bytes, max_pixels, max_batch_pixels),
            fn_output_signature=(tf.TensorSpec([size, size, channels], tf.float32), tf.TensorSpec([2], tf.int32)),
        )
        # The answer is every image's mask padded to the largest height and width: refused if that is over the
        # batch's limit, which the images' own sizes (1 x 8M and 8M x 1 pass) do not bound.
        with tf.control_dependencies([serving_guard.padded_batch_check(sizes, max_batch_pixels)]):
            classes, scores, class_names = answer(inputs, sizes)

        def png(i):
            own = classes[i, : sizes[i, 0], : sizes[i, 1], tf.newaxis]
            return tf.io.encode_png(tf.cast(own, tf.uint8))

        masks = tf.map_fn(png, tf.range(tf.shape(classes)[0]), fn_output_signature=tf.string)
        classes = tf.cast(classes, tf.int32)
        return {"classes": classes, "scores": scores, "class_names": class_names, "mask_png": masks}

    write_archive(
        model,
        folder,
        {"serving_default": serve_images, "serving_bytes": serve_bytes},
        class_names=class_names,
        model_name=model_name,
        limits={"max_image_pixels": max_pixels, "max_batch_pixels": max_batch_pixels},
        warmup_image=warmup_image,
    )
