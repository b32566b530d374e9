"""One row per layer of any functional Keras model: window, output shape, parameters, multiply-accumulates and
receptive field, and the model's totals.

Multiply-accumulates (MACs) are counted as the classic papers count them (the ResNet paper's "FLOPs
(multiply-adds)", the GoogLeNet paper's "ops", torchvision's `_ops`): for convolutions and fully connected layers
only, the number of kernel weights times the number of output positions. A grouped convolution's kernel already
holds only its groups' connections, a depthwise separable convolution counts both kernels, and LeNet's C3
(`ConnectionTableConv2D`) only the connections of its table. Bias additions, normalisation, activations, pooling
and residual additions count zero. LeNet's Euclidean RBF output, a distance computed as a matrix product with its
centres, counts as a fully connected layer. A layer with kernels this module does not know (a user's own
convolution, a block that does not describe its sublayers) or on maps of unknown size has unknown MACs: the totals
name it rather than guess.
"""

import math
import re
from dataclasses import asdict, dataclass

import keras

from kerascnn.analysis.graph import flatten_graph
from kerascnn.analysis.receptive import Field, Window, input_field, is_conv_or_pool, through, union, window_of
from kerascnn.layers import Crop2D, EuclideanRBF, TransposedConv2D

_TRANSPOSED = (
    keras.layers.Conv1DTranspose,
    keras.layers.Conv2DTranspose,
    keras.layers.Conv3DTranspose,
    TransposedConv2D,
)
# Weights each of which takes part in one multiply-accumulate per output position: Keras' kernels, depthwise and
# pointwise kernels, and ConnectionTableConv2D's kernel_<j>.
_KERNEL_WEIGHT = re.compile(r"^(depthwise_|pointwise_)?kernel(_\d+)?$")


@dataclass(frozen=True)
class LayerStats:
    """A row of the table: one call of one leaf layer."""

    name: str  # the layer's path: "conv2_block1/conv1" inside a block or a nested model
    type: str
    window: Window | None  # kernel, stride, dilation and padding of a convolution, pooling or padding layer
    conv_or_pool: bool  # a step of depth
    output_shape: tuple  # without the batch axis
    params: int  # all weights, BN moving statistics included, as Keras' count_params(); 0 on a shared layer's repeats
    trainable_params: int
    macs: int | None  # None: unknown (see the module docstring)
    field: Field | None  # None: lost to a layer that moves positions in a way that cannot be described
    depth: int  # convolutions and poolings between the input and this layer

    @property
    def receptive_field(self):
        return self.field.size if self.field else None

    @property
    def jump(self):
        return self.field.jump if self.field else None

    def to_dict(self):
        """The row in JSON-ready values, with the field's size and jump spelled out."""
        row = asdict(self)
        row["window"] = self.window._asdict() if self.window else None
        row["field"] = self.field._asdict() if self.field else None
        row.update(receptive_field=self.receptive_field, jump=self.jump)
        return row


@dataclass(frozen=True)
class Totals:
    params: int
    trainable_params: int
    macs: int  # conv_macs + dense_macs
    conv_macs: int
    dense_macs: int
    unknown_macs: tuple[str, ...]  # the layers whose MACs could not be counted


@dataclass(frozen=True)
class ModelStats:
    name: str
    input_shape: tuple  # of the first input, without the batch axis
    layers: list[LayerStats]
    totals: Totals

    def __getitem__(self, name):
        """The row of the layer with this name (the first call's, for a shared layer)."""
        for row in self.layers:
            if row.name == name:
                return row
        raise KeyError(f"{self.name} has no layer named {name!r}.")

    def to_dict(self):
        return {
            "model": self.name,
            "input_shape": self.input_shape,
            "layers": [row.to_dict() for row in self.layers],
            "totals": asdict(self.totals),
        }


def layer_stats(model):
    """The per-layer table of a functional or Sequential Keras model, nested blocks and models expanded.

    Receptive fields and jumps are measured from the model's first input, in its pixels.
    """
    input_keys, nodes = flatten_graph(model)
    spatial_axes = len(model.inputs[0].shape) - 2
    fields = {input_keys[0]: input_field(spatial_axes) if spatial_axes > 0 else None}
    depths = {}
    rows, macs_by_kind = [], {"conv": 0, "dense": 0}
    for node in nodes:
        layer = node.layer
        if node.inputs:
            window = window_of(layer, node.input_shapes[0], node.output_shapes[0])
            # A crop reads the values of its first input only; the second gives it a size.
            read = node.inputs[:1] if isinstance(layer, Crop2D) else node.inputs
            field = through(union([fields.get(k) for k in read]), window)
            depth = max(depths[k] for k in read) + int(is_conv_or_pool(layer))
        else:  # an input layer
            window, field, depth = None, fields.get(node.outputs[0]), 0
        fields.update((k, field) for k in node.outputs)
        depths.update((k, depth) for k in node.outputs)
        weights = layer.weights if node.first_call else []
        macs = multiply_accumulates(layer, node.input_shapes, node.output_shapes[0])
        if macs:
            macs_by_kind[_mac_kind(layer)] += macs
        rows.append(
            LayerStats(
                name=node.name,
                type=type(layer).__name__,
                window=window if isinstance(window, Window) else None,
                conv_or_pool=is_conv_or_pool(layer),
                output_shape=tuple(node.output_shapes[0][1:]),
                params=sum(math.prod(w.shape) for w in weights),
                trainable_params=sum(math.prod(w.shape) for w in weights if w.trainable),
                macs=macs,
                field=field,
                depth=depth,
            )
        )
    return ModelStats(model.name, tuple(model.inputs[0].shape[1:]), rows, _totals(rows, macs_by_kind))


def multiply_accumulates(layer, input_shapes, output_shape):
    """MACs of one call of a leaf layer (see the module docstring); None when they cannot be counted."""
    kind = _mac_kind(layer)
    weights = [w for w in layer.weights if _KERNEL_WEIGHT.match(w.name)]
    if kind is None:
        return None if weights else 0
    if isinstance(layer, EuclideanRBF):
        weights = [layer.centres]
    # A transposed convolution applies its kernel once per input position, every other layer per output one.
    positions = (input_shapes[0] if isinstance(layer, _TRANSPOSED) else output_shape)[1:-1]
    if None in positions:
        return None
    return sum(math.prod(w.shape) for w in weights) * math.prod(positions)


def _mac_kind(layer):
    """ "conv", "dense", or None for a layer that does no multiply-accumulates by the papers' count."""
    if hasattr(layer, "kernel_size"):
        return "conv"
    if isinstance(layer, (keras.layers.Dense, EuclideanRBF)):
        return "dense"
    return None


def _totals(rows, macs_by_kind):
    return Totals(
        params=sum(r.params for r in rows),
        trainable_params=sum(r.trainable_params for r in rows),
        macs=macs_by_kind["conv"] + macs_by_kind["dense"],
        conv_macs=macs_by_kind["conv"],
        dense_macs=macs_by_kind["dense"],
        unknown_macs=tuple(r.name for r in rows if r.macs is None),
    )
