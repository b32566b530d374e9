"""The pusher: blessing, versions counting up, folders never partial, concurrent pushes."""

import json
import multiprocessing

import pytest
from pipeline_helpers import TINY, run_pipeline

from kerascnn.errors import UserError
from kerascnn.training.push import blessing, push, versions, write_models_config


def _writer(payload=b"graph"):
    def write(folder):
        (folder / "saved_model.pb").write_bytes(payload)
        (folder / "variables").mkdir()

    return write


def test_versions_count_up_and_carry_their_metrics(tmp_path):
    for accuracy in (0.5, 0.7):
        push(tmp_path, "alexnet", _writer(), {"val_accuracy": accuracy})
    assert versions(tmp_path / "alexnet") == [1, 2]
    metrics = json.loads((tmp_path / "alexnet/2/assets.extra/metrics.json").read_text())
    assert metrics["val_accuracy"] == 0.7


@pytest.mark.parametrize(
    "previous, current, blessed", [(None, 0.1, True), (0.5, 0.4, False), (0.5, 0.5, True), (0.5, 0.6, True)]
)
def test_blessing_compares_with_the_latest_version(tmp_path, previous, current, blessed):
    if previous is not None:
        push(tmp_path, "vgg16", _writer(), {"val_accuracy": previous})
    assert blessing(tmp_path / "vgg16", {"val_accuracy": current})[0] is blessed


def test_a_failed_export_leaves_no_version_and_no_temporary(tmp_path):
    def broken(folder):
        (folder / "saved_model.pb").write_bytes(b"half")
        raise OSError(28, "No space left on device")

    with pytest.raises(UserError, match="no space left on the device. The versions pushed before are intact"):
        push(tmp_path, "resnet50", broken, {"val_accuracy": 0.9})
    assert list((tmp_path / "resnet50").iterdir()) == []


def _push_many(args):
    root, worker = args
    return [push(root, "lenet5", _writer(f"{worker}".encode()), {"val_accuracy": 0.5}).name for _ in range(5)]


def test_concurrent_pushes_get_distinct_whole_versions(tmp_path):
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        names = sum(pool.map(_push_many, [(tmp_path, 0), (tmp_path, 1)]), [])
    assert sorted(map(int, names)) == list(range(1, 11))
    for version in versions(tmp_path / "lenet5"):
        assert (tmp_path / "lenet5" / str(version) / "saved_model.pb").read_bytes() in (b"0", b"1")


def test_models_config_lists_every_model(tmp_path):
    for name in ("alexnet", "resnet50"):
        push(tmp_path, name, _writer(), {})
    (tmp_path / "empty").mkdir()
    write_models_config(tmp_path)
    text = (tmp_path / "models.config").read_text()
    assert text.count("config {") == 2 and f"base_path: '{tmp_path.resolve() / 'resnet50'}'" in text
    assert "model_platform: 'tensorflow'" in text and "empty" not in text


def test_a_worse_model_is_pushed_only_when_forced(tmp_path):
    args = ["lenet5", "--epochs", 1, "--run-dir", tmp_path / "run", "--output-dir", tmp_path / "out", *TINY]
    push(tmp_path / "out", "lenet5", _writer(), {"val_accuracy": 1.01})  # a version nothing can beat
    refused = run_pipeline("train", *args)
    assert refused.returncode == 0 and "Not pushed: not blessed" in refused.stdout
    assert versions(tmp_path / "out" / "lenet5") == [1]
    forced = run_pipeline("train", *args, "--force-push")
    assert forced.returncode == 0 and "forced" in forced.stdout
    assert versions(tmp_path / "out" / "lenet5") == [1, 2]
