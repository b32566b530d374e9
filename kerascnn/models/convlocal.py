"""The four-layer CIFAR-10 networks of Krizhevsky, Sutskever & Hinton, "ImageNet Classification with Deep
Convolutional Neural Networks", NIPS 2012, Sec. 3.3: "We also verified the effectiveness of this scheme on the
CIFAR-10 dataset: a four-layer CNN achieved a 13% test error rate without normalization and 11% with
normalization." The paper's cheapest evidence for local response normalisation.

What is the paper's: four layers, CIFAR-10, the two errors. The network itself is Krizhevsky's cuda-convnet
example, example-layers/layers-conv-local-13pct.cfg and layers-conv-local-11pct.cfg (the mirror of the original
repository, github.com/dnouri/cuda-convnet): conv1 64 5x5 pad 2 -> max-pool 3x3/2 -> conv2 64 5x5 pad 2 ->
max-pool 3x3/2 -> local3 32 3x3 pad 1 -> local4 32 3x3 pad 1 -> fc10 -> softmax, ReLUs on the four layers of
neurons (fc10 is linear). local3 and local4 are locally connected: a 3x3 filter of their own at each of the 8x8
positions, with a bias each (`kerascnn.layers.LocallyConnected2D`). The 11% network adds a cross-map response
normalisation after each conv's ReLU, before its pool: size 5, scale 0.001, pow 0.75, in cuda-convnet's form
x / (1 + (scale / size) * sum of the 5 squares) ** pow, so `LocalResponseNormalization(2, bias=1, alpha=0.0002,
beta=0.75)` here (AlexNet's own settings are k = 2, alpha = 1e-4 on the plain sum). `convlocal` and
`convlocal_lrn` differ in that alone, a row of CONVLOCAL_VARIANTS each. (A public fork, cuda_convnet_plus, puts
the normalisations after pool1 and conv2 with size 9 and local3 of 64: the original's files are followed here.)

cuda-convnet's pools stop at the border, 32 -> 16 -> 8; Keras' "same" pools give the same windows (the one
extra pixel at the bottom and right). Input 32x32x3 (CIFAR-10); the MNIST-family recipe pads 28x28 grey images to
32x32 on one channel. The locally connected layers hold weights for each position, so the input size is fixed
when the model is built.

Parameters (10 classes, by hand: k * k * c_in * c_out + c_out per conv; positions * (k * k * c_in * c_out +
c_out) per locally connected layer; n_in * n_out + n_out for fc10): conv1 5*5*3*64 + 64 = 4,864; conv2 5*5*64*64
+ 64 = 102,464; local3 64 * (9*64*32 + 32) = 1,181,696; local4 64 * (9*32*32 + 32) = 591,872; fc10 8*8*32*10 + 10
= 20,490: 1,901,386 (1,898,186 on one channel: conv1 5*5*64 + 64 = 1,664). The normalisations have no weights.

Departures: weights start from Glorot-uniform and biases from zero (cuda-convnet: Gaussians of std 1e-4 for conv1,
0.01 for conv2 and fc10, 0.04 for the local layers); its training recipe is in kerascnn/training/recipes.py.
"""

from keras import layers

from kerascnn.layers import LocallyConnected2D, LocalResponseNormalization
from kerascnn.models.heads import classifier_head, finish
from kerascnn.models.spec import register_model

CONVLOCAL_CONVS = (64, 64)  # conv1, conv2: 5x5, padded by 2, each followed by a 3x3/2 max-pool
CONVLOCAL_LOCALS = (32, 32)  # local3, local4: 3x3 locally connected, padded by 1
# cuda-convnet's rnorm layers of the 11% network: size 5, scale 0.001 divided by the size, pow 0.75, 1 added.
CUDA_CONVNET_RNORM = {"depth_radius": 2, "bias": 1.0, "alpha": 0.001 / 5, "beta": 0.75}
# name: whether each conv's output is response-normalised (13%: no; 11%: yes)
CONVLOCAL_VARIANTS = {"convlocal": False, "convlocal_lrn": True}


def convlocal(
    *,
    lrn=False,
    input_shape=(32, 32, 3),
    num_classes=10,
    include_top=True,
    pooling=None,
    classifier_activation="softmax",
    name="convlocal",
):
    """The network of Krizhevsky et al.'s Sec. 3.3; see the module docstring. Without the top: local4's 32 maps
    (8x8 at the 32x32 input)."""
    inputs = layers.Input(input_shape, name="images")
    x = inputs
    for i, filters in enumerate(CONVLOCAL_CONVS, start=1):
        x = layers.Conv2D(filters, 5, padding="same", activation="relu", name=f"conv{i}")(x)
        if lrn:
            x = LocalResponseNormalization(**CUDA_CONVNET_RNORM, name=f"rnorm{i}")(x)
        x = layers.MaxPooling2D(3, strides=2, padding="same", name=f"pool{i}")(x)  # 32 -> 16 -> 8
    for i, filters in enumerate(CONVLOCAL_LOCALS, start=len(CONVLOCAL_CONVS) + 1):
        x = LocallyConnected2D(filters, 3, padding="same", activation="relu", name=f"local{i}")(x)

    def top(x):
        x = layers.Flatten(name="flatten")(x)
        return classifier_head(x, num_classes, pooling=None, classifier_activation=classifier_activation)

    return finish(inputs, x, top, include_top=include_top, pooling=pooling, name=name)


for _name, _lrn in CONVLOCAL_VARIANTS.items():
    # Every layer pads ("same"): any side builds, and the locally connected layers take the size it gives.
    register_model(_name, convlocal, input_shape=(32, 32, 3), min_size=1, family="convlocal", lrn=_lrn)
