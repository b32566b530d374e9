"""SIGTERM and Ctrl-C: the run saves a checkpoint at the next step boundary and exits, saying how to resume; the
rerun ends where an uninterrupted run does."""

import re
import signal
import time

import pytest
from harness import (
    assert_whole,
    checkpoints,
    final_weights,
    run_train,
    same_arrays,
    start_train,
    survive,
    train_args,
)

pytestmark = pytest.mark.slow

# Longer epochs (16 steps) so that the signal lands inside one.
LONGER = ["--set", "data.shapes_train=256", "--set", "checkpoint_every=0"]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    root = tmp_path_factory.mktemp("reference")
    result = run_train(train_args(root / "run", root / "out", *LONGER, epochs=2))
    assert result.returncode == 0, result.stderr
    return final_weights(root / "run", epochs=2)


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_saves_at_the_next_step_and_the_rerun_finishes(signum, code, reference, tmp_path):
    args = train_args(tmp_path / "run", tmp_path / "out", *LONGER, epochs=2)
    process = start_train(args)
    for line in process.stdout:  # wait until the first epoch runs
        if line.startswith("Epoch 1/2"):
            break
    time.sleep(1.5)
    process.send_signal(signum)
    out, err = process.communicate(timeout=300)
    name = signal.Signals(signum).name
    assert process.returncode == code, err
    match = re.search(
        rf"Stopped by {name} after (\d+) epoch\(s\) and (\d+) step\(s\); checkpoint saved in .*"
        r"Run the same command again to resume\.",
        err,
    )
    assert match, err
    assert "Traceback" not in err
    epoch, step = map(int, match.groups())
    assert checkpoints(tmp_path / "run")[-1].name == f"epoch-{epoch:04d}-step-{step:06d}"

    rerun = run_train(args)
    assert rerun.returncode == 0, rerun.stderr
    assert f"at epoch {epoch + 1}, step {step}" in rerun.stdout
    assert_whole(tmp_path / "run", tmp_path / "out")
    same = same_arrays(final_weights(tmp_path / "run", epochs=2), reference)
    survive(f"{name} during an epoch, then rerun", same, "the final weights differ from an uninterrupted run's")
