"""pipelines.train on U-Net, whose valid convolutions lose 92 pixels a side (572 -> 388): the run feeds it its
images mirror-padded by 92 a side (Ronneberger et al. 2015, the overlap-tile strategy), so the masks, the
evaluator and the served `classes` keep the image's size."""

import json

import numpy as np
import pytest
import tensorflow as tf
from segmentation_helpers import run_with_tiny

import kerascnn
from kerascnn.errors import UserError
from kerascnn.registry import checked_model
from kerascnn.training.config import resolve

MARGIN = 92  # the paper's: 572 -> 388
SMALLEST = 4  # 4 + 2 * 92 = 188 = 16 * 8 + 60, U-Net's smallest valid input (module docstring of unet.py)


def test_the_paper_tile_is_an_image_of_388_padded_to_572():
    spec = kerascnn.model_spec("unet")
    assert spec.output_margin == MARGIN and spec.image_size == 572 - 2 * MARGIN
    assert spec.min_image_size == SMALLEST and spec.image_sizes(SMALLEST) == (SMALLEST,)
    # 16n + 60 - 184 = 16n - 124: 52 (n = 11) and 68 (n = 12) are the neighbours of 64.
    assert spec.image_sizes(64) == (52, 68)
    config = resolve("unet", dataset="cells", sets=["data.val_split=0.2"])
    assert config.image_size is None  # the run then takes spec.image_size, 388


def test_an_image_size_unet_cannot_take_is_one_line_naming_valid_ones():
    with pytest.raises(UserError, match=r"image_size 64 does not suit unet .*92.*: use 52 or 68\.$") as error:
        checked_model("unet", [64])
    assert "\n" not in str(error.value) and error.value.field == "image_size"
    with pytest.raises(UserError, match="below unet's minimum of 4"):
        checked_model("unet", [3])


def test_the_shapes_demo_picks_a_valid_size_for_unet():
    config = resolve("unet")
    assert config.image_size == 68  # the segmentation demo's 64 is not one; 68 + 184 = 252 = 16 * 12 + 60
    assert checked_model("unet", [config.image_size]).name == "unet"


def test_unet_trains_pushes_and_serves_masks_at_the_image_size(tmp_path):
    args = ["unet", "--image-size", SMALLEST, "--epochs", 1, "--batch-size", 8]
    args += [
        "--set",
        "data.shapes_train=8",
        "--set",
        "data.shapes_val=2",
        "--set",
        "model_options.width_multiplier=0.0625",
    ]
    args += ["--run-dir", tmp_path / "run", "--output-dir", tmp_path / "out", "--set", "push=force"]
    result = run_with_tiny("train", *args)
    assert result.returncode == 0, result.stderr
    assert "4x4x1" in result.stdout  # U-Net's one channel: the shapes' RGB goes in as gray
    config = json.loads((tmp_path / "run/config.json").read_text())
    assert config["input_shape"] == [SMALLEST, SMALLEST, 1]
    # The SavedModel in plain TF (no Keras, no kerascnn: test_pipeline_segmentation.py shows the graph needs
    # neither): `classes` at each request's size, the padding inside the graph.
    served = tf.saved_model.load(str(tmp_path / "out/unet/1")).signatures["serving_default"]
    for height, width in ((SMALLEST, SMALLEST), (9, 13)):
        images = np.random.default_rng(0).integers(0, 256, (2, height, width, 3), dtype=np.uint8)
        out = served(images=tf.constant(images))
        assert out["classes"].shape == (2, height, width) and out["scores"].shape == (2, height, width)
