"""All-CNN and the networks it was compared with: Springenberg, Dosovitskiy, Brox & Riedmiller, "Striving for
Simplicity: The All Convolutional Net", ICLR 2015 (workshop), arXiv:1412.6806, Tables 1 and 2.

Base model C (Table 1) on 32x32 CIFAR-10 images: two stages, each of two 3x3 convs (96 filters, then 192) and a
3x3 max-pool of stride 2 (32 -> 16 -> 8); then a valid 3x3 conv of 192 (8 -> 6), a 1x1 conv of 192, a 1x1 conv to
the classes, each with a ReLU as the paper's tables list it (the last one included), the average over the 6x6
map and the softmax. Table 2 derives three networks from it, to tell what pooling contributes:

- `strided_cnn_c`: the max-pools removed and each stage's last conv given stride 2: fewer layers, same weights;
- `convpool_cnn_c`: one more 3x3 conv before each max-pool: the weights of All-CNN-C, with its pools;
- `allcnn_c` (All-CNN-C): each max-pool replaced by a 3x3 conv of stride 2, so that the network downsamples by
  convolution alone: 96, 96, 96 /2, 192, 192, 192 /2.

Dropout, as the paper's Sec. 3.1 gives it: 20% on the input and 50% after each pool, or after the layer that
replaces it (the stage's stride-2 conv). The padded convs pad 1 ("same") and the pools' and stride-2 convs'
windows are Keras' "same" (32 -> 16 -> 8), as the 6x6 map the paper averages over implies.

Parameters (10 classes, by hand: 9 * c_in * c_out + c_out per 3x3 conv, c_in * c_out + c_out per 1x1 conv):
first conv 2,688; 96 -> 96 83,040; 96 -> 192 166,080; 192 -> 192 331,968; 1x1 192 37,056; 1x1 10 1,930.
  - model_c, strided_cnn_c: 2,688 + 83,040 + 166,080 + 331,968 * 2 + 37,056 + 1,930 = 954,730;
  - convpool_cnn_c, allcnn_c: that + 83,040 + 331,968 (a third conv a stage) = 1,369,738, the paper's "1.4M".

Departures: weights start from Glorot-uniform (the paper does not state its initialisation); the paper's
training recipe (SGD, momentum 0.9, learning rate from {0.25, 0.1, 0.05, 0.01} divided by 10 at epochs 200, 250
and 300, weight decay 0.001) belongs to the training config. Models A and B and their derived networks are not
in the zoo.
"""

import functools
from typing import NamedTuple

from keras import layers

from kerascnn.models.heads import finish
from kerascnn.models.spec import register_model


class Stage(NamedTuple):
    filters: int
    convs: int  # 3x3 convs, padded
    # "pool": a 3x3/2 max-pool follows the convs; "stride": the last conv has stride 2 instead (and no pool)
    downsample: str


# Table 1's model C and Table 2's three networks derived from it.
ALLCNN_CONFIGS = {
    "model_c": (Stage(96, 2, "pool"), Stage(192, 2, "pool")),
    "strided_cnn_c": (Stage(96, 2, "stride"), Stage(192, 2, "stride")),
    "convpool_cnn_c": (Stage(96, 3, "pool"), Stage(192, 3, "pool")),
    "allcnn_c": (Stage(96, 3, "stride"), Stage(192, 3, "stride")),
}
DOWNSAMPLES = ("pool", "stride")


def allcnn(
    stages,
    *,
    input_shape=(32, 32, 3),
    num_classes=10,
    include_top=True,
    pooling=None,
    input_dropout=0.2,
    dropout=0.5,
    classifier_activation="softmax",
    name="allcnn_c",
):
    """A network of Springenberg et al.'s Tables 1 and 2 from its stages; see the module docstring. Without the top:
    the last 1x1 conv's 192 features on the 6x6 map. Layers are named conv1, conv2, ... and pool1, pool2 in order;
    `dropout` follows each stage's downsampling layer (named after it, e.g. conv3_dropout)."""
    inputs = layers.Input(input_shape, name="images")
    x = layers.Dropout(input_dropout, name="input_dropout")(inputs)
    conv = 0
    for s, stage in enumerate(stages, start=1):
        if stage.downsample not in DOWNSAMPLES:
            raise ValueError(f"downsample must be one of {DOWNSAMPLES}, got {stage.downsample!r}.")
        for c in range(1, stage.convs + 1):
            conv += 1
            stride = 2 if stage.downsample == "stride" and c == stage.convs else 1
            conv2d = layers.Conv2D(stage.filters, 3, stride, padding="same", activation="relu", name=f"conv{conv}")
            x = conv2d(x)
        last = f"conv{conv}"
        if stage.downsample == "pool":
            last = f"pool{s}"
            x = layers.MaxPooling2D(3, strides=2, padding="same", name=last)(x)
        x = layers.Dropout(dropout, name=f"{last}_dropout")(x)  # 32 -> 16 -> 8
    x = layers.Conv2D(192, 3, activation="relu", name=f"conv{conv + 1}")(x)  # 8 -> 6
    x = layers.Conv2D(192, 1, activation="relu", name=f"conv{conv + 2}")(x)

    def top(x):  # the paper's head: a 1x1 conv to the classes, global average, softmax
        x = layers.Conv2D(num_classes, 1, activation="relu", name=f"conv{conv + 3}")(x)
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        return layers.Activation(classifier_activation or "linear", dtype="float32", name="predictions")(x)

    return finish(inputs, x, top, include_top=include_top, pooling=pooling, name=name)


for _name, _stages in ALLCNN_CONFIGS.items():
    # min_size: two halvings ("same") must leave the valid 3x3 conv at least 3 pixels: 9 -> 5 -> 3.
    register_model(_name, functools.partial(allcnn, _stages), input_shape=(32, 32, 3), min_size=9, family="allcnn")
