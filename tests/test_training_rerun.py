"""What a new user hit: a rerun that pushed a copy, a fix that could not resume, a few dozen photos refused."""

import dataclasses
import json
import types

import keras
import numpy as np
import pytest

from kerascnn.errors import UserError
from kerascnn.training import config as config_lib
from kerascnn.training import runs
from kerascnn.training.push import deliver, push, versions, weights_digest
from kerascnn.training.trainer import batch_for_data


def _config(tmp_path, *sets):
    return config_lib.resolve("lenet5", sets=[f"run_dir={tmp_path / 'run'}", f"output_dir={tmp_path / 'out'}", *sets])


def _model(seed):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((4,))
    return keras.Model(inputs, keras.layers.Dense(3)(inputs))


def test_weights_equal_to_the_latest_version_are_no_new_version(tmp_path):
    model = _model(0)
    run = types.SimpleNamespace(config=_config(tmp_path), task="classification")  # what runs.prepare gives lenet5
    model_dir = tmp_path / "out" / "lenet5"
    metrics = {"val_accuracy": 0.5, "weights_sha256": weights_digest(model)}
    push(tmp_path / "out", "lenet5", lambda folder: None, metrics)
    pushed, reason = deliver(run, model, splits=None, metrics={"val_accuracy": 0.5})
    assert pushed is None and reason == "the weights are those of version 1, already pushed"
    # The same weights served in another precision are a new export of them: on to the blessing (failed here).
    bfloat16 = types.SimpleNamespace(config=_config(tmp_path, "serving_precision=bfloat16"), task="classification")
    pushed, reason = deliver(bfloat16, model, splits=None, metrics={"val_accuracy": 0.4})
    assert pushed is None and reason.startswith("not blessed")
    # Other weights (the digest tells them apart) go on to the blessing, which this worse model fails.
    other = _model(1)
    assert weights_digest(other) != weights_digest(model)
    pushed, reason = deliver(run, other, splits=None, metrics={"val_accuracy": 0.4})
    assert pushed is None and reason.startswith("not blessed")
    assert versions(model_dir) == [1]
    digest = weights_digest(model)
    model.layers[-1].kernel.assign(model.layers[-1].kernel + np.float32(1e-7))  # one ulp-scale change counts
    assert weights_digest(model) != digest


def test_a_run_folder_without_checkpoints_takes_another_config(tmp_path):
    runs.prepare(_config(tmp_path))
    # The first run failed before its first step (an undecodable file): the same folder takes the fix.
    fixed = runs.prepare(_config(tmp_path, "data.on_bad_image=skip", "optimizer.learning_rate=0.5"))
    recorded = json.loads((tmp_path / "run" / "config.json").read_text())
    assert recorded["config"]["optimizer"]["learning_rate"] == 0.5 and recorded[
        "fingerprint"
    ] == config_lib.fingerprint(fixed.config)
    (tmp_path / "run" / "checkpoints" / "epoch-0001-step-000000").mkdir(parents=True)  # now it holds training
    with pytest.raises(UserError, match=r"another config \(optimizer.learning_rate: 0.5 -> ") as error:
        runs.prepare(_config(tmp_path, "data.on_bad_image=skip"))
    assert error.value.field == "run_dir"
    # How bad files are reported does not change what is trained: it never blocks a resumption.
    runs.prepare(_config(tmp_path, "optimizer.learning_rate=0.5"))
    base = _config(tmp_path)
    assert config_lib.fingerprint(base) == config_lib.fingerprint(
        dataclasses.replace(base, data=dataclasses.replace(base.data, on_bad_image="skip"))
    )


def test_a_run_recorded_before_a_field_existed_resumes_and_an_older_fingerprint_version_is_refused(tmp_path):
    runs.prepare(_config(tmp_path))
    (tmp_path / "run" / "checkpoints" / "epoch-0001-step-000000").mkdir(parents=True)
    path = tmp_path / "run" / "config.json"
    recorded = json.loads(path.read_text())
    # As kerascnn wrote it before data.pad, optimizer.power and segmentation.* existed: another digest, and no
    # version (the first). The fields it lacks are taken at their defaults, which is what that kerascnn did.
    del recorded["config"]["data"]["pad"], recorded["config"]["optimizer"]["power"], recorded["config"]["segmentation"]
    del recorded["fingerprint_version"]
    recorded["fingerprint"] = "0123456789abcdef"
    path.write_text(json.dumps(recorded))
    runs.prepare(_config(tmp_path))
    assert json.loads(path.read_text())["fingerprint"] == config_lib.fingerprint(_config(tmp_path))
    # A field it lacks, set to another value than its default, is another run.
    path.write_text(json.dumps(recorded))
    with pytest.raises(UserError, match=r"another config \(data.pad: 0 -> 2\)"):
        runs.prepare(_config(tmp_path, "data.pad=2"))
    # A folder of an older fingerprint version (its values meant another training) is refused whatever it holds.
    path.write_text(json.dumps({**recorded, "fingerprint_version": config_lib.FINGERPRINT_VERSION - 1}))
    with pytest.raises(UserError, match="made by an older kerascnn.*another run_dir.*remove that folder") as error:
        runs.prepare(_config(tmp_path))
    assert error.value.field == "run_dir"


def test_the_batch_is_capped_at_a_small_training_split_with_the_rate_scaled(tmp_path):
    run = runs.prepare(_config(tmp_path, "batch_size=256"))
    lines = []
    capped = batch_for_data(run, 36, lines.append)
    assert capped.global_batch == 36 and run.global_batch == 256
    # The recipe's linear rule: rate x global batch / reference batch.
    optimizer = run.config.optimizer
    assert capped.base_rate == pytest.approx(optimizer.learning_rate * 36 / optimizer.reference_batch)
    assert capped.base_rate == pytest.approx(run.base_rate * 36 / 256)
    assert len(lines) == 1 and "36 images, fewer than one global batch of 256" in lines[0]
    assert batch_for_data(run, 256, lines.append) is run and len(lines) == 1  # enough data: untouched, silent
    with pytest.raises(UserError, match="0 images"):
        batch_for_data(run, 0)


def test_the_best_epoch_is_a_pointer_to_its_checkpoint_then_its_weights_alone(tmp_path):
    """best/ names the best epoch's checkpoint instead of holding a second copy of its weights; when the store
    drops that checkpoint (past `keep`), best/ takes the layers' weights alone (no optimizer state: no larger than
    the copy it used to hold); load_best loads the best epoch's weights either way."""
    import h5py

    from kerascnn.training.callbacks import BestWeights
    from kerascnn.training.checkpoints import CheckpointStore
    from kerascnn.training.trainer import load_best

    run_dir = tmp_path / "run"
    store = CheckpointStore(run_dir / "checkpoints", keep=2, best_dir=run_dir / "best")
    model = _model(0)
    model.compile(keras.optimizers.SGD(momentum=0.9), "mse")
    model.optimizer.build(model.trainable_variables)
    best = BestWeights(run_dir / "best", checkpoint_dir=run_dir / "checkpoints")
    best.set_model(model)

    def loaded_kernel():
        other = _model(1)
        other.compile("adam", "mse")  # another optimizer (a fine-tuning phase): only the layers are loaded
        load_best(types.SimpleNamespace(run_dir=run_dir), other)
        return other.layers[-1].kernel.numpy()

    kernels, seen = {}, []
    for epoch, accuracy in enumerate([0.5, 0.4, 0.3, 0.45, 0.6]):
        model.layers[-1].kernel.assign(np.full((4, 3), epoch, np.float32))
        kernels[epoch + 1] = model.layers[-1].kernel.numpy()
        best.on_epoch_end(epoch, {"val_accuracy": accuracy})  # as in fit: the best first, then the checkpoint
        store.save(model, epoch=epoch + 1)
        seen.append(([e for e, _, _ in store.checkpoints()], sorted(p.name for p in (run_dir / "best").iterdir())))
        np.testing.assert_array_equal(loaded_kernel(), kernels[5 if epoch == 4 else 1])
        if epoch == 2:  # epoch 1's checkpoint has gone: best/ holds its layers' weights, not SGD's momentum
            with h5py.File(run_dir / "best" / "model.weights.h5", "r") as kept:
                assert "layers" in kept and "optimizer" not in kept
            checkpoint = store.checkpoints()[-1][2] / "model.weights.h5"
            with h5py.File(checkpoint, "r") as full:
                assert "optimizer" in full
    pointer, weights = ["checkpoint.json", "metrics.json"], ["metrics.json", "model.weights.h5"]
    assert seen == [([1], pointer), ([1, 2], pointer), ([2, 3], weights), ([3, 4], weights), ([4, 5], pointer)]


def test_an_older_runs_best_weights_file_still_loads(tmp_path):
    from kerascnn.training.trainer import load_best

    model = _model(0)
    (tmp_path / "best").mkdir()
    model.save_weights(tmp_path / "best" / "model.weights.h5")
    other = _model(1)
    load_best(types.SimpleNamespace(run_dir=tmp_path), other)
    np.testing.assert_array_equal(other.layers[-1].kernel.numpy(), model.layers[-1].kernel.numpy())
