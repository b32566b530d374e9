"""The papers' augmentations, measured from their outputs: crop windows, flips, scale ranges, PCA lighting."""

import numpy as np
import pytest
import tensorflow as tf

from kerascnn.data.augment import augment
from kerascnn.data.recipes import IMAGENET_EIGENVALUES, IMAGENET_EIGENVECTORS


def run(image, recipe, size, n, channels=3):
    return np.stack(
        [
            augment(
                tf.constant(image), tf.constant([7, i]), image_size=size, channels=channels, recipe_name=recipe
            ).numpy()
            for i in range(n)
        ]
    )


def ramp(height, width, slope=1.0):
    """Channel 0 grows down the rows, channel 1 across the columns, by `slope` a pixel."""
    ys, xs = np.mgrid[:height, :width].astype(np.float32)
    return np.stack([ys * slope, xs * slope, np.full_like(ys, 100)], -1).astype(np.uint8)


def test_cifar_pads_by_four_crops_and_flips():
    image = ramp(32, 32) + 10  # values 10..41: the zero padding stands out
    out = run(image, "cifar", 32, 60)
    assert out.shape == (60, 32, 32, 3)
    offsets, flips = [], []
    for crop in out:
        inside = crop[..., 2] == 110  # the constant channel is 0 in the padding
        rows, cols = np.nonzero(inside)
        top = rows.min() - (crop[rows.min(), cols[0], 0] - 10)
        flipped = crop[rows[0], cols.max(), 1] < crop[rows[0], cols.min(), 1]
        column = crop[rows[0], cols.max() if flipped else cols.min(), 1] - 10
        left = (31 - cols.max() if flipped else cols.min()) - column
        offsets.append((top, left))
        flips.append(flipped)
        assert np.all(crop[~inside] == 0)
    offsets = np.array(offsets)
    assert offsets.min() >= -4 and offsets.max() <= 4 and len({tuple(o) for o in offsets}) > 20
    assert 15 <= sum(flips) <= 45


def test_flips_really_mirror():
    image = ramp(32, 32)
    out = run(image, "cifar", 32, 20)
    flipped = [crop for crop in out if crop[16, 20, 1] < crop[16, 10, 1]]
    assert flipped
    for crop in flipped:  # a mirrored ramp: columns decrease by exactly 1 (where not padding)
        row = crop[16][crop[16, :, 2] == 100, 1]
        np.testing.assert_array_equal(np.diff(row), -1)


@pytest.mark.parametrize("recipe, low, high", [("vgg", 256, 512), ("resnet", 256, 480), ("alexnet", 256, 256)])
def test_scale_jittering_range(recipe, low, high):
    """The shorter side after resizing is read off the slope of a ramp: a 100-pixel ramp resized to s has a slope
    of 100 / s a pixel, whatever the crop."""
    image = ramp(100, 120, slope=2.0)  # 0..238
    out = run(image, recipe, 224, 40)[..., 0]
    slopes = np.median(np.abs(np.diff(out[:, 20:200, 100], axis=1)), axis=1)  # rows, away from the borders
    sides = 2.0 * 100 / slopes
    assert sides.min() > low * 0.97 and sides.max() < high * 1.03
    if low != high:
        assert sides.min() < low + 0.2 * (high - low) and sides.max() > high - 0.2 * (high - low)


def test_alexnet_crops_come_from_the_central_256_square():
    image = np.zeros((256, 400, 1), np.uint8)
    image[:, 72:328] = 200  # the central square; a crop of the whole 256x400 image would often reach the zeros
    out = run(image, "alexnet", 224, 30, channels=1)  # one channel: no lighting
    assert np.all(out == 200)


def test_pca_lighting_shifts_colours_along_the_eigenvectors():
    """On a flat image every augmentation but lighting is the identity, so out - in is lighting's shift:
    255 * V (alpha * lambda) with alpha ~ N(0, 0.1), the same at every pixel."""
    flat = np.full((40, 40, 3), 120, np.uint8)
    out = run(flat, "alexnet", 32, 300)
    shift = out - 120.0
    np.testing.assert_allclose(shift, shift[:, :1, :1, :].repeat(32, 1).repeat(32, 2), atol=1e-3)
    alpha = np.linalg.solve(np.array(IMAGENET_EIGENVECTORS), (shift[:, 0, 0] / 255).T).T / IMAGENET_EIGENVALUES
    np.testing.assert_allclose(alpha.std(0), 0.1, rtol=0.2)
    np.testing.assert_allclose(alpha.mean(0), 0.0, atol=0.03)
    # The first eigenvalue dominates: shifts are mostly along the first eigenvector (roughly grey).
    assert np.abs(shift[:, 0, 0]).mean() > 3 * 255 * 0.1 * 0.0188


def test_lighting_leaves_grayscale_alone_and_none_is_deterministic():
    flat = np.full((64, 64, 1), 90, np.uint8)
    np.testing.assert_allclose(run(flat, "alexnet", 32, 5, channels=1), 90, atol=1e-3)  # resizing rounds
    image = ramp(40, 50)
    out = run(image, "none", 40, 3)
    np.testing.assert_array_equal(out[0], out[1])  # no randomness: the evaluation crop
    np.testing.assert_array_equal(out[0][..., 1], np.arange(5, 45)[None, :].repeat(40, 0))  # centre crop of 50


def test_inception_crops_cover_8_to_100_percent():
    image = ramp(200, 200)
    out = run(image, "inception", 64, 40)[..., 0]
    # A window of h rows resized to 64 has a row slope of h / 64.
    heights = np.median(np.abs(np.diff(out[:, 5:60, 30], axis=1)), axis=1) * 64
    assert heights.min() >= 200 * np.sqrt(0.08 * 3 / 4) * 0.9 and heights.max() <= 200 * 1.02
    assert heights.max() - heights.min() > 60
