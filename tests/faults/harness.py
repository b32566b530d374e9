"""What the fault tests share: the training command they break, and the checks that nothing is lost or partial."""

import json
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import h5py
import numpy as np
import pipeline_helpers

ROOT = pipeline_helpers.ROOT
RESULTS = defaultdict(lambda: [0, 0])  # fault -> [trials, survived]


def record(fault, survived):
    RESULTS[fault][0] += 1
    RESULTS[fault][1] += bool(survived)


def survive(fault, survived, happened, trial=None):
    """Records a trial of `fault` and fails unless the run survived it, saying which trial, which fault and what
    happened (`happened`: the evidence, e.g. the command's stderr, shortened to its last 2000 characters)."""
    record(fault, survived)
    which = f"trial {trial}, " if trial is not None else ""
    assert survived, f"{which}fault {fault!r} not survived: {str(happened)[-2000:]}"


# A small ResNet-20 run on the embedded dataset, deterministic, checkpointing every 2 of its 4 steps an epoch.
def train_args(run_dir, out_dir, *extra, epochs=2):
    return [
        "resnet20",
        "--epochs",
        str(epochs),
        "--run-dir",
        str(run_dir),
        "--output-dir",
        str(out_dir),
        "--deterministic",
        "--batch-size",
        "16",
        "--set",
        "data.shapes_train=64",
        "--set",
        "data.shapes_val=16",
        "--set",
        "checkpoint_every=2",
        "--set",
        "histogram_freq=0",
        "--set",
        "image_summaries=false",
        *extra,
    ]


def environment(**extra):
    """The tests' subprocess environment, unbuffered: a killed process's last lines must have reached its pipe."""
    return pipeline_helpers.environment(PYTHONUNBUFFERED="1", **extra)


def run_train(args, env=None, timeout=600, **kwargs):
    return subprocess.run(
        [sys.executable, "-m", "pipelines.train", *args],
        capture_output=True,
        text=True,
        env=env or environment(),
        cwd=ROOT,
        timeout=timeout,
        **kwargs,
    )


def start_train(args, env=None, **kwargs):
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    return subprocess.Popen(
        [sys.executable, "-m", "pipelines.train", *args],
        text=True,
        env=env or environment(),
        cwd=ROOT,
        **{**pipes, **kwargs},
    )


def kill_after(process, seconds):
    """SIGKILLs `process` after `seconds` unless it ended first; returns whether it was killed."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    return True


def checkpoints(run_dir):
    folder = Path(run_dir) / "checkpoints"
    return sorted(p for p in folder.iterdir() if p.name.startswith("epoch-")) if folder.is_dir() else []


def h5_arrays(path):
    """Every array in a Keras weights file (layers and optimizer), by its path in the file."""
    arrays = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: arrays.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None)
    return arrays


def final_weights(run_dir, epochs=2):
    return h5_arrays(Path(run_dir) / "checkpoints" / f"epoch-{epochs:04d}-step-000000" / "model.weights.h5")


def version_arrays(version):
    import tensorflow as tf

    reader = tf.train.load_checkpoint(str(Path(version) / "variables" / "variables"))
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map() if "VARIABLE_VALUE" in name}


def version_outputs(version):
    """The probabilities a pushed version's serving_default gives for a fixed batch of images."""
    import tensorflow as tf

    images = np.random.default_rng(0).integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
    loaded = tf.saved_model.load(str(version))
    return loaded.signatures["serving_default"](images=tf.constant(images))["probabilities"].numpy()


def same_arrays(a, b, atol=1e-6):
    return a.keys() == b.keys() and all(np.allclose(a[k], b[k], atol=atol, rtol=0) for k in a)


def assert_whole(run_dir, out_dir=None):
    """No checkpoint, best-weights folder or version is partial: temporaries are gone, every folder is complete
    and readable."""
    run_dir = Path(run_dir)
    leftovers = [p for p in run_dir.rglob(".tmp-*")] + ([p for p in Path(out_dir).rglob(".tmp-*")] if out_dir else [])
    assert not leftovers, leftovers
    for checkpoint in checkpoints(run_dir):
        assert {p.name for p in checkpoint.iterdir()} == {"model.weights.h5", "rng.npz", "state.json"}, checkpoint
        h5_arrays(checkpoint / "model.weights.h5")
    if (run_dir / "best").exists():
        # The best epoch: a pointer to its checkpoint (checked above once that epoch's is saved), or its weights.
        names = {p.name for p in (run_dir / "best").iterdir()}
        assert names in ({"checkpoint.json", "metrics.json"}, {"model.weights.h5", "metrics.json"}), names
        if "checkpoint.json" in names:
            json.loads((run_dir / "best" / "checkpoint.json").read_text())
        else:
            h5_arrays(run_dir / "best" / "model.weights.h5")
    if out_dir and (Path(out_dir) / "resnet20").is_dir():
        for version in (Path(out_dir) / "resnet20").iterdir():
            names = {p.name for p in version.iterdir()}
            assert {"saved_model.pb", "variables", "assets", "assets.extra"} <= names, version
            assert (version / "assets.extra" / "metrics.json").exists()
            version_arrays(version)
