"""Ranking a search's trials, its table, its JSON, and the progress lines of a trial."""

import json
import types

import keras_tuner
import pytest

from kerascnn.tuning import progress
from kerascnn.tuning.results import format_table, rank, report, write_results
from kerascnn.tuning.search_space import parse_space

SPACE = parse_space(
    {
        "optimizer.name": ["sgd", "adam"],
        "optimizer.learning_rate@sgd": {"type": "float", "min": 1e-3, "max": 0.1, "when": {"optimizer.name": ["sgd"]}},
        "optimizer.learning_rate@adam": {
            "type": "float",
            "min": 1e-5,
            "max": 1e-3,
            "when": {"optimizer.name": ["adam"]},
        },
    }
)


def make_trial(trial_id, name, rate, loss=None, status="COMPLETED"):
    hp = keras_tuner.HyperParameters()
    for hyperparameter in SPACE:
        hyperparameter.declare(hp)
    hp.values.update({"optimizer.name": name, f"optimizer.learning_rate@{name}": rate})
    trial = keras_tuner.engine.trial.Trial(hp, trial_id=trial_id, status=status)
    if loss is not None:
        for metric, value in {
            "val_loss": loss,
            "val_accuracy": 1 - loss,
            "epochs": 3,
            "best_epoch": 2,
            "seconds": 4.25,
        }.items():
            trial.metrics.update(metric, value)
        trial.score = loss
    else:
        trial.message = "Traceback (most recent call last):\n  ...\nFailedTrialError: the loss became nan at step 3"
    return trial


TRIALS = [
    make_trial("0", "sgd", 0.01, 0.9),
    make_trial("1", "adam", 3e-4, 0.4),
    make_trial("2", "sgd", 0.05, status="FAILED"),
    make_trial("3", "sgd", 0.02, 0.6),
]


@pytest.mark.parametrize("direction, order", [("min", ["1", "3", "0", "2"]), ("max", ["0", "3", "1", "2"])])
def test_completed_trials_rank_by_the_objective_and_failed_ones_come_last(direction, order):
    records = rank(TRIALS, keras_tuner.Objective("val_loss", direction))
    assert [r["trial"] for r in records] == order
    assert [r["rank"] for r in records] == [1, 2, 3, None]
    assert records[-1]["status"] == "FAILED" and records[-1]["objective"] is None


def test_a_record_holds_the_trial_and_the_sets_that_reproduce_it():
    best = rank(TRIALS, keras_tuner.Objective("val_loss", "min"))[0]
    assert best == {
        "rank": 1,
        "trial": "1",
        "status": "COMPLETED",
        "objective": 0.4,
        "hyperparameters": {"optimizer.name": "adam", "optimizer.learning_rate@adam": 3e-4},
        "sets": ["optimizer.name=adam", "optimizer.learning_rate=0.0003"],
        "epochs": 3,
        "best_epoch": 2,
        "seconds": 4.25,
        "metrics": {"val_accuracy": pytest.approx(0.6)},
    }


def test_the_table_has_a_line_a_trial_and_a_column_a_config_field():
    objective = keras_tuner.Objective("val_loss", "min")
    lines = format_table(rank(TRIALS, objective), objective).splitlines()
    assert lines[0].split() == [
        "rank",
        "trial",
        "val_loss",
        "epochs",
        "seconds",
        "optimizer.name",
        "optimizer.learning_rate",
    ]
    assert lines[1].split() == ["1", "1", "0.4", "3", "4.2", "adam", "0.0003"]  # 4.25 rounds half to even
    assert lines[4].split() == ["-", "2", "failed", "-", "-", "sgd", "0.05"]


def test_results_json_is_written_whole(tmp_path):
    objective = keras_tuner.Objective("val_loss", "min")
    records = rank(TRIALS, objective)
    write_results(tmp_path / "results.json", records, model="lenet5", tuner="random", objective=objective)
    document = json.loads((tmp_path / "results.json").read_text())
    assert document["objective"] == {"name": "val_loss", "direction": "min"}
    assert document["trials"] == json.loads(json.dumps(records))
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]  # no temporary file left


def _words(record):
    return ["lenet5", "--epochs", str(record["epochs"]), "a b"]


def test_the_report_writes_the_ranking_and_names_the_best_trials_training_command(tmp_path):
    objective = keras_tuner.Objective("val_loss", "min")
    tuner = types.SimpleNamespace(oracle=types.SimpleNamespace(trials=dict(enumerate(TRIALS))), order=[])
    text = report(tuner, objective, tmp_path / "results.json", model="lenet5", kind="random")
    table, best = text.rsplit("\n", 1)
    assert table == format_table(rank(TRIALS, objective), objective)
    assert best == (
        "Best: trial 1; to train it: python -m pipelines.train lenet5 "
        "--set optimizer.name=adam --set optimizer.learning_rate=0.0003"
    )
    given = report(tuner, objective, tmp_path / "results.json", model="lenet5", kind="random", command=_words)
    assert given.rsplit("\n", 1)[1] == "Best: trial 1; to train it: python -m pipelines.train lenet5 --epochs 3 'a b'"
    document = json.loads((tmp_path / "results.json").read_text())
    assert (document["model"], document["tuner"]) == ("lenet5", "random")
    assert [t["trial"] for t in document["trials"]] == ["1", "3", "0", "2"]
    failed = types.SimpleNamespace(oracle=types.SimpleNamespace(trials={0: TRIALS[2]}), order=[])
    assert "Best" not in report(failed, objective, tmp_path / "results.json", model="lenet5", kind="random")


def test_progress_lines_say_which_trial_of_how_many_and_the_best_so_far():
    trial = TRIALS[1]
    begin = progress.begin_line(trial, 10, by="tuner1")
    assert begin.strip() == "Trial 1 (2 of 10; on tuner1): optimizer.name=adam, optimizer.learning_rate@adam=0.0003"
    metrics = {"val_loss": 0.4, "seconds": 4.25, "epochs": 3, "best_epoch": 2}
    end = progress.end_line(trial, 10, "val_loss", metrics, TRIALS[1])
    assert end == "Trial 1 (2 of 10) done in 4.2 s: val_loss 0.4000 at epoch 2 of 3; best so far 0.4000 (trial 1)."
    failed = progress.end_line(TRIALS[2], 10, "val_loss", {}, TRIALS[1])
    assert failed == "Trial 2 (3 of 10) failed: FailedTrialError: the loss became nan at step 3"
