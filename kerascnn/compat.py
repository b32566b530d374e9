"""Every use of a Keras or keras-tuner internal, and every way around a TensorFlow defect, in one place, each with
why there is no public way.

Written against keras 3.15.1 and keras-tuner 1.4.8 (pyproject.toml bounds both below their next major version).
`check()` tries each internal and raises one error naming the one an upgrade removed or renamed, with what it was
for; tests/test_compat.py runs it, so an upgrade fails there, loudly, before anything misbehaves.
"""

import contextlib

import keras

WRITTEN_AGAINST = {"keras": "3.15.1", "keras-tuner": "1.4.8"}


# --- Keras: the graph of a functional model (kerascnn.analysis.graph) ---------------------------------------
# Keras has no public way from a symbolic tensor to the layer call that made it, nor to the calls of a shared
# layer: `Model.get_layer` finds a layer, not which of its calls produced a tensor.


def keras_history(tensor):
    """(operation, node_index, tensor_index) of the call that produced the symbolic `tensor`."""
    return tensor._keras_history


def inbound_nodes(layer):
    """The calls of `layer` in the graphs it is part of, in call order."""
    return layer._inbound_nodes


# --- Keras: the optimizer's learning rate (kerascnn.training.schedules) -------------------------------------
# `optimizer.learning_rate` evaluates a schedule at the current step; whether there is one is not public.


def learning_rate_schedule(optimizer):
    """The optimizer's LearningRateSchedule, or None when its rate is a variable (that callbacks may set)."""
    rate = optimizer._learning_rate
    return rate if isinstance(rate, keras.optimizers.schedules.LearningRateSchedule) else None


# --- Keras: fit under MultiWorkerMirroredStrategy (kerascnn.training.models.TrainingModel) ------------------


class FirstReplicaBuild:
    """Keras 3.15's `fit` under MultiWorkerMirroredStrategy (TF 2.21) averages the first batch across replicas
    with one `strategy.reduce` of the whole (images, labels) structure before the first step, only to learn its
    shapes, and that reduce fails on a structure: this mixin reads the shapes from this worker's first replica
    instead. The hook is private (`Model._maybe_symbolic_build`); there is no public one."""

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        if iterator is None or not self._multi_worker():
            return super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)
        for _, _, batches in iterator:
            batch = next(batches)
            break
        first = keras.tree.map_structure(lambda v: self.distribute_strategy.experimental_local_results(v)[0], batch)
        with self.distribute_strategy.scope():
            self._symbolic_build(data_batch=first)


# --- Keras: the backward rule of every ReLU (kerascnn.analysis.gradients) -----------------------------------
# Guided backpropagation and the deconvnet change what a ReLU passes backward, in every ReLU of a model: Conv2D's
# activation, keras.layers.ReLU and the `ops.relu` that blocks such as ResidualBlock call. All of them reach the
# backend's `nn.relu` through the module `keras.src.backend`; Keras has no public hook for an op's gradient in
# layers it did not build.


@contextlib.contextmanager
def relu_replaced(relu):
    """Within the block, every ReLU Keras computes (eagerly or while tracing) is `relu(x)`."""
    from keras.src import backend

    original = backend.nn.relu
    backend.nn.relu = relu
    try:
        yield
    finally:
        backend.nn.relu = original


# --- TensorFlow 2.21: strided 1-wide convolutions on CPU (kerascnn.layers.conv) ------------------------------
# oneDNN's input gradient of a strided convolution whose kernel is 1 wide corrupts the heap on some small maps
# on CPU (e.g. 24x24x8 -> 16 filters, TF 2.21). Such a convolution reads every s-th pixel, so reading those first
# and convolving with stride 1 is the same function and never calls that kernel.


def pointwise_read_strides(kernel_size, strides):
    """The strides at which a convolution of `kernel_size` and `strides` reads its input before convolving: its
    stride on each axis where the kernel is 1 wide, 1 elsewhere. The convolution then keeps strides / these."""
    return tuple(s if n == 1 else 1 for n, s in zip(kernel_size, strides))


# --- keras-tuner (kerascnn.tuning) -----------------------------------------------------------------------------
# keras-tuner exports no base class of the oracle's progress display, no setter for it, no count of Hyperband's
# trials, and a worker's oracle (a gRPC client) does not expose the oracle it wraps. keras-tuner is imported in
# the functions that need it: training and kerascnn.analysis, which use this module too, need not load it.


def tuner_display_class():
    """The base class of an oracle's progress display (keras_tuner.src.engine.oracle.Display)."""
    from keras_tuner.src.engine.oracle import Display

    return Display


def set_display(oracle, display):
    oracle._display = display


def tuner_parent_condition():
    """The class of a conditional hyperparameter's condition (keras_tuner.src.engine.conditions.Parent)."""
    from keras_tuner.src.engine.conditions import Parent

    return Parent


def local_oracle(tuner):
    """The oracle a tuner asks: its own, or on a worker of a distributed search the client's wrapped oracle."""
    return getattr(tuner.oracle, "_oracle", tuner.oracle)


def hyperband_trials(oracle):
    """How many trials one iteration of a HyperbandOracle's brackets runs (each round fewer, for more epochs)."""
    return sum(oracle._get_size(b, r) for b in range(oracle._get_num_brackets()) for r in range(b + 1))


# --- Keras: the layout of a .weights.h5 file (kerascnn.training.checkpoints) -----------------------------------
# `Model.save_weights` writes the optimizer's variables with the layers' and has no switch to leave them out of a
# file already written: a run's best weights, kept as a checkpoint's file, drop them by copying the file's other
# top-level groups ("layers", "vars": Keras 3's saving_lib layout).


def weights_without_optimizer(source, destination):
    """Copies the Keras weights file `source` to `destination` without its optimizer's variables."""
    import h5py

    with h5py.File(source, "r") as src, h5py.File(destination, "w") as dst:
        for key, value in src.attrs.items():
            dst.attrs[key] = value
        for key in src:
            if key != "optimizer":
                src.copy(src[key], dst, name=key)


def check():
    """Raises RuntimeError naming the first internal above that this Keras or keras-tuner lacks."""
    import keras_tuner

    versions = f"keras {keras.__version__}, keras-tuner {keras_tuner.__version__}; written against {WRITTEN_AGAINST}"
    inputs = keras.Input((2,))
    dense = keras.layers.Dense(1)
    dense(inputs)
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)
    optimizer = keras.optimizers.SGD(schedule)
    oracle = keras_tuner.oracles.HyperbandOracle(objective="loss", max_epochs=9)
    probes = {
        "KerasTensor._keras_history (analysis.graph)": lambda: keras_history(inputs).operation,
        "Layer._inbound_nodes (analysis.graph)": lambda: inbound_nodes(dense)[0],
        "Optimizer._learning_rate (training.schedules)": lambda: _same(learning_rate_schedule(optimizer), schedule),
        "Model._maybe_symbolic_build / _symbolic_build (training.models)": lambda: (
            keras.Model._maybe_symbolic_build,
            keras.Model._symbolic_build,
        ),
        "keras_tuner.src.engine.oracle.Display (tuning.progress)": tuner_display_class,
        "keras_tuner.src.engine.conditions.Parent.to_proto (tuning.progress)": lambda: (
            tuner_parent_condition().to_proto
        ),
        "Oracle._display (tuning.tuners)": lambda: oracle._display,
        "HyperbandOracle._get_size / _get_num_brackets (tuning.tuners)": lambda: hyperband_trials(oracle),
        "keras.src.backend.nn.relu (analysis.gradients)": _relu_reached,
    }
    for what, probe in probes.items():
        try:
            probe()
        except (AttributeError, ImportError, TypeError, IndexError) as error:
            raise RuntimeError(
                f"kerascnn.compat: {what} is gone or changed ({type(error).__name__}: {error}) in {versions}; "
                "update kerascnn/compat.py for this version, or install the versions it was written against."
            ) from error


def _relu_reached():
    """TypeError unless a replaced backend ReLU is what keras.layers.ReLU and ops.relu compute."""
    x = keras.ops.convert_to_tensor([-1.0, 2.0])
    with relu_replaced(lambda t: t * 0.0 + 7.0):
        values = [keras.ops.convert_to_numpy(f(x)).tolist() for f in (keras.ops.relu, keras.layers.ReLU())]
    if values != [[7.0, 7.0]] * 2:
        raise TypeError(f"a replaced keras.src.backend.nn.relu is not reached: {values}")


def _same(found, expected):
    if found is not expected:
        raise AttributeError(f"found {found!r}, not the optimizer's schedule")
