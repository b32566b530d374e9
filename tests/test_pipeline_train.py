"""pipelines.train end to end: shapes, tfds and folders in, a SavedModel TF Serving can load out."""

import json

import numpy as np
import pytest
import tensorflow as tf
from pipeline_helpers import TINY, assert_one_line_error, run_commands, run_pipeline
from serving_helpers import serve_without_kerascnn


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One small run of the main command, shared by the tests that inspect its outputs."""
    root = tmp_path_factory.mktemp("train")
    result = run_pipeline(
        "train", "lenet5", "--epochs", 2, "--run-dir", root / "run", "--output-dir", root / "out", *TINY
    )
    assert result.returncode == 0, result.stderr
    return root, result


def test_main_command_pushes_a_version_with_its_metrics(trained):
    root, result = trained
    version = root / "out" / "lenet5" / "1"
    assert (version / "saved_model.pb").exists() and (version / "variables").is_dir()
    metrics = json.loads((version / "assets.extra" / "metrics.json").read_text())
    assert 0 <= metrics["val_accuracy"] <= 1 and metrics["val_error"] == pytest.approx(1 - metrics["val_accuracy"])
    assert (version / "assets" / "labels.txt").read_text().split() == [
        "circle",
        "square",
        "triangle",
        "star",
        "cross",
        "ring",
    ]
    assert "name: 'lenet5'" in (root / "out" / "models.config").read_text()
    config = json.loads((root / "run" / "config.json").read_text())
    assert config["config"]["model"] == "lenet5" and config["precision"] == "float32"
    assert (root / "run" / "training.csv").read_text().count("\n") == 3  # header and two epochs
    assert list((root / "run" / "logs").rglob("events.out.tfevents.*"))
    assert "Pushed" in result.stdout


def test_warmup_requests_are_prediction_logs(trained):
    from tensorflow_serving.apis import prediction_log_pb2

    root, _ = trained
    records = tf.data.TFRecordDataset(str(root / "out/lenet5/1/assets.extra/tf_serving_warmup_requests"))
    signatures = []
    for record in records:
        log = prediction_log_pb2.PredictionLog.FromString(record.numpy())
        assert log.predict_log.request.model_spec.name == "lenet5"
        signatures.append(log.predict_log.request.model_spec.signature_name)
    assert signatures == ["serving_default", "serving_bytes"]


def test_saved_model_loads_without_kerascnn_and_matches_keras(trained, tmp_path):
    from kerascnn.data import DataConfig
    from kerascnn.serving import serving_transform

    root, _ = trained
    images = np.random.default_rng(0).integers(0, 256, (3, 40, 48, 3), dtype=np.uint8)
    out = serve_without_kerascnn(root / "out/lenet5/1", images, tmp_path)
    assert out["signatures"] == ["explain", "explain_class", "serving_bytes", "serving_default"]
    assert out["dtypes"]["default"] == {
        "probabilities": "float32",
        "classes": "int32",
        "scores": "float32",
        "class_names": "string",
    }
    np.testing.assert_allclose(out["bytes"]["probabilities"], out["default"]["probabilities"], atol=1e-6)

    # The same weights in Keras, fed the evaluation transform of the same images, give the same probabilities.
    import kerascnn
    from kerascnn.training.checkpoints import CheckpointStore

    model = kerascnn.get_model("lenet5", num_classes=6)
    CheckpointStore(root / "run" / "checkpoints").restore(model)
    inputs = serving_transform(images, 32, 1, DataConfig(normalization="unit"))
    np.testing.assert_allclose(out["default"]["probabilities"], model(inputs, training=False), atol=1e-5)


def test_export_holds_no_xla_and_is_float32(trained):
    root, _ = trained
    graph = (root / "out/lenet5/1/saved_model.pb").read_bytes()
    assert b"_XlaMustCompile" not in graph
    loaded = tf.saved_model.load(str(root / "out/lenet5/1"))
    # Its weights are variables (kerascnn.serving.export.inference_function says why): five kernels, five biases.
    assert len(loaded.variables) == 10
    graph = loaded.signatures["serving_default"].graph.as_graph_def()
    nodes = [node for function in graph.library.function for node in function.node_def]
    compute = [node for node in nodes if node.op in ("Conv2D", "MatMul")]
    assert len(compute) == 5 and {node.attr["T"].type for node in compute} == {tf.float32.as_datatype_enum}


def test_rerun_resumes_after_the_last_epoch(tmp_path):
    args = ["lenet5", "--run-dir", tmp_path / "run", "--no-push", *TINY]
    first = run_pipeline("train", *args, "--epochs", 1)
    assert first.returncode == 0, first.stderr
    second = run_pipeline("train", *args, "--epochs", 2)
    assert second.returncode == 0, second.stderr
    assert "Resuming" in second.stdout and "at epoch 2" in second.stdout
    assert "Epoch 1/2" not in second.stdout and "Epoch 2/2" in second.stdout
    state = json.loads((tmp_path / "run/checkpoints/epoch-0002-step-000000/state.json").read_text())
    assert [entry["epoch"] for entry in state["history"]] == [1, 2]
    again = run_pipeline("train", *args, "--epochs", 2)
    assert "already holds 2 trained epochs" in again.stdout


def test_resuming_with_another_config_is_refused(tmp_path):
    args = ["lenet5", "--run-dir", tmp_path / "run", "--no-push", "--epochs", 1, *TINY]
    assert run_pipeline("train", *args).returncode == 0
    result = run_pipeline("train", *args, "--learning-rate", "0.5")
    assert_one_line_error(result, "holds a run with another config", "optimizer.learning_rate")


BAD_INPUT = [
    (["alexnt"], ["Unknown model 'alexnt'", "alexnet"]),
    (["lenet5", "--dataset", "no_such_dataset_xyz"], ["no_such_dataset_xyz"]),
    (["lenet5", "--epoch", "1x"], ["--epoch"]),
    (["lenet5", "--dataset", "/nonexistent/folder/"], ["/nonexistent/folder"]),
    (["lenet5", "--learning-rate", "-0.1"], ["--learning-rate (optimizer.learning_rate) must be positive"]),
    (["lenet5", "--image-size", "16"], ["--image-size 16", "minimum of 32"]),
    (["lenet5", "--set", "optimizer.momentum=2"], ["optimizer.momentum must be in [0, 1)"]),
]


@pytest.fixture(scope="module")
def bad_input_results(tmp_path_factory):
    """Each command of BAD_INPUT, with a run folder of its own, run in one process (TensorFlow starts once)."""
    root = tmp_path_factory.mktemp("bad_input")
    return run_commands("train", [args for args, _ in BAD_INPUT], extra=lambda i: ["--run-dir", root / f"run{i}"])


@pytest.mark.parametrize("args, fragments", BAD_INPUT)
def test_bad_input_exits_with_one_clear_line(args, fragments, bad_input_results):
    assert_one_line_error(bad_input_results[tuple(args)], *fragments)


def test_list_models_and_help():
    listed = run_pipeline("train", "--list-models")
    assert listed.returncode == 0 and "alexnet" in listed.stdout.split()
    help_text = run_pipeline("train", "--help").stdout
    for flag in (
        "--dataset",
        "--epochs",
        "--batch-size",
        "--image-size",
        "--precision",
        "--strategy",
        "--seed",
        "--output-dir",
        "--run-dir",
        "--set",
        "--data-dir",
        "--val-split",
        "--force-push",
        "--no-push",
    ):
        assert flag in help_text
    assert "(default: shapes)" in help_text and "(default: saved_models)" in help_text


def test_evaluate_cli_agrees_with_the_evaluator_through_the_signature(trained):
    root, _ = trained
    recorded = json.loads((root / "out/lenet5/1/assets.extra/metrics.json").read_text())
    result = run_pipeline("evaluate", root / "out" / "lenet5", "--json", *TINY[:4])
    assert result.returncode == 0, result.stderr
    measured = json.loads(result.stdout[result.stdout.index("{") :])
    # Keras' evaluate on the eval pipeline, and the SavedModel's serving_default on raw uint8 images.
    assert measured["val_accuracy"] == pytest.approx(recorded["val_accuracy"], abs=1e-6)
    assert measured["val_top5_accuracy"] == pytest.approx(recorded["val_top5_accuracy"], abs=1e-6)
    assert measured["val_loss"] == pytest.approx(recorded["val_loss"], rel=1e-4)


def test_evaluate_cli_refuses_a_folder_without_a_saved_model(tmp_path):
    assert_one_line_error(run_pipeline("evaluate", tmp_path), "holds no saved_model.pb")
