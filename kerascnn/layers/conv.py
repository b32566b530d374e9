"""Convolutions that Keras' Conv2D does not offer as the classic papers need them.

`DilatedConv2D` takes a stride and a dilation above 1 together (Keras' Conv2D refuses the pair) and explicit
integer or "full" padding, so a layer's output size is the textbook formula. `GroupedConv2D` is AlexNet's two
towers: Keras' `Conv2D(groups=2)` runs on the TensorFlow backend inside an XLA-compiled function (TensorFlow has
no CPU kernel for grouped convolution), and TF Serving cannot load a SavedModel that holds such a function
(tensorflow/serving#2214); here each group is an ordinary convolution on its slice of the channels.
`LocallyConnected2D` is cuda-convnet's unshared "local" layer, a kernel for each output position, which Keras 3 no
longer has.
"""

import math

import keras
from keras import ops

from kerascnn.compat import pointwise_read_strides


def pair(value, name):
    """(height, width) from an int or a pair of positive ints; a ValueError naming the argument otherwise."""
    sides = (value, value) if isinstance(value, int) else tuple(value)
    if len(sides) != 2 or not all(isinstance(v, int) and v >= 1 for v in sides):
        raise ValueError(f"{name} must be a positive int or a pair of them, got {value!r}.")
    return sides


def padding_argument(value):
    """A convolution's `padding`: "valid", "same", "full", or (height, width) from an int or a pair of ints >= 0."""
    if value in ("valid", "same", "full"):
        return value
    sides = (value, value) if isinstance(value, int) else tuple(value)
    if len(sides) != 2 or not all(isinstance(v, int) and v >= 0 for v in sides):
        raise ValueError(f'padding must be "valid", "same", "full", an int >= 0 or a pair of them, got {value!r}.')
    return sides


def subsample(x, strides):
    """x[:, ::s_h, ::s_w, :] of a channels-last batch, computed as a 1x1 average pool of those strides.

    The same values (the average of one pixel is the pixel), but about five times faster to train through on a
    CPU: TensorFlow's gradient of a strided slice scatters into zeros one element at a time, a pool's gradient
    is a oneDNN kernel (measured: 117 ms against 19 ms forward and backward for 16x56x56x256, TF 2.21).
    """
    if tuple(strides) == (1, 1):
        return x
    return ops.average_pool(x, pool_size=1, strides=tuple(strides), padding="valid")


def conv_output_size(m, n, s=1, d=1, p=0):
    """floor((m + 2p - n - (n-1)(d-1)) / s) + 1: the size of a convolution's output along one axis."""
    return (m + 2 * p - n - (n - 1) * (d - 1)) // s + 1


class Convolution2D(keras.layers.Layer):
    """What `DilatedConv2D` and its adjoint `TransposedConv2D` share: their arguments, the kernel and bias they
    create, the bias added and the activation applied, and the config. A subclass gives the kernel's shape
    (`kernel_shape`), `call` and `compute_output_shape`; the arguments are `DilatedConv2D`'s.
    """

    def __init__(
        self,
        filters,
        kernel_size,
        strides=1,
        dilation_rate=1,
        padding="valid",
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.filters = filters
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.strides = pair(strides, "strides")
        self.dilation_rate = pair(dilation_rate, "dilation_rate")
        self.padding = padding_argument(padding)
        self.activation = keras.activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.bias_regularizer = keras.regularizers.get(bias_regularizer)
        self.input_spec = keras.InputSpec(ndim=4)

    @property
    def effective_kernel_size(self):
        return tuple((n - 1) * d + 1 for n, d in zip(self.kernel_size, self.dilation_rate))

    def kernel_shape(self, channels):
        """The kernel's shape for inputs of `channels` channels."""
        raise NotImplementedError

    def build(self, input_shape):
        self.kernel = self.add_weight(
            name="kernel",
            shape=self.kernel_shape(input_shape[-1]),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias", shape=(self.filters,), initializer=self.bias_initializer, regularizer=self.bias_regularizer
            )

    def finish(self, y):
        """The convolution's output `y` with the bias added and the activation applied."""
        if self.use_bias:
            # Broadcast from [1, 1, 1, C], as Keras' Conv2D adds its bias: TensorFlow's graph optimiser turns that
            # into a BiasAdd and fuses it (and a ReLU after it) into the convolution; a plain [C] addition stays.
            y = y + ops.reshape(self.bias, (1, 1, 1, -1))
        return self.activation(y)

    def get_config(self):
        config = super().get_config()
        config.update(
            filters=self.filters,
            kernel_size=self.kernel_size,
            strides=self.strides,
            dilation_rate=self.dilation_rate,
            padding=self.padding,
            activation=keras.activations.serialize(self.activation),
            use_bias=self.use_bias,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
            bias_initializer=keras.initializers.serialize(self.bias_initializer),
            kernel_regularizer=keras.regularizers.serialize(self.kernel_regularizer),
            bias_regularizer=keras.regularizers.serialize(self.bias_regularizer),
        )
        return config


@keras.saving.register_keras_serializable(package="kerascnn")
class DilatedConv2D(Convolution2D):
    """2D convolution with any stride, dilation and padding, channels last.

    With explicit padding p the output size is floor((m + 2p - n - (n-1)(d-1)) / s) + 1 for input size m, kernel
    size n, stride s and dilation d (Dumoulin & Visin, "A guide to convolution arithmetic", 2016, relationship 15).
    `padding="full"` pads (n-1)d on each side, `"same"` gives ceil(m / s) with the extra pixel at the bottom/right
    as Keras does, `"valid"` pads nothing.

    When both the stride and the dilation exceed 1 on an axis, the layer computes the convolution in the cheaper
    of two exact ways: a stride-1 dilated convolution subsampled by s (s^2 times the work), or a stride-s
    convolution with the kernel's taps spread d apart by zeros (((n-1)d+1)^2 / n^2 times the work).

    Args:
        filters: output channels.
        kernel_size: n, an int or (height, width).
        strides: s, an int or a pair.
        dilation_rate: d, an int or a pair.
        padding: "valid", "same", "full", or p (an int or a (height, width) pair of ints) on each side.
        groups: splits the input channels into this many groups, each convolved into filters / groups outputs.
        activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer: as in
            `keras.layers.Conv2D`. The kernel has Conv2D's shape, (n, n, channels / groups, filters), so weights
            move between the two.
    """

    def __init__(self, filters, kernel_size, strides=1, dilation_rate=1, padding="valid", groups=1, **kwargs):
        if filters % groups:
            raise ValueError(f"filters ({filters}) must be divisible by groups ({groups}).")
        super().__init__(filters, kernel_size, strides=strides, dilation_rate=dilation_rate, padding=padding, **kwargs)
        self.groups = groups

    def kernel_shape(self, channels):
        if channels % self.groups:
            raise ValueError(f"Input channels ({channels}) must be divisible by groups ({self.groups}).")
        return (*self.kernel_size, channels // self.groups, self.filters)

    def _explicit_padding(self, inputs):
        """((top, bottom), (left, right)) for the configured padding, or None where ops.conv can pad itself."""
        strided_dilation = any(s > 1 and d > 1 for s, d in zip(self.strides, self.dilation_rate))
        if self.padding == "valid" or (self.padding == "same" and not strided_dilation) or self._is_same():
            return None
        if self.padding == "full":
            return tuple((k - 1, k - 1) for k in self.effective_kernel_size)
        if self.padding == (0, 0):
            return None  # a copy of the input for nothing
        if self.padding == "same":
            # From the dynamic size where the static one is unknown, so the layer traces at any input size (an
            # export's any-size signature).
            dynamic = ops.shape(inputs) if None in tuple(inputs.shape[1:3]) else None
            return tuple(
                same_padding(m, k, s) if m is not None else same_padding(dynamic[axis], k, s, maximum=ops.maximum)
                for axis, m, k, s in zip((1, 2), inputs.shape[1:3], self.effective_kernel_size, self.strides)
            )
        return tuple((p, p) for p in self.padding)

    def _convolve(self, x, kernel, padding):
        """One group's convolution, with the stride and dilation this layer was given."""
        # A 1-wide kernel with stride s reads every s-th pixel: those are read first (kerascnn.compat says why).
        step = pointwise_read_strides(self.kernel_size, self.strides)
        x = subsample(x, step)
        strides = [s // t for s, t in zip(self.strides, step)]
        dilation = list(self.dilation_rate)
        dense = list(strides)
        for axis, (n, s, d) in enumerate(zip(self.kernel_size, strides, self.dilation_rate)):
            if s > 1 and d > 1:
                if (n - 1) * d + 1 <= s * n:
                    kernel, dilation[axis] = spread_taps(kernel, axis, d), 1
                else:
                    dense[axis] = 1  # computed densely, subsampled below
        y = ops.conv(x, kernel, strides=dense, padding=padding, dilation_rate=dilation)
        if dense != strides:
            y = subsample(y, [s // t for s, t in zip(strides, dense)])
        return y

    def _is_same(self):
        """Whether integer padding equals stride-1 "same" padding, which ops.conv does without a padded copy."""
        return isinstance(self.padding, tuple) and all(
            s == 1 and 2 * p == k - 1 for p, k, s in zip(self.padding, self.effective_kernel_size, self.strides)
        )

    def call(self, inputs):
        pads = self._explicit_padding(inputs)
        if pads is None:
            x, padding = inputs, "same" if self.padding == "same" or self._is_same() else "valid"
        else:
            x, padding = ops.pad(inputs, [(0, 0), *pads, (0, 0)]), "valid"
        if self.groups == 1:
            y = self._convolve(x, self.kernel, padding)
        else:
            xs = ops.split(x, self.groups, axis=-1)
            kernels = ops.split(self.kernel, self.groups, axis=-1)
            y = ops.concatenate([self._convolve(xg, kg, padding) for xg, kg in zip(xs, kernels)], axis=-1)
        return self.finish(y)

    def compute_output_shape(self, input_shape):
        sizes = []
        for axis, m in enumerate(input_shape[1:3]):
            n, s, d = self.kernel_size[axis], self.strides[axis], self.dilation_rate[axis]
            if m is None:
                sizes.append(None)
            elif self.padding == "same":
                sizes.append(math.ceil(m / s))
            else:
                p = {"valid": 0, "full": (n - 1) * d}[self.padding] if isinstance(self.padding, str) else None
                sizes.append(conv_output_size(m, n, s, d, self.padding[axis] if p is None else p))
        return (input_shape[0], *sizes, self.filters)

    def get_config(self):
        return {**super().get_config(), "groups": self.groups}


def same_padding(m, k, s, maximum=max):
    """(before, after) of Keras' "same" on an axis of m pixels for an effective kernel k and stride s: ceil(m / s)
    outputs need (ceil(m / s) - 1) s + k - m = k - 1 - (m - 1) % s zeros in all, the extra one after. `maximum`
    is `ops.maximum` where m is a tensor (a size known only when the layer runs)."""
    total = maximum(k - 1 - (m - 1) % s, 0)
    return total // 2, total - total // 2


def spread_taps(kernel, axis, d):
    """The kernel with d-1 zeros between neighbouring taps along `axis` (0 = height, 1 = width)."""
    n = kernel.shape[axis]
    zeros_shape = list(kernel.shape)
    zeros_shape[axis] = n * (d - 1)
    spread = ops.concatenate([kernel, ops.zeros(zeros_shape, kernel.dtype)], axis=axis)
    # Interleave: tap i goes to position i*d; then drop the trailing zeros after the last tap.
    spread = ops.reshape(
        ops.swapaxes(ops.reshape(spread, _split(kernel.shape, axis, d, n)), axis, axis + 1),
        _merged(kernel.shape, axis, n * d),
    )
    return ops.take(spread, ops.arange((n - 1) * d + 1), axis=axis)


def _split(shape, axis, d, n):
    shape = list(shape)
    return shape[:axis] + [d, n] + shape[axis + 1 :]


def _merged(shape, axis, size):
    shape = list(shape)
    return shape[:axis] + [size] + shape[axis + 1 :]


@keras.saving.register_keras_serializable(package="kerascnn")
class GroupedConv2D(DilatedConv2D):
    """A convolution split into `groups` towers, each seeing only its own slice of the input channels.

    AlexNet's two GPUs (Krizhevsky et al., NIPS 2012, Fig. 2): conv2, conv4 and conv5 connect only to the
    feature maps on the same GPU, which is `groups=2` with the kernel shape (n, n, channels / 2, filters) of
    Keras' `Conv2D(groups=2)`. Each group is an ordinary convolution and the results are concatenated, so the
    graph needs no XLA and runs on every CPU kernel TensorFlow has.
    """

    def __init__(self, filters, kernel_size, groups=2, **kwargs):
        super().__init__(filters, kernel_size, groups=groups, **kwargs)


@keras.saving.register_keras_serializable(package="kerascnn")
class LocallyConnected2D(Convolution2D):
    """A convolution whose filters are not shared: every output position has a kernel (and a bias) of its own.

    cuda-convnet's "local" layers (Krizhevsky's layers-conv-local-11pct.cfg, the four-layer CIFAR-10 network of
    Krizhevsky et al. 2012, Sec. 3.3; DeepFace's L4-L6), which Keras 3 no longer has (Keras 2 had
    `LocallyConnected2D`). y[b, i, j, f] = sum_{u, v, c} x[b, i*s + u*d, j*s + v*d, c] * W[i, j][u, v, c, f]
    + b[i, j, f], over the zero-padded input: Conv2D's sum with a kernel per position.

    The weights depend on the input's height and width, so the layer is built for one size (a model with a
    locally connected layer has a fixed input). The kernel's shape is Keras 2's, (positions, n_h * n_w *
    channels, filters) with positions in row-major order and each row's taps ordered (u, v, c), and the bias is
    (out_h, out_w, filters) as there and in cuda-convnet (a bias per position and filter), so weights move
    between them.

    Args:
        filters, kernel_size, strides, dilation_rate, padding (`"valid"`, `"same"`, `"full"` or p on each side),
        activation, use_bias and the initializers and regularizers: as in `DilatedConv2D`.
    """

    def output_size(self, axis, m):
        """The output's size along axis 0 (height) or 1 (width) for an input of m pixels."""
        before, after = self._pads(axis, m)
        return conv_output_size(
            m + before + after, self.kernel_size[axis], self.strides[axis], self.dilation_rate[axis]
        )

    def _pads(self, axis, m):
        """(before, after): the zeros added on one axis, Keras' and `DilatedConv2D`'s for each padding mode."""
        k, s = self.effective_kernel_size[axis], self.strides[axis]
        if self.padding == "valid":
            return 0, 0
        if self.padding == "full":
            return k - 1, k - 1
        if self.padding == "same":
            return same_padding(m, k, s)
        return self.padding[axis], self.padding[axis]

    def build(self, input_shape):
        height, width, channels = input_shape[1:]
        if height is None or width is None:
            raise ValueError(
                f"{self.name}: a locally connected layer has weights for each output position, so it needs a "
                f"fixed input height and width, got {tuple(input_shape)}."
            )
        self.input_hw = (height, width)
        self.output_hw = (self.output_size(0, height), self.output_size(1, width))
        if min(self.output_hw) < 1:
            raise ValueError(f"{self.name}: an input of {height}x{width} leaves no output position.")
        taps = self.kernel_size[0] * self.kernel_size[1]
        shape = (self.output_hw[0] * self.output_hw[1], taps * channels, self.filters)
        self.kernel = self.add_weight(
            name="kernel",
            shape=shape,
            initializer=per_position(self.kernel_initializer, shape, taps),
            regularizer=self.kernel_regularizer,
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias",
                shape=(*self.output_hw, self.filters),
                initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
            )

    def call(self, inputs):
        # The size the weights were built for: a trace may see the input's height and width as unknown (Keras'
        # relaxed training function does).
        pads = [self._pads(axis, m) for axis, m in enumerate(self.input_hw)]
        x = ops.pad(inputs, [(0, 0), *pads, (0, 0)]) if any(map(any, pads)) else inputs
        # extract_patches refuses a stride and a dilation above 1 together: then every position's patch is taken
        # and every s-th kept (as DilatedConv2D computes that pair).
        both = any(s > 1 and d > 1 for s, d in zip(self.strides, self.dilation_rate))
        step = (1, 1) if both else self.strides
        patches = ops.image.extract_patches(
            x, self.kernel_size, strides=step, dilation_rate=self.dilation_rate, padding="valid"
        )
        if both:
            patches = subsample(patches, self.strides)
        # [B, P, K] x [P, K, F]: one matrix product per position, batched over the positions.
        patches = ops.reshape(patches, (-1, self.kernel.shape[0], self.kernel.shape[1]))
        y = ops.einsum("bpk,pkf->bpf", patches, self.kernel)
        y = ops.reshape(y, (-1, *self.output_hw, self.filters))
        if self.use_bias:
            y = y + self.bias
        return self.activation(y)

    def compute_output_shape(self, input_shape):
        sizes = [None if m is None else self.output_size(axis, m) for axis, m in enumerate(input_shape[1:3])]
        return (input_shape[0], *sizes, self.filters)


def per_position(initializer, kernel_shape, taps):
    """`initializer` for a locally connected kernel of shape (positions, fan_in, filters) whose `taps` = n_h * n_w,
    drawing each position's kernel with the variance Conv2D's kernel of the same window would have. Keras'
    variance-scaling initializers (Glorot, He, LeCun) read a 3-D shape's fans as positions * fan_in and positions
    * filters, where a convolution's are fan_in and taps * filters: the variance would shrink about `positions`
    times (as in Keras 2's LocallyConnected2D). Their scale is corrected by the ratio of the fans."""
    if not isinstance(initializer, keras.initializers.VarianceScaling):
        return initializer
    positions, fan_in, filters = kernel_shape
    read = {"fan_in": positions * fan_in, "fan_out": positions * filters, "fan_avg": positions * (fan_in + filters)}
    conv = {"fan_in": fan_in, "fan_out": taps * filters, "fan_avg": fan_in + taps * filters}
    return keras.initializers.VarianceScaling(
        scale=initializer.scale * read[initializer.mode] / conv[initializer.mode],
        mode=initializer.mode,
        distribution=initializer.distribution,
        seed=initializer.seed,
    )
