"""The layers of the original LeNet-5 (LeCun, Bottou, Bengio & Haffner, Proc. IEEE 86(11), 1998, Sec. II-B)."""

import keras
import numpy as np
from keras import ops

# Table I of the paper: the S2 maps (0-5) each C3 map (0-15) reads. Six see 3 contiguous maps, six see 4
# contiguous maps, three see 4 non-contiguous maps and the last sees all six; this breaks the symmetry between
# maps and keeps the connections to 60,000 (paper, Sec. II-B).
LENET5_C3_TABLE = (
    (0, 1, 2),
    (1, 2, 3),
    (2, 3, 4),
    (3, 4, 5),
    (4, 5, 0),
    (5, 0, 1),
    (0, 1, 2, 3),
    (1, 2, 3, 4),
    (2, 3, 4, 5),
    (3, 4, 5, 0),
    (4, 5, 0, 1),
    (5, 0, 1, 2),
    (0, 1, 3, 4),
    (1, 2, 4, 5),
    (0, 2, 3, 5),
    (0, 1, 2, 3, 4, 5),
)


@keras.saving.register_keras_serializable(package="kerascnn")
def lecun_tanh(x):
    """The paper's squashing function f(a) = A tanh(S a), A = 1.7159, S = 2/3 (Appendix A): f(1) = 1, f(-1) = -1."""
    return 1.7159 * ops.tanh(x * (2.0 / 3.0))


@keras.saving.register_keras_serializable(package="kerascnn")
def negative(x):
    """-x: turns the RBF's penalties into logits (a plain activation, where keras.layers.Rescaling, a
    preprocessing layer, imports TensorFlow on every backend)."""
    return -x


@keras.saving.register_keras_serializable(package="kerascnn")
class ConnectionTableConv2D(keras.layers.Layer):
    """A convolution in which output map j reads only the input maps listed in `connections[j]`.

    LeNet-5's C3 with `LENET5_C3_TABLE` has exactly the paper's 1,516 trainable parameters: one kernel of shape
    (n, n, len(connections[j]), 1) per output map and one bias each. (A full convolution with a 0/1 mask on its
    kernel computes the same function but holds 2,416 weights, 900 of them dead.)

    Args:
        connections: one tuple of input-map indices per output map.
        kernel_size: n, an int.
        activation, use_bias, kernel_initializer, bias_initializer: as in `keras.layers.Conv2D`.
    """

    def __init__(
        self,
        connections,
        kernel_size,
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.connections = tuple(tuple(int(i) for i in inputs) for inputs in connections)
        if not self.connections or not all(self.connections):
            raise ValueError("connections must list at least one input map for every output map.")
        self.kernel_size = kernel_size
        self.activation = keras.activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.input_spec = keras.InputSpec(ndim=4)

    def build(self, input_shape):
        channels = input_shape[-1]
        used = max(max(inputs) for inputs in self.connections)
        if used >= channels:
            raise ValueError(f"connections refer to input map {used}, but the input has {channels} channels.")
        n = self.kernel_size
        self.kernels = [
            self.add_weight(name=f"kernel_{j}", shape=(n, n, len(inputs), 1), initializer=self.kernel_initializer)
            for j, inputs in enumerate(self.connections)
        ]
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(name="bias", shape=(len(self.connections),), initializer=self.bias_initializer)

    def call(self, inputs):
        maps = [
            ops.conv(ops.take(inputs, np.array(sources), axis=-1), kernel)
            for sources, kernel in zip(self.connections, self.kernels)
        ]
        y = ops.concatenate(maps, axis=-1)
        if self.use_bias:
            y = y + self.bias
        return self.activation(y)

    def compute_output_shape(self, input_shape):
        batch, height, width, _ = input_shape
        crop = self.kernel_size - 1
        size = [None if m is None else m - crop for m in (height, width)]
        return (batch, *size, len(self.connections))

    def get_config(self):
        config = super().get_config()
        config.update(
            connections=self.connections,
            kernel_size=self.kernel_size,
            activation=keras.activations.serialize(self.activation),
            use_bias=self.use_bias,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
            bias_initializer=keras.initializers.serialize(self.bias_initializer),
        )
        return config


@keras.saving.register_keras_serializable(package="kerascnn")
class Subsampling2D(keras.layers.Layer):
    """LeNet-5's S2 and S4: each map's 2x2 neighbourhoods summed, times a trainable coefficient, plus a trainable
    bias, through the activation (paper, Sec. II-B). Two trainable parameters per map: S2 has 12, S4 has 32.

    Args:
        pool_size: the side of the non-overlapping neighbourhoods (the paper's 2).
        activation: the squashing function (the paper's scaled tanh, `lecun_tanh`).
    """

    def __init__(self, pool_size=2, activation=None, **kwargs):
        super().__init__(**kwargs)
        self.pool_size = pool_size
        self.activation = keras.activations.get(activation)
        self.input_spec = keras.InputSpec(ndim=4)

    def build(self, input_shape):
        channels = input_shape[-1]
        self.coefficient = self.add_weight(name="coefficient", shape=(channels,), initializer="ones")
        self.bias = self.add_weight(name="bias", shape=(channels,), initializer="zeros")

    def call(self, inputs):
        k = self.pool_size
        sums = ops.average_pool(inputs, k, strides=k, padding="valid") * float(k * k)
        return self.activation(sums * self.coefficient + self.bias)

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        size = [None if m is None else m // self.pool_size for m in (height, width)]
        return (batch, *size, channels)

    def get_config(self):
        config = super().get_config()
        config.update(pool_size=self.pool_size, activation=keras.activations.serialize(self.activation))
        return config


@keras.saving.register_keras_serializable(package="kerascnn")
class EuclideanRBF(keras.layers.Layer):
    """LeNet-5's output layer: unit i emits the squared distance between its input and a fixed centre w_i.

    y_i = sum_j (x_j - w_ij)^2 (paper, eq. 7). The paper draws the centres by hand as 7x12 bitmaps of the ASCII
    characters, with entries +1 or -1; those drawings are not published for arbitrary classes, so the centres here
    are +1/-1 codes drawn once from a seeded generator. They are not trained, as in the paper.

    The outputs are penalties (small is likely); a softmax over their negatives trained with cross-entropy is
    the paper's MAP criterion (eq. 9) without its constant "rubbish class" term.

    Args:
        units: the number of classes.
        seed: the seed of the centres' codes.
    """

    def __init__(self, units, seed=1998, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.seed = seed

    def build(self, input_shape):
        codes = np.random.default_rng(self.seed).choice([-1.0, 1.0], size=(input_shape[-1], self.units))
        self.centres = self.add_weight(
            name="centres",
            shape=codes.shape,
            initializer=keras.initializers.Constant(codes),
            trainable=False,
        )

    def call(self, inputs):
        # |x - w|^2 = |x|^2 - 2 x.w + |w|^2, one matrix product instead of a (batch, features, units) difference.
        x_sq = ops.sum(ops.square(inputs), axis=-1, keepdims=True)
        w_sq = ops.sum(ops.square(self.centres), axis=0)
        return ops.maximum(x_sq - 2.0 * ops.matmul(inputs, self.centres) + w_sq, 0.0)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        config = super().get_config()
        config.update(units=self.units, seed=self.seed)
        return config
