"""All-CNN: Springenberg, Dosovitskiy, Brox & Riedmiller, "Striving for Simplicity: The All Convolutional Net",
ICLR 2015 (workshop).

Model All-CNN-C (Table 2 with Table 1's base model C): every max-pool of the base model replaced by a 3x3 conv of
stride 2, so that the network downsamples by convolution alone, and the fully connected layers by 1x1 convs and a
global average. On 32x32 CIFAR-10 images: dropout 20% on the input; 3x3 convs of 96, 96 and 96 with stride 2
(32 -> 16); dropout 50%; 192, 192 and 192 with stride 2 (16 -> 8); dropout 50%; a valid 3x3 conv of 192 (8 -> 6),
a 1x1 conv of 192, a 1x1 conv to the classes, each with a ReLU as the paper's table lists it (the last one
included), then the average over the 6x6 map and the softmax. The padded convs pad 1 ("same"), as the sizes the
paper gives imply. Parameters (10 classes, by hand: 9 * c_in * c_out + c_out per 3x3 conv):
2,688 + 83,040 * 2 + 166,080 + 331,968 * 4 + 37,056 + 1,930 = 1,369,738, the paper's "1.4M".

Departures: weights start from Glorot-uniform (the paper does not state its initialisation); the paper's
training recipe (SGD, momentum 0.9, learning rate from {0.25, 0.1, 0.05, 0.01} divided by 10 at epochs 200, 250
and 300, weight decay 0.001) belongs to the training config.
"""

from keras import layers

from kerascnn.models.heads import finish
from kerascnn.models.spec import register_model

# Each stage: (filters, dropout after its stride-2 conv); the stride-2 conv is the stage's third.
ALLCNN_C_STAGES = ((96, 0.5), (192, 0.5))


def allcnn_c(
    *,
    input_shape=(32, 32, 3),
    num_classes=10,
    include_top=True,
    pooling=None,
    input_dropout=0.2,
    classifier_activation="softmax",
    name="allcnn_c",
):
    """All-CNN-C; see the module docstring. Without the top: conv8's 192 features on the 6x6 map."""
    inputs = layers.Input(input_shape, name="images")
    x = layers.Dropout(input_dropout, name="input_dropout")(inputs)
    conv = 0
    for filters, dropout in ALLCNN_C_STAGES:
        for stride in (1, 1, 2):
            conv += 1
            x = layers.Conv2D(filters, 3, strides=stride, padding="same", activation="relu", name=f"conv{conv}")(x)
        x = layers.Dropout(dropout, name=f"conv{conv}_dropout")(x)  # 32 -> 16 -> 8
    x = layers.Conv2D(192, 3, activation="relu", name="conv7")(x)  # 8 -> 6
    x = layers.Conv2D(192, 1, activation="relu", name="conv8")(x)

    def top(x):  # the paper's head: a 1x1 conv to the classes, global average, softmax
        x = layers.Conv2D(num_classes, 1, activation="relu", name="conv9")(x)
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        return layers.Activation(classifier_activation or "linear", dtype="float32", name="predictions")(x)

    return finish(inputs, x, top, include_top=include_top, pooling=pooling, name=name)


register_model("allcnn_c", allcnn_c, input_shape=(32, 32, 3), min_size=9, family="allcnn")
