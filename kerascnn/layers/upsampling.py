"""The upsampling half of a dense-prediction network: transposed convolution, bilinear filters, unpooling.

`TransposedConv2D` is the adjoint of `DilatedConv2D` with the same arguments: where the convolution maps an input
of size i to o = floor((i + 2p - d(k-1) - 1) / s) + 1, the transposed convolution maps o back to
s(o - 1) + a + d(k - 1) + 1 - 2p (Dumoulin & Visin, "A guide to convolution arithmetic for deep learning", 2016,
relationship 14 and its dilated form), with the output padding a (0 <= a < s) choosing among the input sizes that
the strided convolution maps to the same o. Its kernel has the convolution's shape (k, k, filters, channels), so
the gradient of `DilatedConv2D(channels, ...)` with respect to its input is this layer with the same kernel.

`BilinearKernel` is FCN's upsampling filter (Long, Shelhamer & Darrell, CVPR 2015; `upsample_filt` of the
reference code, shelhamer/fcn.berkeleyvision.org surgery.py): each channel is upsampled from itself by bilinear
interpolation, no channel mixes with another. The reference code keeps these layers fixed (`lr_mult: 0`, no bias):
pass `trainable=False`, as `bilinear_upsampling` does by default; the paper lets the 2x layers learn.

`MaxPoolingWithArgmax2D` and `MaxUnpooling2D` are the "switches" of Zeiler & Fergus ("Visualizing and
understanding convolutional networks", ECCV 2014) and SegNet (Badrinarayanan, Kendall & Cipolla, TPAMI 2017): the
pooling remembers where in each window its maximum was, and the unpooling puts each value back there, zeros
elsewhere. The switch is the position inside the window (row * pool_width + column), not TensorFlow's flat index
into the whole map, so the pair needs no backend-specific op.
"""

import keras
import numpy as np
from keras import ops

from kerascnn.layers.conv import Convolution2D, pair, spread_taps


def transposed_conv_output_size(o, k, s=1, d=1, p=0, a=0):
    """s(o - 1) + a + d(k - 1) + 1 - 2p: the output size of a transposed convolution along one axis."""
    return s * (o - 1) + a + d * (k - 1) + 1 - 2 * p


@keras.saving.register_keras_serializable(package="kerascnn")
class TransposedConv2D(Convolution2D):
    """2D transposed convolution ("deconvolution"), channels last: the adjoint of `DilatedConv2D`.

    Args:
        filters: output channels (the input channels of the convolution this is the adjoint of).
        kernel_size, strides, dilation_rate: k, s, d; an int or a (height, width) pair.
        padding: "valid" or "same", computed as `keras.layers.Conv2DTranspose` computes them (same output sizes,
            same values), or p (an int or a pair): the p pixels the convolution padded are cropped from each side,
            o_out = s(o - 1) + a + d(k - 1) + 1 - 2p.
        output_padding: a, an int or a pair with 0 <= a < s; None: 0 for integer padding, Keras' choice for
            "valid" and "same".
        activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer: as in
            `keras.layers.Conv2DTranspose`; the kernel has its shape, (k, k, filters, channels).
    """

    def __init__(
        self, filters, kernel_size, strides=1, padding="valid", output_padding=None, dilation_rate=1, **kwargs
    ):
        super().__init__(filters, kernel_size, strides=strides, dilation_rate=dilation_rate, padding=padding, **kwargs)
        if self.padding == "full":
            raise ValueError('padding must be "valid", "same", an int >= 0 or a pair of them, got "full".')
        if output_padding is not None:
            output_padding = (output_padding,) * 2 if isinstance(output_padding, int) else tuple(output_padding)
            if len(output_padding) != 2 or not all(0 <= a < s for a, s in zip(output_padding, self.strides)):
                raise ValueError(f"output_padding must be in [0, strides) on each axis, got {output_padding!r}.")
        self.output_padding = output_padding

    def kernel_shape(self, channels):
        return (*self.kernel_size, self.filters, channels)

    def call(self, inputs):
        # The taps spread d apart by zeros: the same function at dilation 1, which every backend's transposed
        # convolution computes (TensorFlow's CPU kernel refuses a dilation with a stride above 1).
        kernel = self.kernel
        for axis, d in enumerate(self.dilation_rate):
            if d > 1:
                kernel = spread_taps(kernel, axis, d)
        if isinstance(self.padding, str):
            y = ops.conv_transpose(
                inputs, kernel, strides=self.strides, padding=self.padding, output_padding=self.output_padding
            )
        else:
            a = self.output_padding or (0, 0)
            y = ops.conv_transpose(inputs, kernel, strides=self.strides, padding="valid", output_padding=a)
            (pt, pl) = self.padding
            if pt or pl:
                y = y[:, pt : -pt or None, pl : -pl or None, :]
        return self.finish(y)

    def compute_output_shape(self, input_shape):
        sizes = []
        for axis, o in enumerate(input_shape[1:3]):
            k, s, a = self.effective_kernel_size[axis], self.strides[axis], self.output_padding
            a = None if a is None else a[axis]
            if o is None:
                sizes.append(None)
            elif self.padding == "same":
                sizes.append(o * s if a is None else transposed_conv_output_size(o, k, s, 1, k // 2, a))
            elif self.padding == "valid":
                sizes.append(o * s + max(k - s, 0) if a is None else transposed_conv_output_size(o, k, s, 1, 0, a))
            else:
                sizes.append(transposed_conv_output_size(o, k, s, 1, self.padding[axis], a or 0))
        return (input_shape[0], *sizes, self.filters)

    def get_config(self):
        return {**super().get_config(), "output_padding": self.output_padding}


def bilinear_filter(size):
    """The (size, size) bilinear interpolation filter of FCN's `upsample_filt`: for a kernel 2f (or 2f - 1) and
    stride f, each output pixel is the bilinear interpolation of its input neighbours."""
    factor = (size + 1) // 2
    center = factor - 1 if size % 2 == 1 else factor - 0.5
    ramp = 1 - np.abs(np.arange(size) - center) / factor
    return np.outer(ramp, ramp)


@keras.saving.register_keras_serializable(package="kerascnn")
class BilinearKernel(keras.initializers.Initializer):
    """Initializes a (k, k, channels, channels) transposed-convolution kernel to bilinear upsampling of each
    channel from itself (FCN's `interp_surgery`): the bilinear filter on the diagonal, zeros elsewhere."""

    def __call__(self, shape, dtype=None):
        k_h, k_w, c_out, c_in = shape
        if k_h != k_w or c_out != c_in:
            raise ValueError(f"A bilinear kernel needs a square kernel and as many filters as inputs, got {shape}.")
        kernel = np.zeros(shape, "float32")
        kernel[:, :, range(c_out), range(c_in)] = bilinear_filter(k_h)[:, :, None]
        return ops.convert_to_tensor(kernel, dtype=dtype or "float32")

    def get_config(self):
        return {}


def bilinear_upsampling(channels, factor, *, trainable=False, name=None):
    """FCN's upsampling layer: a transposed convolution of kernel 2 * factor and stride `factor`, without bias,
    initialized bilinear and, as in the reference code, fixed (`trainable=True` lets it learn, as the paper lets
    its 2x layers)."""
    return TransposedConv2D(
        channels,
        2 * factor,
        strides=factor,
        use_bias=False,
        kernel_initializer=BilinearKernel(),
        trainable=trainable,
        name=name,
    )


@keras.saving.register_keras_serializable(package="kerascnn")
class BilinearUpsampling2D(keras.layers.Layer):
    """Upsamples each channel by an integer factor f with "align corners" bilinear interpolation, without weights.

    Output pixel f * j is input pixel j, and the pixels between two inputs interpolate them linearly (Caffe's
    `Interp` layer, which DeepLab uses to bring its logits to the image's size: 41 -> 321 = 8 * 40 + 1 at f = 8).
    The output has f * size pixels: the last f - 1 lie past the last input pixel and fade towards zero as the
    interpolation with a zero beyond the edge; a model crops them (or uses inputs of size f * n + 1, as DeepLab).
    Computed as a transposed convolution of every channel with the fixed (2f - 1)-tap triangle.
    """

    def __init__(self, factor, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(factor, int) or factor < 1:
            raise ValueError(f"factor must be a positive int, got {factor!r}.")
        self.factor = factor
        self._filter = bilinear_filter(2 * factor - 1).astype("float32")[:, :, None, None]
        self.built = True  # no weights (the filter is a constant): Keras' convention for stateless layers

    def call(self, inputs):
        f = self.factor
        channels = inputs.shape[-1]
        x = ops.transpose(inputs, (0, 3, 1, 2))  # each channel its own image: [batch * channels, h, w, 1]
        shape = ops.shape(x)
        x = ops.reshape(x, (-1, shape[2], shape[3], 1))
        kernel = ops.cast(self._filter, x.dtype)
        y = ops.conv_transpose(x, kernel, strides=f, padding="valid", output_padding=0)
        y = y[:, f - 1 :, f - 1 :, :]  # (f(h-1) + 2f - 1) - (f - 1) = f * h
        y = ops.reshape(y, (-1, channels, shape[2] * f, shape[3] * f))
        return ops.transpose(y, (0, 2, 3, 1))

    def compute_output_shape(self, input_shape):
        b, h, w, c = input_shape
        return (b, None if h is None else h * self.factor, None if w is None else w * self.factor, c)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


@keras.saving.register_keras_serializable(package="kerascnn")
class Crop2D(keras.layers.Layer):
    """Crops a map to the height and width of a reference map, starting `offset` pixels in: Caffe's `Crop` layer,
    with which FCN aligns a coarse map upsampled by a transposed convolution to a finer one (the offsets follow
    from the layers' coordinate maps; see kerascnn.models.fcn). Called on [map, reference]; an int offset applies
    to both axes, a pair is (top, left)."""

    def __init__(self, offset=0, **kwargs):
        super().__init__(**kwargs)
        offset = (offset, offset) if isinstance(offset, int) else tuple(offset)
        if len(offset) != 2 or not all(isinstance(v, int) and v >= 0 for v in offset):
            raise ValueError(f"offset must be an int >= 0 or a pair of them, got {offset!r}.")
        self.offset = offset
        self.built = True  # no weights: Keras' convention for stateless layers

    def call(self, inputs):
        x, reference = inputs
        top, left = self.offset
        shape = ops.shape(reference)
        return x[:, top : top + shape[1], left : left + shape[2], :]

    def compute_output_shape(self, input_shapes):
        x, reference = input_shapes
        return (x[0], reference[1], reference[2], x[3])

    def get_config(self):
        return {**super().get_config(), "offset": self.offset}


def _pool_windows(inputs, pool_size):
    """[batch, h // ph, w // pw, channels, ph * pw]: the pixels of each window (a remainder row or column dropped,
    as in a "valid" pooling), the last axis in row-major order inside the window."""
    ph, pw = pool_size
    shape = ops.shape(inputs)
    h, w, c = shape[1] // ph, shape[2] // pw, inputs.shape[-1]
    x = inputs[:, : h * ph, : w * pw, :]
    x = ops.reshape(x, (-1, h, ph, w, pw, c))
    x = ops.transpose(x, (0, 1, 3, 5, 2, 4))
    return ops.reshape(x, (-1, h, w, c, ph * pw))


@keras.saving.register_keras_serializable(package="kerascnn")
class MaxPoolingWithArgmax2D(keras.layers.Layer):
    """Non-overlapping max-pooling (window = stride = `pool_size`) that also returns its switches: for every
    output value, the position of its maximum inside its window (row * pool_width + column, int32). A remainder
    row or column is dropped, as Keras' "valid" pooling drops it. Returns [pooled, switches]."""

    def __init__(self, pool_size=2, **kwargs):
        super().__init__(**kwargs)
        self.pool_size = pair(pool_size, "pool_size")
        self.built = True  # no weights: Keras' convention for stateless layers

    def call(self, inputs):
        windows = _pool_windows(inputs, self.pool_size)
        return [ops.max(windows, axis=-1), ops.cast(ops.argmax(windows, axis=-1), "int32")]

    def compute_output_shape(self, input_shape):
        b, h, w, c = input_shape
        ph, pw = self.pool_size
        pooled = (b, None if h is None else h // ph, None if w is None else w // pw, c)
        return [pooled, pooled]

    def compute_output_spec(self, inputs):
        shape = self.compute_output_shape(inputs.shape)[0]
        return [keras.KerasTensor(shape, dtype=self.compute_dtype), keras.KerasTensor(shape, dtype="int32")]

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size}


@keras.saving.register_keras_serializable(package="kerascnn")
class MaxUnpooling2D(keras.layers.Layer):
    """Puts each value back where its maximum came from, zeros elsewhere: called on [values, switches] from a
    `MaxPoolingWithArgmax2D` of the same `pool_size`, it returns a map pool_size times larger. The gradient flows
    only to the values (and, through the pooling, only to the maxima)."""

    def __init__(self, pool_size=2, **kwargs):
        super().__init__(**kwargs)
        self.pool_size = pair(pool_size, "pool_size")
        self.built = True  # no weights: Keras' convention for stateless layers

    def call(self, inputs):
        values, switches = inputs
        ph, pw = self.pool_size
        shape = ops.shape(values)
        h, w, c = shape[1], shape[2], values.shape[-1]
        spread = ops.one_hot(switches, ph * pw, dtype=values.dtype) * values[..., None]  # [b, h, w, c, ph*pw]
        spread = ops.reshape(spread, (-1, h, w, c, ph, pw))
        spread = ops.transpose(spread, (0, 1, 4, 2, 5, 3))
        return ops.reshape(spread, (-1, h * ph, w * pw, c))

    def compute_output_shape(self, input_shapes):
        b, h, w, c = input_shapes[0]
        ph, pw = self.pool_size
        return (b, None if h is None else h * ph, None if w is None else w * pw, c)

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size}
