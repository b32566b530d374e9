"""The lecture's fully connected network, the baseline the convolutional ones are measured against: an image
flattened to a vector, then dense layers.

The lecture's claims (docs/reference.md, "The lecture's dense network"): its own CIFAR-10 experiment "used grey 32x32
inputs as 1,024-vectors and a first layer of 512 nodes"; and a first dense layer on a 224x224x3 image needs
224 * 224 * 3 = 150,528 weights per node, 150,528 * 1,024 = 154,140,672 for 1,024 nodes (`first_layer_weights`),
where a 3x3 conv of 1,024 filters on the same image has 3 * 3 * 3 * 1,024 = 27,648.

`dense` is 1,024-512-256-10: the lecture's 1,024-vector and first layer of 512 ReLUs, then a second hidden layer of
256 (our choice: the lecture gives only the first; one more layer halving the width is the usual taper, e.g.
Fashion-MNIST's MLP benchmark of 256-128-100, and gives the network two hidden layers as LeNet-5 has two fully
connected ones), then the classes with a softmax. No dropout, batch normalisation or weight decay: the comparison
is of the architecture alone. `hidden` takes other widths and depths, `activation` another nonlinearity.

The input is grey by default, (32, 32, 1): the lecture's 1,024-vector is a grey 32x32 image; three channels would
make it a 3,072-vector and triple the first layer's weights (1,572,864 where the lecture has 524,288), another
network. CIFAR-10 images are turned grey by the data pipeline (ITU-R 601 luma), MNIST-family ones are grey already
and padded from 28x28 to 32x32 by their recipe (kerascnn/training/recipes.py), as for LeNet-5.

Parameters (10 classes, by hand: n_in * n_out + n_out per layer): 1,024 * 512 + 512 = 524,800; 512 * 256 + 256 =
131,328; 256 * 10 + 10 = 2,570: 658,698.

Without the top the model ends in the last hidden layer's vector of features (256): there are no maps to pool, so
`pooling` must be None (or "flatten", which leaves a vector as it is).
"""

import functools
import math

from keras import layers

from kerascnn.models.heads import classifier_head, finish
from kerascnn.models.spec import register_model

# name: the hidden layers' widths, the first the lecture's 512.
DENSE_VARIANTS = {"dense": (512, 256)}


def first_layer_weights(input_shape, units):
    """The weights (biases left out) of a dense layer of `units` nodes on an image of `input_shape` flattened:
    every pixel of every channel to every node, (224, 224, 3) and 1,024 -> 154,140,672."""
    return math.prod(input_shape) * units


def dense(
    *,
    hidden=DENSE_VARIANTS["dense"],
    input_shape=(32, 32, 1),
    num_classes=10,
    include_top=True,
    pooling=None,
    activation="relu",
    classifier_activation="softmax",
    name="dense",
):
    """A fully connected network on the flattened image; see the module docstring."""
    if not include_top and pooling not in (None, "flatten"):
        raise ValueError(f"{name} ends in a vector of features, with no maps to pool: use pooling=None.")
    inputs = layers.Input(input_shape, name="images")
    x = layers.Flatten(name="flatten")(inputs)  # 32x32x1 -> 1,024
    for i, units in enumerate(hidden, start=1):
        x = layers.Dense(units, activation=activation, name=f"fc{i}")(x)
    top = functools.partial(
        classifier_head, num_classes=num_classes, pooling=None, classifier_activation=classifier_activation
    )
    return finish(inputs, x, top, include_top=include_top, pooling=None, name=name)


for _name, _hidden in DENSE_VARIANTS.items():
    # Flattening takes any size.
    register_model(_name, dense, input_shape=(32, 32, 1), min_size=1, family="dense", hidden=_hidden)
