"""Serving speed: our pusher's SavedModel against keras.applications' `model.export`, both loaded with plain
TensorFlow (`tf.saved_model.load`) and called through their serving signature on the same uint8 images.

Ours is what `pipelines.train` pushes (kerascnn.serving.export): the model with its batch normalisations folded
into the convolutions and its weights variables of the SavedModel, behind `serving_default`, which takes uint8 images
of any size and resizes, crops and normalises them in the graph; in float32 (the default export) and, when asked,
the bfloat16 export (`--serving-precision bfloat16`) too, each against the same keras.applications model.
keras.applications' is `model.export(folder)` of the same architecture; its signature takes float32 images at the
input size, so its images are cast to float32 first and nothing more (no `preprocess_input`): it is timed doing
less than ours. Random weights in both: speed does not depend on them.

Throughput: images per second at `batch_size`, in repetitions alternating the models (A B C, C B A, ...) as
throughput.py does for training. Latency: single-image calls, `calls` per model per repetition, alternating the
same way; the median and 95th percentile over every call.
"""

import dataclasses
import tempfile
import time
from pathlib import Path

import numpy as np

from kerascnn.benchmark.candidates import COUNTERPARTS, OURS, THEIRS, paper_config
from kerascnn.benchmark.throughput import ratios, summarize


def export_ours(model, folder, *, image_size, num_classes, precision="float32"):
    """Our pusher's SavedModel of `model` (random weights, the paper's evaluation transform) in `folder`, computing
    in `precision` (a serving_precision)."""
    from kerascnn.serving import serving_limits, serving_transform, serving_transform_bytes
    from kerascnn.serving.export import write_saved_model
    from kerascnn.training.models import build_model, serving_model

    config = dataclasses.replace(paper_config(model, batch_size=1, image_size=image_size), serving_precision=precision)
    input_shape = (image_size, image_size, config.channels or 3)
    trained = build_model(config, num_classes=num_classes, input_shape=input_shape, precision="float32")
    channels = input_shape[2]
    max_pixels, max_batch_pixels = serving_limits(config.data)
    limits = {"max_pixels": max_pixels, "max_batch_pixels": max_batch_pixels}
    write_saved_model(
        serving_model(trained, config, num_classes=num_classes, input_shape=input_shape),
        folder,
        class_names=[f"class{i}" for i in range(num_classes)],
        model_name=model,
        limits={"max_image_pixels": max_pixels, "max_batch_pixels": max_batch_pixels},
        preprocess_images=lambda images: serving_transform(images, image_size, channels, config.data, **limits),
        preprocess_bytes=lambda encoded: serving_transform_bytes(encoded, image_size, channels, config.data, **limits),
    )


def export_theirs(model, folder, *, image_size, num_classes):
    """keras.applications' build of the same architecture, exported with `model.export`."""
    import keras

    builder = getattr(keras.applications, COUNTERPARTS[model])
    builder(weights=None, input_shape=(image_size, image_size, 3), classes=num_classes).export(folder, verbose=False)


def ours_name(precision):
    return OURS if precision == "float32" else f"{OURS} ({precision})"


def _probabilities(signature):
    return lambda images: signature(images=images)["probabilities"].numpy()


def _callers(folder, precisions):
    """The serving signatures as functions of a uint8 batch, loaded from their SavedModels: ours in each of
    `precisions`, and keras.applications'."""
    import tensorflow as tf

    callers, keep = {}, []
    for precision in precisions:
        ours = tf.saved_model.load(str(Path(folder) / precision))
        keep.append(ours)
        callers[ours_name(precision)] = _probabilities(ours.signatures["serving_default"])
    theirs_model = tf.saved_model.load(str(Path(folder) / "theirs"))
    theirs = theirs_model.signatures["serving_default"]
    (theirs_input,) = theirs.structured_input_signature[1]

    def call_theirs(images):
        out = theirs(**{theirs_input: tf.cast(images, tf.float32)})
        return next(iter(out.values())).numpy()

    callers[THEIRS] = call_theirs
    return callers, (*keep, theirs_model)


def _alternating(names, repeats):
    for repeat in range(repeats):
        yield repeat, names if repeat % 2 == 0 else names[::-1]


def measure_serving(
    model, *, image_size, num_classes, batch_size=16, steps=3, repeats=5, calls=20, warmup=2, precisions=("float32",)
):
    """Throughput at `batch_size` and single-image latency of our SavedModel in each of `precisions` and of
    keras.applications'; a dict of plain values, each ratio ours in one precision over theirs."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    batch = tf.constant(rng.integers(0, 256, (batch_size, image_size, image_size, 3), dtype=np.uint8))
    single = batch[:1]
    with tempfile.TemporaryDirectory(prefix="kerascnn-serving-") as folder:
        for precision in precisions:
            destination = str(Path(folder) / precision)
            export_ours(model, destination, image_size=image_size, num_classes=num_classes, precision=precision)
        export_theirs(model, str(Path(folder) / "theirs"), image_size=image_size, num_classes=num_classes)
        callers, _keep = _callers(folder, precisions)
        names = list(callers)
        for call in callers.values():  # the first calls optimise the graphs
            for _ in range(max(warmup, 1)):
                call(batch)
                call(single)
        rates = {name: [] for name in names}
        latencies = {name: [] for name in names}
        for _, order in _alternating(names, repeats):
            for name in order:
                start = time.perf_counter()
                for _ in range(steps):
                    callers[name](batch)
                rates[name].append(batch_size * steps / (time.perf_counter() - start))
            for name in order:
                for _ in range(calls):
                    start = time.perf_counter()
                    callers[name](single)
                    latencies[name].append(1000 * (time.perf_counter() - start))
    latency = {
        name: {q: float(np.percentile(latencies[name], p)) for q, p in (("p50", 50), ("p95", 95))} for name in names
    }
    ours = [ours_name(precision) for precision in precisions]
    return {
        "batch_size": batch_size,
        "steps": steps,
        "repeats": repeats,
        "calls": calls,
        "throughput": {name: summarize(rates[name]) for name in names},
        "throughput_ratio": {name: ratios(rates[name], rates[THEIRS]) for name in ours},
        "latency_ms": latency,
        "latency_ratio": {name: {q: latency[name][q] / latency[THEIRS][q] for q in ("p50", "p95")} for name in ours},
    }
