"""pipelines.tune end to end on the shapes dataset with LeNet-5: searches, resumption, Hyperband, a chief and a
worker, the best trial exported and trained, and the mistakes a user can make."""

import csv
import json
import shlex
import shutil
import socket
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from pipeline_helpers import ROOT, TINY, assert_one_line_error, environment, run_pipeline

SEARCH = ["lenet5", "--epochs", 1, "--max-trials", 2, *TINY]


def read_results(folder):
    return json.loads((folder / "results.json").read_text())


def events(folder):
    """(tag, plugin, step, value or content) of every summary in the event files directly in `folder`."""
    found = []
    for path in sorted(folder.glob("events.out.tfevents.*")):
        for record in tf.data.TFRecordDataset(str(path)):
            event = tf.compat.v1.Event.FromString(record.numpy())
            for value in event.summary.value:
                plugin = value.metadata.plugin_data
                content = tf.make_ndarray(value.tensor) if plugin.plugin_name == "scalars" else plugin.content
                found.append((value.tag, plugin.plugin_name, event.step, content))
    return found


@pytest.fixture(scope="module")
def search(tmp_path_factory):
    """A random search of two trials whose best is exported, shared by the tests that inspect it."""
    root = tmp_path_factory.mktemp("tune")
    args = [*SEARCH, "--tune-dir", root / "search", "--output-dir", root / "out"]
    result = run_pipeline("tune", *args, "--export-best")
    assert result.returncode == 0, result.stderr
    return root, args, result


def test_random_search_writes_two_distinct_ranked_trials(search):
    root, _, result = search
    trials = read_results(root / "search")["trials"]
    assert [t["status"] for t in trials] == ["COMPLETED", "COMPLETED"]
    assert trials[0]["hyperparameters"] != trials[1]["hyperparameters"]
    assert [t["rank"] for t in trials] == [1, 2] and trials[0]["objective"] >= trials[1]["objective"]
    for trial in trials:
        assert 0 <= trial["objective"] <= 1 and trial["epochs"] == 1 and trial["seconds"] > 0
        # The objective is the validation accuracy the trial's TensorBoard logs recorded.
        validation = events(root / "search" / "logs" / trial["trial"] / "execution0" / "validation")
        logged = [float(v) for tag, _, step, v in validation if tag == "epoch_accuracy"]
        assert logged == [pytest.approx(trial["objective"])]
        assert trial["sets"] == [f"{name.split('@')[0]}={value}" for name, value in trial["hyperparameters"].items()]
    assert "Trial 0 (1 of 2)" in result.stdout and "Trial 1 (2 of 2)" in result.stdout
    # One numbering: the trial the table ranks first is the one "best so far" and "Best" name.
    assert f"best so far {trials[0]['objective']:.4f} (trial {trials[0]['trial']})" in result.stdout
    assert f"Best: trial {trials[0]['trial']};" in result.stdout


def test_the_best_command_trains_the_best_trials_config(search):
    """The printed command, pasted, resolves the config the best trial trained: its dataset and data options,
    epochs, batch and tuned values (only the run's folder is pipelines.train's own)."""
    from kerascnn.training import config as config_lib
    from kerascnn.tuning.search_space import TrialConfigs
    from pipelines import tune

    root, args, result = search
    best = read_results(root / "search")["trials"][0]
    line = next(line for line in result.stdout.splitlines() if line.startswith("Best: trial"))
    argv = shlex.split(line.split("python -m pipelines.train ", 1)[1])
    shown = run_pipeline("train", *argv, "--show-config")
    assert shown.returncode == 0, shown.stderr
    pasted = json.loads(shown.stdout)
    parsed = tune.parse([str(a) for a in args])
    dataset = getattr(parsed, "dataset", None)  # a flag not typed is not in the parsed flags
    configs = TrialConfigs(parsed.model, dataset, tuple(tune.overrides(parsed).items()), tuple(parsed.set))
    trial = config_lib.to_dict(configs(best["hyperparameters"]))
    trial = json.loads(json.dumps(trial, default=str))
    assert (pasted["epochs"], pasted["batch_size"], pasted["data"]["shapes_train"]) == (1, 16, 96)
    assert {k: v for k, v in pasted.items() if k != "run_dir"} == {k: v for k, v in trial.items() if k != "run_dir"}


def test_each_trial_logs_its_hyperparameters_for_tensorboard(search):
    from tensorboard.plugins.hparams import plugin_data_pb2

    root, _, _ = search
    for trial in read_results(root / "search")["trials"]:
        summaries = events(root / "search" / "logs" / trial["trial"] / "execution0")
        start = next(content for tag, plugin, _, content in summaries if tag == "_hparams_/session_start_info")
        hparams = plugin_data_pb2.HParamsPluginData.FromString(start).session_start_info.hparams
        logged = {
            name: value.WhichOneof("kind") and getattr(value, value.WhichOneof("kind"))
            for name, value in hparams.items()
        }
        for name, value in trial["hyperparameters"].items():
            assert logged[name] == pytest.approx(value) if isinstance(value, float) else logged[name] == value


def test_rerunning_the_command_resumes_without_new_trials(search):
    root, args, _ = search
    before = read_results(root / "search")
    again = run_pipeline("tune", *args)
    assert again.returncode == 0, again.stderr
    assert "Reloading" in again.stdout and "Trial 0 (" not in again.stdout and "Trial 1 (" not in again.stdout
    assert read_results(root / "search") == before
    assert sorted(p.name for p in (root / "search").glob("trial_*")) == ["trial_0", "trial_1"]


def test_a_changed_search_is_refused_unless_overwritten(search, tmp_path):
    root, args, _ = search
    changed = run_pipeline("tune", *args, "--set", "model_options.pool=avg")
    assert_one_line_error(changed, "holds another search", "model_options", "--overwrite")
    shutil.copytree(root / "search", tmp_path / "search")
    args = [
        *SEARCH,
        "--max-trials",
        1,
        "--tune-dir",
        tmp_path / "search",
        "--set",
        "model_options.pool=avg",
        "--tuner",
        "bayesian",
    ]
    (tmp_path / "space.yaml").write_text("optimizer.learning_rate: {type: float, min: 1.0e-5, max: 1.0e-3}\n")
    afresh = run_pipeline("tune", *args, "--search-space", tmp_path / "space.yaml", "--overwrite")
    assert afresh.returncode == 0, afresh.stderr
    (trial,) = read_results(tmp_path / "search")["trials"]
    assert set(trial["hyperparameters"]) == {"optimizer.learning_rate"}
    assert json.loads((tmp_path / "search" / "config.json").read_text())["config"]["model_options"] == {"pool": "avg"}


def test_export_best_pushes_the_best_trial_as_a_loadable_saved_model(search):
    root, _, result = search
    best = read_results(root / "search")["trials"][0]
    version = root / "out" / "lenet5" / "1"
    metrics = json.loads((version / "assets.extra" / "metrics.json").read_text())
    # The restored weights of the best epoch score what the trial measured.
    assert metrics["val_accuracy"] == pytest.approx(best["objective"])
    model = tf.saved_model.load(str(version))
    images = np.random.default_rng(0).integers(0, 256, (2, 40, 40, 1), dtype=np.uint8)
    probabilities = model.signatures["serving_default"](images=tf.constant(images))["probabilities"].numpy()
    assert probabilities.shape == (2, 6)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    assert f"Restoring trial {best['trial']}" in result.stdout and "Pushed" in result.stdout


def test_export_best_retrains_a_trial_whose_weights_are_on_another_machine(search, tmp_path):
    root, _, _ = search
    shutil.copytree(root / "search", tmp_path / "search")
    best = read_results(tmp_path / "search")["trials"][0]
    (tmp_path / "search" / f"trial_{best['trial']}" / "checkpoint.weights.h5").unlink()
    result = run_pipeline(
        "tune", *SEARCH, "--tune-dir", tmp_path / "search", "--output-dir", tmp_path / "out", "--export-best"
    )
    assert result.returncode == 0, result.stderr
    assert "weights are not on this machine" in result.stdout
    assert (tmp_path / "search" / "best" / "config.json").exists()  # trainer.fit's run, resumable
    metrics = json.loads((tmp_path / "out" / "lenet5" / "1" / "assets.extra" / "metrics.json").read_text())
    # pipelines.train's trainer, given the trial's config and epochs, trains the model the trial trained.
    assert metrics["val_accuracy"] == pytest.approx(best["objective"])
    assert metrics["val_loss"] == pytest.approx(best["metrics"]["val_loss"], rel=1e-5)


def test_hyperband_continues_the_best_trial_as_an_uninterrupted_run_would(tmp_path):
    args = [
        "lenet5",
        "--tuner",
        "hyperband",
        "--epochs",
        3,
        "--max-trials",
        4,
        *TINY,
        "--tune-dir",
        tmp_path / "hb",
        "--then-train",
        "--train-epochs",
        3,
        "--no-push",
    ]
    result = run_pipeline("tune", *args)
    assert result.returncode == 0, result.stderr
    trials = {t["trial"]: t for t in read_results(tmp_path / "hb")["trials"]}
    # Epochs 3, factor 3: a bracket of three one-epoch trials, then the best of them trained on to epoch 3.
    assert sorted(t["epochs"] for t in trials.values()) == [1, 1, 1, 3]
    (continued,) = [t for t in trials.values() if t["epochs"] == 3]
    first_round = [t for t in trials.values() if t["epochs"] == 1]
    assert trials[continued["continues"]]["objective"] == max(t["objective"] for t in first_round)
    assert continued["hyperparameters"] == trials[continued["continues"]]["hyperparameters"]
    # pipelines.train with the best hyperparameters (--then-train) retraces the best trial epoch for epoch: the
    # trial builds, compiles and feeds its model as training does, and a continued trial resumes exactly.
    best = read_results(tmp_path / "hb")["trials"][0]
    with open(tmp_path / "hb" / "train" / "training.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 3
    row = rows[best["best_epoch"] - 1]
    assert float(row["val_accuracy"]) == pytest.approx(best["objective"])
    assert float(row["val_loss"]) == pytest.approx(best["metrics"]["val_loss"], rel=1e-5)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_chief_and_a_worker_share_a_search(search, tmp_path):
    root, _, _ = search
    args = [*SEARCH, "--tune-dir", tmp_path / "shared"]
    cluster = {"KERASTUNER_ORACLE_IP": "127.0.0.1", "KERASTUNER_ORACLE_PORT": str(free_port())}
    chief = subprocess.Popen(
        [sys.executable, "-m", "pipelines.tune", *map(str, args)],
        cwd=ROOT,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=environment(**cluster, KERASTUNER_TUNER_ID="chief"),
    )
    try:
        worker = run_pipeline("tune", *args, env={**cluster, "KERASTUNER_TUNER_ID": "tuner0"}, timeout=300)
        out, err = chief.communicate(timeout=120)
    finally:
        chief.kill()
    assert worker.returncode == 0, worker.stderr
    assert chief.returncode == 0, err
    assert "Trial 0 (1 of 2)" in worker.stdout and "the chief has no more trials" in worker.stdout
    assert "; on tuner0)" in out
    # The chief's oracle draws what a local search of the same seed draws; the worker trains them alike.
    shared, local = read_results(tmp_path / "shared")["trials"], read_results(root / "search")["trials"]
    assert [t["hyperparameters"] for t in shared] == [t["hyperparameters"] for t in local]
    assert [t["objective"] for t in shared] == pytest.approx([t["objective"] for t in local])


@pytest.mark.parametrize(
    "args, fragments",
    [
        (["--tuner", "grid"], ["--tuner", "invalid choice: 'grid'"]),
        (["--max-trials", "0"], ["--max-trials must be at least 1, got 0"]),
        (["--epochs", "-1"], ["--epochs must be at least 1, got -1"]),
    ],
)
def test_bad_flags_exit_with_one_clear_line(args, fragments, capsys):
    from pipelines.tune import parse

    with pytest.raises(SystemExit) as exit_:
        parse(["lenet5", *args])
    assert exit_.value.code == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert all(fragment in line for fragment in fragments), line


def test_a_malformed_search_space_exits_with_one_clear_line(tmp_path):
    # Each kind of malformed file is refused in test_tuning_search_space.py; here, that the command says so in one
    # line, before it trains anything.
    (tmp_path / "space.yaml").write_text("optimizer.learning_rate: {type: float, min: 0.1, max: 0.01}\n")
    result = run_pipeline("tune", "lenet5", "--search-space", tmp_path / "space.yaml", "--tune-dir", tmp_path / "s")
    assert_one_line_error(result, "--search-space", "space.yaml", "optimizer.learning_rate", "min (0.1) must be below")
    assert not (tmp_path / "s").exists()
