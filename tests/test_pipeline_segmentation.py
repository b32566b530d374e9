"""pipelines.train and pipelines.evaluate on a segmentation model: masks in, mean IoU out, a SavedModel that TF
Serving loads and that returns a mask at the input's size. The model is the tests' tiny one
(segmentation_helpers.py), on 32x32 shapes with masks."""

import json

import numpy as np
import pytest
import tensorflow as tf
from segmentation_helpers import TINY_SEGMENTATION, registered, restored, run_with_tiny
from serving_helpers import serve_without_kerascnn

ARGS = ["tiny_segnet", *TINY_SEGMENTATION, "--epochs", 1, "--set", "checkpoint_every=1"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One run of the main command, killed (SIGKILL, as a lost machine) while writing its third checkpoint of
    four, then run again: it resumes mid-epoch, finishes, evaluates and pushes."""
    root = tmp_path_factory.mktemp("segmentation")
    args = [*ARGS, "--run-dir", root / "run", "--output-dir", root / "out"]
    killed = run_with_tiny("train", *args, env={"KERASCNN_FAILPOINT": "checkpoint:3"})
    assert killed.returncode == -9, killed.stderr
    assert not (root / "out").exists()
    result = run_with_tiny("train", *args)
    assert result.returncode == 0, result.stderr
    return root, result


def test_a_killed_run_resumes_where_its_checkpoints_end(trained):
    root, result = trained
    assert "Resuming" in result.stdout and "at epoch 1, step 2" in result.stdout
    state = json.loads((root / "run/checkpoints/epoch-0001-step-000000/state.json").read_text())
    assert [entry["epoch"] for entry in state["history"]] == [1]


def test_training_reports_the_four_scores_and_pushes_them(trained):
    root, result = trained
    assert "Data: shapes with masks" in result.stdout and "7 classes" in result.stdout
    assert "mean_iou" in result.stdout and "IoU per class: background" in result.stdout
    metrics = json.loads((root / "out/tiny_segnet/1/assets.extra/metrics.json").read_text())
    for name in ("pixel_accuracy", "mean_accuracy", "mean_iou", "frequency_weighted_iou"):
        assert 0 <= metrics[f"val_{name}"] <= 1
    assert metrics["task"] == "segmentation" and len(metrics["class_iou"]) == 7
    assert np.nanmean(list(metrics["class_iou"].values())) == pytest.approx(metrics["val_mean_iou"])
    assert (root / "out/tiny_segnet/1/assets/labels.txt").read_text().split()[:2] == ["background", "circle"]
    # The masks grid and the four scores per epoch are in TensorBoard.
    tags = set()
    for events in (root / "run" / "logs").rglob("events.out.tfevents.*"):
        for record in tf.compat.v1.train.summary_iterator(str(events)):
            tags |= {value.tag for value in record.summary.value}
    assert any(tag.startswith("masks") for tag in tags), tags
    assert {"epoch_mean_iou", "epoch_frequency_weighted_iou"} <= tags, tags


def test_saved_model_returns_masks_at_the_input_size_without_kerascnn(trained, tmp_path):
    from kerascnn.data import DataConfig
    from kerascnn.data.dense import eval_image

    root, _ = trained
    images = np.random.default_rng(0).integers(0, 256, (2, 40, 56, 3), dtype=np.uint8)
    served = serve_without_kerascnn(root / "out/tiny_segnet/1", images, tmp_path)
    out = served["default"]
    assert served["signatures"] == ["serving_bytes", "serving_default"]
    assert {k: list(v.shape) for k, v in out.items()} == {
        "classes": [2, 40, 56],
        "scores": [2, 40, 56],
        "class_names": [2, 7],
    }
    assert served["dtypes"]["default"] == {"classes": "int32", "scores": "float32", "class_names": "string"}
    assert out["class_names"][0][0].decode() == "background"
    np.testing.assert_array_equal(served["bytes"]["classes"], out["classes"])
    masks = [tf.io.decode_png(png).numpy()[..., 0] for png in served["bytes"]["mask_png"]]
    np.testing.assert_array_equal(masks, out["classes"])

    # Keras on the same weights: the model's probabilities at 32x32, resized back to 40x56 by hand, arg max.
    model = restored(root / "run")
    probabilities = model(eval_image(images, 32, 3, DataConfig()), training=False)
    probabilities = tf.image.resize(probabilities, [40, 56], method="bilinear").numpy()
    agree = np.mean(np.argmax(probabilities, -1) == np.asarray(out["classes"]))
    assert agree > 0.999  # float ties aside
    np.testing.assert_allclose(np.max(probabilities, -1), out["scores"], atol=1e-5)


def test_evaluate_cli_agrees_with_the_evaluator(trained, capsys):
    from pipelines.evaluate import main

    root, _ = trained
    recorded = json.loads((root / "out/tiny_segnet/1/assets.extra/metrics.json").read_text())
    assert main([str(root / "out" / "tiny_segnet"), "--json", *map(str, TINY_SEGMENTATION[2:])]) == 0
    out = capsys.readouterr().out
    measured = json.loads(out[out.index("{") :])
    for name in ("pixel_accuracy", "mean_accuracy", "mean_iou", "frequency_weighted_iou"):
        assert measured[f"val_{name}"] == pytest.approx(recorded[f"val_{name}"], abs=1e-4)
    assert measured["class_iou"] == pytest.approx(recorded["class_iou"], abs=1e-4)


def test_a_classification_recipe_on_a_segmentation_model_is_one_line():
    from kerascnn.errors import UserError
    from kerascnn.training.config import resolve

    with registered():
        assert resolve("tiny_segnet").data.shapes_per_image == 2  # the segmentation demo's sizing
        with pytest.raises(UserError, match="data.augmentation=alexnet is a classification recipe.*deeplab"):
            resolve("tiny_segnet", sets=["data.augmentation=alexnet"])
    with pytest.raises(UserError, match="data.augmentation=deeplab is a segmentation recipe"):
        resolve("lenet5", sets=["data.augmentation=deeplab"])
