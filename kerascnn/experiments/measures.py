"""What an experiment measures of one run (from what the run logged, and from its trained model), the mean and
spread over seeds, and the verdict of a comparison."""

import math

import numpy as np
import tensorflow as tf

from kerascnn.analysis.equivariance import shift_images
from kerascnn.data import make_dataset

# measure -> (what it is, the unit it is printed in)
MEASURES = {
    "parameters": ("trainable and fixed weights of the model", "{:,.0f}"),
    "test_accuracy": ("top-1 accuracy on the test images (validation where the data has no test split)", "{:.4f}"),
    "test_error": ("top-1 error on the test images (validation where the data has no test split)", "{:.4f}"),
    "shifted_accuracy": ("top-1 accuracy on the test images shifted by 1 to 4 pixels (mean of the shifts)", "{:.4f}"),
    "shift_drop": ("accuracy lost to the shifts: unshifted minus shifted accuracy", "{:.4f}"),
    "shift_agreement": ("top-1 agreement between an image and its copies shifted by 1 to 4 pixels", "{:.4f}"),
    "final_train_error": ("training error of the last epoch (Keras' running mean over its batches)", "{:.4f}"),
    "epochs_to_target": ("epochs to the target training error (interpolated between epoch ends)", "{:.2f}"),
    "steps_to_target": ("steps to the target training error", "{:.0f}"),
    "ms_per_image": ("training time per image, milliseconds (the epochs' mean, the first left out)", "{:.3f}"),
}

DIRECTIONS = ((0, 1), (1, 0), (0, -1), (-1, 0))  # right, down, left, up


def train_errors(history):
    """The training error at the end of each epoch (1 - Keras' running accuracy), in epoch order."""
    return [1.0 - entry["accuracy"] for entry in sorted(history, key=lambda e: e["epoch"])]


def epochs_to(errors, target, start):
    """The (fractional) epochs until the training error first reaches `target`, interpolated linearly between
    epoch ends, from `start` (the error before training: chance) at epoch 0; None when it never does."""
    previous = start
    for epoch, error in enumerate(errors, start=1):
        if error <= target:
            if previous <= target:
                return float(epoch - 1)
            return epoch - 1 + (previous - target) / (previous - error)
        previous = error
    return None


def ms_per_image(history):
    """Milliseconds per training image, from the images per second each epoch logged; the first epoch (which
    traces and compiles the step) is left out where there are others."""
    rates = [e["images_per_second"] for e in sorted(history, key=lambda e: e["epoch"]) if "images_per_second" in e]
    rates = rates[1:] if len(rates) > 1 else rates
    return 1000.0 / float(np.mean(rates)) if rates else None


def eval_images(split, count):
    """The first `count` (uint8 images, labels) of an unbatched split, as arrays."""
    images, labels = [], []
    for image, label in split.take(count):
        images.append(image.numpy())
        labels.append(int(label.numpy()))
    return np.stack(images), np.asarray(labels)


def predicted(model, images, run):
    """The top-1 classes of `model` for uint8 `images`, through the run's evaluation transform."""
    dataset = make_dataset(
        tf.data.Dataset.from_tensor_slices((images, np.zeros(len(images), np.int64))),
        training=False,
        image_size=run.input_shape[0],
        channels=run.input_shape[2],
        batch_size=run.global_batch,
        config=run.config.data,
        num_examples=len(images),
        in_memory=True,
    )
    outputs = model.predict(dataset.map(lambda x, _: x), verbose=0)
    outputs = outputs[0] if isinstance(outputs, (list, tuple)) else outputs
    return np.argmax(outputs, axis=-1)


def shift_measures(model, images, labels, run, shifts):
    """{"accuracy": {shift: ...}, "agreement": {shift: ...}} of `model` on uint8 `images` moved by each shift in
    pixels (the mean over the four directions), zeros (black, Fashion-MNIST's background) shifted in before the
    evaluation transform. Shift 0 is the images as they are. All the copies go through one prediction: a call
    per shift costs more in tf.data and Keras set-up than in the model on a few thousand small images."""
    offsets = [(0, 0)] + [(dy * k, dx * k) for k in shifts for dy, dx in DIRECTIONS]
    moved = np.concatenate([shift_images(images, offset) for offset in offsets])
    classes = predicted(model, moved, run).reshape(len(offsets), len(images))
    before = classes[0]
    accuracy, agreement = {0: float(np.mean(before == labels))}, {0: 1.0}
    for i, k in enumerate(shifts):
        copies = classes[1 + i * len(DIRECTIONS) : 1 + (i + 1) * len(DIRECTIONS)]
        accuracy[k] = float(np.mean(copies == labels[None]))
        agreement[k] = float(np.mean(copies == before[None]))
    return {"accuracy": accuracy, "agreement": agreement}


def summary(values):
    """{"mean", "spread", "n", "values"} of one measure over seeds: the spread is the sample standard deviation
    (0 for one seed). A None among the values (a target never reached) makes the mean None."""
    values = list(values)
    if not values or any(v is None for v in values):
        return {"mean": None, "spread": None, "n": len(values), "values": values}
    spread = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
    return {"mean": float(np.mean(values)), "spread": spread, "n": len(values), "values": values}


AGREES, DISAGREES, NO_DIFFERENCE = "agrees", "disagrees", "no difference: within the spread"
AT_CHANCE = "undecided: both arms at chance"
# An arm whose mean accuracy is within this of chance's (or within its spread, if larger) has not learned: 5 points,
# half of chance's accuracy on 10 classes.
CHANCE_MARGIN = 0.05


def at_chance(accuracy, chance):
    """Whether the summary `accuracy` is no better than `chance` (1 / classes) by more than CHANCE_MARGIN or its
    spread."""
    return accuracy["mean"] is not None and accuracy["mean"] <= chance + max(CHANCE_MARGIN, accuracy["spread"])


def verdict(a, b, expect):
    """The verdict of the paper's `expect` ("higher", "lower", "same", "not_higher") for the summaries `a` and
    `b` of one measure: a difference no larger than the larger of the two spreads is no difference. A mean of
    None (never reached) counts as above every number. With one seed there is no spread to judge by, and the
    verdict says so. Returns (verdict, difference a - b or None)."""
    outcome, difference = _verdict(a, b, expect)
    if min(a["n"], b["n"]) < 2 and not outcome.startswith("undecided"):
        outcome += " (one seed: no spread to judge the difference by)"
    return outcome, difference


def _verdict(a, b, expect):
    if a["mean"] is None or b["mean"] is None:
        if a["mean"] is None and b["mean"] is None:
            return "undecided: neither reached the target", None
        higher = a["mean"] is None
        difference = None
        within = False
    else:
        difference = a["mean"] - b["mean"]
        within = abs(difference) <= max(a["spread"], b["spread"])
        higher = difference > 0
    if within:
        return (f"{AGREES} ({NO_DIFFERENCE})" if expect in ("same", "not_higher") else NO_DIFFERENCE), difference
    if expect == "same":
        return DISAGREES, difference
    agrees = higher if expect == "higher" else not higher
    return (AGREES if agrees else DISAGREES), difference


def ratio(a, b):
    """mean(a) / mean(b), None where either is missing or b's is 0."""
    if a["mean"] is None or b["mean"] is None or not b["mean"]:
        return None
    return a["mean"] / b["mean"]


def fmt(measure, value):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return MEASURES[measure][1].format(value)
