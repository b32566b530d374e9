"""kerascnn.experiments and `python -m pipelines.experiment`: the machinery of the lecture's experiments on a tiny
budget (a 10-class IDX set of 60 images written here, LeNet-5, two epochs): arms differ only in what the experiment
varies, identical arms with one seed give identical results, the table's numbers are those the runs logged, a
finished run is not rerun, and the verdicts follow the spread."""

import csv
import dataclasses
import json
import shlex
from pathlib import Path

import numpy as np
import pytest
from test_data_idx import write_set

from kerascnn.data import DataConfig, load_splits
from kerascnn.experiments import EXPERIMENTS, Arm, Budget, Comparison, Experiment, report, resolve_arm, run_experiment
from kerascnn.experiments import measures as m
from kerascnn.training import config as config_lib
from pipelines import experiment as experiment_cli
from pipelines.cli import run

TINY = Experiment(
    name="tiny",
    claim="a test's claim",
    # Two identical arms: the same seed must give them the same numbers.
    arms=(Arm("A", "lenet5"), Arm("A again", "lenet5")),
    budget=Budget(epochs=2, shift_images=30, extra={"deterministic": True, "batch_size": 16}),
    measures=("parameters", "test_accuracy", "final_train_error", "shift_agreement", "epochs_to_target"),
    comparisons=(Comparison("test_accuracy", "A", "A again", "same", "the same"),),
    figure="curves",
    estimate="seconds",
    target_error=0.85,
)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    folder = tmp_path_factory.mktemp("experiment")
    write_set(folder / "data", train=60, test=30)
    logs = []
    results = run_experiment(TINY, output=folder / "out", seeds=1, dataset=str(folder / "data"), log=logs.append)
    return folder, results, logs


def _without(config, *fields):
    data = config_lib.to_dict(config)
    for field in fields:
        data.pop(field)
    return data


def test_the_arms_of_each_comparison_differ_only_in_the_model():
    checked = 0
    for exp in EXPERIMENTS.values():
        arms = {arm.label: arm for arm in exp.arms}
        for c in exp.comparisons:
            a, b = arms[c.a], arms[c.b]
            configs = [
                resolve_arm(exp, arm, 1, output="out", dataset="fashion_mnist", data_dir="/nonexistent")
                for arm in (a, b)
            ]
            assert configs[0].model != configs[1].model
            assert _without(configs[0], "model", "run_dir", "output_dir") == _without(
                configs[1], "model", "run_dir", "output_dir"
            ), (exp.name, c)
            # The budget's, or the pair's own where the pair sets one (lrn's four-layer networks).
            assert configs[0].seed == 1 and configs[0].epochs == a.overrides.get("epochs", exp.budget.epochs)
            assert configs[0].data.train_subset == a.overrides.get("data.train_subset", exp.budget.train_subset)
            checked += 1
    assert checked == sum(len(exp.comparisons) for exp in EXPERIMENTS.values())


def test_every_experiment_names_its_arms_measures_and_paper():
    for exp in EXPERIMENTS.values():
        labels = [arm.label for arm in exp.arms]
        assert len(set(labels)) == len(labels) >= 2
        assert set(exp.measures) <= set(m.MEASURES)
        for c in exp.comparisons:
            assert {c.a, c.b} <= set(labels) and c.measure in exp.measures
        assert exp.figure in ("bars", "curves") and exp.estimate
    assert set(EXPERIMENTS) == {"dense_vs_conv", "relu_vs_tanh", "lrn", "depth", "pooling"}


def test_runs_go_in_one_folder_per_arm_and_seed(tiny):
    folder, results, logs = tiny
    assert results["arms"]["A"]["run_dirs"] == [str(folder / "out" / "tiny" / "a" / "seed_0")]
    assert results["arms"]["A again"]["run_dirs"] == [str(folder / "out" / "tiny" / "a_again" / "seed_0")]
    for arm in ("a", "a_again"):
        run = folder / "out" / "tiny" / arm / "seed_0"
        assert (run / "config.json").exists() and (run / "result.json").exists() and (run / "logs").is_dir()
    assert sum("training 2 epochs" in line for line in logs) == 2  # a progress line per arm and seed


def test_identical_arms_with_one_seed_give_identical_results(tiny):
    _, results, _ = tiny
    a, b = results["arms"]["A"], results["arms"]["A again"]
    assert a["curves"] == b["curves"]
    assert a["measures"] == b["measures"]
    # Identical arms agree, unless both learned nothing from the 60 images, which decides nothing.
    learned = not m.at_chance(a["measures"]["test_accuracy"], 1 / 10)
    assert results["comparisons"][0]["verdict"].startswith("agrees" if learned else m.AT_CHANCE)


def test_the_table_holds_what_the_runs_logged(tiny):
    folder, results, _ = tiny
    run = folder / "out" / "tiny" / "a" / "seed_0"
    with open(run / "training.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2
    logged = [1 - float(row["accuracy"]) for row in rows]
    arm = results["arms"]["A"]
    np.testing.assert_allclose(arm["curves"]["train_error"][0], logged, rtol=1e-6)
    assert arm["measures"]["final_train_error"]["values"] == pytest.approx([logged[-1]], rel=1e-6)
    assert arm["measures"]["epochs_to_target"]["values"] == [m.epochs_to(logged, 0.85, start=0.9)]
    recorded = json.loads((run / "result.json").read_text())
    # The test accuracy Keras' evaluate reported is the one of the shift measure's own predictions, unshifted.
    assert recorded["evaluated_on"] == "test"
    assert recorded["metrics"]["test_accuracy"] == pytest.approx(recorded["shifts"]["accuracy"]["0"], abs=1e-6)
    assert arm["measures"]["test_accuracy"]["values"] == [recorded["metrics"]["test_accuracy"]]
    assert arm["shifts"]["agreement"]["0"]["values"] == [1.0]
    assert arm["shifts"]["accuracy"]["2"]["values"] == [recorded["shifts"]["accuracy"]["2"]]
    assert arm["measures"]["parameters"]["values"] == [61_706]  # LeNet-5 on 10 classes (docs/reference.md)
    paths = report.write(results, folder / "report", command="python -m pipelines.experiment tiny", kind="curves")
    assert json.loads(paths[0].read_text())["arms"]["A"]["measures"] == json.loads(json.dumps(arm["measures"]))
    assert m.fmt("test_accuracy", recorded["metrics"]["test_accuracy"]) in paths[1].read_text()
    assert paths[2].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_finished_run_is_not_rerun_and_an_unfinished_one_is_finished(tiny):
    folder, results, _ = tiny
    # As if the experiment had been stopped after A again's training, before its result was written.
    (folder / "out" / "tiny" / "a_again" / "seed_0" / "result.json").unlink()
    logs, train_logs = [], []
    again = run_experiment(
        TINY,
        output=folder / "out",
        seeds=1,
        dataset=str(folder / "data"),
        log=logs.append,
        train_log=train_logs.append,
    )
    assert "finished before" in logs[0] and "training" in logs[2]
    assert any("already holds 2 trained epochs" in line for line in train_logs)  # resumed, nothing retrained
    assert again["arms"]["A again"]["measures"] == results["arms"]["A again"]["measures"]


def test_the_training_subset_is_stratified_and_the_evaluation_cut(tmp_path):
    write_set(tmp_path, train=200, test=50)
    splits = load_splits(DataConfig(dataset=str(tmp_path), train_subset=60, eval_subset=10), 28, 1, seed=3)
    labels = splits.train_examples.items[-1]
    assert splits.num_train == len(labels) == sum(1 for _ in splits.train) == 60
    assert np.bincount(labels, minlength=10).tolist() == [6] * 10
    assert (splits.num_val, splits.num_test) == (10, 10) and sum(1 for _ in splits.test) == 10
    whole = load_splits(DataConfig(dataset=str(tmp_path)), 28, 1, seed=3)
    assert whole.num_train == 180 and whole.num_test == 50


def test_steps_to_a_target_error_are_interpolated_between_epochs():
    assert m.epochs_to([0.5, 0.2, 0.1], 0.25, start=0.9) == pytest.approx(1 + (0.5 - 0.25) / (0.5 - 0.2))
    assert m.epochs_to([0.8, 0.7], 0.25, start=0.9) is None
    assert m.epochs_to([0.2], 0.25, start=0.9) == pytest.approx((0.9 - 0.25) / (0.9 - 0.2))


def _summary(*values):
    return m.summary(values)


def test_the_verdict_follows_the_spread():
    a, b = _summary(0.30, 0.32, 0.34), _summary(0.20, 0.21, 0.22)  # spreads 0.02 and 0.01, difference 0.11
    assert a["spread"] == pytest.approx(0.02) and a["mean"] == pytest.approx(0.32)
    assert m.verdict(a, b, "higher") == ("agrees", pytest.approx(0.11))
    assert m.verdict(a, b, "lower")[0] == "disagrees"
    assert m.verdict(a, b, "same")[0] == "disagrees"
    close = _summary(0.215, 0.225, 0.235)  # 0.015 above b: beyond both spreads (0.01)
    assert m.verdict(close, b, "higher")[0] == "agrees"
    within = _summary(0.19, 0.22, 0.25)  # spread 0.03 > the difference 0.01
    assert m.verdict(within, b, "higher")[0] == "no difference: within the spread"
    assert m.verdict(within, b, "same")[0] == "agrees (no difference: within the spread)"
    assert m.verdict(within, b, "not_higher")[0].startswith("agrees")
    never = _summary(None, 1000.0)
    assert m.verdict(never, _summary(100.0, 120.0), "higher")[0] == "agrees"  # never reached: slower than any
    assert m.ratio(_summary(600.0), _summary(100.0)) == pytest.approx(6.0)
    assert (
        m.verdict(_summary(0.3), _summary(0.2), "higher")[0]
        == "agrees (one seed: no spread to judge the difference by)"
    )


def test_full_is_refused_where_the_paper_gives_no_schedule():
    with pytest.raises(Exception, match="no paper's schedule"):
        resolve_arm(EXPERIMENTS["relu_vs_tanh"], EXPERIMENTS["relu_vs_tanh"].arms[0], 0, output="o", full=True)
    exp = EXPERIMENTS["depth"]
    full = resolve_arm(exp, exp.arms[0], 0, output="o", full=True, data_dir="/nonexistent")
    # The ResNet-CIFAR recipe: 64k iterations of batch 128 on 45k images (He et al. 2016, Sec. 4.2), every image.
    assert (full.epochs, full.batch_size, full.data.train_subset, full.data.eval_subset) == (182, 128, 0, 0)


def _command(capsys, *argv):
    """(exit code, stdout, stderr) of `python -m pipelines.experiment *argv`, in this process."""
    with pytest.raises(SystemExit) as exit_:
        run(experiment_cli.main, list(map(str, argv)))
    out, err = capsys.readouterr()
    return exit_.value.code, out, err


def test_the_command_lists_the_experiments_and_refuses_an_unknown_one(tmp_path, capsys):
    code, out, _ = _command(capsys, "--list")
    assert code == 0
    for name in EXPERIMENTS:
        assert f"{name}: " in out
    assert "Krizhevsky et al. 2012, Fig. 1" in out
    for argv, message in (
        (
            ("relu_vs_sigmoid", "--output", tmp_path),
            "unknown experiment 'relu_vs_sigmoid': choose one of dense_vs_conv",
        ),
        (("depth", "--seeds", "0"), "--seeds must be at least 1"),
        (("lrn", "--full", "--output", tmp_path), "lrn has no paper's schedule"),
    ):
        code, _, err = _command(capsys, *argv)
        assert code == 2 and len(err.strip().splitlines()) == 1 and message in err, err
    assert not any(tmp_path.iterdir())  # nothing written before the error


def test_show_config_gives_each_arm_as_a_train_command_that_resolves_the_same(capsys):
    code, out, _ = _command(capsys, "depth", "--show-config", "--data-dir", "/nonexistent")
    assert code == 0
    commands = [line for line in out.splitlines() if line.startswith(("plain-", "ResNet-"))]
    assert len(commands) == 4
    from pipelines import train

    exp = EXPERIMENTS["depth"]
    for arm, line in zip(exp.arms, commands):
        argv = shlex.split(line.partition(": ")[2])[3:]  # after python -m pipelines.train
        parsed = train.parse(argv)
        typed = config_lib.resolve(
            parsed.model, dataset=parsed.dataset, overrides=train.overrides(parsed), sets=parsed.set
        )
        expected = resolve_arm(exp, arm, 0, output="experiments", data_dir="/nonexistent")
        assert config_lib.to_dict(typed) == config_lib.to_dict(expected)


def test_budget_overrides_resize_without_padding():
    fields = dataclasses.replace(EXPERIMENTS["depth"].budget).overrides()
    assert fields["image_size"] == 28 and fields["data.pad"] == 0


@pytest.mark.slow
def test_the_depth_experiment_runs_end_to_end_from_the_command_line(tmp_path):
    from pipeline_helpers import run_pipeline

    write_set(tmp_path / "data", train=60, test=30)
    argv = ["depth", "--dataset", tmp_path / "data", "--seeds", "1", "--epochs", "1", "--output", tmp_path / "out"]
    result = run_pipeline("experiment", *argv)
    assert result.returncode == 0, result.stderr[-3000:]
    assert sum(line.startswith("[") and "training 1 epochs" in line for line in result.stdout.splitlines()) == 4
    assert "Paper: plain-56 ends above plain-20. Measured final_train_error" in result.stdout
    results = json.loads((tmp_path / "out" / "depth" / "results.json").read_text())
    assert list(results["arms"]) == ["plain-20", "plain-56", "ResNet-20", "ResNet-56"]
    for arm in results["arms"].values():
        recorded = json.loads((Path(arm["run_dirs"][0]) / "result.json").read_text())
        assert arm["measures"]["test_error"]["values"] == [1 - recorded["metrics"]["test_accuracy"]]
    assert (tmp_path / "out" / "depth" / "depth.png").exists()
    again = run_pipeline("experiment", *argv)  # everything finished: nothing trains
    assert again.returncode == 0 and again.stdout.count("finished before") == 4, again.stderr[-3000:]


def test_two_arms_at_chance_decide_nothing():
    # lrn's VGG A pair at its default budget: test errors 0.88 and 0.87 on 10 classes, so its "same" came out as
    # "agrees" though neither network had learned anything; the time comparison of the same arms still counts.
    from kerascnn.experiments.runner import gather

    exp = EXPERIMENTS["lrn"]
    accuracies = {"VGG A": (0.098, 0.104, 0.158), "VGG A-LRN": (0.128, 0.104, 0.166)}
    accuracies |= {"4-layer CNN": (0.838, 0.824, 0.828), "4-layer CNN with LRN": (0.834, 0.82, 0.828)}
    results = {
        (label, seed): {
            "run_dir": f"{label}/{seed}",
            "num_classes": 10,
            "measures": {"test_accuracy": a, "test_error": 1 - a, "ms_per_image": 50.0 + seed + (label == "VGG A")},
            "curves": {"train_error": [0.9], "val_error": [0.9]},
        }
        for label, values in accuracies.items()
        for seed, a in enumerate(values)
    }
    gathered = gather(exp, results, seeds=3, dataset="fashion_mnist", budget=exp.budget)
    verdicts = {(c["a"], c["measure"]): c["verdict"] for c in gathered["comparisons"]}
    assert verdicts["VGG A-LRN", "test_error"] == m.AT_CHANCE
    assert verdicts["VGG A-LRN", "ms_per_image"] == "no difference: within the spread"  # timed all the same
    assert verdicts["4-layer CNN with LRN", "test_error"] == "no difference: within the spread"
    # Without the number of classes (runs written before it was recorded) the verdict stays the spread's.
    for result in results.values():
        del result["num_classes"]
    gathered = gather(exp, results, seeds=3, dataset="fashion_mnist", budget=exp.budget)
    assert gathered["comparisons"][1]["verdict"] == "agrees (no difference: within the spread)"
    assert m.at_chance(m.summary([0.14, 0.15, 0.16]), 0.1) and not m.at_chance(m.summary([0.16, 0.16]), 0.1)
