"""Images with masks: the transforms of a segmentation model's data, the joint augmentations of
`recipes.MASK_RECIPES`, and the serving transform.

A mask is uint8 [H, W] of class indices, with IGNORE (255) for pixels that count for nothing (VOC's object
borders, what an augmentation brings in from outside the image). Images are resized to the model's square input
and the model's output is resized back to each image's own size (in the evaluator and inside the exported
graph), so a prediction is scored against the mask as it was drawn. Geometric augmentations map each output
pixel to a point of the source image, where the image is read bilinearly and the mask by nearest neighbour: one
map for both, so they cannot drift apart (tests/test_data_dense.py checks it on an image whose mask can be read
off its colours).
"""

import tensorflow as tf

from kerascnn.data.config import DataError
from kerascnn.data.recipes import MASK_RECIPES
from kerascnn.data.transforms import normalize, to_channels

IGNORE = 255
PAPER_TILE = 572  # U-Net's input tile, the unit of its deformation's pixels


def check_recipe(config):
    """Raises DataError unless `config.augmentation` is a segmentation recipe ("none" is one too)."""
    if config.augmentation != "none" and config.augmentation not in MASK_RECIPES:
        raise DataError(
            f"data.augmentation={config.augmentation} is a classification recipe; a segmentation model takes "
            f"none, {', '.join(MASK_RECIPES)}."
        )


def resize_image(images, size):
    """uint8 or float images [(B,) H, W, C] -> float32 [(B,) S, S, C]: bilinear with antialiasing (no-op at S),
    read in their own type (no whole float32 copy of a large uint8 image: transforms.resize_shorter says why)."""
    shape = tf.shape(images)
    same = tf.logical_and(tf.equal(shape[-3], size), tf.equal(shape[-2], size))
    return tf.cond(
        same,
        lambda: tf.cast(images, tf.float32),
        lambda: tf.image.resize(images, [size, size], method="bilinear", antialias=True),
    )


def mirror_pad(images, margin):
    """Images [..., H, W, C] -> [..., H + 2 margin, W + 2 margin, C], extended by mirroring about the borders
    (the border pixel not repeated: NumPy's np.pad mode "reflect"), the margin wider than the image too (the
    mirror is then periodic). U-Net's overlap-tile strategy (Ronneberger et al. 2015, Fig. 2): "the missing context
    is extrapolated by mirroring the input image", so that its output, `margin` smaller a side, covers the whole
    image. Gathers, not tf.pad's REFLECT, which refuses a margin of the image's size or more."""
    if not margin:
        return images
    images = tf.convert_to_tensor(images)

    def indices(n):
        period = tf.maximum(2 * (n - 1), 1)
        j = tf.math.floormod(tf.range(-margin, n + margin), period)
        return tf.where(j >= n, period - j, j)

    shape = tf.shape(images)
    x = tf.gather(images, indices(shape[-3]), axis=-3)
    return tf.gather(x, indices(shape[-2]), axis=-2)


def resize_mask(mask, size):
    """A mask [H, W] -> [S, S] by nearest neighbour (a class is never blended into another)."""
    return tf.image.resize(mask[..., tf.newaxis], [size, size], method="nearest")[..., 0]


def eval_image(images, image_size, channels, config):
    """The evaluation (and serving) transform of a segmentation model's uint8 images [(B,) H, W, C]: the model's
    channels, resized to S x S, normalised."""
    x = resize_image(to_channels(images, channels), image_size)
    x = tf.ensure_shape(x, x.shape[:-3].concatenate([image_size, image_size, channels]))
    return normalize(x, *config.normalization_stats(channels))


def eval_example(image, mask, image_size, channels, config):
    """(normalised float32 image [S, S, C], int32 mask [S, S]): Keras' validation during fit. The evaluator
    scores the prediction at the mask's own size instead (kerascnn.training.segmentation)."""
    x = eval_image(image, image_size, channels, config)
    return tf.ensure_shape(x, [image_size, image_size, channels]), tf.cast(resize_mask(mask, image_size), tf.int32)


def augment_example(image, mask, seed, *, image_size, channels, config):
    """One training example with `config.augmentation` applied to image and mask alike -> (normalised float32
    [S, S, C], int32 [S, S]). `seed` is a [2] int tensor."""
    recipe = MASK_RECIPES.get(config.augmentation)
    if recipe is None or recipe == MASK_RECIPES["fcn"]:
        return eval_example(image, mask, image_size, channels, config)
    x = normalize(to_channels(image, channels), *config.normalization_stats(channels))  # padding 0 is the mean
    scale_seed, crop_seed, flip_seed, warp_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 4))
    size = tf.cast(tf.shape(image)[:2], tf.float32)
    s = float(image_size)
    grid = tf.range(image_size, dtype=tf.float32) + 0.5  # output pixel centres
    ys, xs = tf.meshgrid(grid, grid, indexing="ij")
    if recipe.flip:
        flip = tf.random.stateless_uniform([], flip_seed) < 0.5
        xs = tf.where(flip, s - xs, xs)
    if recipe.scale:
        # DeepLab: rescale by a random factor (of the image brought to the input size by its shorter side), then
        # a random window of the input size, the image padded where the window leaves it.
        factor = tf.random.stateless_uniform([], scale_seed, *recipe.scale) * s / tf.reduce_min(size)
        room = size * factor - s
        offset = tf.random.stateless_uniform([2], crop_seed) * tf.abs(room) + tf.minimum(room, 0.0)
        ys, xs = (ys + offset[0]) / factor, (xs + offset[1]) / factor
    else:
        ys, xs = ys * size[0] / s, xs * size[1] / s
    if recipe.elastic or recipe.shift:
        # U-Net: displacements on a coarse grid, interpolated bicubically, plus a shift (input pixels).
        warp_seed, shift_seed = tf.unstack(tf.random.experimental.stateless_split(warp_seed, 2))
        std = recipe.elastic * s / PAPER_TILE
        coarse = tf.random.stateless_normal([1, recipe.grid, recipe.grid, 2], warp_seed, stddev=std)
        field = tf.image.resize(coarse, [image_size, image_size], method="bicubic")[0]
        shift = tf.random.stateless_uniform([2], shift_seed, -recipe.shift, recipe.shift) * s
        ys = ys + (field[..., 0] + shift[0]) * size[0] / s
        xs = xs + (field[..., 1] + shift[1]) * size[1] / s
    x, m = resample(x, mask, ys, xs)
    return tf.ensure_shape(x, [image_size, image_size, channels]), tf.ensure_shape(m, [image_size, image_size])


def resample(image, mask, ys, xs):
    """The image read bilinearly and the mask by nearest neighbour at the source points (ys, xs) [S, S], in pixel
    units with pixel centres at +0.5; outside the image: 0 (the mean, as images are normalised) and IGNORE."""
    height, width = tf.shape(image)[0], tf.shape(image)[1]
    h, w = tf.cast(height, tf.float32), tf.cast(width, tf.float32)
    inside = (ys >= 0) & (ys <= h) & (xs >= 0) & (xs <= w)

    def index(v, n):
        return tf.clip_by_value(tf.cast(v, tf.int32), 0, n - 1)

    near = tf.gather_nd(mask, tf.stack([index(tf.floor(ys), height), index(tf.floor(xs), width)], -1))
    m = tf.where(inside, tf.cast(near, tf.int32), IGNORE)
    py, px = ys - 0.5, xs - 0.5
    y0, x0 = tf.floor(py), tf.floor(px)
    wy, wx = (py - y0)[..., None], (px - x0)[..., None]

    def at(yy, xx):
        return tf.gather_nd(image, tf.stack([index(yy, height), index(xx, width)], -1))

    top = at(y0, x0) * (1 - wx) + at(y0, x0 + 1) * wx
    bottom = at(y0 + 1, x0) * (1 - wx) + at(y0 + 1, x0 + 1) * wx
    x = top * (1 - wy) + bottom * wy
    return tf.where(inside[..., None], x, 0.0), m
