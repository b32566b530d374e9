"""Batch normalisation folded into the convolution before it, for inference.

At inference a BN is the affine map y = gamma * (x - mean) / sqrt(var + eps) + beta per channel, so after a
linear convolution x = W * u + b it folds into that convolution: W' = W * s and b' = (b - mean) * s + beta with
s = gamma / sqrt(var + eps). The folded model computes the same function (up to float rounding) with one op less
per convolution, and TensorFlow's graph optimiser fuses the conv, its bias and the ReLU after it into one kernel.
This is what people do to a trained model before deploying it to any runtime; kerascnn's pusher does it to every
model it exports (kerascnn.serving.export).
"""

import keras
import numpy as np

from kerascnn.layers.batchnorm import FoldedBatchNormalization
from kerascnn.layers.conv import DilatedConv2D
from kerascnn.layers.residual import ResidualBlock

_CONVS = (keras.layers.Conv2D, DilatedConv2D)


def _inbound_names(layer_config):
    """The names of the layers whose outputs a functional model's layer reads (from its serialized config)."""
    names = []

    def visit(value):
        if isinstance(value, dict):
            if value.get("class_name") == "__keras_tensor__":
                names.append(value["config"]["keras_history"][0])
            else:
                for item in value.values():
                    visit(item)
        elif isinstance(value, list | tuple):
            for item in value:
                visit(item)

    visit(layer_config["inbound_nodes"])
    return names, len(layer_config["inbound_nodes"])


def _foldable_pairs(model):
    """{conv name: BN name} for each BN whose only input is a linear conv that feeds nothing else."""
    layers = model.get_config()["layers"]
    inbound = {layer["name"]: _inbound_names(layer) for layer in layers}
    readers = {}
    for name, (sources, _) in inbound.items():
        for source in sources:
            readers.setdefault(source, []).append(name)
    pairs = {}
    for name, (sources, calls) in inbound.items():
        norm = model.get_layer(name)
        if not isinstance(norm, keras.layers.BatchNormalization) or calls != 1 or len(set(sources)) != 1:
            continue
        conv = model.get_layer(sources[0])
        if (
            isinstance(conv, _CONVS)
            and conv.get_config().get("activation") == "linear"
            and readers[conv.name] == [name]
            and inbound[conv.name][1] == 1
            and norm.axis in (-1, len(norm.input.shape) - 1)
        ):
            pairs[conv.name] = name
    return pairs


def folded_kernel_and_bias(conv, norm):
    """The kernel and bias of `conv` (channels-last, output channels on the kernel's last axis) with the
    inference-mode `norm` after it folded in; computed in float64, returned in the kernel's dtype."""
    kernel = np.asarray(conv.kernel, np.float64)
    bias = np.asarray(conv.bias, np.float64) if conv.use_bias else np.zeros(kernel.shape[-1])
    channels = kernel.shape[-1]
    gamma = np.asarray(norm.gamma, np.float64) if norm.scale else np.ones(channels)
    beta = np.asarray(norm.beta, np.float64) if norm.center else np.zeros(channels)
    mean = np.asarray(norm.moving_mean, np.float64)
    variance = np.asarray(norm.moving_variance, np.float64)
    scale = gamma / np.sqrt(variance + norm.epsilon)
    dtype = np.asarray(conv.kernel).dtype
    return (kernel * scale).astype(dtype), ((bias - mean) * scale + beta).astype(dtype)


def _block_pairs(block):
    pairs = list(zip(block.convs, block.norms))
    if block.projection is not None:
        pairs.append((block.projection, block.projection_norm))
    return pairs


def fold_batch_norms(model):
    """A copy of the functional `model` for inference with its batch normalisations folded into convolutions.

    Folded: every BN whose only input is a linear Conv2D (or DilatedConv2D) read by nothing else becomes a
    FoldedBatchNormalization, an identity that keeps its name, and the conv gains the folded bias; every
    ResidualBlock becomes its `folded=True` form. Other BNs (after a pooling, an addition, a dense layer) stay as
    they are. The copy computes `model`'s inference-mode function; it is not meant to be trained (its BNs'
    batch statistics are gone).
    """
    pairs = _foldable_pairs(model)
    folded_norms = set(pairs.values())

    def clone(layer):
        config = layer.get_config()
        if layer.name in pairs:
            return layer.__class__.from_config({**config, "use_bias": True})
        if layer.name in folded_norms:
            return FoldedBatchNormalization(name=layer.name, dtype=layer.dtype_policy)
        if isinstance(layer, ResidualBlock) and not layer.folded:
            return ResidualBlock.from_config({**config, "folded": True})
        return layer.__class__.from_config(config)

    folded = keras.models.clone_model(model, clone_function=clone)
    for layer in folded.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue  # clone_model makes new inputs, and may rename them
        original = model.get_layer(layer.name)
        if layer.name in pairs:
            layer.set_weights(folded_kernel_and_bias(original, model.get_layer(pairs[layer.name])))
        elif layer.name in folded_norms:
            continue
        elif isinstance(original, ResidualBlock) and not original.folded:
            for (conv, norm), (new_conv, _) in zip(_block_pairs(original), _block_pairs(layer)):
                new_conv.set_weights(folded_kernel_and_bias(conv, norm))
        else:
            layer.set_weights(original.get_weights())
    return folded
