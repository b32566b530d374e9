"""Resumable training checkpoints: model weights, optimizer state, random-number state and progress.

Each checkpoint is a folder `<run-dir>/checkpoints/epoch-0003-step-000000/` written atomically (see kerascnn/io.py):
- model.weights.h5: the layers' weights and the optimizer's variables (Keras' `save_weights` holds both);
- rng.npz: the states of the model's seed generators (dropout masks), which `save_weights` leaves out, so that a
  resumed run draws the same masks as an uninterrupted one;
- state.json: the epoch and step reached and the metrics so far.
The newest `keep` checkpoints are kept. The run's best epoch is a pointer to its checkpoint (best/checkpoint.json,
see `BestWeights`), not a second copy of a file that can be a gigabyte; when that checkpoint leaves the newest
`keep`, best/ takes its layers' weights alone (without the optimizer's) and the checkpoint goes. A checkpoint that
cannot be read (a disk error) falls back to the one before it.
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

from kerascnn import compat
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


# In a run's best/ folder: the checkpoint that holds the best epoch's weights, relative to the run's folder.
POINTER = "checkpoint.json"


def checkpoint_name(epoch, step=0):
    return f"epoch-{epoch:04d}-step-{step:06d}"


def pointed(best_dir):
    """The checkpoint folder best/checkpoint.json names, or None (no pointer: an older run's best/ holds its own
    weights file)."""
    path = Path(best_dir) / POINTER
    try:
        return (Path(best_dir).parent / json.loads(path.read_text())["checkpoint"]).resolve()
    except (OSError, ValueError, KeyError):
        return None


class CheckpointStore:
    """The checkpoints of one run, in `directory`; `best_dir`: the run's best/ folder, whose checkpoint is kept."""

    def __init__(self, directory, keep=2, best_dir=None):
        self.directory = Path(directory)
        self.keep = keep
        self.best_dir = best_dir

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
        final = self.directory / checkpoint_name(epoch, step)
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
        best = pointed(self.best_dir) if self.best_dir else None
        for _, _, old in self.checkpoints()[: -self.keep]:
            if best is not None and old.resolve() == best and not self._keep_best_weights(old):
                continue  # best/ could not take its weights: the checkpoint stays, nothing is lost
            shutil.rmtree(old, ignore_errors=True)
        return final

    def _keep_best_weights(self, checkpoint):
        """Before the best epoch's checkpoint goes: best/ takes its layers' weights (not the optimizer's, so no
        more than a copy of the weights), replacing the pointer atomically. False if that could not be written."""
        best = Path(self.best_dir)
        old = best.parent / f"{best.name}.old"
        try:
            with atomic_folder(best.parent) as temp:
                compat.weights_without_optimizer(checkpoint / "model.weights.h5", temp / "model.weights.h5")
                shutil.copy2(best / "metrics.json", temp / "metrics.json")
                best.rename(old)  # BestWeights puts it back if a kill comes before the publish
                publish(temp, best)
            shutil.rmtree(old, ignore_errors=True)
            return True
        except OSError:
            if old.exists() and not best.exists():
                old.rename(best)
            return False

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
