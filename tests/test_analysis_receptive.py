"""kerascnn.analysis.receptive: receptive fields and jumps against the recurrence worked by hand, against published
values, and against the gradient of one output unit with respect to the input."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import layers

import kerascnn
from kerascnn.analysis import layer_stats, receptive_field_growth
from kerascnn.layers import DilatedConv2D, ResidualBlock


def recurrence(windows):
    """r and j after a chain of (kernel, stride, dilation) windows: r += (k - 1) d j, j *= s."""
    r, j = 1, 1
    for k, s, d in windows:
        r, j = r + (k - 1) * d * j, j * s
    return r, j


def test_vgg16_by_hand():
    conv, pool = (3, 1, 1), (2, 2, 1)
    blocks = (2, 2, 3, 3, 3)
    stats = layer_stats(kerascnn.get_model("vgg16", include_top=False))
    windows = []
    for b, convs in enumerate(blocks, start=1):
        for c in range(1, convs + 1):
            windows.append(conv)
            assert stats[f"block{b}_conv{c}"].receptive_field == (recurrence(windows)[0],) * 2
        windows.append(pool)
        assert stats[f"block{b}_pool"].jump == (recurrence(windows)[1],) * 2
    assert stats["block5_pool"].receptive_field == (212, 212)  # Araujo et al., Distill 2019, Table 1


@pytest.mark.parametrize(
    "name, layer, field",
    [
        # Published values: Araujo, Norris & Sim, "Computing Receptive Fields of CNNs", Distill 2019, Table 1.
        ("alexnet", "pool5", 195),
        ("resnet50", "conv5_block3/out", 483),
        ("resnet101", "conv5_block3/out", 1027),
        # By hand: 7x7/2 conv, 3x3/2 pool, then (3 - 1) x jump per 3x3 conv.
        ("resnet18", "conv2_block1/conv2", 7 + 2 * 2 + 2 * 4 + 2 * 4),
        ("resnet18", "conv3_block1/conv1", 27 + 2 * 4 + 2 * 4 + 2 * 4),
    ],
)
def test_fields_of_the_zoo(name, layer, field):
    stats = layer_stats(kerascnn.get_model(name, include_top=False))
    assert stats[layer].receptive_field == (field, field)


def test_merges_take_the_union_of_their_branches():
    stats = layer_stats(kerascnn.get_model("googlenet", include_top=False))
    before = stats["pool2"]
    assert before.receptive_field == (27, 27) and before.jump == (8, 8)
    # The 5x5 branch is the widest: 27 + (5 - 1) * 8, centred like the others.
    assert stats["inception_3a/concat"].receptive_field == (59, 59)
    assert stats["inception_3a/concat"].field.start == stats["inception_3a/5x5"].field.start
    # A strided block: the field of its shortcut (1x1/2) is inside its residual path's.
    resnet = layer_stats(kerascnn.get_model("resnet18", include_top=False))
    assert resnet["conv3_block1/add"].field == resnet["conv3_block1/bn2"].field


@pytest.mark.parametrize(
    "padding, strides, start",
    # Kernel 3 at dilation 3 spans 7 pixels. "same" pads 6 at stride 1 (3 before); at stride 2 on 16 pixels it
    # pads (8 - 1) * 2 + 7 - 16 = 5, TensorFlow's odd pixel after: 2 before.
    [("valid", 1, 0), ("full", 1, -6), (2, 1, -2), ("same", 1, -3), ("same", 2, -2)],
)
def test_dilated_conv_padding_moves_the_field(padding, strides, start):
    inputs = keras.Input((16, 16, 1))
    x = DilatedConv2D(1, 3, strides=strides, dilation_rate=3, padding=padding, name="conv")(inputs)
    row = layer_stats(keras.Model(inputs, x))["conv"]
    assert row.field.start == (start, start)
    assert row.receptive_field == (7, 7) and row.jump == (strides, strides)


def test_causal_conv1d_looks_only_back():
    inputs = keras.Input((32, 1))
    x = layers.Conv1D(1, 3, dilation_rate=4, padding="causal", name="conv")(inputs)
    row = layer_stats(keras.Model(inputs, x))["conv"]
    assert row.field.start == (-8,) and row.field.end == (0,)


def test_growth_by_depth():
    stats = layer_stats(kerascnn.get_model("vgg11", include_top=False))
    growth = receptive_field_growth(stats)
    assert [p.depth for p in growth] == list(range(len(growth)))
    assert growth[0].receptive_field == 1 and growth[1].receptive_field == 3
    assert all(b.receptive_field >= a.receptive_field for a, b in zip(growth, growth[1:]))
    assert growth[-1].name == "block5_pool" and growth[-1].jump == 32


def _gradient_support(model, unit):
    """Pixels (rows, cols) of the input on which output unit `unit` (row, col) depends: non-zero gradient."""
    rng = np.random.default_rng(0)
    for weight in model.weights:
        if weight.trainable:
            # Positive weights, zero biases and positive inputs: every ReLU passes, no path cancels another.
            value = np.zeros(weight.shape) if "bias" in weight.name else rng.uniform(0.1, 1.0, weight.shape)
            weight.assign(value.astype("float32"))
    x = tf.constant(rng.uniform(0.5, 1.0, (1, *model.input.shape[1:])).astype("float32"))
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(model(x, training=False)[0, unit[0], unit[1]])
    gradient = np.abs(tape.gradient(y, x).numpy()[0]).sum(axis=-1)
    return np.nonzero(gradient > 0)


def _small_dag(dilated):
    inputs = keras.Input((48, 48, 2))
    x = layers.Conv2D(4, 3, strides=2, padding="same", activation="relu", name="c1")(inputs)
    x = layers.ZeroPadding2D(1)(x)
    x = layers.AveragePooling2D(3, strides=1, name="pool")(x)
    a = layers.Conv2D(4, 1, name="a")(x)
    b = layers.Conv2D(4, 5, padding="same", name="b")(x)
    x = layers.Concatenate(name="cat")([a, b])
    # Option A: TensorFlow 2.21's CPU gradient of a 1x1 stride-2 convolution (option B's projection) corrupts the
    # heap for inputs this small.
    x = ResidualBlock(16, strides=2, shortcut="A", name="block")(x)
    if dilated:
        x = DilatedConv2D(4, 3, dilation_rate=2, padding="same", name="dilated")(x)
    return keras.Model(inputs, x)


@pytest.mark.parametrize("dilated", [False, True])
def test_gradient_is_nonzero_exactly_inside_the_field(dilated):
    model = _small_dag(dilated)
    stats = layer_stats(model)
    field = stats.layers[-1].field
    unit = tuple(m // 2 for m in model.output.shape[1:3])
    rows, cols = _gradient_support(model, unit)
    (top, bottom), (left, right) = field.span(unit)
    size = model.input.shape[1]
    top, bottom, left, right = max(top, 0), min(bottom, size - 1), max(left, 0), min(right, size - 1)  # in the image
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (top, bottom, left, right)
    if not dilated:  # without dilation's holes, every pixel of the field counts
        assert len(rows) == (bottom - top + 1) * (right - left + 1)
    assert field.size[0] < size  # the check means something only if the field does not cover the image
