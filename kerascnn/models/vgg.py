"""VGG: Simonyan & Zisserman, "Very Deep Convolutional Networks for Large-Scale Image Recognition", ICLR 2015.

Configurations A to E of the paper's Table 1, with its head (FC-4096, FC-4096, FC-classes, dropout 0.5 on the
first two) and its 224x224 input. Every conv is stride 1 with the size kept ("same"), every block ends in a 2x2/2
max-pool. A-LRN adds one local response normalization, with the AlexNet constants, after the first conv; the
paper found it does not help. Departures: weights start from Glorot-uniform rather than the paper's N(0, 0.01)
(which needed config A's weights to train D and E) and biases from zero; keras.applications' VGG16 and VGG19
have the same layers without the dropout.
"""

import functools

import keras
from keras import layers

from kerascnn.layers import LocalResponseNormalization
from kerascnn.models.heads import classifier_head, pool_features
from kerascnn.registry import register_model


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
    x = inputs
    for b, convs in enumerate(blocks, start=1):
        for c, (kernel_size, filters) in enumerate(convs, start=1):
            x = layers.Conv2D(filters, kernel_size, padding="same", activation="relu", name=f"block{b}_conv{c}")(x)
            if lrn and (b, c) == (1, 1):
                x = LocalResponseNormalization(name="block1_lrn")(x)
        x = layers.MaxPooling2D(2, name=f"block{b}_pool")(x)  # 224 -> 112 -> 56 -> 28 -> 14 -> 7
    if include_top:
        x = classifier_head(
            x,
            num_classes,
            pooling="flatten",
            hidden=(4096, 4096),
            dropout=dropout,
            classifier_activation=classifier_activation,
        )
    else:
        x = pool_features(x, pooling)
    return keras.Model(inputs, x, name=name)


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
