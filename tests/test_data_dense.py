"""Images with masks: shapes' masks, the joint augmentations, and the evaluation and serving transforms."""

import numpy as np
import pytest
import tensorflow as tf

from kerascnn.data import DataConfig, load_splits, make_dataset
from kerascnn.data.dense import IGNORE, augment_example, eval_example, eval_image, mirror_pad
from kerascnn.data.shapes import generate_shape_masks, generate_shapes

# Colours far apart, one per class: a pixel's class can be read back from its colour.
COLOURS = np.array([[0, 0, 0], [255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255]], np.float32)


def test_shapes_masks_are_deterministic_and_mark_where_the_shapes_are():
    images, masks = generate_shape_masks(40, image_size=48, num_classes=6, shapes_per_image=1, seed=3)
    again = generate_shape_masks(40, image_size=48, num_classes=6, shapes_per_image=1, seed=3)
    np.testing.assert_array_equal(images, again[0])
    np.testing.assert_array_equal(masks, again[1])
    assert images.shape == (40, 48, 48, 3) and masks.shape == (40, 48, 48) and masks.dtype == np.uint8
    for image, mask in zip(images, masks):
        classes = set(np.unique(mask)) - {0}
        assert len(classes) == 1 and classes <= set(range(1, 7))  # one shape, of a class 1..6, on background 0
        inside, outside = image[mask > 0].mean(axis=0), image[mask == 0].mean(axis=0)
        assert np.all(np.abs(inside - outside) > 0.15 * 255)  # the mask is where the shape stands out
    # The classification generator is untouched by the masks': same bytes as before this feature.
    plain, labels = generate_shapes(8, image_size=40, seed=0)
    assert labels.tolist() == [2, 4, 3, 0, 5, 0, 1, 1]
    # Within a few units: NumPy's SIMD math (AVX2 or AVX-512 kernels) may round a pixel or two the other way.
    assert abs(int(plain.astype(np.int64).sum()) - 4177473) <= 8


def test_several_shapes_a_picture_make_masks_of_several_blobs_and_balanced_classes():
    _, masks = generate_shape_masks(120, image_size=48, num_classes=4, shapes_per_image=3)
    present = [len(set(np.unique(m)) - {0}) for m in masks]
    assert np.mean(np.array(present) >= 2) > 0.8  # occlusion may hide one, rarely two
    counts = np.bincount(masks.ravel(), minlength=5)[1:]
    assert counts.min() > 0.6 * counts.max()  # every shape covers about the same area, whatever its class


def test_colour_and_position_do_not_tell_the_class():
    images, masks = generate_shape_masks(300, image_size=32, num_classes=3, shapes_per_image=1, seed=1)
    brightness, centres = {}, {}
    for image, mask in zip(images, masks):
        k = int(mask.max())
        ys, xs = np.nonzero(mask)
        brightness.setdefault(k, []).append(image[mask == k].mean())
        centres.setdefault(k, []).append((ys.mean(), xs.mean()))
    means = [np.mean(brightness[k]) for k in (1, 2, 3)]
    assert max(means) - min(means) < 20  # of a spread of about 180 between light and dark shapes
    positions = np.array([np.mean(centres[k], axis=0) for k in (1, 2, 3)])
    assert np.ptp(positions, axis=0).max() < 2.5  # pixels, on 32


def blocks(size=48, block=8, seed=0):
    """A picture of coloured squares (block x block) and its mask: the class of each pixel is its colour."""
    rng = np.random.default_rng(seed)
    cells = rng.integers(0, len(COLOURS), (size // block, size // block))
    mask = np.kron(cells, np.ones((block, block), np.int64)).astype(np.uint8)
    return COLOURS[mask].astype(np.uint8), mask


def read_classes(x, config):
    """The class of each pixel of a normalised float image, read from the nearest of COLOURS."""
    mean, std = config.normalization_stats(3)
    pixels = np.asarray(x) * np.asarray(std) + np.asarray(mean)
    return np.argmin(((pixels[..., None, :] - COLOURS) ** 2).sum(-1), axis=-1)


@pytest.mark.parametrize("recipe", ["none", "fcn", "deeplab", "unet"])
def test_image_and_mask_stay_aligned_through_every_augmentation(recipe):
    config = DataConfig(augmentation=recipe, normalization="unit")
    image, mask = blocks(size=60, block=12)
    changed = 0
    for i in range(6):
        x, m = augment_example(image, mask, tf.constant([i, 7]), image_size=40, channels=3, config=config)
        x, m = x.numpy(), m.numpy()
        assert x.shape == (40, 40, 3) and m.shape == (40, 40) and m.dtype == np.int32
        labelled = m != IGNORE
        read = read_classes(x, config)
        # Where a mask pixel's 3x3 neighbourhood is one class, the picture under it has that class's colour.
        padded = np.pad(m, 1, mode="edge")
        windows = np.lib.stride_tricks.sliding_window_view(padded, (3, 3))
        interior = (windows == m[..., None, None]).all(axis=(-1, -2)) & labelled
        assert interior.sum() > 50
        assert np.mean(read[interior] == m[interior]) > 0.99, recipe
        assert np.mean(read[labelled] == m[labelled]) > 0.9, recipe
        # The ignore label marks exactly what came from outside the picture: the padding's mean colour.
        if (~labelled).any():
            np.testing.assert_allclose(x[~labelled], 0.0)
        plain = eval_example(image, mask, 40, 3, config)[1].numpy()
        changed += not np.array_equal(m, plain)
        # A mask misaligned by 4 pixels (half a block) fails the same check: the test can tell.
        assert np.mean(read[interior] == np.roll(m, 4, axis=1)[interior]) < 0.9
    assert changed == (0 if recipe in ("none", "fcn") else 6)


def test_masks_are_resized_by_nearest_neighbour_and_never_blend_classes():
    image, mask = blocks(size=64, block=4)
    mask[:4, :4] = IGNORE
    x, m = eval_example(image, mask, 40, 3, DataConfig())
    assert set(np.unique(m.numpy())) <= set(np.unique(mask).tolist())
    assert x.shape == (40, 40, 3)


def test_serving_transform_is_the_evaluation_transform_batched():
    # eval_image on a batch is what an exported segmentation model runs (kerascnn.serving.dense_export).
    config = DataConfig(normalization="imagenet")
    images = np.random.default_rng(0).integers(0, 256, (3, 50, 30, 3), np.uint8)
    batched = eval_image(images, 32, 3, config).numpy()
    assert batched.shape == (3, 32, 32, 3) and batched.dtype == np.float32
    for image, out in zip(images, batched):
        np.testing.assert_allclose(out, eval_example(image, image[..., 0], 32, 3, config)[0], atol=1e-5)


def test_shapes_split_for_segmentation_batches_images_with_int_masks():
    config = DataConfig(shapes_train=32, shapes_val=8, shapes_per_image=2, augmentation="deeplab")
    splits = load_splits(config, 32, 3, task="segmentation")
    assert splits.task == "segmentation" and splits.class_names[:2] == ["background", "circle"]
    assert splits.num_classes == 7
    train = make_dataset(
        splits.train, training=True, image_size=32, channels=3, batch_size=8, config=config, task="segmentation"
    )
    images, masks = next(iter(train))
    assert images.shape == (8, 32, 32, 3) and masks.shape == (8, 32, 32) and masks.dtype == tf.int32
    again = next(
        iter(
            make_dataset(
                splits.train, training=True, image_size=32, channels=3, batch_size=8, config=config, task="segmentation"
            )
        )
    )
    np.testing.assert_array_equal(masks, again[1])  # the augmentation's randomness is seeded


@pytest.mark.parametrize("shape, margin", [((2, 5, 7, 3), 2), ((1, 4, 4, 1), 92), ((3, 6, 1), 5), ((1, 2, 9, 2), 0)])
def test_mirror_pad_is_numpys_reflect_even_past_the_image(shape, margin):
    # U-Net's overlap-tile padding: 92 pixels a side, wider than a 4x4 image, where tf.pad's REFLECT refuses.
    images = np.random.default_rng(0).random(shape).astype(np.float32)
    pad = [(0, 0)] * (len(shape) - 3) + [(margin, margin), (margin, margin), (0, 0)]
    np.testing.assert_array_equal(np.asarray(mirror_pad(images, margin)), np.pad(images, pad, mode="reflect"))
    by_hand = mirror_pad(np.arange(4.0).reshape(1, 4, 1, 1), 5).numpy()[0, :, 5, 0]
    np.testing.assert_array_equal(by_hand, [1, 2, 3, 2, 1, 0, 1, 2, 3, 2, 1, 0, 1, 2])
