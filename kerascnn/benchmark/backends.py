"""The zoo's speed on any Keras backend, TensorFlow not needed: for a machine that has JAX and a GPU but no
TensorFlow (`KERAS_BACKEND=jax python -m pipelines.benchmark_backend`).

The rest of this package times what `pipelines.train` runs, and that is TensorFlow (tf.data, the recipes' input
pipelines, keras.applications side by side). Here only Keras and the zoo are used: each model and each custom
layer at its paper's shapes is compiled with SGD (momentum 0.9, every paper's optimizer) and cross-entropy (for a
layer, a mean squared error on its output), and timed with `train_on_batch` (forward, loss, backward, update: one
compiled step on every backend) and `predict_on_batch`, on one batch held on the device. The precisions are timed
in alternation (throughput.alternate), so that a slow spell of the machine hits each alike.
"""

import os
import platform

import keras
import numpy as np

from kerascnn import layers as zoo
from kerascnn import registry
from kerascnn.benchmark.machine import cpu_model
from kerascnn.benchmark.throughput import StepTimer, alternate, summarize
from kerascnn.policy import dtype_policy
from kerascnn.registry import checked_model

# Each custom layer where its paper uses it: (a layer builder, the input's shape without the batch).
LAYER_WORKLOADS = {
    "LocalResponseNormalization (AlexNet norm1)": (lambda: zoo.LocalResponseNormalization(), (55, 55, 96)),
    "GroupedConv2D (AlexNet conv2, 2 towers)": (lambda: zoo.GroupedConv2D(256, 5, padding=2), (27, 27, 96)),
    "DilatedConv2D (3x3, dilation 2, stride 2)": (
        lambda: zoo.DilatedConv2D(64, 3, strides=2, dilation_rate=2, padding="same"),
        (56, 56, 64),
    ),
    "ConnectionTableConv2D (LeNet-5 C3)": (lambda: zoo.ConnectionTableConv2D(zoo.LENET5_C3_TABLE, 5), (14, 14, 6)),
    "ResidualBlock (ResNet-50 conv2_x)": (lambda: zoo.ResidualBlock(64, bottleneck=True), (56, 56, 256)),
    "InceptionModule (GoogLeNet 3a)": (lambda: zoo.InceptionModule(64, 96, 128, 16, 32, 32), (28, 28, 192)),
}


def describe_backend():
    """The machine as the backend sees it: its devices, and the Keras and backend versions."""
    backend = keras.backend.backend()
    machine = {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "keras": keras.__version__,
        "keras_backend": backend,
        "devices": [],
    }
    if backend == "jax":
        import jax

        machine["backend_version"] = jax.__version__
        machine["devices"] = [d.device_kind for d in jax.devices() if d.platform != "cpu"]
    elif backend == "torch":
        import torch

        machine["backend_version"] = torch.__version__
        machine["devices"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return machine


def model_workload(name, *, num_classes, image_size=None):
    """A builder of the zoo's `name` (the paper's input unless `image_size`) and its input shape; UserError for
    an unknown name or a size below the model's minimum."""
    spec = checked_model(name, [image_size])
    shape = spec.input_shape
    if image_size:
        shape = (image_size, image_size, shape[2])
    return (lambda: registry.get_model(spec.name, num_classes=num_classes, input_shape=shape)), shape


class Step(StepTimer):
    """One compiled model (a zoo model, or a custom layer wrapped in one) and a batch held on the device."""

    def __init__(self, build, input_shape, *, precision, batch_size, num_classes, seed=0):
        with dtype_policy(precision):  # a zoo model or layer takes its dtypes from the policy when built
            built = build()
        rng = np.random.default_rng(seed)
        self.images = keras.ops.convert_to_tensor(rng.standard_normal((batch_size, *input_shape), dtype=np.float32))
        if isinstance(built, keras.Model):
            self.targets = keras.ops.convert_to_tensor(rng.integers(0, num_classes, batch_size))
            loss = "sparse_categorical_crossentropy"
        else:  # a custom layer, trained towards zero outputs: its forward and backward passes are what is timed
            inputs = keras.Input(input_shape)
            built = keras.Model(inputs, keras.layers.Activation("linear", dtype="float32")(built(inputs)))
            self.targets = keras.ops.zeros((batch_size, *built.outputs[0].shape[1:]))
            loss = "mean_squared_error"
        self.model = built
        self.batch_size = batch_size
        self.model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9), loss=loss)

    def train_step(self):
        return self.model.train_on_batch(self.images, self.targets)

    def predict_step(self):
        return self.model.predict_on_batch(self.images)


def time_workload(build, input_shape, *, precisions, batch_size, num_classes, steps, warmup, repeats):
    """{precision: {"train": summary, "inference": summary}} of images per second for one workload, the
    precisions timed in alternation after `warmup` uncounted steps each (and the first, which compiles)."""
    runs = {
        p: Step(build, input_shape, precision=p, batch_size=batch_size, num_classes=num_classes) for p in precisions
    }
    for step in runs.values():
        step.warm_up(warmup + 1)
    samples = alternate(runs, steps=steps, repeats=repeats)
    return {p: {kind: summarize(values) for kind, values in kinds.items()} for p, kinds in samples.items()}


def markdown(machine, results, *, batch_size, steps, warmup, repeats, command=None):
    """A markdown table of `results` ({workload: time_workload's dict}), machine and settings above it."""
    devices = ", ".join(machine["devices"]) or "no accelerator"
    lines = ["# kerascnn on the " + machine["keras_backend"] + " backend", ""]
    if command:
        lines += [f"`{command}`", ""]
    lines += [
        f"Machine: {machine['cpu']}, {machine['cores']} cores, {devices}; Keras {machine['keras']} "
        f"({machine['keras_backend']} {machine.get('backend_version', '')}), Python {machine['python']}.",
        "",
        f"Batch {batch_size}; images per second as the median of {repeats} repetitions of {steps} steps "
        f"(lowest-highest), after {warmup} uncounted warm-up steps; precisions timed in alternation.",
        "",
        "| workload | precision | training img/s | inference img/s |",
        "|---|---|---:|---:|",
    ]
    for workload, by_precision in results.items():
        for precision, kinds in by_precision.items():
            cells = [f"{_rate(s['median'])} ({_rate(s['min'])}-{_rate(s['max'])})" for s in kinds.values()]
            lines.append(f"| {workload} | {precision} | {cells[0]} | {cells[1]} |")
    return "\n".join(lines) + "\n"


def _rate(images_per_second):
    return f"{images_per_second:.0f}" if images_per_second >= 100 else f"{images_per_second:.3g}"
