"""The trainer on each kind of source (tfds, a folder of images), on mixed precision, and GoogLeNet's heads,
called in-process through the library functions pipelines.train is made of."""

import json

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds
from PIL import Image

from kerascnn.data import load_splits
from kerascnn.training import config as config_lib
from kerascnn.training import runs, trainer
from kerascnn.training.evaluate import evaluate_model
from kerascnn.training.push import deliver

SMALL = ["data.shapes_train=64", "data.shapes_val=16", "batch_size=16", "histogram_freq=0"]


def train(tmp_path, model, *, dataset=None, sets=(), **overrides):
    config = config_lib.resolve(
        model,
        dataset=dataset,
        sets=[*SMALL, *sets],
        overrides={"run_dir": str(tmp_path / "run"), "output_dir": str(tmp_path / "out"), "epochs": 1, **overrides},
    )
    run = runs.prepare(config)
    splits = load_splits(config.data, run.input_shape[0], run.input_shape[2], seed=config.seed)
    model, history = trainer.fit(run, splits)
    metrics = evaluate_model(run, model, splits)
    pushed, _ = deliver(run, model, splits, metrics)
    return run, splits, model, metrics, pushed


def test_tfds_dataset_through_mock_data(tmp_path):
    with tfds.testing.mock_data(num_examples=48):
        run, splits, _, metrics, pushed = train(tmp_path, "lenet5", dataset="mnist")
    assert splits.num_classes == 10 and run.input_shape == (32, 32, 1)
    assert (pushed / "assets" / "labels.txt").read_text().split() == [str(i) for i in range(10)]
    assert 0 <= metrics["val_accuracy"] <= 1


def _write_folder(root):
    """Two classes of PNG and JPEG files in every mode a camera or a web scrape produces, and one broken file."""
    rng = np.random.default_rng(0)
    for name, colour in (("red disk", 0), ("blue bar", 2)):
        folder = root / name
        folder.mkdir(parents=True)
        for i in range(12):
            image = rng.integers(0, 60, (40 + i, 36, 3), dtype=np.uint8)
            image[10:30, 10:26, colour] = 250
            Image.fromarray(image).save(folder / f"{i}.png" if i % 2 else folder / f"{i}.jpg")
        Image.fromarray(image[..., 0]).save(folder / "gray.png")  # mode L
        Image.fromarray(np.dstack([image, np.full(image.shape[:2], 255, np.uint8)])).save(folder / "rgba.png")
    (root / "red disk" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not a jpeg")


def test_image_folder_skips_and_reports_an_undecodable_file(tmp_path):
    _write_folder(tmp_path / "images")
    run, splits, _, _, pushed = train(
        tmp_path, "lenet5", dataset=str(tmp_path / "images"), sets=["data.on_bad_image=skip", "data.val_split=0.25"]
    )
    assert splits.class_names == ["blue bar", "red disk"]
    assert splits.num_train + splits.num_val == 28  # 14 images a class; the broken file left out
    assert [path for path, _ in splits.bad_images] == [str(tmp_path / "images" / "red disk" / "broken.jpg")]
    assert pushed is not None


def test_image_folder_fails_on_an_undecodable_file_by_default(tmp_path):
    from kerascnn.data import DataError
    from kerascnn.errors import UserError

    _write_folder(tmp_path / "images")
    with pytest.raises((DataError, UserError), match="broken.jpg"):
        train(tmp_path, "lenet5", dataset=str(tmp_path / "images"))


def test_mixed_float16_trains_on_cpu_and_exports_float32(tmp_path):
    run, _, model, metrics, pushed = train(tmp_path, "alexnet", sets=["image_size=67"], precision="mixed_float16")
    assert run.precision == "mixed_float16"
    layers = {layer.name: layer for layer in model.layers}
    assert layers["conv1"].compute_dtype == "float16"
    assert layers["norm1"].compute_dtype == "float16"  # its input and output; it computes in float32 inside
    assert layers["predictions"].compute_dtype == "float32"
    assert type(model.optimizer).__name__ == "LossScaleOptimizer"  # Keras' dynamic loss scaling
    assert np.isfinite(metrics["val_loss"])
    loaded = tf.saved_model.load(str(pushed))
    out = loaded.signatures["serving_default"](images=tf.zeros([1, 67, 67, 3], tf.uint8))
    assert out["probabilities"].dtype == tf.float32
    graph = (pushed / "saved_model.pb").read_bytes()
    assert b"DT_HALF" not in graph  # no float16 op anywhere in the exported graph


def test_googlenet_trains_with_auxiliary_heads_and_exports_without(tmp_path):
    run, _, model, metrics, pushed = train(tmp_path, "googlenet", sets=["image_size=65", "batch_size=8"])
    assert len(model.outputs) == 3 and "val_accuracy" in metrics
    loaded = tf.saved_model.load(str(pushed))
    out = loaded.signatures["serving_default"](images=tf.zeros([2, 80, 70, 3], tf.uint8))
    assert out["probabilities"].shape == (2, 6)
    variables = tf.train.load_checkpoint(str(pushed / "variables" / "variables")).get_variable_to_shape_map()
    shapes = sorted(tuple(s) for s in variables.values())
    assert (2048, 1024) not in shapes  # the auxiliary heads' FC layers stayed behind


def test_tensorboard_gets_the_metrics_the_inputs_and_the_graph(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run, *_ = train(
        tmp_path,
        "lenet5",
        sets=["histogram_freq=1", "filter_images=true", "explain_images=true", "profile_batches=2,3"],
    )
    tags = {"scalars": set(), "tensors": set(), "images": set(), "graph": False}
    for folder in ("train", "validation"):
        events = EventAccumulator(str(run.run_dir / "logs" / folder), size_guidance={"tensors": 0}).Reload()
        for kind in ("scalars", "tensors", "images"):
            tags[kind] |= set(events.Tags()[kind])
        tags["graph"] |= events.Tags()["graph"]
    names = tags["scalars"] | tags["tensors"]
    for metric in (
        "epoch_loss",
        "epoch_accuracy",
        "epoch_top5_accuracy",
        "epoch_learning_rate",
        "epoch_images_per_second",
    ):
        assert metric in names, names
    assert any("histogram" in t or "kernel" in t for t in names), names  # weight histograms
    assert "augmented_inputs" in names | tags["images"]
    assert tags["graph"]
    assert list((run.run_dir / "logs" / "train" / "plugins" / "profile").rglob("*.xplane.pb"))  # --profile-batches
    filters = EventAccumulator(str(run.run_dir / "logs" / "filters")).Reload().Tags()
    assert {"c1/filters", "c1/feature_maps"} <= set(filters["images"]) | set(filters["tensors"])  # --filter-images
    explained = EventAccumulator(str(run.run_dir / "logs" / "explain")).Reload().Tags()
    assert "grad_cam" in set(explained["images"]) | set(explained["tensors"])  # --explain-images


def test_resolved_config_is_written_next_to_the_outputs(tmp_path):
    run, *_ = train(tmp_path, "lenet5")
    written = json.loads((run.run_dir / "config.json").read_text())
    assert written["config"]["optimizer"]["name"] == "adam" and written["global_batch"] == 16
