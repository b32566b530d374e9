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
"""

import math
from typing import NamedTuple

import keras

_TRANSPOSED = (keras.layers.Conv1DTranspose, keras.layers.Conv2DTranspose, keras.layers.Conv3DTranspose)
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
    global poolings and flattening see the whole map. A layer that changes the map's size in any other way
    (upsampling, transposed convolution, reshaping) gives UNKNOWN.
    """
    sizes, out_sizes = tuple(input_shape[1:-1]), tuple(output_shape[1:-1])
    n = len(sizes)
    if n == 0 or isinstance(layer, _TRANSPOSED):
        return None if n == 0 else UNKNOWN
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
