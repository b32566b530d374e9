"""LeNet-5: LeCun, Bottou, Bengio & Haffner, "Gradient-Based Learning Applied to Document Recognition",
Proc. IEEE 86(11), 1998, Sec. II-B and Fig. 2.

`lenet5_original` is the paper's network on its 32x32 grayscale input: C1 (six 5x5 maps), S2 (trainable 2x2
subsampling), C3 (sixteen 5x5 maps wired by Table I), S4, C5 (120 5x5 maps, each over all of S4), F6 (84 units),
all through the scaled tanh f(a) = 1.7159 tanh(2a/3): 60,000 trainable parameters up to F6, as the paper counts.
Its output layer is the paper's Euclidean RBF, y_i = |x - w_i|^2, with fixed centres; the paper's hand-drawn 7x12
bitmaps of ASCII characters are replaced by seeded +1/-1 codes, and the softmax over -y trained with
cross-entropy is the paper's MAP criterion without its "rubbish class" constant (`EuclideanRBF`).

`lenet5` is the network as it is usually taught today: the same layer sizes with a full C3, plain pooling and a
Dense softmax output: 61,706 parameters for 10 classes. Its activation is a switch (`activation="relu"` by
default, or "tanh", "sigmoid", ...) and so is its pooling (`pool="max"` by default, or "avg"). Departure from
what it cites: d2l.ai's LeNet (and the paper) use sigmoid units and average pooling, `activation="sigmoid",
pool="avg"` here (d2l.ai also pads C1 of a 28x28 input where this takes 32x32 unpadded: the same counts); the
defaults are the ReLU and max-pooling that later practice replaced them with, which train faster.
Both take inputs of any size from 32 up and any channel count; the input normalisation (the paper maps
background to -0.1 and ink to 1.175) belongs to the data pipeline.
"""

from keras import layers

from kerascnn.layers import LENET5_C3_TABLE, ConnectionTableConv2D, EuclideanRBF, Subsampling2D, lecun_tanh
from kerascnn.layers.lenet import negative
from kerascnn.models.heads import classifier_head, finish
from kerascnn.models.spec import register_model

POOLS = {"max": layers.MaxPooling2D, "avg": layers.AveragePooling2D}


def lenet5(
    *,
    input_shape=(32, 32, 1),
    num_classes=10,
    include_top=True,
    pooling=None,
    activation="relu",
    pool="max",
    classifier_activation="softmax",
    name="lenet5",
):
    """LeNet-5 as usually taught; see the module docstring."""
    if pool not in POOLS:
        raise ValueError(f"pool must be one of {sorted(POOLS)}, got {pool!r}.")
    inputs = layers.Input(input_shape, name="images")
    x = layers.Conv2D(6, 5, activation=activation, name="c1")(inputs)  # 32 -> 28
    x = POOLS[pool](2, name="s2")(x)  # -> 14
    x = layers.Conv2D(16, 5, activation=activation, name="c3")(x)  # -> 10
    x = POOLS[pool](2, name="s4")(x)  # -> 5
    x = layers.Conv2D(120, 5, activation=activation, name="c5")(x)  # -> 1

    def top(x):
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(84, activation=activation, name="f6")(x)
        return classifier_head(x, num_classes, pooling=None, classifier_activation=classifier_activation)

    return finish(inputs, x, top, include_top=include_top, pooling=pooling, name=name)


def lenet5_original(
    *,
    input_shape=(32, 32, 1),
    num_classes=10,
    include_top=True,
    pooling=None,
    classifier_activation="softmax",
    name="lenet5_original",
):
    """LeNet-5 as in the paper; see the module docstring."""
    inputs = layers.Input(input_shape, name="images")
    x = layers.Conv2D(6, 5, activation=lecun_tanh, name="c1")(inputs)  # 32 -> 28
    x = Subsampling2D(2, activation=lecun_tanh, name="s2")(x)  # -> 14
    x = ConnectionTableConv2D(LENET5_C3_TABLE, 5, activation=lecun_tanh, name="c3")(x)  # -> 10
    x = Subsampling2D(2, activation=lecun_tanh, name="s4")(x)  # -> 5
    x = layers.Conv2D(120, 5, activation=lecun_tanh, name="c5")(x)  # -> 1

    def top(x):
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(84, activation=lecun_tanh, name="f6")(x)
        # Penalties, negated into logits; all three in float32 under a mixed policy, like every classifier head.
        x = EuclideanRBF(num_classes, dtype="float32", name="rbf")(x)
        x = layers.Activation(negative, dtype="float32", name="logits")(x)
        return layers.Activation(classifier_activation, dtype="float32", name="predictions")(x)

    return finish(inputs, x, top, include_top=include_top, pooling=pooling, name=name)


register_model("lenet5", lenet5, input_shape=(32, 32, 1), min_size=32, family="lenet", aliases=("lenet",))
register_model("lenet5_original", lenet5_original, input_shape=(32, 32, 1), min_size=32, family="lenet")
