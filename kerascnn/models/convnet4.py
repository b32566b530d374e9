"""The four-layer CIFAR-10 network of Krizhevsky, Sutskever & Hinton, "ImageNet Classification with Deep
Convolutional Neural Networks", NIPS 2012, Fig. 1: "A four-layer convolutional neural network with ReLUs (solid
line) reaches a 25% training error rate on CIFAR-10 six times faster than an equivalent network with tanh neurons
(dashed line)."

What is the paper's: four layers, ReLU or tanh neurons, CIFAR-10, "the learning rates for each network were chosen
independently to make training as fast as possible. No regularization of any kind was employed." The paper gives
no more of the network.

What is cuda-convnet's: Krizhevsky's own CIFAR-10 example, example-layers/layers-80sec.cfg ("26% error on CIFAR-10
in 80 seconds"), the likeliest network of the figure: conv1 32 5x5 pad 2 -> max-pool 3x3/2 -> conv2 32 5x5 pad 2 ->
avg-pool 3x3/2 -> conv3 64 5x5 pad 2 -> avg-pool 3x3/2 -> fc64 -> fc10 -> softmax, ReLUs on conv1 to fc64. Its
four layers of neurons are conv1, conv2, conv3 and fc64; fc10 is the linear output. Krizhevsky counts layers so
elsewhere too: the "four-layer CNN" of the paper's Sec. 3.3 (13% and 11% CIFAR-10 test error) is cuda-convnet's
layers-conv-local-13pct/11pct.cfg: conv1, conv2, local3, local4 with neurons, then a linear fc10.

What we chose: layers-80sec.cfg as it is, fc64 included (five weight layers, four of them with neurons), and one
activation for every hidden layer: `convnet4_relu` (ReLU) and `convnet4_tanh` (tanh) differ in that alone, a row of
CONVNET4_VARIANTS each. The activation follows each conv before its pool (for the max-pool the order does not
matter: both activations are increasing). cuda-convnet's pools stop at the border, giving 32 -> 16 -> 8 -> 4;
Keras' "same" pools give the same sizes, and their averages, like cuda-convnet's, count only the pixels inside.
Input 32x32x3 (CIFAR-10); the MNIST-family recipe (kerascnn/training/recipes.py) pads 28x28 grey images to 32x32
on one channel.

Parameters (10 classes, by hand: k * k * c_in * c_out + c_out per conv, c_in * c_out + c_out per dense layer):
conv1 5*5*3*32 + 32 = 2,432; conv2 5*5*32*32 + 32 = 25,632; conv3 5*5*32*64 + 64 = 51,264; fc4 (fc64) on the 4x4x64
maps 1,024*64 + 64 = 65,600; predictions 64*10 + 10 = 650: 145,578 (143,978 on one channel: conv1 5*5*32 + 32 = 832).

Departures: weights start from Glorot-uniform and biases from zero (cuda-convnet: Gaussians of std 1e-4 for conv1,
0.01 for conv2 and conv3, 0.1 for the fc layers); cuda-convnet's weight decay and rate drop after 8 epochs belong
to its 80-second run, not to the figure's unregularised comparison (the recipe is in kerascnn/training/recipes.py).
"""

from typing import NamedTuple

from keras import layers

from kerascnn.models.heads import classifier_head, finish
from kerascnn.models.spec import register_model


class Conv(NamedTuple):
    filters: int
    pool: str  # "max" or "avg": the 3x3/2 pool after the conv


# layers-80sec.cfg's convs, each 5x5 padded by 2 and followed by its pool; then fc64 and the classes.
CONVNET4_CONVS = (Conv(32, "max"), Conv(32, "avg"), Conv(64, "avg"))
CONVNET4_HIDDEN = 64
POOLS = {"max": layers.MaxPooling2D, "avg": layers.AveragePooling2D}
# name: the activation of every hidden layer
CONVNET4_VARIANTS = {"convnet4_relu": "relu", "convnet4_tanh": "tanh"}


def convnet4(
    *,
    activation="relu",
    input_shape=(32, 32, 3),
    num_classes=10,
    include_top=True,
    pooling=None,
    classifier_activation="softmax",
    name="convnet4",
):
    """The network of Krizhevsky et al.'s Fig. 1; see the module docstring. Without the top: conv3's pooled
    64 maps (4x4 at the 32x32 input)."""
    inputs = layers.Input(input_shape, name="images")
    x = inputs
    for i, conv in enumerate(CONVNET4_CONVS, start=1):
        x = layers.Conv2D(conv.filters, 5, padding="same", activation=activation, name=f"conv{i}")(x)
        x = POOLS[conv.pool](3, strides=2, padding="same", name=f"pool{i}")(x)  # 32 -> 16 -> 8 -> 4

    def top(x):
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(CONVNET4_HIDDEN, activation=activation, name="fc4")(x)
        return classifier_head(x, num_classes, pooling=None, classifier_activation=classifier_activation)

    return finish(inputs, x, top, include_top=include_top, pooling=pooling, name=name)


for _name, _activation in CONVNET4_VARIANTS.items():
    # Every layer pads ("same"): any side builds.
    register_model(_name, convnet4, input_shape=(32, 32, 3), min_size=1, family="convnet4", activation=_activation)
