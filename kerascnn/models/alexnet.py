"""AlexNet: Krizhevsky, Sutskever & Hinton, "ImageNet Classification with Deep Convolutional Neural Networks",
NIPS 2012; and the single-tower variant of Krizhevsky, "One weird trick for parallelizing convolutional neural
networks", arXiv:1404.5997, 2014.

`alexnet` is the paper's network as it ran on two GPUs: conv2, conv4 and conv5 see only the maps of their own
GPU (`GroupedConv2D`, groups=2), conv3 and the FC layers see both. Local response normalization (k=2, n=5,
alpha=1e-4, beta=0.75) follows the ReLUs of conv1 and conv2, each GPU normalising its own half of the maps as in
the paper (Caffe's single-GPU bvlc_alexnet lets the window cross the halves); overlapping 3x3/2 max-pools follow
the LRNs and conv5; dropout 0.5 follows fc6 and fc7. Input 227x227: the paper's "224" cannot give its 55x55
conv1 maps ((224 - 11) / 4 + 1 = 54.25), 227 does, as in Caffe. 60,965,224 parameters for 1000 classes.

`alexnet_no_lrn` is `alexnet` without its two LRNs (the `lrn=False` switch, a row of ALEXNET_VARIANTS): the
ablation of Sec. 3.3, where "response normalization reduces our top-1 and top-5 error rates by 1.4% and 1.2%".
LRN has no weights, so it has alexnet's 60,965,224 parameters, in the same order.

`alexnet_single` is the one-tower network of the 2014 paper as torchvision ships it (64-192-384-256-256 filters,
conv1 padded by 2, 224x224 input, no LRN): 61,100,840 parameters. torchvision puts its dropout before fc6 and
fc7; here it follows them, as in the 2012 paper. Departure from the 2014 paper: its footnote gives conv4 384
filters (64-192-384-384-256, 61,838,248 parameters); conv4 has 256 here, as in cuda-convnet2's
layers-imagenet-1gpu.cfg that torchvision's sizes come from (pytorch/vision PR #463, #704; docs/reference.md).

Departures from both papers: weights start from Glorot-uniform and biases from zero (the paper: N(0, 0.01) and
biases of 1 in conv2, conv4, conv5 and the hidden FC layers). Augmentation (random 224 crops of 256 images, flips,
PCA lighting noise) lives in the data pipeline.
"""

import functools
from typing import NamedTuple

from keras import layers

from kerascnn.layers import GroupedConv2D, LocalResponseNormalization
from kerascnn.models.heads import fc_head, finish
from kerascnn.models.spec import register_model


class Conv(NamedTuple):
    filters: int
    kernel_size: int
    strides: int = 1
    padding: int = 0
    groups: int = 1  # 2: each GPU's kernels see only the maps on that GPU
    lrn: int = 0  # local response normalization after the ReLU, over each of this many towers' maps (0: none)
    pool: bool = False  # 3x3/2 max-pool after that


ALEXNET_CONFIGS = {
    "alexnet": (
        Conv(96, 11, strides=4, lrn=2, pool=True),  # 227 -> 55 -> 27; 48 maps on each GPU
        Conv(256, 5, padding=2, groups=2, lrn=2, pool=True),  # 27 -> 13
        Conv(384, 3, padding=1),
        Conv(384, 3, padding=1, groups=2),
        Conv(256, 3, padding=1, groups=2, pool=True),  # 13 -> 6
    ),
    "alexnet_single": (
        Conv(64, 11, strides=4, padding=2, pool=True),  # 224 -> 55 -> 27
        Conv(192, 5, padding=2, pool=True),  # 27 -> 13
        Conv(384, 3, padding=1),
        Conv(256, 3, padding=1),
        Conv(256, 3, padding=1, pool=True),  # 13 -> 6
    ),
}


def _conv(x, conv, name):
    if conv.groups > 1:
        return GroupedConv2D(
            conv.filters,
            conv.kernel_size,
            conv.groups,
            strides=conv.strides,
            padding=conv.padding,
            activation="relu",
            name=name,
        )(x)
    if conv.strides == 1 and 2 * conv.padding == conv.kernel_size - 1:
        return layers.Conv2D(conv.filters, conv.kernel_size, padding="same", activation="relu", name=name)(x)
    if conv.padding:
        x = layers.ZeroPadding2D(conv.padding, name=f"{name}_pad")(x)
    return layers.Conv2D(conv.filters, conv.kernel_size, conv.strides, activation="relu", name=name)(x)


def alexnet(
    convs,
    *,
    input_shape=(227, 227, 3),
    num_classes=1000,
    include_top=True,
    pooling=None,
    lrn=True,
    lrn_options=None,
    dropout=0.5,
    classifier_activation="softmax",
    name="alexnet",
):
    """An AlexNet from a table of convs; see the module docstring. `lrn=False` leaves out the table's local
    response normalizations: the paper's ablation (Sec. 3.3: they lowered top-1 and top-5 error by 1.4% and 1.2%).
    `lrn_options` overrides LocalResponseNormalization's arguments: Caffe's bvlc_alexnet weights (kerascnn.weights)
    need k=1, alpha=2e-5 in this layer's convention and a window that crosses the towers (groups=1)."""
    inputs = layers.Input(input_shape, name="images")
    x = inputs
    for i, conv in enumerate(convs, start=1):
        x = _conv(x, conv, f"conv{i}")
        if conv.lrn and lrn:
            constants = {"depth_radius": 2, "bias": 2.0, "alpha": 1e-4, "beta": 0.75, "groups": conv.lrn}
            x = LocalResponseNormalization(**{**constants, **(lrn_options or {})}, name=f"norm{i}")(x)
        if conv.pool:
            x = layers.MaxPooling2D(3, strides=2, name=f"pool{i}")(x)
    top = fc_head(num_classes, dropout=dropout, classifier_activation=classifier_activation)
    return finish(inputs, x, top, include_top=include_top, pooling=pooling, name=name)


class Variant(NamedTuple):
    convs: str  # a key of ALEXNET_CONFIGS
    size: int  # the input side the paper gives
    min_size: int  # the smallest side that builds: conv1, then three 3x3/2 pools, leave at least one pixel
    aliases: tuple[str, ...] = ()
    lrn: bool = True  # False: the table's LRNs left out (the Sec. 3.3 ablation); the weights are the same


ALEXNET_VARIANTS = {
    "alexnet": Variant("alexnet", 227, 67),
    "alexnet_single": Variant("alexnet_single", 224, 63, aliases=("alexnet_owt",)),
    "alexnet_no_lrn": Variant("alexnet", 227, 67, lrn=False),
}

for _name, _variant in ALEXNET_VARIANTS.items():
    register_model(
        _name,
        functools.partial(alexnet, ALEXNET_CONFIGS[_variant.convs]),
        input_shape=(_variant.size, _variant.size, 3),
        min_size=_variant.min_size,
        family="alexnet",
        aliases=_variant.aliases,
        lrn=_variant.lrn,
    )
