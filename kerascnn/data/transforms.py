"""The deterministic image transforms: decoding, channel conversion, the evaluation crop, normalisation, and the
10-crop version of the same.

Everything here is TensorFlow core ops on images of any rank-3 ([H, W, C]) or rank-4 ([B, H, W, C]) shape, so
that an exported SavedModel can run it in its graph with no Python of ours (kerascnn.serving.transforms batches
the evaluation transform for it).
"""

import tensorflow as tf

from kerascnn.data.config import LUMA
from kerascnn.data.recipes import eval_resize, paper_pixels

# What tells a file's format, as TensorFlow's decoders tell it: every (offset, bytes) of its row must match. JPEG
# is told by tf.io.is_jpeg. The serving guard reads the same table to refuse anything else before decoding.
SIGNATURES = {
    "PNG": ((0, b"\x89PNG\r\n\x1a\n"),),
    "GIF": ((0, b"GIF8"),),
    "BMP": ((0, b"BM"),),
    "WebP": ((0, b"RIFF"), (8, b"WEBP")),
}


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
        return _choose(have >= 3, lambda: _in_bands(_luma, x), gray)
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


def _luma(x):
    return tf.cast(tf.round(sum(w * tf.cast(x[..., i : i + 1], tf.float32) for i, w in enumerate(LUMA))), tf.uint8)


BAND_PIXELS = 1 << 20  # pixels of an image converted at once: 4 MB of each float32 temporary


def _in_bands(fn, x):
    """`fn` (uint8 [..., H, W, C] -> uint8 [..., H, W, C'], each row on its own) applied to bands of rows of
    about BAND_PIXELS, for images [H, W, C] or batches [B, H, W, C]: the float32 temporaries of a large image are
    a band's, not the image's. The values are `fn(x)`'s: the same ops on every pixel."""
    if x.shape.rank == 4:  # the batch's rows one after another: rows are independent
        shape = tf.shape(x)
        rows = _in_bands(fn, tf.reshape(x, tf.concat([[-1], shape[2:]], 0)))
        return tf.reshape(rows, tf.concat([shape[:3], tf.shape(rows)[-1:]], 0))
    height, width = tf.shape(x)[0], tf.shape(x)[1]
    rows = tf.maximum(1, BAND_PIXELS // tf.maximum(width, 1))
    count = (height + rows - 1) // rows
    bands = tf.TensorArray(tf.uint8, size=count, infer_shape=False)
    bands = tf.while_loop(
        lambda i, bands: i < count,
        lambda i, bands: (i + 1, bands.write(i, fn(x[i * rows : (i + 1) * rows]))),
        (0, bands),
    )[1]
    return tf.cond(count > 0, bands.concat, lambda: fn(x))


def _choose(condition, true_fn, false_fn):
    if isinstance(condition, tf.Tensor):
        return tf.cond(condition, true_fn, false_fn)
    return true_fn() if condition else false_fn()


def resize_shorter(images, size):
    """Resizes so that the shorter side is `size`, keeping the aspect ratio (torchvision's `Resize(size)`: the
    longer side is truncated). Bilinear with antialiasing, float32 out; images already that size pass as they are.

    The resize reads the images in their own type: TensorFlow's ScaleAndTranslate takes uint8 and computes in
    float32 with an intermediate of [output height, input width] only, so a large uint8 image is never copied
    whole as float32 (4 bytes a value); the values are the same as resizing its float32 copy.
    """
    shape = tf.shape(images)
    height, width = shape[-3], shape[-2]
    short = tf.minimum(height, width)
    scale = tf.cast(size, tf.float64) / tf.cast(short, tf.float64)
    new_h = tf.where(height == short, size, tf.cast(tf.cast(height, tf.float64) * scale, tf.int32))
    new_w = tf.where(width == short, size, tf.cast(tf.cast(width, tf.float64) * scale, tf.int32))
    return tf.cond(
        short == size,
        lambda: tf.cast(images, tf.float32),
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
    float32 [S, S, channels]: resize the shorter side (the recipe's eval_resize), centre crop, pad (config.pad),
    normalise."""
    inner = image_size - 2 * config.pad
    x = to_channels(image, channels)
    x = resize_shorter(x, eval_resize(inner, config.augmentation, config.eval_crop_fraction))
    x = pad_border(centre_crop(x, inner), config.pad)
    return normalize(x, *config.normalization_stats(channels), bgr=config.bgr)


def pad_border(images, pad):
    """`pad` zero pixels on each side of images [..., H, W, C] (LeNet-5's field around a 28x28 image)."""
    if not pad:
        return images
    rank = images.shape.rank
    return tf.pad(images, [[0, 0]] * (rank - 3) + [[pad, pad], [pad, pad], [0, 0]])


def decode_any(encoded, channels=0):
    """JPEG, PNG (8 or 16 bits), GIF (its first frame), BMP or WebP bytes (a scalar string) -> uint8 [H, W, C] in
    the file's own channels (`channels` 0), or decoded as `channels` by TensorFlow's decoder. Unchecked: the
    training pipeline's files are verified before (verify.py), and the serving graph calls it on what
    kerascnn.serving.guard.checked_batch let through."""
    return tf.cond(
        tf.io.is_jpeg(encoded),
        # The accurate inverse DCT, as Pillow (and so torchvision) decodes; CMYK JPEGs come out as RGB.
        lambda: tf.io.decode_jpeg(encoded, channels=channels, dct_method="INTEGER_ACCURATE"),
        lambda: tf.io.decode_image(encoded, channels=channels, expand_animations=False),
    )


def decode_image(encoded, channels):
    """JPEG, PNG (8 or 16 bits), GIF (its first frame), BMP or WebP bytes (a scalar string) -> uint8
    [H, W, channels]. The training pipeline decodes with this (its files verified before, verify.py); the serving
    graph decodes what kerascnn.serving.guard let through with the same ops."""
    if channels != 3:
        return to_channels(decode_any(encoded), channels)
    # Straight to RGB where TensorFlow's decoders give what to_channels would (gray repeated, alpha dropped), so
    # an RGBA image is never held as RGBA beside its RGB copy: 64 MB less at the serving limit. WebP's decoder
    # refuses RGBA to 3 channels, so it is converted after.
    webp = tf.reduce_all([tf.strings.substr(encoded, at, len(part)) == part for at, part in SIGNATURES["WebP"]])
    return tf.cond(webp, lambda: to_channels(decode_any(encoded), 3), lambda: decode_any(encoded, 3))


decode_for_serving = decode_image


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
