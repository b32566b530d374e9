"""A segmentation version's answer at the request's size, in bands of rows: each pixel's class and its probability,
equal to the argmax and max of `tf.image.resize(probabilities, [height, width], "bilinear")` without ever holding
that [height, width, classes] float32 tensor (1.4 GB for 21 classes at 4096 x 4096, the serving limit).

TensorFlow's ResizeBilinear (half-pixel centres, what tf.image.resize uses) computes each output pixel from two
input rows and two input columns: first along the row, top = tl + (tr - tl) * x_lerp (and bottom alike), then
top + (bottom - top) * y_lerp. A band of output rows therefore needs only the input rows its pixels fall between:
those are resized along the width alone (a resize to the same height is the identity on rows: scale 1, y_lerp 0,
so each value is `top` to the bit), and the vertical step is done here with the kernel's own weights and formula,
in float32. tests/test_serving_masks.py checks the classes and scores are the resize's, bit for bit.
"""

import tensorflow as tf

# Output pixels a band holds: its working set is a few times pixels x classes x 4 bytes (about 24 MB for 21
# classes); larger bands gain nothing measurable and smaller ones loop more.
BAND_PIXELS = 2**16


def upsampled_masks(probabilities, sizes, class_dtype=tf.int32, fill=-1):
    """probabilities float32 [batch, h, w, classes] (at the model's size), sizes int32 [batch, 2] (each image's
    height and width) -> (classes [batch, H, W] of `class_dtype`, scores float32 [batch, H, W]), H and W the
    largest height and width: each image's best class and its probability in the bilinear upsampling to its own
    size, as argmax and reduce_max of tf.image.resize give them, padded beyond that size with class `fill` and
    score 0.

    Every band of every image, padding included, goes into one TensorArray, concatenated once at the end: the
    answer is held twice only for that moment, and never a third time (a map over the images would stack their
    masks again, a where would rewrite the padding). A `class_dtype` of one byte (int8 where the classes and
    `fill` fit) makes that moment 5 bytes a pixel instead of 8."""
    largest = tf.reduce_max(sizes, axis=0)
    height, width = largest[0], largest[1]
    band = tf.maximum(BAND_PIXELS // width, 1)
    per_image = (height + band - 1) // band
    count = tf.shape(probabilities)[0] * per_image

    def one_band(k):
        image, start = k // per_image, k % per_image * band
        stop = tf.minimum(start + band, height)
        own_height, own_width = sizes[image, 0], sizes[image, 1]
        inside = tf.maximum(tf.minimum(stop, own_height) - start, 0)  # the band's rows that are the image's
        classes, scores = tf.cond(
            inside > 0,
            lambda: _band(probabilities[image], tf.range(start, start + inside), own_height, own_width),
            lambda: (tf.zeros([0, own_width], tf.int32), tf.zeros([0, own_width])),
        )
        pad = [[0, stop - start - inside], [0, width - own_width]]
        return tf.pad(tf.cast(classes, class_dtype), pad, constant_values=fill), tf.pad(scores, pad)

    classes = tf.TensorArray(class_dtype, size=count, infer_shape=False, element_shape=[None, None])
    scores = tf.TensorArray(tf.float32, size=count, infer_shape=False, element_shape=[None, None])

    def step(k, classes, scores):
        c, s = one_band(k)
        return k + 1, classes.write(k, c), scores.write(k, s)

    # One band at a time: ten in flight (the default) would hold ten working sets.
    _, classes, scores = tf.while_loop(lambda k, *_: k < count, step, (0, classes, scores), parallel_iterations=1)
    shape = tf.stack([-1, height, width])
    return tf.reshape(classes.concat(), shape), tf.reshape(scores.concat(), shape)


def _band(probabilities, rows, height, width):
    """The output `rows` (consecutive) of one image upsampled to height x width: (argmax int32 [rows, width], max
    float32 [rows, width]) over the classes."""
    lower, upper, lerp = _rows(tf.shape(probabilities)[0], height, rows)
    first = lower[0]
    needed = probabilities[first : upper[-1] + 1]
    along = tf.image.resize(needed, tf.stack([tf.shape(needed)[0], width]), method="bilinear")
    top, bottom = tf.gather(along, lower - first), tf.gather(along, upper - first)
    values = top + (bottom - top) * lerp[:, tf.newaxis, tf.newaxis]
    return tf.argmax(values, -1, output_type=tf.int32), tf.reduce_max(values, -1)


def _rows(in_size, out_size, rows):
    """ResizeBilinear's vertical weights with half-pixel centres (tensorflow/core/kernels/image/
    resize_bilinear_op.cc, compute_interpolation_weights): for each of the output `rows`, the input rows below and
    above and the weight of the upper."""
    scale = tf.cast(in_size, tf.float32) / tf.cast(out_size, tf.float32)
    position = (tf.cast(rows, tf.float32) + 0.5) * scale - 0.5
    floor = tf.floor(position)
    lower = tf.maximum(tf.cast(floor, tf.int32), 0)
    upper = tf.minimum(tf.cast(tf.math.ceil(position), tf.int32), in_size - 1)
    return lower, upper, position - floor
