"""A full disk while a checkpoint is written and while a version is exported: a clear error, and the previous
checkpoint and every pushed version intact.

The disk is a small tmpfs filled up to a few hundred kilobytes; where the test may not mount one (not root), a
file-size limit (RLIMIT_FSIZE) stands in for it, which fails the same writes with EFBIG instead of ENOSPC."""

import contextlib
import os
import resource
import shutil
import signal
import subprocess
import uuid

import pytest
from harness import (
    assert_whole,
    checkpoints,
    h5_arrays,
    record,
    run_train,
    survive,
    train_args,
    version_arrays,
)

pytestmark = pytest.mark.slow

ONE_LINE = "Could not write"


@contextlib.contextmanager
def small_disk(path, size="16m"):
    """A tmpfs at `path`; yields a function that fills it up to `free` bytes, or None where mounting fails."""
    path.mkdir(parents=True)
    mounted = (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True
        ).returncode
        == 0
    )

    def fill(free):
        stats = os.statvfs(path)
        excess = stats.f_bavail * stats.f_frsize - free
        with open(path / f"filler-{uuid.uuid4().hex}", "wb") as f:
            f.write(b"\0" * max(excess, 0))

    try:
        yield fill if mounted else None
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(path)], check=False)


def _limit_file_size(limit):
    def preexec():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit then fail with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return preexec


def _one_clear_line(result):
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    return result.returncode != 0 and len(lines) == 1 and "Traceback" not in result.stderr and lines[0]


def test_full_disk_while_checkpointing_keeps_the_previous_checkpoint(tmp_path):
    with small_disk(tmp_path / "disk") as fill:
        run_dir, out_dir = tmp_path / "disk" / "run", tmp_path / "out"
        first = run_train(train_args(run_dir, out_dir, "--no-push", "--set", "checkpoint_every=0", epochs=1))
        assert first.returncode == 0, first.stderr
        before = h5_arrays(checkpoints(run_dir)[-1] / "model.weights.h5")
        args = train_args(run_dir, out_dir, "--no-push", "--set", "checkpoint_every=0", epochs=2)
        if fill:
            fill(free=600_000)  # a ResNet-20 checkpoint with Adam's moments takes about 3.3 MB
            full = run_train(args)
        else:
            full = run_train(args, preexec_fn=_limit_file_size(1_000_000))
        line = _one_clear_line(full)
        assert line and ONE_LINE in line and "previous checkpoints are intact" in line, full.stderr[-2000:]
        assert [c.name for c in checkpoints(run_dir)] == ["epoch-0001-step-000000"]
        intact = h5_arrays(checkpoints(run_dir)[-1] / "model.weights.h5")
        assert intact.keys() == before.keys() and all((intact[k] == before[k]).all() for k in before)
        assert_whole(run_dir)
        for filler in (tmp_path / "disk").glob("filler-*"):
            filler.unlink()
        resumed = run_train(args)
        survived = resumed.returncode == 0 and "at epoch 2, step 0" in resumed.stdout
        happened = f"the rerun exited {resumed.returncode}: {resumed.stdout[-500:]} {resumed.stderr}"
        survive("full disk while a checkpoint is written", bool(line) and survived, happened)


def test_full_disk_while_exporting_keeps_every_pushed_version(tmp_path):
    with small_disk(tmp_path / "disk") as fill:
        run_dir, out_dir = tmp_path / "run", tmp_path / "disk" / "out"
        args = train_args(run_dir, out_dir, "--set", "checkpoint_every=0", epochs=1)
        first = run_train(args)
        assert first.returncode == 0, first.stderr
        pushed = version_arrays(out_dir / "resnet20" / "1")
        if fill:
            fill(free=300_000)  # the SavedModel's variables alone take about 1.1 MB
            full = run_train([*args, "--force-push"])
        else:
            full = run_train([*args, "--force-push"], preexec_fn=_limit_file_size(500_000))
        line = _one_clear_line(full)
        assert line and ONE_LINE in line and "versions pushed before are intact" in line, full.stderr[-2000:]
        assert sorted(p.name for p in (out_dir / "resnet20").iterdir()) == ["1"]
        again = version_arrays(out_dir / "resnet20" / "1")
        assert all((again[k] == pushed[k]).all() for k in pushed)
        assert_whole(run_dir, out_dir)
        record("full disk while a version is exported", bool(line))
        shutil.rmtree(run_dir)
