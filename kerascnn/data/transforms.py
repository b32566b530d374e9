"""The deterministic image transforms: channel conversion, the evaluation crop, normalisation, and the serving
and 10-crop versions of the same.

Everything here is TensorFlow core ops on images of any rank-3 ([H, W, C]) or rank-4 ([B, H, W, C]) shape, so
that an exported SavedModel can run it in its graph with no Python of ours: `serving_transform` is the
evaluation transform of the training pipeline, batched.
"""

import tensorflow as tf

from kerascnn.data import serving_guard
from kerascnn.data.config import LUMA
from kerascnn.data.recipes import eval_resize, paper_pixels


def to_channels(images, channels):
    """uint8 images with any number of channels (the last axis) -> `channels` channels, still uint8.

    RGB -> gray takes the ITU-R 601 luma (as Pillow's "L" and tf.image.rgb_to_grayscale), rounded; gray -> RGB
    repeats the channel; an alpha channel is dropped (like torchvision's `convert("RGB")`: not composited on a
    background); RGB -> 4 channels adds an opaque alpha. Any other pair of counts is an error.
    """
    images = tf.convert_to_tensor(images)
    have = images.shape[-1]
    if have is None:  # known only when the graph runs (e.g. tf.io.decode_image with channels=0)
        have = tf.shape(images)[-1]
    out = _convert(images, have, channels)
    return tf.ensure_shape(out, images.shape[:-1].concatenate([channels]))


def _convert(x, have, channels):
    color = lambda: x[..., :3]
    gray = lambda: x[..., :1]  # the first channel of gray or gray+alpha
    if channels == 1:
        luma = lambda: tf.cast(
            tf.round(sum(w * tf.cast(x[..., i : i + 1], tf.float32) for i, w in enumerate(LUMA))), tf.uint8
        )
        return _choose(have >= 3, luma, gray)
    if channels == 3:
        return _choose(have >= 3, color, lambda: tf.repeat(x[..., :1], 3, axis=-1))
    if channels == 4:
        rgb = _choose(have >= 3, color, lambda: tf.repeat(x[..., :1], 3, axis=-1))
        opaque = tf.concat([rgb, tf.fill(tf.concat([tf.shape(x)[:-1], [1]], 0), tf.constant(255, tf.uint8))], -1)
        return _choose(have == 4, lambda: x, lambda: opaque)
    if not isinstance(have, tf.Tensor):
        if have != channels:
            raise ValueError(f"Cannot convert {have}-channel images to {channels} channels.")
        return x
    check = tf.debugging.assert_equal(have, channels, message=f"cannot convert these images to {channels} channels")
    with tf.control_dependencies([check]):
        return tf.identity(x)


def _choose(condition, true_fn, false_fn):
    if isinstance(condition, tf.Tensor):
        return tf.cond(condition, true_fn, false_fn)
    return true_fn() if condition else false_fn()


def resize_shorter(images, size):
    """Resizes so that the shorter side is `size`, keeping the aspect ratio (torchvision's `Resize(size)`: the
    longer side is truncated). Bilinear with antialiasing, float32 out; images already that size pass as they are.
    """
    shape = tf.shape(images)
    height, width = shape[-3], shape[-2]
    short = tf.minimum(height, width)
    scale = tf.cast(size, tf.float64) / tf.cast(short, tf.float64)
    new_h = tf.where(height == short, size, tf.cast(tf.cast(height, tf.float64) * scale, tf.int32))
    new_w = tf.where(width == short, size, tf.cast(tf.cast(width, tf.float64) * scale, tf.int32))
    images = tf.cast(images, tf.float32)
    return tf.cond(
        short == size,
        lambda: images,
        lambda: tf.image.resize(images, tf.stack([new_h, new_w]), method="bilinear", antialias=True),
    )


def centre_crop(images, size):
    """The central `size` x `size` window (the top-left one of the two centres when the margin is odd)."""
    shape = tf.shape(images)
    top, left = (shape[-3] - size) // 2, (shape[-2] - size) // 2
    return images[..., top : top + size, left : left + size, :]


def normalize(images, mean, std, bgr=False):
    """(x - mean) / std per channel, on the 0-255 scale of the decoded images; `bgr` reverses RGB images to B, G,
    R first (Caffe's order, which the Caffe-trained pretrained weights take; mean and std then in that order)."""
    images = tf.cast(images, tf.float32)
    if bgr and images.shape[-1] == 3:
        images = images[..., ::-1]
    return (images - tf.constant(mean, tf.float32)) / tf.constant(std, tf.float32)


def eval_transform(image, image_size, channels, config):
    """The evaluation transform of one uint8 image [H, W, C] (or a batch of same-sized images) -> normalised
    float32 [S, S, channels]: resize the shorter side (the recipe's eval_resize), centre crop, normalise."""
    x = to_channels(image, channels)
    x = resize_shorter(x, eval_resize(image_size, config.augmentation, config.eval_crop_fraction))
    x = centre_crop(x, image_size)
    return normalize(x, *config.normalization_stats(channels), bgr=config.bgr)


def serving_transform(images, image_size, channels, config, *, max_pixels=None, max_batch_pixels=None):
    """What an exported model does to its `images` input: uint8 [B, H, W, C] of any H, W and C of 1 to 4 -> float32
    [B, S, S, channels], equal to `eval_transform` of each image (tests/test_data_transforms.py checks this).
    Refused in the graph (serving_guard.checked_images): a zero side, another channel count, more than
    `max_pixels` pixels an image or `max_batch_pixels` a batch (both default to config.max_image_pixels)."""
    images = tf.convert_to_tensor(images)
    if images.shape.rank != 4:
        raise ValueError(f"serving_transform takes a batch [batch, height, width, channels], got {images.shape}.")
    max_pixels, max_batch_pixels = serving_limits(config, max_pixels, max_batch_pixels)
    images = serving_guard.checked_images(images, max_pixels, max_batch_pixels)
    outputs = eval_transform(images, image_size, channels, config)
    return tf.ensure_shape(outputs, [None, image_size, image_size, channels])


def serving_limits(config, max_pixels=None, max_batch_pixels=None):
    """(pixels an image, pixels a batch) a serving graph accepts: by default the training side's
    data.max_image_pixels for both, so a whole request costs at most what one largest image may."""
    max_pixels = max_pixels or config.max_image_pixels
    return max_pixels, max_batch_pixels or max_pixels


def decode_image(encoded, channels):
    """JPEG, PNG (8 or 16 bits), GIF (its first frame), BMP or WebP bytes (a scalar string) -> uint8
    [H, W, channels]. The training pipeline decodes with this (its files verified before, verify.py); the serving
    graph decodes what serving_guard let through with the same ops."""
    return to_channels(serving_guard.decode(encoded), channels)


decode_for_serving = decode_image


def serving_transform_bytes(encoded, image_size, channels, config, *, max_pixels=None, max_batch_pixels=None):
    """A batch of encoded images [B] (each its own size) -> float32 [B, S, S, channels], for a bytes signature.
    Every header is read and checked first (serving_guard.checked_batch: format, truncation, zero sides,
    `max_pixels` an image and `max_batch_pixels` the batch), then the images are decoded one by one."""
    max_pixels, max_batch_pixels = serving_limits(config, max_pixels, max_batch_pixels)
    prepared = serving_guard.checked_batch(encoded, max_pixels, max_batch_pixels)
    return tf.map_fn(
        lambda e: eval_transform(decode_image(e, channels), image_size, channels, config),
        prepared,
        fn_output_signature=tf.TensorSpec([image_size, image_size, channels], tf.float32),
    )


def ten_crop(image, image_size, channels, config):
    """AlexNet's test-time augmentation (Krizhevsky et al. 2012, Sec. 4.1): the four corner patches and the
    centre patch of the 256x256 image, and their horizontal reflections -> float32 [10, S, S, channels]; the
    network's softmax outputs are averaged over the ten."""
    side = paper_pixels(256, image_size)
    x = centre_crop(resize_shorter(to_channels(image, channels), side), side)
    far = side - image_size
    corners = [(0, 0), (0, far), (far, 0), (far, far), (far // 2, far // 2)]
    crops = tf.stack([x[top : top + image_size, left : left + image_size] for top, left in corners])
    crops = tf.concat([crops, tf.reverse(crops, axis=[2])], axis=0)
    return normalize(crops, *config.normalization_stats(channels), bgr=config.bgr)
