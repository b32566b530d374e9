"""What a served classifier does to a request before the model: the evaluation transform of the training
pipeline (kerascnn.data.transforms), batched, behind the guard (kerascnn.serving.guard), in TensorFlow ops only so
that the SavedModel runs it with no Python of ours."""

import tensorflow as tf

from kerascnn.data.transforms import decode_image, eval_transform
from kerascnn.serving import guard


def serving_transform(images, image_size, channels, config, *, max_pixels=None, max_batch_pixels=None):
    """What an exported model does to its `images` input: uint8 [B, H, W, C] of any H, W and C of 1 to 4 -> float32
    [B, S, S, channels], equal to `eval_transform` of each image (tests/test_data_transforms.py checks this).
    Refused in the graph (guard.checked_images): a zero side, another channel count, more than
    `max_pixels` pixels an image or `max_batch_pixels` a batch (both default to config.max_image_pixels)."""
    images = tf.convert_to_tensor(images)
    if images.shape.rank != 4:
        raise ValueError(f"serving_transform takes a batch [batch, height, width, channels], got {images.shape}.")
    max_pixels, max_batch_pixels = serving_limits(config, max_pixels, max_batch_pixels)
    images = guard.checked_images(images, max_pixels, max_batch_pixels)
    outputs = eval_transform(images, image_size, channels, config)
    return tf.ensure_shape(outputs, [None, image_size, image_size, channels])


# The default limit of a served image, in declared pixels: 4096 x 4096. A server's memory for one request is
# about 8 bytes a pixel at most (a 16-bit RGBA PNG decoded), so this bounds it near 150 MB (tests/faults measures
# each format at it); it takes any phone camera's photo in its default mode (12 MP, 4032 x 3024) whole, and a
# classifier of 224 x 224 gains nothing from more: a client sends anything larger reduced. Pillow's desktop limit
# (data.max_image_pixels, 89 M) would let one request of 252 KB cost 1.2 GB.
SERVING_MAX_PIXELS = 4096 * 4096


def serving_limits(config, max_pixels=None, max_batch_pixels=None):
    """(pixels an image, pixels a batch) a serving graph accepts: by default SERVING_MAX_PIXELS (or the data
    config's max_image_pixels, where lower) for both, so a whole request costs at most what one largest image
    may."""
    max_pixels = max_pixels or min(SERVING_MAX_PIXELS, config.max_image_pixels)
    return max_pixels, max_batch_pixels or max_pixels


def serving_transform_bytes(encoded, image_size, channels, config, *, max_pixels=None, max_batch_pixels=None):
    """A batch of encoded images [B] (each its own size) -> float32 [B, S, S, channels], for a bytes signature.
    Every header is read and checked first (guard.checked_batch: format, truncation, zero sides,
    `max_pixels` an image and `max_batch_pixels` the batch), then the images are decoded one by one."""
    max_pixels, max_batch_pixels = serving_limits(config, max_pixels, max_batch_pixels)
    prepared = guard.checked_batch(encoded, max_pixels, max_batch_pixels)
    return tf.map_fn(
        lambda e: eval_transform(decode_image(e, channels), image_size, channels, config),
        prepared,
        fn_output_signature=tf.TensorSpec([image_size, image_size, channels], tf.float32),
    )
