"""pipelines.train and pipelines.evaluate on an IDX set (the MNIST family): validation held out of train, the test
images reported beside it and evaluated through the served signature."""

import json
import os

import numpy as np
import pytest
from pipeline_helpers import run_pipeline
from test_data_idx import write_set

from kerascnn.data.idx import SYSTEM_FOLDERS, find_files


def fashion_mnist_installed():
    return any(os.path.isdir(folder) and find_files(folder) for folder in SYSTEM_FOLDERS["fashion_mnist"])


@pytest.fixture(scope="module")
def pushed(tmp_path_factory):
    root = tmp_path_factory.mktemp("idx")
    write_set(root / "fashion-mnist", train=200, test=60, gz=True)
    result = run_pipeline(
        "train",
        "lenet5",
        "--dataset",
        root / "fashion-mnist",
        "--epochs",
        1,
        "--run-dir",
        root / "run",
        "--output-dir",
        root / "out",
    )
    assert result.returncode == 0, result.stderr
    return root, result


def test_metrics_json_has_validation_and_test(pushed):
    root, result = pushed
    metrics = json.loads((root / "out" / "lenet5" / "1" / "assets.extra" / "metrics.json").read_text())
    assert (metrics["num_val"], metrics["num_test"]) == (20, 60)
    assert 0 <= metrics["test_accuracy"] <= 1 and metrics["input_shape"] == [32, 32, 1]
    assert "Test: accuracy" in result.stdout and "Validation: accuracy" in result.stdout
    labels = (root / "out" / "lenet5" / "1" / "assets" / "labels.txt").read_text().splitlines()
    assert labels[0] == "T-shirt/top" and len(labels) == 10


def test_evaluate_the_test_split_through_the_signature(pushed):
    root, _ = pushed
    version = root / "out" / "lenet5" / "1"
    metrics = json.loads((version / "assets.extra" / "metrics.json").read_text())
    result = run_pipeline("evaluate", version, "--split", "test", "--json")
    assert result.returncode == 0, result.stderr
    served = json.loads(result.stdout[result.stdout.index("{") :])
    # The served graph (uint8 in, its own padding and normalisation) agrees with the trained model's evaluation.
    assert served["test_accuracy"] == pytest.approx(metrics["test_accuracy"], abs=1 / 60 + 1e-9)
    assert served["test_loss"] == pytest.approx(metrics["test_loss"], rel=1e-3)
    # The same numbers printed for a reader (they were once left out: only the validation split's were listed).
    printed = run_pipeline("evaluate", version, "--split", "test").stdout
    assert f"accuracy        {served['test_accuracy']:.4f}" in printed and "top5_accuracy" in printed


@pytest.mark.slow
@pytest.mark.skipif(
    not fashion_mnist_installed(),
    reason="Fashion-MNIST's IDX files are not installed (apt-get install dataset-fashion-mnist)",
)
def test_lenet5_learns_real_fashion_mnist(tmp_path):
    # Two epochs of the plain recipe on the real 60,000 images: far above chance (0.10) on the 10,000 test
    # images, which nothing chose.
    result = run_pipeline(
        "train",
        "lenet5",
        "--dataset",
        "fashion_mnist",
        "--epochs",
        2,
        "--run-dir",
        tmp_path / "run",
        "--output-dir",
        tmp_path / "out",
        timeout=1200,
    )
    assert result.returncode == 0, result.stderr
    metrics = json.loads((tmp_path / "out" / "lenet5" / "1" / "assets.extra" / "metrics.json").read_text())
    assert (metrics["num_val"], metrics["num_test"]) == (6000, 10000)
    assert metrics["test_accuracy"] > 0.8
    assert np.isclose(metrics["val_error"], 1 - metrics["val_accuracy"])
