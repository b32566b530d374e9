"""The trainer's callbacks: checkpoints, the best weights, interruption, a non-finite loss and monitoring."""

import json
import math
import os
import shutil
import signal
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from tensorboard.plugins.histogram import metadata

from kerascnn.errors import write_error
from kerascnn.io import atomic_folder, publish, remove_stale_temporaries
from kerascnn.training.checkpoints import POINTER, checkpoint_name, quiet_h5py_finalizers
from kerascnn.training.failpoints import failpoint


class TrainingStopped(Exception):
    """SIGTERM or Ctrl-C arrived; the run saved a checkpoint at the next step boundary (after `epoch` complete
    epochs and `step` steps of the next) and stopped."""

    def __init__(self, epoch, step, signal_name):
        super().__init__(f"{signal_name} after {epoch} epoch(s) and {step} step(s)")
        self.epoch, self.step, self.signal_name = epoch, step, signal_name


class NonFiniteLoss(Exception):
    """The loss became NaN or infinite, or exceeded the configured upper bound."""

    def __init__(self, epoch, step, loss):
        super().__init__(f"the loss became {loss} at epoch {epoch + 1}, step {step}")
        self.epoch, self.step, self.loss = epoch, step, loss


def weights_are_finite(model):
    return all(np.isfinite(keras.ops.convert_to_numpy(v)).all() for v in model.trainable_variables)


class StopSignals:
    """Within `with StopSignals() as stop:`, SIGTERM and the first Ctrl-C set `stop.requested` instead of
    killing the process, so training can save at the next step boundary; a second Ctrl-C interrupts at once."""

    def __init__(self):
        self.requested = None

    def __enter__(self):
        self._previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
        for s in self._previous:
            signal.signal(s, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = signal.Signals(signum).name

    def __exit__(self, *exc):
        for s, handler in self._previous.items():
            signal.signal(s, handler)
        return False


class Checkpointing(keras.callbacks.Callback):
    """Saves a checkpoint at the end of each epoch, every `every_steps` steps, and when a stop is requested;
    raises NonFiniteLoss before a NaN can reach a checkpoint.

    `first_step` is the step this fit call starts at within its first epoch (a run resumed mid-epoch);
    `state()` returns what else the checkpoint should remember (the history, the plateau schedule's counters)."""

    def __init__(self, store, *, stop, state, steps_per_epoch, first_step=0, every_steps=0, loss_upper_bound=None):
        super().__init__()
        self.store, self.stop, self.state = store, stop, state
        self.steps_per_epoch, self.first_step, self.every_steps = steps_per_epoch, first_step, every_steps
        self.loss_upper_bound = loss_upper_bound

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch, self.last_step = epoch, self.first_step

    def on_train_batch_end(self, batch, logs=None):
        # `batch` is the last batch of the execution: with steps_per_execution > 1, several steps end here.
        step, previous = self.first_step + batch + 1, self.last_step
        self.last_step = step
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            raise NonFiniteLoss(self.epoch, step, float(loss))
        if loss is not None and self.loss_upper_bound and float(loss) > self.loss_upper_bound:
            raise NonFiniteLoss(self.epoch, step, f"{float(loss):.4g}, above loss_upper_bound")
        if step == self.steps_per_epoch:
            if self.stop.requested:  # the epoch is complete: stop after on_epoch_end saves it
                self.model.stop_training = True
            return
        if self.stop.requested:
            self._save(self.epoch, step)
            raise TrainingStopped(self.epoch, step, self.stop.requested)
        if self.every_steps and step // self.every_steps > previous // self.every_steps:
            self._save(self.epoch, step)

    def on_epoch_end(self, epoch, logs=None):
        self.first_step = 0
        self._save(epoch + 1, 0, metrics=_floats(logs))
        if self.stop.requested:
            raise TrainingStopped(epoch + 1, 0, self.stop.requested)

    def _save(self, epoch, step, **extra):
        if not weights_are_finite(self.model):
            raise NonFiniteLoss(epoch, step, "non-finite weights")
        self.store.save(self.model, epoch=epoch, step=step, **self.state(), **extra)


class BestWeights(keras.callbacks.Callback):
    """Keeps the weights of the epoch with the best `monitor` in `folder` (atomically), with that epoch's metrics
    in `folder`/metrics.json; a resumed run compares with what the folder already holds.

    With `checkpoint_dir` (where the epoch's checkpoint is saved right after this callback, by `Checkpointing`),
    `folder`/checkpoint.json points to that checkpoint, which the store then keeps: no second copy of the weights.
    Without it, `folder`/model.weights.h5 holds a copy."""

    def __init__(self, folder, monitor="val_accuracy", checkpoint_dir=None):
        super().__init__()
        self.folder, self.monitor, self.checkpoint_dir = Path(folder), monitor, checkpoint_dir
        old = self.folder.parent / f"{self.folder.name}.old"
        if old.exists() and not self.folder.exists():  # killed between the two renames below
            old.rename(self.folder)
        metrics = self.folder / "metrics.json"
        self.best = json.loads(metrics.read_text()).get(monitor, -math.inf) if metrics.exists() else -math.inf

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None or not value > self.best or not weights_are_finite(self.model):
            return
        self.best = float(value)
        parent, old = self.folder.parent, self.folder.parent / f"{self.folder.name}.old"
        remove_stale_temporaries(parent)
        failure = None
        with quiet_h5py_finalizers():
            try:
                with atomic_folder(parent) as temp:
                    if self.checkpoint_dir is None:
                        self.model.save_weights(temp / "model.weights.h5")
                    else:
                        checkpoint = Path(os.path.relpath(self.checkpoint_dir, parent)) / checkpoint_name(epoch + 1)
                        (temp / POINTER).write_text(json.dumps({"checkpoint": checkpoint.as_posix()}, indent=2))
                    (temp / "metrics.json").write_text(json.dumps({"epoch": epoch + 1, **_floats(logs)}, indent=2))
                    if self.folder.exists():
                        self.folder.rename(old)  # the previous best stays until the new one is in place
                    failpoint("best")
                    publish(temp, self.folder)
                shutil.rmtree(old, ignore_errors=True)
            except OSError as error:
                if old.exists() and not self.folder.exists():
                    old.rename(self.folder)
                failure = write_error(error, "the best weights", parent, "the checkpoints and the previous best")
        if failure:
            raise failure


class TrainingMonitor(keras.callbacks.Callback):
    """Adds the learning rate and the images per second of each epoch to its logs, which the TensorBoard and CSV
    callbacks after it record."""

    def __init__(self, global_batch):
        super().__init__()
        self.global_batch = global_batch

    def on_epoch_begin(self, epoch, logs=None):
        self._start, self._batches = time.perf_counter(), 0

    def on_train_batch_end(self, batch, logs=None):
        self._batches = batch + 1  # the execution's last batch: it may have run several

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        elapsed = time.perf_counter() - self._start
        logs["images_per_second"] = self._batches * self.global_batch / max(elapsed, 1e-9)
        logs["learning_rate"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))


class WeightHistograms(keras.callbacks.Callback):
    """Histograms of every trainable weight in TensorBoard, every `freq` epochs.

    Keras' TensorBoard callback (histogram_freq) has TensorFlow bin the values with a one-hot matrix of values x
    buckets: for AlexNet's fc6 (38M weights) that is 4.5 GB, and a 5-minute run peaked at 13 GB. NumPy bins them in
    blocks; the counts are written in the histogram plugin's own format, so TensorBoard shows the same thing."""

    def __init__(self, log_dir, freq=1, buckets=30):
        super().__init__()
        self.log_dir, self.freq, self.buckets = Path(log_dir), freq, buckets

    def on_epoch_end(self, epoch, logs=None):
        if not self.freq or (epoch + 1) % self.freq:
            return
        with tf.summary.create_file_writer(str(self.log_dir / "train")).as_default():
            for weight in self.model.trainable_weights:
                values = keras.ops.convert_to_numpy(weight).astype(np.float32).ravel()
                counts, edges = np.histogram(values, bins=self.buckets)
                buckets = np.stack([edges[:-1], edges[1:], counts.astype(np.float64)], axis=1)
                tf.summary.write(
                    f"{weight.path}/histogram",
                    buckets,
                    step=epoch,
                    metadata=metadata.create_summary_metadata(weight.path, ""),
                )


def write_input_grid(log_dir, images, mean, std, step=0, max_images=16):
    """A grid of (augmented) training inputs in TensorBoard's Images tab, de-normalised to what they look like."""
    images = np.asarray(images[:max_images], np.float32) * np.asarray(std) + np.asarray(mean)
    images = np.clip(images, 0, 255).astype(np.uint8)
    count, height, width, channels = images.shape
    side = math.ceil(math.sqrt(count))
    grid = np.zeros((side * height, side * width, channels), np.uint8)
    for i, image in enumerate(images):
        row, column = divmod(i, side)
        grid[row * height : (row + 1) * height, column * width : (column + 1) * width] = image
    with tf.summary.create_file_writer(str(Path(log_dir) / "train")).as_default():
        tf.summary.image("augmented_inputs", grid[np.newaxis], step=step)


def write_model_graph(log_dir, model):
    """The model's forward graph in TensorBoard's Graphs tab. (Keras 3's TensorBoard callback cannot write the
    graph of its train function: it is no longer a tf.function.)"""
    forward = tf.function(lambda images: model(images, training=False))
    graph = forward.get_concrete_function(tf.TensorSpec([None, *model.input_shape[1:]], tf.float32)).graph
    with tf.summary.create_file_writer(str(Path(log_dir) / "train")).as_default():
        tf.summary.graph(graph)


def _floats(logs):
    return {k: float(v) for k, v in (logs or {}).items() if np.ndim(v) == 0}
