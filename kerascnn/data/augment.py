"""The training augmentations of `recipes.RECIPES`, as stateless TensorFlow ops.

Every random draw comes from a seed the pipeline derives from (run seed, epoch, example index), so a run is
repeatable and a resumed run sees the same augmentations as one that was never stopped.
"""

import tensorflow as tf

from kerascnn.data.recipes import IMAGENET_EIGENVALUES, IMAGENET_EIGENVECTORS, RECIPES, paper_pixels
from kerascnn.data.transforms import centre_crop, pad_border, resize_shorter, to_channels


def augment(image, seed, *, image_size, channels, recipe_name, pad=0):
    """One uint8 image [H, W, C] -> a float32 [S, S, channels] training crop on the 0-255 scale (not normalised).

    `seed` is a [2] int tensor, as tf.random's stateless ops take it. `pad` (DataConfig.pad): the recipe runs at
    the input less 2 x pad, and the crop is then framed by that many zero pixels, as the evaluation frames it.
    """
    if pad:
        inner = augment(image, seed, image_size=image_size - 2 * pad, channels=channels, recipe_name=recipe_name)
        return tf.ensure_shape(pad_border(inner, pad), [image_size, image_size, channels])
    recipe = RECIPES[recipe_name]
    crop_seed, flip_seed, scale_seed, light_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 4))
    x = tf.cast(to_channels(image, channels), tf.float32)
    if recipe.scale:
        low, high = (paper_pixels(p, image_size) for p in recipe.scale)
        side = tf.random.stateless_uniform([], scale_seed, low, high + 1, dtype=tf.int32)
        x = resize_shorter(x, side)
        if recipe.square:
            x = centre_crop(x, side)
        x = random_crop(x, image_size, crop_seed)
    elif recipe.area:
        x = random_resized_crop(x, image_size, recipe.area, crop_seed)
    else:
        x = centre_crop(resize_shorter(x, image_size), image_size)
        if recipe.pad:
            x = tf.pad(x, [[recipe.pad, recipe.pad], [recipe.pad, recipe.pad], [0, 0]])
            x = random_crop(x, image_size, crop_seed)
    if recipe.flip:
        x = tf.image.stateless_random_flip_left_right(x, flip_seed)
    if recipe.lighting and channels >= 3:
        x = lighting(x, recipe.lighting, light_seed)
    return tf.ensure_shape(x, [image_size, image_size, channels])


def random_crop(image, size, seed):
    """A `size` x `size` window at a uniformly random position."""
    return tf.image.stateless_random_crop(image, tf.stack([size, size, tf.shape(image)[-1]]), seed)


def random_resized_crop(image, size, area, seed, aspect=(3 / 4, 4 / 3)):
    """Inception's crop: a window of `area` (fractions of the image) and aspect ratio `aspect`, resized to size^2.

    tf.image's sampler makes 10 attempts and falls back to the whole image, where torchvision falls back to a
    centre crop; the two differ only for extreme aspect ratios.
    """
    begin, extent, _ = tf.image.stateless_sample_distorted_bounding_box(
        tf.shape(image),
        bounding_boxes=tf.constant([[[0.0, 0.0, 1.0, 1.0]]]),
        seed=seed,
        min_object_covered=0.0,
        aspect_ratio_range=aspect,
        area_range=area,
        max_attempts=10,
        use_image_if_no_bounding_boxes=True,
    )
    window = tf.slice(image, begin, extent)
    return tf.image.resize(window, [size, size], method="bilinear", antialias=True)


def lighting(image, std, seed):
    """AlexNet's PCA colour augmentation (Krizhevsky et al. 2012, Sec. 4.1): adds
    [p1, p2, p3] [a1 l1, a2 l2, a3 l3]^T to every pixel, with the eigenvectors p and eigenvalues l of ImageNet's
    RGB covariance and a ~ N(0, std) drawn once per image. The eigenvalues are for 0-1 pixels, so the shift is
    scaled by 255; channels past the third (alpha) are left alone."""
    alpha = tf.random.stateless_normal([3], seed, stddev=std)
    shift = tf.linalg.matvec(tf.constant(IMAGENET_EIGENVECTORS), alpha * tf.constant(IMAGENET_EIGENVALUES)) * 255.0
    shift = tf.pad(shift, [[0, tf.shape(image)[-1] - 3]])
    return image + shift
