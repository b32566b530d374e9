"""The embedded shapes dataset: deterministic, balanced, any size, and the class only in the outline."""

import numpy as np
import pytest

from kerascnn.data import SHAPE_NAMES, DataConfig, DataError, generate_shapes, load_splits
from kerascnn.data.shapes import _SDF, class_names, sample_layout


def test_same_seed_same_bytes_other_seed_or_split_other_images():
    a, labels_a = generate_shapes(40, image_size=48, seed=3)
    b, labels_b = generate_shapes(40, image_size=48, seed=3, threads=1)  # thread count must not matter
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(labels_a, labels_b)
    c, _ = generate_shapes(40, image_size=48, seed=4)
    d, _ = generate_shapes(40, image_size=48, seed=3, split=1)
    assert np.mean(a != c) > 0.5 and np.mean(a != d) > 0.5


def test_classes_are_balanced():
    _, labels = generate_shapes(250, image_size=16, num_classes=8, seed=0)
    counts = np.bincount(labels, minlength=8)
    assert counts.min() >= 31 and counts.max() <= 32 and labels.dtype == np.int64


@pytest.mark.parametrize("size, channels", [(16, 1), (32, 3), (227, 3), (40, 4), (33, 2)])
def test_any_resolution_and_channel_count(size, channels):
    images, labels = generate_shapes(8, image_size=size, channels=channels, seed=0)
    assert images.shape == (8, size, size, channels) and images.dtype == np.uint8
    assert labels.shape == (8,)
    assert images.std() > 20  # shapes on backgrounds, not a blank frame


def test_class_is_not_in_colour_brightness_contrast_or_position():
    """Per-class statistics that need no spatial features: their class means must agree within sampling noise."""
    images, labels = generate_shapes(1200, image_size=40, num_classes=6, seed=0)
    x = images.astype(np.float32)
    features = {
        "mean colour": x.mean(axis=(1, 2)),  # [N, 3]
        "contrast": x.std(axis=(1, 2)),
        "brightness centroid": _centroids(x.mean(-1)),
    }
    for name, values in features.items():
        per_class = np.stack([values[labels == k].mean(0) for k in range(6)])
        noise = values.std(0) / np.sqrt(200)  # standard error of a class mean
        spread = per_class.max(0) - per_class.min(0)
        assert np.all(spread < 5 * noise), f"{name}: class means differ by {spread}, noise {noise}"


def _centroids(gray):
    weights = np.abs(gray - np.median(gray, axis=(1, 2), keepdims=True))  # the shape, light or dark
    ys, xs = np.mgrid[: gray.shape[1], : gray.shape[2]]
    total = weights.sum(axis=(1, 2))
    return np.stack([(weights * xs).sum(axis=(1, 2)) / total, (weights * ys).sum(axis=(1, 2)) / total], -1)


def test_every_shape_covers_the_same_area():
    grid = (np.arange(400) + 0.5) / 100 - 2.0  # [-2, 2]^2, room for the enlarged shapes
    u, v = np.meshgrid(grid, grid)
    from kerascnn.data.shapes import _scale

    areas = [np.mean(_SDF[n](u / _scale(n), v / _scale(n)) < 0) * 16 for n in SHAPE_NAMES]
    np.testing.assert_allclose(areas, np.pi, rtol=0.02)  # the unit circle's


def test_layout_keeps_shapes_inside_the_frame_and_large():
    rng = np.random.default_rng(0)
    labels = np.arange(800) % 8
    centre, extent, angle = sample_layout(labels, 100, rng)
    assert np.all(centre - extent[:, None] >= 0) and np.all(centre + extent[:, None] <= 100)
    assert extent.min() >= 17  # at least a third of the frame across
    # Position and rotation do not depend on the class.
    for k in range(8):
        assert abs(centre[labels == k].mean() - 50) < 3 and abs(angle[labels == k].mean() - np.pi) < 0.5


def test_shape_outlines_are_drawn_where_the_layout_says():
    images, labels = generate_shapes(32, image_size=64, channels=1, num_classes=2, seed=1)  # circles and squares
    centre, extent, _ = sample_layout(labels, 64, np.random.default_rng([1, 0, 1, 0]))
    for image, (cx, cy), _r in zip(images[..., 0].astype(int), centre, extent):
        # Shape and background differ by 51 levels or more, the illumination gradient takes away 26 at most.
        assert abs(image[int(cy), int(cx)] - image[0, 0]) > 20


def test_load_splits_gives_shapes_splits_with_names():
    config = DataConfig(shapes_train=30, shapes_val=12, shapes_classes=8)
    splits = load_splits(config, image_size=24, channels=1)
    assert splits.class_names == list(SHAPE_NAMES) == class_names(8)
    assert (splits.num_train, splits.num_val, splits.num_classes) == (30, 12, 8)
    image, label = next(iter(splits.train))
    assert image.shape == (24, 24, 1) and image.dtype.name == "uint8" and label.dtype.name == "int64"
    assert len(splits.bad_images) == 0 and splits.in_memory
    train = np.stack([x for x, _ in splits.train.as_numpy_iterator()])
    val = np.stack([x for x, _ in splits.val.as_numpy_iterator()])
    assert not any(np.array_equal(v, t) for v in val for t in train)  # independent draws


def test_shapes_options_are_checked():
    with pytest.raises(DataError, match="data.shapes_classes"):
        DataConfig(shapes_classes=9)
    with pytest.raises(DataError, match="data.shapes_train"):
        DataConfig(shapes_train=3, shapes_classes=6)
