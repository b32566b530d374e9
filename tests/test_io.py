import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from kerascnn import io as atomic
from kerascnn.io import atomic_folder, publish, remove_stale_temporaries
from kerascnn.training.checkpoints import CheckpointStore


def test_failed_write_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError):
        with atomic_folder(tmp_path) as temp:
            (temp / "half.bin").write_bytes(b"x")
            raise RuntimeError("disk full")
    assert list(tmp_path.iterdir()) == []


def test_write_atomic_replaces_a_file_whole_or_leaves_it(tmp_path):
    path = tmp_path / "sub" / "results.json"
    assert atomic.write_atomic(path, "first") == path and path.read_text() == "first"  # the folder is created
    atomic.write_atomic(path, b"second")
    assert path.read_bytes() == b"second"

    def fails_midway(f):
        f.write(b"half of a third")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        atomic.write_atomic(path, fails_midway)
    assert path.read_text() == "second" and sorted(p.name for p in path.parent.iterdir()) == ["results.json"]
    assert (path.stat().st_mode & 0o777) == 0o666 & ~atomic._umask()  # not mkstemp's private 0o600


def test_publish_never_replaces_an_existing_folder(tmp_path):
    (tmp_path / "1").mkdir()
    (tmp_path / "1" / "saved_model.pb").write_bytes(b"first")
    with atomic_folder(tmp_path) as temp:
        (temp / "saved_model.pb").write_bytes(b"second")
        with pytest.raises(FileExistsError):
            publish(temp, tmp_path / "1")
    assert (tmp_path / "1" / "saved_model.pb").read_bytes() == b"first"


def test_stale_temporaries_of_dead_writers_are_removed(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (tmp_path / f".tmp-{dead.stdout.strip()}-abcd").mkdir()
    (tmp_path / f".tmp-{os.getpid()}-live").mkdir()  # writes in progress of live processes stay
    (tmp_path / f".tmp-{os.getppid()}-live").mkdir()
    removed = {p.name for p in remove_stale_temporaries(tmp_path)}
    assert removed == {f".tmp-{dead.stdout.strip()}-abcd"}
    assert (tmp_path / f".tmp-{os.getppid()}-live").exists() and (tmp_path / f".tmp-{os.getpid()}-live").exists()


def _model():
    inputs = keras.Input((3,))
    x = keras.layers.Dense(4)(inputs)
    x = keras.layers.Dropout(0.5)(x)
    model = keras.Model(inputs, keras.layers.Dense(2)(x))
    model.compile(keras.optimizers.SGD(0.1, momentum=0.9), "mse")
    return model


def test_checkpoint_restores_weights_optimizer_and_dropout_state(tmp_path):
    x, y = np.random.default_rng(0).normal(size=(8, 3)), np.zeros((8, 2))
    model = _model()
    model.fit(x, y, epochs=2, verbose=0)
    store = CheckpointStore(tmp_path, keep=2)
    store.save(model, epoch=2, history=[1, 2])
    expected_next = _model()
    expected_next.set_weights(model.get_weights())
    model.fit(x, y, epochs=1, verbose=0, shuffle=False)  # what an uninterrupted run does next

    resumed = _model()
    state = store.restore(resumed)
    assert state["epoch"] == 2 and state["history"] == [1, 2]
    resumed.fit(x, y, epochs=1, verbose=0, shuffle=False)
    for a, b in zip(model.get_weights(), resumed.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6)  # momentum, iteration count and dropout masks all resumed


def test_keeps_the_newest_and_falls_back_past_a_broken_one(tmp_path):
    model = _model()
    model.fit(np.zeros((2, 3)), np.zeros((2, 2)), verbose=0)
    store = CheckpointStore(tmp_path, keep=2)
    for epoch in (1, 2, 3):
        store.save(model, epoch=epoch)
    assert [e for e, _, _ in store.checkpoints()] == [2, 3]
    (store.checkpoints()[-1][2] / "model.weights.h5").write_bytes(b"truncated")
    assert store.restore(_model())["epoch"] == 2
