"""GoogLeNet (Inception v1): Szegedy et al., "Going Deeper with Convolutions", CVPR 2015.

The paper's Table 1 with Caffe's bvlc_googlenet details: a 7x7/2 conv, 3x3/2 max-pool, LRN, 1x1 and 3x3 convs,
LRN, 3x3/2 max-pool, then nine inception modules (3a-3b, pool, 4a-4e, pool, 5a-5b), average pooling, dropout 0.4
and the classifier; ReLU after every conv; 224x224 input. Max-pools round up, as Caffe's do ("same" padding here,
which matches Caffe's windows at every even size, hence at 224). With `aux_classifiers=True` the model has two
more outputs, the auxiliary heads on 4a and 4d, whose losses the paper weights by 0.3 during training; inference
and export use the main head only. 6,998,552 parameters, 13,378,280 with the auxiliary heads (1000 classes).

The paper gives no LRN constants; both LRNs take bvlc_googlenet's (local_size 5, alpha 1e-4, beta 0.75, k 1,
Caffe dividing alpha by the window: bias 1 and alpha 2e-5 in this layer's terms), not AlexNet's k = 2, alpha 1e-4.

Departures: the final 7x7/1 average pool is a global average pool (the same at 224, and defined at any size);
weights start from Glorot-uniform (Caffe's xavier) and biases from zero (Caffe: 0.2). torchvision's GoogLeNet is
a port of TF-slim's with BN, no LRN, a 3x3 conv in the "5x5" branch and dropout 0.2; this is the paper's.
"""

import functools
from typing import NamedTuple

from keras import layers

from kerascnn.layers import AuxiliaryClassifier, InceptionModule, LocalResponseNormalization
from kerascnn.models.heads import classifier_head, finish
from kerascnn.models.spec import register_model


class Inception(NamedTuple):
    """A row of the paper's Table 1: the output channels of each branch's convs."""

    c1x1: int
    c3x3_reduce: int
    c3x3: int
    c5x5_reduce: int
    c5x5: int
    pool_proj: int


# Stages of inception modules; a 3x3/2 max-pool separates them (28x28 -> 14x14 -> 7x7 at 224 input).
GOOGLENET_STAGES = (
    {
        "3a": Inception(c1x1=64, c3x3_reduce=96, c3x3=128, c5x5_reduce=16, c5x5=32, pool_proj=32),
        "3b": Inception(c1x1=128, c3x3_reduce=128, c3x3=192, c5x5_reduce=32, c5x5=96, pool_proj=64),
    },
    {
        "4a": Inception(c1x1=192, c3x3_reduce=96, c3x3=208, c5x5_reduce=16, c5x5=48, pool_proj=64),
        "4b": Inception(c1x1=160, c3x3_reduce=112, c3x3=224, c5x5_reduce=24, c5x5=64, pool_proj=64),
        "4c": Inception(c1x1=128, c3x3_reduce=128, c3x3=256, c5x5_reduce=24, c5x5=64, pool_proj=64),
        "4d": Inception(c1x1=112, c3x3_reduce=144, c3x3=288, c5x5_reduce=32, c5x5=64, pool_proj=64),
        "4e": Inception(c1x1=256, c3x3_reduce=160, c3x3=320, c5x5_reduce=32, c5x5=128, pool_proj=128),
    },
    {
        "5a": Inception(c1x1=256, c3x3_reduce=160, c3x3=320, c5x5_reduce=32, c5x5=128, pool_proj=128),
        "5b": Inception(c1x1=384, c3x3_reduce=192, c3x3=384, c5x5_reduce=48, c5x5=128, pool_proj=128),
    },
)
AUXILIARY_AFTER = ("4a", "4d")

# bvlc_googlenet's LRN: local_size 5, alpha 1e-4, beta 0.75 and Caffe's k = 1, with alpha divided by the window's
# 5 channels (Caffe's convention; this layer's alpha multiplies the plain sum, as AlexNet's paper wrote it).
CAFFE_LRN = dict(depth_radius=2, bias=1.0, alpha=1e-4 / 5, beta=0.75)


def googlenet(
    *,
    input_shape=(224, 224, 3),
    num_classes=1000,
    include_top=True,
    pooling=None,
    aux_classifiers=False,
    lrn_options=None,
    dropout=0.4,
    classifier_activation="softmax",
    name="googlenet",
):
    """GoogLeNet; see the module docstring. With `aux_classifiers`, the outputs are [main, aux1, aux2].
    `lrn_options` overrides the LRNs' arguments (bvlc_googlenet's, CAFFE_LRN, by default); an ONNX file's own
    constants are passed here by kerascnn.weights."""
    lrn = {**CAFFE_LRN, **(lrn_options or {})}
    if aux_classifiers and not include_top:
        raise ValueError("aux_classifiers needs include_top=True.")
    inputs = layers.Input(input_shape, name="images")
    x = layers.ZeroPadding2D(3, name="conv1_pad")(inputs)
    x = layers.Conv2D(64, 7, strides=2, activation="relu", name="conv1")(x)  # 224 -> 112
    x = layers.MaxPooling2D(3, strides=2, padding="same", name="pool1")(x)  # -> 56
    x = LocalResponseNormalization(**lrn, name="norm1")(x)
    x = layers.Conv2D(64, 1, activation="relu", name="conv2_reduce")(x)
    x = layers.Conv2D(192, 3, padding="same", activation="relu", name="conv2")(x)
    x = LocalResponseNormalization(**lrn, name="norm2")(x)
    x = layers.MaxPooling2D(3, strides=2, padding="same", name="pool2")(x)  # -> 28

    auxiliary = []
    for s, stage in enumerate(GOOGLENET_STAGES, start=3):
        if s > 3:
            x = layers.MaxPooling2D(3, strides=2, padding="same", name=f"pool{s - 1}")(x)
        for module, widths in stage.items():
            x = InceptionModule(**widths._asdict(), name=f"inception_{module}")(x)
            if aux_classifiers and module in AUXILIARY_AFTER:
                head = AuxiliaryClassifier(
                    num_classes, classifier_activation=classifier_activation, name=f"aux{len(auxiliary) + 1}"
                )
                auxiliary.append(head(x))

    top = functools.partial(
        classifier_head,
        num_classes=num_classes,
        pooling="avg",
        dropout=dropout,
        classifier_activation=classifier_activation,
    )
    return finish(inputs, x, top, include_top=include_top, pooling=pooling, name=name, auxiliary=auxiliary)


register_model(
    "googlenet", googlenet, input_shape=(224, 224, 3), min_size=65, family="googlenet", aliases=("inception_v1",)
)
