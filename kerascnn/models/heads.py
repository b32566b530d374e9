"""The classifier head shared by every family: the backbone ends in feature maps, the head owns pooling, the
hidden fully connected layers, dropout and the classes."""

import functools

import keras
from keras import layers

POOLINGS = (None, "avg", "max", "flatten")


def pool_features(x, pooling, name="pool"):
    """Reduces feature maps to a vector: "avg" or "max" over space, "flatten", or None to keep the maps."""
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}.")
    if pooling == "avg":
        return layers.GlobalAveragePooling2D(name=f"avg_{name}")(x)
    if pooling == "max":
        return layers.GlobalMaxPooling2D(name=f"max_{name}")(x)
    if pooling == "flatten":
        return layers.Flatten(name="flatten")(x)
    return x


def classifier_head(
    x,
    num_classes,
    *,
    pooling="avg",
    hidden=(),
    dropout=0.0,
    classifier_activation="softmax",
):
    """Pooling, then Dense(units) + ReLU (+ dropout) for each of `hidden`, then the classes.

    The hidden layers are named fc6, fc7, ... as in AlexNet and VGG, so that `hidden=(4096, 4096)` reads like the
    papers. `dropout` follows every hidden layer, or the pooled features when there are none (GoogLeNet). The
    last layer, `predictions`, computes in float32 under a mixed precision policy: a float16 softmax saturates.
    `classifier_activation=None` returns logits.
    """
    x = pool_features(x, pooling)
    for i, units in enumerate(hidden, start=6):
        x = layers.Dense(units, activation="relu", name=f"fc{i}")(x)
        if dropout:
            x = layers.Dropout(dropout, name=f"fc{i}_dropout")(x)
    if dropout and not hidden:
        x = layers.Dropout(dropout, name="dropout")(x)
    return layers.Dense(num_classes, activation=classifier_activation, dtype="float32", name="predictions")(x)


def fc_head(num_classes, *, dropout, classifier_activation="softmax"):
    """AlexNet's head, which VGG kept: the maps flattened, fc6 and fc7 of 4096 units each followed by dropout,
    then the classes; a `top` for `finish`."""
    return functools.partial(
        classifier_head,
        num_classes=num_classes,
        pooling="flatten",
        hidden=(4096, 4096),
        dropout=dropout,
        classifier_activation=classifier_activation,
    )


def finish(inputs, x, top, *, include_top, pooling, name, auxiliary=()):
    """The end of every classifier family: with `include_top`, `top(x)` (the family's head, usually
    `functools.partial(classifier_head, num_classes=..., ...)`), else the features reduced by `pooling`
    (`pool_features`); `auxiliary` outputs follow the main one (GoogLeNet). Returns the functional model."""
    x = top(x) if include_top else pool_features(x, pooling)
    return keras.Model(inputs, [x, *auxiliary] if auxiliary else x, name=name)


def segmentation_head(logits, classifier_activation="softmax", name="predictions"):
    """The per-pixel classes of a dense-prediction network: `classifier_activation` over the channels of its
    [batch, height, width, classes] logits, computed in float32 under a mixed precision policy (a float16 softmax
    saturates); `classifier_activation=None` returns the logits, still in float32."""
    return layers.Activation(classifier_activation or "linear", dtype="float32", name=name)(logits)
