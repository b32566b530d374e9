"""Receptive fields: which input pixels each unit of a feature map sees.

A layer that slides a window of k taps, d apart, with stride s over a map whose neighbouring units are j input
pixels apart (the jump, or effective stride) grows the receptive field r and the jump by the standard recurrence

    r_out = r_in + (k - 1) * d * j_in,        j_out = j_in * s

(Dumoulin & Visin, "A guide to convolution arithmetic", 2016; Araujo, Norris & Sim, "Computing Receptive Fields of
Convolutional Neural Networks", Distill 2019). Here each map also carries where its first unit looks, so that
padding (which shifts the window back by p * j_in) is accounted for and the field of a merge (a residual addition,
an inception concatenation) is the union of its inputs' fields: the largest of them when the branches are centred
alike, as they are in our blocks. Fields are in input pixels and may reach past the image into the padding, as the
papers count them; the table reports them, the equivariance analysis clips them to the image.

An upsampling layer (a transposed convolution, unpooling, interpolation) slides its window over its output: with
stride s, kernel k (taps d apart) and p pixels cropped before, output unit y reads the input units x with
s * x <= y + p <= s * x + (k - 1) * d, so unit y sees the fields of units ceil((y + p - (k-1)d) / s) to
floor((y + p) / s), and the jump divides by the stride. Where s divides the kernel's span plus one (FCN's 2f / f,
U-Net's 2 / 2), every output unit reads as many inputs and the recurrence is exact; otherwise (DeepLab's 2f - 1 taps
of align-corners interpolation, where unit 0 reads one logit and the units between two logits read both) the field
is that of the widest unit. Past an upsampling layer the map is no longer uniform (FCN's 4/2 upscore2 gives its
units 0 and 1 the same inputs), and the recurrence, which treats it as uniform, follows its first widest unit: an
exact per-unit count differs by up to (s - 1) jumps (FCN-8s: 460 here, 468 for its widest output pixel; U-Net: 200
here, 188 to 204 by output pixel).
"""

import math
from typing import NamedTuple

import keras

from kerascnn.layers import BilinearUpsampling2D, Crop2D, MaxUnpooling2D, TransposedConv2D

_TRANSPOSED = (
    keras.layers.Conv1DTranspose,
    keras.layers.Conv2DTranspose,
    keras.layers.Conv3DTranspose,
    TransposedConv2D,
)
_ZERO_PADDINGS = (keras.layers.ZeroPadding1D, keras.layers.ZeroPadding2D, keras.layers.ZeroPadding3D)
_CROPPINGS = (keras.layers.Cropping1D, keras.layers.Cropping2D, keras.layers.Cropping3D)
_GLOBAL_POOLINGS = (
    keras.layers.GlobalAveragePooling1D,
    keras.layers.GlobalAveragePooling2D,
    keras.layers.GlobalAveragePooling3D,
    keras.layers.GlobalMaxPooling1D,
    keras.layers.GlobalMaxPooling2D,
    keras.layers.GlobalMaxPooling3D,
)

UNKNOWN = "unknown"  # what `window_of` returns for a layer that moves positions in a way it cannot describe


class Window(NamedTuple):
    """A layer's sliding window, one entry per spatial axis."""

    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    padding: tuple[tuple[int, int], ...]  # pixels added before and after (negative: cropped)
    # An upsampling window, slid over the output: the stride multiplies the size, `padding` is what is cropped.
    transposed: bool = False


class Field(NamedTuple):
    """Where unit 0 of a feature map looks in the input, one entry per spatial axis of the input."""

    start: tuple[int, ...]  # the first input pixel it sees (negative: in the padding)
    end: tuple[int, ...]  # the last one
    jump: tuple[int, ...]  # input pixels between neighbouring units

    @property
    def size(self):
        return tuple(e - s + 1 for s, e in zip(self.start, self.end))

    def span(self, index):
        """(first, last) input pixel seen by unit `index` (one index per axis)."""
        return tuple((s + i * j, e + i * j) for s, e, j, i in zip(self.start, self.end, self.jump, index))


def input_field(spatial_axes):
    """The field of the input itself: each pixel sees itself."""
    return Field((0,) * spatial_axes, (0,) * spatial_axes, (1,) * spatial_axes)


def window_of(layer, input_shape, output_shape):
    """The window a layer slides over its (channels-last) input; None if it maps each position to itself.

    Convolutions are recognised by their `kernel_size` (Keras' and ours alike), poolings by their `pool_size`;
    global poolings and flattening see the whole map. Upsampling layers (transposed convolutions, kerascnn's
    unpooling and bilinear upsampling, Keras' nearest-neighbour UpSampling2D) give a transposed window; kerascnn's
    Crop2D a negative padding. A layer that changes the map's size in any other way (Keras' bilinear UpSampling2D,
    reshaping) gives UNKNOWN.
    """
    sizes, out_sizes = tuple(input_shape[1:-1]), tuple(output_shape[1:-1])
    n = len(sizes)
    if n == 0:
        return None
    upsampling = _upsampling_window(layer, n)
    if upsampling is not None:
        return upsampling
    if isinstance(layer, Crop2D):
        pads = []
        for offset, m, o in zip(layer.offset, sizes, out_sizes):
            pads.append((-offset, -(m - o - offset) if None not in (m, o) else 0))
        return Window((1,) * n, (1,) * n, (1,) * n, tuple(pads))
    if hasattr(layer, "kernel_size") or hasattr(layer, "pool_size"):
        if hasattr(layer, "kernel_size"):
            kernel, stride = _per_axis(layer.kernel_size, n), _per_axis(getattr(layer, "strides", 1), n)
        else:  # a pooling; LeNet's Subsampling2D has no strides: its windows do not overlap
            kernel = _per_axis(layer.pool_size, n)
            stride = _per_axis(getattr(layer, "strides", None) or layer.pool_size, n)
        dilation = _per_axis(getattr(layer, "dilation_rate", 1), n)
        padding = getattr(layer, "padding", "valid")
        return Window(kernel, stride, dilation, _padding(padding, sizes, kernel, stride, dilation))
    if isinstance(layer, _ZERO_PADDINGS + _CROPPINGS):
        pads = layer.padding if isinstance(layer, _ZERO_PADDINGS) else layer.cropping
        pads = (tuple(pads),) if n == 1 else tuple(tuple(p) for p in pads)
        if isinstance(layer, _CROPPINGS):
            pads = tuple((-before, -after) for before, after in pads)
        return Window((1,) * n, (1,) * n, (1,) * n, pads)
    collapses = len(output_shape) == 2 or (isinstance(layer, _GLOBAL_POOLINGS) and all(m == 1 for m in out_sizes))
    if collapses:
        return UNKNOWN if None in sizes else Window(sizes, (1,) * n, (1,) * n, ((0, 0),) * n)
    return None if out_sizes == sizes else UNKNOWN


def _upsampling_window(layer, n):
    """The transposed window of an upsampling layer (see the module docstring), UNKNOWN for one whose window is not
    a fixed set of taps, None for any other layer."""
    if isinstance(layer, _TRANSPOSED):
        kernel, stride = _per_axis(layer.kernel_size, n), _per_axis(layer.strides, n)
        dilation = _per_axis(getattr(layer, "dilation_rate", 1), n)
        if isinstance(layer.padding, str):
            # Keras' "same" crops what the convolution of the output's size padded, the odd pixel at the end.
            spans = [(k - 1) * d + 1 for k, d in zip(kernel, dilation)]
            totals = [max(span - s, 0) if layer.padding == "same" else 0 for span, s in zip(spans, stride)]
            crop = tuple((t // 2, t - t // 2) for t in totals)
        else:
            crop = tuple((p, p) for p in _per_axis(layer.padding, n))
        return Window(kernel, stride, dilation, crop, transposed=True)
    if isinstance(layer, MaxUnpooling2D):  # output unit y holds input unit y // s or nothing
        return Window(layer.pool_size, layer.pool_size, (1,) * n, ((0, 0),) * n, transposed=True)
    if isinstance(layer, BilinearUpsampling2D):  # the (2f - 1)-tap triangle, f - 1 cropped before
        f = layer.factor
        return Window((2 * f - 1,) * n, (f,) * n, (1,) * n, ((f - 1, 0),) * n, transposed=True)
    if isinstance(layer, keras.layers.UpSampling2D):
        if layer.interpolation != "nearest":
            return UNKNOWN
        return Window(_per_axis(layer.size, n), _per_axis(layer.size, n), (1,) * n, ((0, 0),) * n, transposed=True)
    return None


def is_conv_or_pool(layer):
    """Whether a layer is a convolution or a pooling: a step of depth in `receptive_field_growth`."""
    return hasattr(layer, "kernel_size") or hasattr(layer, "pool_size") or isinstance(layer, _GLOBAL_POOLINGS)


def through(field, window):
    """The field after a layer with this window (None: the layer keeps positions; UNKNOWN: the field is lost)."""
    if field is None or window is UNKNOWN:
        return None
    if window is None or len(window.kernel) != len(field.jump):
        return field
    start, end, jump = [], [], []
    axes = zip(field.start, field.end, field.jump, window.kernel, window.stride, window.dilation, window.padding)
    for s, e, j, k, stride, d, (before, _) in axes:
        if window.transposed:
            # Output unit y reads input units ceil((y + before - (k-1)d) / stride) to floor((y + before) / stride);
            # the first of the widest units stands for all, moved back to unit 0's place.
            reads = [(math.ceil((y + before - (k - 1) * d) / stride), (y + before) // stride) for y in range(stride)]
            widest = max(range(stride), key=lambda y: reads[y][1] - reads[y][0])
            (first, last), new_jump = reads[widest], (j // stride if j % stride == 0 else j / stride)
            start.append(_whole(s + first * j - widest * new_jump))
            end.append(_whole(e + last * j - widest * new_jump))
            jump.append(new_jump)
            continue
        start.append(s - before * j)
        end.append(e + ((k - 1) * d - before) * j)
        jump.append(j * stride)
    return Field(tuple(start), tuple(end), tuple(jump))


def union(fields):
    """The field of a layer reading several maps: all the pixels any of them sees. None if they disagree on jump."""
    if not fields or any(f is None for f in fields) or len({f.jump for f in fields}) > 1:
        return None
    return Field(
        tuple(min(starts) for starts in zip(*(f.start for f in fields))),
        tuple(max(ends) for ends in zip(*(f.end for f in fields))),
        fields[0].jump,
    )


class GrowthPoint(NamedTuple):
    depth: int  # convolutions and poolings on the longest path from the input
    name: str  # the layer whose output has the largest field at this depth
    receptive_field: int
    jump: int


def receptive_field_growth(stats):
    """The largest receptive field (and its jump) at each depth of a model, from `layer_stats(model)`.

    Depth counts the convolutions and poolings between the input and a layer; only feature maps count (not the
    vectors after flattening or global pooling, whose units see the whole input); the field of a square input is
    reported along its height.
    """
    best = {}
    for row in stats.layers:
        if row.field is None or len(row.output_shape) < 2:
            continue
        point = GrowthPoint(row.depth, row.name, row.field.size[0], row.field.jump[0])
        if row.depth not in best or point.receptive_field > best[row.depth].receptive_field:
            best[row.depth] = point
    return [best[d] for d in sorted(best)]


def _whole(value):
    """An int where a field's bound is a whole number of pixels (after an upsampling it may be a fraction)."""
    return int(value) if float(value).is_integer() else value


def _per_axis(value, n):
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * n


def _padding(mode, sizes, kernel, stride, dilation):
    """(before, after) pixels on each axis for a Keras padding mode, or for explicit padding (ours)."""
    if not isinstance(mode, str):
        return tuple((p, p) for p in _per_axis(mode, len(kernel)))
    pads = []
    for m, k, s, d in zip(sizes, kernel, stride, dilation):
        span = (k - 1) * d
        if mode == "same":
            # TensorFlow's rule: the total that makes ceil(m / s) outputs, the odd pixel at the end. With an
            # unknown size, the total for an m divisible by s.
            total = max(span + 1 - s, 0) if m is None else max((math.ceil(m / s) - 1) * s + span + 1 - m, 0)
            pads.append((total // 2, total - total // 2))
        else:
            pads.append({"valid": (0, 0), "causal": (span, 0), "full": (span, span)}[mode])
    return tuple(pads)
