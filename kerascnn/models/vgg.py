"""VGG: Simonyan & Zisserman, "Very Deep Convolutional Networks for Large-Scale Image Recognition", ICLR 2015.

Configurations A to E of the paper's Table 1, with its head (FC-4096, FC-4096, FC-classes, dropout 0.5 on the
first two) and its 224x224 input. Every conv is stride 1 with the size kept ("same"), every block ends in a 2x2/2
max-pool. A-LRN adds one local response normalization, with the AlexNet constants, after the first conv; the
paper found it does not help. Departures: weights start from Glorot-uniform rather than the paper's N(0, 0.01)
(which needed config A's weights to train D and E) and biases from zero; keras.applications' VGG16 and VGG19
have the same layers without the dropout.
"""

import functools

from keras import layers

from kerascnn.layers import DilatedConv2D, LocalResponseNormalization
from kerascnn.models.heads import fc_head, finish
from kerascnn.models.spec import register_model


# Each block is a tuple of (kernel size, filters) convs: the columns of the paper's Table 1. Configuration C ends
# blocks 3 to 5 with a 1x1 conv.
def _convs(filters, count, last_1x1=False):
    return ((3, filters),) * (count - last_1x1) + ((1, filters),) * last_1x1


VGG_CONFIGS = {
    "vgg11": (_convs(64, 1), _convs(128, 1), _convs(256, 2), _convs(512, 2), _convs(512, 2)),
    "vgg13": (_convs(64, 2), _convs(128, 2), _convs(256, 2), _convs(512, 2), _convs(512, 2)),
    "vgg16_c": (_convs(64, 2), _convs(128, 2), _convs(256, 3, True), _convs(512, 3, True), _convs(512, 3, True)),
    "vgg16": (_convs(64, 2), _convs(128, 2), _convs(256, 3), _convs(512, 3), _convs(512, 3)),
    "vgg19": (_convs(64, 2), _convs(128, 2), _convs(256, 4), _convs(512, 4), _convs(512, 4)),
}
# name: (configuration, the paper's letter, LRN after the first conv)
VGG_VARIANTS = {
    "vgg11": ("vgg11", "a", False),
    "vgg11_lrn": ("vgg11", "a_lrn", True),
    "vgg13": ("vgg13", "b", False),
    "vgg16_c": ("vgg16_c", "c", False),
    "vgg16": ("vgg16", "d", False),
    "vgg19": ("vgg19", "e", False),
}


def scaled(filters, width_multiplier):
    """A layer's filters times `width_multiplier`, at least 1: the switch that shrinks a network for a demo."""
    if width_multiplier <= 0:
        raise ValueError(f"width_multiplier must be positive, got {width_multiplier}.")
    return max(1, round(filters * width_multiplier))


def _max_pool_2x2(x, block, name):
    return layers.MaxPooling2D(2, name=name)(x)


def vgg_features(
    x, blocks, *, lrn=False, conv1_padding="same", pool=_max_pool_2x2, dilations=None, width_multiplier=1.0
):
    """The convolutional blocks of a VGG network on `x`; returns each block's pooled output, pool1 to pool5.

    The dense-prediction networks reuse it with their changes to the backbone: `conv1_padding` an int pads the
    first conv by that many pixels (FCN's 100), `pool(x, block, name)` replaces the 2x2/2 max-pools (FCN's Caffe
    ceil mode, DeepLab's 3x3 windows and strides of 1), `dilations` gives each block's dilation rate (DeepLab's
    conv5 at 2), `width_multiplier` scales every conv's filters.
    """
    dilations = dilations or (1,) * len(blocks)
    pools = []
    for b, (convs, dilation) in enumerate(zip(blocks, dilations), start=1):
        for c, (kernel_size, filters) in enumerate(convs, start=1):
            filters, name = scaled(filters, width_multiplier), f"block{b}_conv{c}"
            if (b, c) == (1, 1) and conv1_padding != "same":
                x = DilatedConv2D(filters, kernel_size, padding=conv1_padding, activation="relu", name=name)(x)
            else:
                x = layers.Conv2D(
                    filters, kernel_size, padding="same", dilation_rate=dilation, activation="relu", name=name
                )(x)
            if lrn and (b, c) == (1, 1):
                x = LocalResponseNormalization(name="block1_lrn")(x)
        x = pool(x, b, f"block{b}_pool")  # 224 -> 112 -> 56 -> 28 -> 14 -> 7 with 2x2/2 pools
        pools.append(x)
    return pools


def vgg(
    blocks,
    *,
    lrn=False,
    input_shape=(224, 224, 3),
    num_classes=1000,
    include_top=True,
    pooling=None,
    dropout=0.5,
    classifier_activation="softmax",
    name="vgg",
):
    """A VGG network from a table of blocks; see the module docstring."""
    inputs = layers.Input(input_shape, name="images")
    x = vgg_features(inputs, blocks, lrn=lrn)[-1]
    top = fc_head(num_classes, dropout=dropout, classifier_activation=classifier_activation)
    return finish(inputs, x, top, include_top=include_top, pooling=pooling, name=name)


for _name, (_config, _letter, _lrn) in VGG_VARIANTS.items():
    register_model(
        _name,
        functools.partial(vgg, VGG_CONFIGS[_config]),
        input_shape=(224, 224, 3),
        min_size=32,
        family="vgg",
        aliases=(f"vgg_{_letter}",),
        lrn=_lrn,
    )
