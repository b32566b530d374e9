"""pipelines.kubeflow: the train pipeline compiled for Kubeflow Pipelines (its YAML's DAG, artifact types, the
pusher's condition, the trainer's resources), the stages' artifacts, and (slow) a local run through kfp.local
against pipelines.train with the same flags."""

import json
import shutil
import sys

import keras
import numpy as np
import pytest
import yaml
from pipeline_helpers import run_pipeline

from kerascnn.errors import DataError
from kerascnn.training import config as config_lib
from kerascnn.training import runs, stages
from kerascnn.training.models import build_model
from kerascnn.training.push import weights_digest
from pipelines import kubeflow
from pipelines.cli import run as run_cli
from pipelines.train import main as train_main

pytest.importorskip("kfp")  # the kubeflow extra (in the test extra too)

FLAGS = ["--epochs", "1", "--batch-size", "16", "--deterministic"]
FLAGS += ["--set", "data.shapes_train=64", "--set", "data.shapes_val=32"]
STAGES = {"example-gen", "trainer", "evaluator"}


def compiled(tmp_path, *argv):
    output = tmp_path / "pipeline.yaml"
    assert kubeflow.main(["compile", *map(str, argv), "--output", str(output)]) == 0
    return yaml.safe_load(output.read_text())


def artifact_types(spec, component, side="outputDefinitions"):
    artifacts = spec["components"][component][side].get("artifacts", {})
    return {name: value["artifactType"]["schemaTitle"] for name, value in artifacts.items()}


@pytest.mark.parametrize("model", ["lenet5", "fcn8s"])
def test_compiled_dag_has_the_stages_their_artifacts_and_the_condition(model, tmp_path):
    spec = compiled(tmp_path, model, *FLAGS, "--gpus", 2, "--accelerator", "NVIDIA_TESLA_T4", "--image", "r/k:1")
    tasks = spec["root"]["dag"]["tasks"]
    assert set(tasks) == STAGES | {"condition-1"}
    assert tasks["trainer"]["inputs"]["artifacts"]["examples"]["taskOutputArtifact"]["producerTask"] == "example-gen"
    assert set(tasks["evaluator"]["dependentTasks"]) == {"example-gen", "trainer"}
    # The pusher runs inside the condition on the evaluator's blessing, and nowhere else.
    condition = tasks["condition-1"]
    assert condition["triggerPolicy"]["condition"] == (
        "inputs.parameter_values['pipelinechannel--evaluator-Output'] == true"
    )
    inner = spec["components"][condition["componentRef"]["name"]]["dag"]["tasks"]
    assert set(inner) == {"pusher"}
    assert artifact_types(spec, "comp-example-gen") == {"examples": "system.Dataset"}
    assert artifact_types(spec, "comp-trainer") == {"model": "system.Model"}
    assert artifact_types(spec, "comp-evaluator") == {
        "metrics": "system.Metrics",
        "confusion_matrix": "system.ClassificationMetrics",
    }
    assert spec["components"]["comp-evaluator"]["outputDefinitions"]["parameters"]["Output"]["parameterType"] == (
        "BOOLEAN"
    )
    assert artifact_types(spec, "comp-pusher") == {"pushed": "system.Model"}
    assert artifact_types(spec, "comp-pusher", "inputDefinitions") == {
        "examples": "system.Dataset",
        "model": "system.Model",
        "metrics": "system.Metrics",
    }
    executors = spec["deploymentSpec"]["executors"]
    # The trainer asks for the GPUs; the other stages stay on CPU; every stage runs in the given image.
    accelerator = executors["exec-trainer"]["container"]["resources"]["accelerator"]
    assert (accelerator["resourceType"], accelerator["resourceCount"]) == ("NVIDIA_TESLA_T4", "2")
    for name in ("exec-example-gen", "exec-evaluator", "exec-pusher"):
        assert "resources" not in executors[name]["container"]
    assert {executor["container"]["image"] for executor in executors.values()} == {"r/k:1"}
    # The run's flags are the pipeline's parameter, the model first, exactly as given.
    default = spec["root"]["inputDefinitions"]["parameters"]["argv"]["defaultValue"]
    assert default == [model, *FLAGS]


def test_compiled_without_gpus_asks_for_none_and_a_tuner_feeds_every_stage(tmp_path):
    spec = compiled(tmp_path, "--epochs", 1, "lenet5", "--tune-flags", "--tuner random --max-trials 2")
    tasks = spec["root"]["dag"]["tasks"]
    assert set(tasks) == STAGES | {"tuner", "condition-1"}
    assert spec["root"]["inputDefinitions"]["parameters"]["argv"]["defaultValue"] == ["lenet5", "--epochs", "1"]
    assert tasks["tuner"]["inputs"]["parameters"]["tune_flags"]["runtimeValue"]["constant"] == [
        "--tuner",
        "random",
        "--max-trials",
        "2",
    ]
    for name in STAGES:
        argv = tasks[name]["inputs"]["parameters"]["argv"]["taskOutputParameter"]
        assert argv == {"outputParameterKey": "Output", "producerTask": "tuner"}
    assert not any("resources" in e["container"] for e in spec["deploymentSpec"]["executors"].values())


def test_evaluator_alone_imports_the_earlier_artifacts(tmp_path):
    spec = compiled(tmp_path, "lenet5", "--evaluate", "/runs/x/examples", "/runs/x/model")
    tasks = spec["root"]["dag"]["tasks"]
    assert set(tasks) == {"evaluator", "importer", "importer-2"}
    uris = {
        spec["root"]["dag"]["tasks"][t]["inputs"]["parameters"]["uri"]["runtimeValue"]["constant"]
        for t in tasks
        if t != "evaluator"
    }
    assert uris == {"/runs/x/examples", "/runs/x/model"}


def one_line_error(capsys, main, argv):
    with pytest.raises(SystemExit) as exit_:
        run_cli(main, argv, pipeline="train")
    err = capsys.readouterr().err.strip()
    assert exit_.value.code == 2 and len(err.splitlines()) == 1, err
    return err


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["lenet5", "--no-such-flag"], "unrecognized arguments: --no-such-flag"),
        (["lenet55"], "lenet5"),  # an unknown model: the close match named
        (["lenet5", "--set", "batch_size=0"], "--batch-size"),
        (["lenet5", "--set", "data.no_such_field=1"], "data.no_such_field"),
    ],
)
def test_bad_flags_fail_at_compile_time_as_the_train_command_does(argv, fragment, capsys, tmp_path):
    trained = one_line_error(capsys, train_main, argv)
    compiled_ = one_line_error(capsys, kubeflow.main, ["compile", *argv, "--output", str(tmp_path / "x.yaml")])
    assert compiled_ == trained and fragment in trained
    assert not (tmp_path / "x.yaml").exists()


def test_without_kfp_the_error_names_the_install_command(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "kfp", None)
    err = one_line_error(capsys, kubeflow.main, ["compile", "lenet5"])
    assert err == 'error: Kubeflow Pipelines (kfp) is not installed: pip install "kerascnn[kubeflow]"'


# ------------------------------------------------------------------------------------------ stage artifacts


def small_run(tmp_path, shapes_train=16):
    sets = [f"data.shapes_train={shapes_train}", "data.shapes_val=8", f"run_dir={tmp_path / 'run'}"]
    sets.append(f"output_dir={tmp_path / 'out'}")
    config = config_lib.resolve("lenet5", sets=sets, overrides={"batch_size": 8})
    return runs.prepare(config, record=False)


def test_examples_artifact_reloads_the_same_splits_and_refuses_changed_data(tmp_path):
    run = small_run(tmp_path)
    splits = stages.example_gen(run)
    about = stages.write_examples(tmp_path / "examples", run, splits)
    assert (about["num_train"], about["num_val"], len(about["class_names"])) == (16, 8, 6)
    again = stages.read_examples(tmp_path / "examples", run)
    first = np.stack([image for image, _ in splits.train.as_numpy_iterator()])
    second = np.stack([image for image, _ in again.train.as_numpy_iterator()])
    np.testing.assert_array_equal(first, second)
    with pytest.raises(DataError, match="num_train") as error:
        stages.read_examples(tmp_path / "examples", small_run(tmp_path, shapes_train=24))
    assert error.value.field == "data.dataset"


def test_model_artifact_round_trips_the_weights_and_their_digest(tmp_path):
    run = small_run(tmp_path)
    splits = stages.example_gen(run)
    model = build_model(run.config, num_classes=6, input_shape=run.input_shape, precision="float32")
    for variable in model.weights:  # weights no fresh build would have
        variable.assign(np.random.default_rng(len(variable.path)).normal(size=variable.shape))
    about = stages.save_model(tmp_path / "model", run, model, splits)
    restored = stages.load_model(tmp_path / "model", run, splits)
    assert about["weights_sha256"] == weights_digest(model) == weights_digest(restored)
    for a, b in zip(model.get_weights(), restored.get_weights()):
        np.testing.assert_array_equal(a, b)
    (tmp_path / "model" / stages.MODEL_FILE).write_text(json.dumps({**about, "weights_sha256": "0" * 64}))
    with pytest.raises(Exception, match="does not hold the weights"):
        stages.load_model(tmp_path / "model", run, splits)


def test_confusion_matrix_agrees_with_the_evaluators_accuracy_and_labels(tmp_path):
    run = small_run(tmp_path)
    splits = stages.example_gen(run)
    model = build_model(run.config, num_classes=6, input_shape=run.input_shape, precision="float32")
    for variable in model.trainable_weights:  # a model whose predictions differ between images
        variable.assign(np.random.default_rng(len(variable.path)).normal(size=variable.shape))
    model.compile(
        loss="sparse_categorical_crossentropy",
        metrics=[
            keras.metrics.SparseCategoricalAccuracy(name="accuracy"),
            keras.metrics.SparseTopKCategoricalAccuracy(k=5, name="top5_accuracy"),
        ],
    )
    evaluation = stages.evaluator(run, model, splits)
    matrix = stages.confusion_matrix(run, model, splits)
    labels = np.array([label for _, label in splits.val.as_numpy_iterator()])
    np.testing.assert_array_equal(matrix.sum(axis=1), np.bincount(labels, minlength=6))
    assert np.trace(matrix) / len(labels) == pytest.approx(evaluation.metrics["val_accuracy"])
    assert evaluation.blessed and evaluation.reason == "first version of this model"


# --------------------------------------------------------------------------------------- a local run (slow)


@pytest.fixture(scope="module")
def local_runs(tmp_path_factory):
    """pipelines.train and the Kubeflow pipeline through kfp.local, with the same flags, each in a folder."""
    root = tmp_path_factory.mktemp("kubeflow")
    for name in ("train", "kubeflow"):
        (root / name).mkdir()
        argv = ["run"] if name == "kubeflow" else []
        result = run_pipeline(name, *argv, "lenet5", *FLAGS, cwd=root / name, timeout=900)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return root


def version(root, number):
    return json.loads((root / "saved_models" / "lenet5" / str(number) / "assets.extra" / "metrics.json").read_text())


def artifact(root, task, name, runs="kubeflow-runs"):
    (found,) = (root / runs).glob(f"kerascnn-lenet5-*/{task}/{name}")
    return found


def task_output(root, task, runs="kubeflow-runs"):
    """What a task of a local run returned: its parameters, and each output artifact's metadata."""
    output = json.loads(artifact(root, task, "executor_output.json", runs).read_text())
    metadata = {name: value["artifacts"][0]["metadata"] for name, value in output.get("artifacts", {}).items()}
    return output.get("parameterValues", {}), metadata


@pytest.mark.slow
def test_local_run_pushes_the_version_the_train_command_pushes(local_runs):
    trained, piped = version(local_runs / "train", 1), version(local_runs / "kubeflow", 1)
    assert piped["weights_sha256"] == trained["weights_sha256"]
    assert piped == trained  # every metric, and what the version records about itself
    metrics = json.loads(artifact(local_runs / "kubeflow", "evaluator", "metrics").read_text())
    assert {k: v for k, v in metrics.items() if k in trained} == {k: trained[k] for k in metrics}
    blessed, metadata = task_output(local_runs / "kubeflow", "evaluator")
    assert blessed == {"Output": True} and metadata["metrics"]["val_accuracy"] == trained["val_accuracy"]
    # The confusion matrix: 32 validation images, its trace the evaluator's top-1 accuracy.
    rows = np.array([row["row"] for row in metadata["confusion_matrix"]["confusionMatrix"]["rows"]])
    assert rows.shape == (6, 6) and rows.sum() == 32
    assert np.trace(rows) / 32 == pytest.approx(trained["val_accuracy"])
    _, pushed = task_output(local_runs / "kubeflow", "pusher")
    assert pushed["pushed"] == {"pushed": True, "version": 1, "reason": "first version of this model"}


@pytest.mark.slow
def test_evaluator_alone_against_a_newer_version_then_a_run_that_pushes_nothing(local_runs):
    root = local_runs / "kubeflow"
    first = version(root, 1)
    newer = root / "saved_models" / "lenet5" / "2"
    shutil.copytree(root / "saved_models" / "lenet5" / "1", newer)
    better = {**first, "val_accuracy": first["val_accuracy"] + 0.01, "weights_sha256": "another"}
    (newer / "assets.extra" / "metrics.json").write_text(json.dumps(better))
    examples, model = artifact(root, "example-gen", "examples"), artifact(root, "trainer", "model")
    argv = ["run", "lenet5", *FLAGS, "--evaluate", examples, model, "--pipeline-root", root / "alone"]
    result = run_pipeline("kubeflow", *argv, cwd=root, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    (output,) = (root / "alone").glob("*/evaluator/executor_output.json")
    output = json.loads(output.read_text())
    assert output["parameterValues"] == {"Output": False}
    metadata = output["artifacts"]["metrics"]["artifacts"][0]["metadata"]
    assert metadata["val_accuracy"] == first["val_accuracy"]  # the same model, evaluated again
    assert (
        metadata["blessing"] == f"val_accuracy {first['val_accuracy']:.4f} < {better['val_accuracy']:.4f} of version 2"
    )
    # The whole pipeline again: trained the same, not blessed against version 2, so no version 3.
    result = run_pipeline("kubeflow", "run", "lenet5", *FLAGS, "--pipeline-root", root / "again", cwd=root, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(p.name for p in (root / "saved_models" / "lenet5").iterdir()) == ["1", "2"]
    assert not list((root / "again").glob("*/pusher"))


def test_tuner_step_hands_the_best_trial_to_the_later_stages(tmp_path, monkeypatch):
    from pipelines import kubeflow_steps, tune

    searched = []

    def search(argv):  # pipelines.tune's results.json, ranked: the best trial first
        searched.append(argv)
        trials = [
            {"rank": 1, "model": "resnet32", "sets": ["optimizer.learning_rate=0.05", "optimizer.momentum=0.8"]},
            {"rank": 2, "model": "resnet20", "sets": ["optimizer.learning_rate=0.1", "optimizer.momentum=0.9"]},
        ]
        (tmp_path / "search" / "results.json").write_text(json.dumps({"trials": trials}))
        return 0

    (tmp_path / "search").mkdir()
    monkeypatch.setattr(tune, "main", search)
    best = kubeflow_steps.tuner(
        ["resnet20", "--epochs", "3", "--set", "optimizer.momentum=0.9"], ["--max-trials", "2"], tmp_path / "search"
    )
    assert searched == [["resnet20", "--max-trials", "2", "--tune-dir", str(tmp_path / "search")]]
    assert best == [
        "resnet32",
        "--epochs",
        "3",
        "--set",
        "optimizer.momentum=0.9",
        "--set",
        "optimizer.learning_rate=0.05",
        "--set",
        "optimizer.momentum=0.8",
    ]
    # A later --set wins: the run's config has the trial's momentum.
    assert kubeflow_steps.resolve(best).optimizer.momentum == 0.8
