"""Untrusted files and names: a .keras file is loaded in Keras' safe mode unless the user says otherwise, and no
class name, dataset name or config value can make a run write outside its run, output and cache folders."""

import subprocess
import sys

import keras
import numpy as np
import pytest
from harness import ROOT, environment, run_train, survive
from PIL import Image

from kerascnn.training import config as config_lib
from kerascnn.training.runs import default_run_dir


@pytest.fixture
def lambda_model(tmp_path):
    """A .keras file whose Lambda layer carries Python bytecode: loading it unsafely would run that code."""
    marker = tmp_path / "code_ran"
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Lambda(lambda t: t * 2.0)(inputs)
    x = keras.layers.Conv2D(4, 3)(x)
    path = tmp_path / "model.keras"
    keras.Model(inputs, x).save(path)
    return path, marker


def _inspect(*args):
    return subprocess.run(
        [sys.executable, "-m", "pipelines.inspect", *map(str, args)],
        capture_output=True,
        text=True,
        env=environment(),
        cwd=ROOT,
        timeout=300,
    )


def test_keras_file_with_a_lambda_is_refused_in_safe_mode(lambda_model):
    path, _ = lambda_model
    refused = _inspect("--keras-file", path)
    lines = [
        line
        for line in refused.stderr.splitlines()
        if line.strip() and "WARNING: All log" not in line and not line[:5].startswith(("I0000", "W0000", "E0000"))
    ]
    survived = refused.returncode != 0 and len(lines) == 1 and "--unsafe-deserialization" in lines[0]
    trusted = _inspect("--keras-file", path, "--unsafe-deserialization")
    survived &= trusted.returncode == 0 and "conv2d" in trusted.stdout
    happened = f"refused: exit {refused.returncode}, {refused.stderr}; "
    happened += f"trusted: exit {trusted.returncode}, {trusted.stderr}"
    survive("untrusted .keras file with a Lambda: safe mode refuses it", survived, happened)


def test_names_cannot_write_outside_the_run_output_and_cache_folders(tmp_path):
    data = tmp_path / "data"
    for name in ("evil..", "~root", "$HOME", "a b", "%2e%2e%2fetc"):
        (data / name).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(np.full((20, 20, 3), 40 * i, np.uint8)).save(data / name / f"{i}.png")
    before = {p for p in tmp_path.rglob("*")}
    run_dir, out_dir, cache = tmp_path / "run", tmp_path / "out", tmp_path / "cache"
    result = run_train(
        [
            "lenet5",
            "--dataset",
            str(data),
            "--epochs",
            "1",
            "--batch-size",
            "4",
            "--val-split",
            "0.4",
            "--run-dir",
            str(run_dir),
            "--output-dir",
            str(out_dir),
            "--set",
            f"data.cache_dir={cache}",
            "--set",
            "histogram_freq=0",
        ]
    )
    assert result.returncode == 0, result.stderr
    created = {p for p in tmp_path.rglob("*")} - before
    allowed = (run_dir, out_dir, cache)
    outside = [p for p in created if not any(folder in p.parents or p == folder for folder in allowed)]
    labels = (out_dir / "lenet5" / "1" / "assets" / "labels.txt").read_text().splitlines()
    survived = not outside and labels == sorted(["evil..", "~root", "$HOME", "a b", "%2e%2e%2fetc"])
    # A dataset name can only name the default run folder's last part, under runs/.
    for dataset in ("../../etc", "/etc/passwd", "a/../../b", "..", "imagenette/160px-v2"):
        config = config_lib.resolve("lenet5", dataset="shapes")
        config.data.dataset = dataset
        folder = default_run_dir(config)
        survived &= folder.parent.name == "runs" and ".." not in folder.parts and "/" not in folder.name
    survive(
        "hostile class and dataset names: no write outside the run, output and cache folders",
        survived,
        f"written outside: {outside}, labels: {labels}",
    )
