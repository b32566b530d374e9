"""Resumable training checkpoints: model weights, optimizer state, random-number state and progress.

Each checkpoint is a folder `<run-dir>/checkpoints/epoch-0003-step-000000/` written atomically (see kerascnn/io.py):
- model.weights.h5: the layers' weights and the optimizer's variables (Keras' `save_weights` holds both);
- rng.npz: the states of the model's seed generators (dropout masks), which `save_weights` leaves out, so that a
  resumed run draws the same masks as an uninterrupted one;
- state.json: the epoch and step reached and the metrics so far.
The newest `keep` checkpoints are kept; a checkpoint that cannot be read (a disk error) falls back to the one
before it.
"""

import contextlib
import gc
import json
import re
import shutil
import sys
import traceback
from pathlib import Path

import numpy as np

from kerascnn.errors import write_error
from kerascnn.io import atomic_folder, publish, remove_stale_temporaries
from kerascnn.training.failpoints import failpoint

_NAME = re.compile(r"^epoch-(\d{4,})-step-(\d{6,})$")


def _seed_states(model):
    return [v for v in model.variables if "seed_generator_state" in v.path]


@contextlib.contextmanager
def quiet_h5py_finalizers():
    """When an HDF5 write fails (a full disk), h5py's destructors fail to flush too, and Cython prints their
    errors through sys.excepthook and sys.unraisablehook. Within this block those are dropped (the write's own
    error is raised and reported once, in one line), and the failed write's objects are collected before it
    ends; anything else still reaches the previous hooks."""
    previous_unraisable, previous_except = sys.unraisablehook, sys.excepthook

    def from_h5py(value, tb):
        return "h5py" in "".join(traceback.format_tb(tb)) or "file write failed" in str(value)

    def unraisable_hook(unraisable):
        if not (from_h5py(unraisable.exc_value, unraisable.exc_traceback) or "h5py" in repr(unraisable.object)):
            previous_unraisable(unraisable)

    def except_hook(kind, value, tb):
        if not from_h5py(value, tb):
            previous_except(kind, value, tb)

    sys.unraisablehook, sys.excepthook = unraisable_hook, except_hook
    try:
        yield
    finally:
        gc.collect()
        sys.unraisablehook, sys.excepthook = previous_unraisable, previous_except


class CheckpointStore:
    """The checkpoints of one run, in `directory`."""

    def __init__(self, directory, keep=2):
        self.directory = Path(directory)
        self.keep = keep

    def checkpoints(self):
        """(epoch, step, path) of every complete checkpoint, oldest first."""
        if not self.directory.is_dir():
            return []
        found = []
        for path in self.directory.iterdir():
            match = _NAME.match(path.name)
            if match and path.is_dir():
                found.append((int(match[1]), int(match[2]), path))
        return sorted(found)

    def save(self, model, *, epoch, step=0, **state):
        """Writes a checkpoint after `epoch` completed epochs and `step` batches of the next one."""
        remove_stale_temporaries(self.directory)
        final = self.directory / f"epoch-{epoch:04d}-step-{step:06d}"
        if final.exists():  # this point is saved already: a rerun stopped where the last one did
            return final
        failure = None
        with quiet_h5py_finalizers():
            try:
                with atomic_folder(self.directory) as temp:
                    model.save_weights(temp / "model.weights.h5")
                    failpoint("checkpoint")
                    np.savez(temp / "rng.npz", *[v.numpy() for v in _seed_states(model)])
                    (temp / "state.json").write_text(json.dumps({"epoch": epoch, "step": step, **state}, indent=2))
                    publish(temp, final)
            except OSError as error:
                failure = write_error(error, f"checkpoint {final.name}", self.directory, "the previous checkpoints")
        if failure:
            raise failure
        for _, _, old in self.checkpoints()[: -self.keep]:
            shutil.rmtree(old, ignore_errors=True)
        return final

    def restore(self, model):
        """Loads the newest readable checkpoint into `model` (built and compiled) and returns its state, or None."""
        remove_stale_temporaries(self.directory)
        errors = []
        for _, _, path in reversed(self.checkpoints()):
            try:
                state = json.loads((path / "state.json").read_text())
                optimizer = getattr(model, "optimizer", None)
                if optimizer is not None and not optimizer.built:
                    optimizer.build(model.trainable_variables)  # so its variables exist to be loaded
                model.load_weights(path / "model.weights.h5")
                with np.load(path / "rng.npz") as rng:
                    for variable, key in zip(_seed_states(model), rng.files):
                        variable.assign(rng[key])
                return {**state, "path": str(path)}
            except (OSError, ValueError, KeyError) as error:
                errors.append(f"{path.name}: {error}")
        if errors:
            raise OSError("No checkpoint could be read: " + "; ".join(errors))
        return None
