"""A NaN or exploding loss: training stops with a clear message, or with --recover goes back to the last checkpoint
with a lower learning rate (Model Garden's loss upper bound); NaN weights never reach a pushed version."""

import numpy as np
from harness import assert_whole, checkpoints, run_train, survive, version_arrays

TINY = [
    "lenet5",
    "--epochs",
    "2",
    "--batch-size",
    "16",
    "--set",
    "data.shapes_train=64",
    "--set",
    "data.shapes_val=16",
    "--set",
    "histogram_freq=0",
]
DIVERGING = ["--set", "optimizer.name=sgd", "--learning-rate", "1e5"]


def _outputs(tmp_path):
    return ["--run-dir", str(tmp_path / "run"), "--output-dir", str(tmp_path / "out")]


def test_nan_loss_stops_with_a_clear_message_and_pushes_nothing(tmp_path):
    result = run_train([*TINY, *DIVERGING, *_outputs(tmp_path)])
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    survived = (
        result.returncode != 0
        and len(errors) == 1
        and "the loss became nan" in errors[0]
        and "--recover" in errors[0]
        and "Traceback" not in result.stderr
    )
    assert not (tmp_path / "out").exists()  # nothing pushed
    assert checkpoints(tmp_path / "run") == []  # and no checkpoint holds NaN weights
    survive("NaN loss: stop", survived, f"exit {result.returncode}, stderr: {result.stderr}")


def test_exploding_loss_stops_at_the_upper_bound(tmp_path):
    result = run_train([*TINY, "--set", "loss_upper_bound=1.0", *_outputs(tmp_path)])
    survived = result.returncode != 0 and "above loss_upper_bound" in result.stderr
    survive("exploding loss (above loss_upper_bound): stop", survived, f"exit {result.returncode}: {result.stderr}")


def test_recover_goes_back_with_a_lower_rate_and_pushes_finite_weights(tmp_path):
    result = run_train([*TINY, *DIVERGING, "--recover", "--set", "recover_factor=1e-7", *_outputs(tmp_path)])
    assert result.returncode == 0, result.stderr
    assert "Recovering from the loss became nan" in result.stdout
    assert "learning_rate: 0.0050" in result.stdout  # 1e5 x 16/32 x 1e-7
    weights = version_arrays(tmp_path / "out" / "lenet5" / "1")
    survived = all(np.isfinite(w).all() for w in weights.values())
    assert_whole(tmp_path / "run", tmp_path / "out")
    bad = sorted(name for name, w in weights.items() if not np.isfinite(w).all())
    survive("NaN loss with --recover: resume from the last checkpoint", survived, f"non-finite pushed weights: {bad}")
