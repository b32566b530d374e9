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


def upsampled_classes(probabilities, size, class_dtype=tf.int32):
    """probabilities float32 [h, w, classes] (one image, at the model's size), size int32 [2] (height, width) ->
    (classes [height, width] of `class_dtype`, scores float32 [height, width]): each pixel's best class and its
    probability in the bilinear upsampling, as argmax and reduce_max of tf.image.resize would give them.

    The bands are gathered in a TensorArray and concatenated, so the answer is held twice for a moment: uint8
    classes (where the classes fit) make that 5 bytes a pixel instead of 8."""
    in_height = tf.shape(probabilities)[0]
    height, width = size[0], size[1]
    band = tf.maximum(BAND_PIXELS // width, 1)
    lower, upper, lerp = _rows(in_height, height)

    def one_band(start):
        rows = tf.range(start, tf.minimum(start + band, height))
        low, high = tf.gather(lower, rows), tf.gather(upper, rows)
        first = low[0]
        needed = tf.gather(probabilities, tf.range(first, high[-1] + 1))
        along = tf.image.resize(needed, tf.stack([tf.shape(needed)[0], width]), method="bilinear")
        top, bottom = tf.gather(along, low - first), tf.gather(along, high - first)
        values = top + (bottom - top) * tf.gather(lerp, rows)[:, tf.newaxis, tf.newaxis]
        return tf.argmax(values, -1, output_type=tf.int32), tf.reduce_max(values, -1)

    count = (height + band - 1) // band
    classes = tf.TensorArray(class_dtype, size=count, infer_shape=False, element_shape=[None, None])
    scores = tf.TensorArray(tf.float32, size=count, infer_shape=False, element_shape=[None, None])

    def step(i, classes, scores):
        c, s = one_band(i * band)
        return i + 1, classes.write(i, tf.cast(c, class_dtype)), scores.write(i, s)

    # One band at a time: ten in flight (the default) would hold ten working sets.
    _, classes, scores = tf.while_loop(lambda i, *_: i < count, step, (0, classes, scores), parallel_iterations=1)
    return tf.reshape(classes.concat(), size), tf.reshape(scores.concat(), size)


def _rows(in_size, out_size):
    """ResizeBilinear's vertical weights with half-pixel centres (tensorflow/core/kernels/image/
    resize_bilinear_op.cc, compute_interpolation_weights): for each output row, the input rows below and above
    and the weight of the upper."""
    scale = tf.cast(in_size, tf.float32) / tf.cast(out_size, tf.float32)
    position = (tf.cast(tf.range(out_size), tf.float32) + 0.5) * scale - 0.5
    floor = tf.floor(position)
    lower = tf.maximum(tf.cast(floor, tf.int32), 0)
    upper = tf.minimum(tf.cast(tf.math.ceil(position), tf.int32), in_size - 1)
    return lower, upper, position - floor
