"""kerascnn.analysis.plots and grids: the pictures are written, whole, as valid PNGs of the expected size."""

import os

import keras
import numpy as np
import pytest
from PIL import Image

import kerascnn
from kerascnn.analysis import (
    feature_map_grid,
    feature_maps,
    filter_grid,
    first_conv,
    layer_stats,
    plot_receptive_field_growth,
    plot_shift_sensitivity,
    save_png,
)


def _open_png(path):
    with Image.open(path) as image:
        assert image.format == "PNG"
        image.load()  # decodes every pixel: a truncated file fails here
        return image.size, image.mode


def test_receptive_field_growth_png(tmp_path):
    stats = layer_stats(kerascnn.get_model("resnet18", include_top=False))
    path = plot_receptive_field_growth(stats, tmp_path / "deep" / "rf.png")
    assert _open_png(path)[0] == (640, 420)
    compared = plot_receptive_field_growth({"resnet18": stats, "again": stats}, tmp_path / "two.png")
    assert os.path.getsize(compared) > os.path.getsize(path) / 2
    assert sorted(os.listdir(tmp_path)) == ["deep", "two.png"]  # no temporary file left behind


def test_shift_sensitivity_png(tmp_path):
    equivariance = {"pooled": {0: 0.0, 1: 0.5, 2: 0.0}, "strided": {0: 0.0, 1: 0.7, 2: 0.6}}
    invariance = {"pooled": {0: 1.0, 1: 0.9, 2: 0.95}}
    assert _open_png(plot_shift_sensitivity(equivariance, invariance, tmp_path / "shift.png"))[0] == (960, 380)
    assert _open_png(plot_shift_sensitivity({}, invariance, tmp_path / "only.png"))[0] == (960, 380)


def test_a_failed_plot_leaves_the_old_file(tmp_path):
    path = tmp_path / "rf.png"
    path.write_bytes(b"earlier")
    with pytest.raises(AttributeError):
        plot_receptive_field_growth("not stats", path)
    assert path.read_bytes() == b"earlier" and os.listdir(tmp_path) == ["rf.png"]


def test_filter_grid_of_alexnet_conv1(tmp_path):
    model = kerascnn.get_model("alexnet", include_top=False)
    conv = first_conv(model)
    grid = filter_grid(keras.ops.convert_to_numpy(conv.kernel), scale=4, gap=1)
    # 96 filters of 11x11x3 -> 10 x 10 tiles of 44 pixels, 1 pixel apart, in colour.
    assert conv.name == "conv1" and grid.shape == (10 * 45 - 1, 10 * 45 - 1, 3) and grid.dtype == np.uint8
    assert grid[:44, :44].min() == 0 and grid[:44, :44].max() == 255  # each filter uses the full range
    assert _open_png(save_png(grid, tmp_path / "filters.png")) == ((449, 449), "RGB")


def test_filters_over_one_channel_and_feature_maps(tmp_path):
    model = kerascnn.get_model("lenet5", num_classes=10)
    grid = filter_grid(keras.ops.convert_to_numpy(first_conv(model).kernel), scale=2, gap=1)
    assert grid.shape == (2 * 11 - 1, 3 * 11 - 1, 1)  # 6 filters of 5x5 -> 2 rows of 3 tiles of 10 pixels
    maps = feature_maps(model, np.random.default_rng(0).normal(size=(32, 32, 1)), "c1")
    assert maps.shape == (28, 28, 6)
    grid = feature_map_grid(maps, max_maps=4)
    assert grid.shape == (2 * 29 - 1, 2 * 29 - 1, 1)
    assert _open_png(save_png(grid, tmp_path / "maps.png")) == ((57, 57), "L")


def test_constant_maps_do_not_divide_by_zero():
    grid = feature_map_grid(np.ones((4, 4, 2)), gap=0)
    assert grid.shape == (4, 8, 1) and not grid.any()
