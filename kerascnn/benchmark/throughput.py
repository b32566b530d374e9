"""Images per second of a compiled model's training and inference steps, timed fairly.

Training runs Keras' own `train_function` (what `fit` calls: the forward pass, the loss, the backward pass and the
optimizer's update, and the metrics) on one batch held in memory, so the input pipeline costs nothing here; it is
measured on its own (input_pipeline.py). Inference runs `predict_function` (the model called with
`training=False`). The first steps trace and optimise the graph (and compile it, with XLA): they are warm-up, not
counted. Several models are timed in alternation, A B B A A B ..., so that a slow spell of the machine (another
process, thermal limits) hits each of them alike; every repetition gives one sample per model.
"""

import statistics
import time

import numpy as np


def fixed_batch(model, batch_size, num_classes, seed=0):
    """Random float32 images of the model's input shape (a mixed precision model casts them) and labels."""
    import tensorflow as tf  # here, not above: backends.py takes `summarize` on machines without TensorFlow

    rng = np.random.default_rng(seed)
    shape = (batch_size, *model.inputs[0].shape[1:])
    images = tf.constant(rng.standard_normal(shape, dtype=np.float32))
    labels = tf.constant(rng.integers(0, num_classes, batch_size), dtype=tf.int64)
    return images, labels


class StepTimer:
    """Times a compiled model's training and inference steps on a batch held in memory, for `alternate`: the one
    timer of both benchmarks. A subclass says how one step runs (`train_step`, `predict_step`, which return what
    the step computed) and sets `batch_size`."""

    def train_steps(self, steps, *args):
        """Runs `steps` training steps; returns the seconds they took."""
        return _timed(lambda: self.train_step(*args), steps)

    def predict_steps(self, steps):
        """Runs `steps` inference batches; returns the seconds they took."""
        return _timed(self.predict_step, steps)

    def warm_up(self, steps):
        """Traces, optimises (and with XLA compiles) both steps, and runs them `steps` times uncounted."""
        self.train_steps(max(steps, 1))
        self.predict_steps(max(steps, 1))


def _timed(step, steps):
    start = time.perf_counter()
    for _ in range(steps):
        result = step()
    _wait(result)  # dispatch is asynchronous on accelerators: the last step's result ends the time
    return time.perf_counter() - start


def _wait(result):
    if isinstance(result, dict):
        result = list(result.values())
    for value in result if isinstance(result, (list, tuple)) else (result,):
        np.asarray(value)


class Timer(StepTimer):
    """Times one compiled model's training and inference steps on a batch held in memory."""

    def __init__(self, model, images, labels):
        import tensorflow as tf  # as in fixed_batch

        self.model = model
        self.images = images
        self.batch_size = int(images.shape[0])
        # The same endless iterator `fit` would hand to train_function, over one batch.
        self.iterator = iter(tf.data.Dataset.from_tensors((images, labels)).repeat())
        model.make_train_function()
        model.make_predict_function()

    def train_step(self, iterator=None):
        return self.model.train_function(iterator or self.iterator)["loss"]

    def predict_step(self):
        return self.model.predict_function([(self.images,)])


def alternate(timers, *, steps, repeats):
    """Times each Timer `repeats` times; returns {name: {"train": [...], "inference": [...]}} of images per second,
    one sample per repetition, for `timers` given as {name: Timer}.

    Each repetition times the training steps of every model, then the inference of every model, in an order that
    reverses from one repetition to the next (A B, B A, A B, ...): the samples of one repetition are taken
    seconds apart, so the ratio of two models' samples shares whatever the machine was doing then."""
    samples = {name: {"train": [], "inference": []} for name in timers}
    names = list(timers)
    for repeat in range(repeats):
        order = names if repeat % 2 == 0 else names[::-1]
        for kind, method in (("train", "train_steps"), ("inference", "predict_steps")):
            for name in order:
                timer = timers[name]
                samples[name][kind].append(timer.batch_size * steps / getattr(timer, method)(steps))
    return samples


def summarize(samples):
    """Median, minimum and maximum of `samples`, and the spread: (max - min) / median."""
    if not samples:
        return None
    median = statistics.median(samples)
    return {
        "median": median,
        "min": min(samples),
        "max": max(samples),
        "spread": (max(samples) - min(samples)) / median if median else 0.0,
        "samples": list(samples),
    }


def ratios(ours, theirs):
    """Per-repetition ratios ours / theirs of two sample lists taken in alternation, summarised."""
    return summarize([a / b for a, b in zip(ours, theirs)])
