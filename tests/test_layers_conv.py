import itertools
import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from conv_reference import conv2d_numpy, kernel_gradient_numpy, locally_connected_numpy
from layer_checks import check_layer

from kerascnn.layers import DilatedConv2D, GroupedConv2D, LocallyConnected2D, conv_output_size


def test_layer_contract():
    check_layer(
        DilatedConv2D,
        {"filters": 4, "kernel_size": 3, "strides": 2, "dilation_rate": 2, "padding": 2},
        (2, 9, 9, 3),
        (2, 5, 5, 4),
    )  # (9 + 4 - 3 - 2) // 2 + 1
    # "same" with a stride and a dilation both above 1: its padding depends on the size, which the any-size check
    # leaves unknown (it failed there, and at `model.export`, before the padding was computed from the dynamic
    # shape). Odd and even sizes pad differently.
    for size in (9, 10):
        check_layer(
            DilatedConv2D,
            {"filters": 4, "kernel_size": 3, "strides": 2, "dilation_rate": 2, "padding": "same"},
            (2, size, size, 3),
            (2, 5, 5, 4),
        )
    check_layer(GroupedConv2D, {"filters": 4, "kernel_size": 3, "groups": 2, "padding": "same"}, (2, 6, 6, 4))
    # Weights for each output position: built for one input size, so not traced at any size.
    check_layer(
        LocallyConnected2D,
        {"filters": 4, "kernel_size": 3, "strides": 2, "padding": 1, "activation": "relu"},
        (2, 7, 6, 3),
        (2, 4, 3, 4),  # (7 + 2 - 3) // 2 + 1, (6 + 2 - 3) // 2 + 1
        any_size=False,
    )


# Sizes m, kernels n, strides s, dilations d and paddings p, s > 1 together with d > 1 included.
GRID = [
    g
    for g in itertools.product((7, 10, 13), (1, 2, 3, 5), (1, 2, 3), (1, 2, 3), (0, 1, 2))
    if conv_output_size(*g) >= 1
]


def test_output_size_formula_over_a_grid():
    x_by_size = {m: np.zeros((1, m, m, 1), "float32") for m in (7, 10, 13)}
    for m, n, s, d, p in GRID:
        expected = math.floor((m + 2 * p - n - (n - 1) * (d - 1)) / s) + 1
        layer = DilatedConv2D(1, n, strides=s, dilation_rate=d, padding=p)
        assert layer(x_by_size[m]).shape[1:3] == (expected, expected), (m, n, s, d, p)
        assert layer.compute_output_shape((1, m, m, 1))[1:3] == (expected, expected)


@pytest.mark.parametrize("m, n, s, d, p", [g for g in GRID if g[0] == 10][::3] + [(13, 5, 3, 3, 2), (13, 3, 2, 3, 0)])
def test_values_match_numpy(m, n, s, d, p):
    x = np.random.default_rng(0).standard_normal((2, m, m, 3)).astype("float32")
    layer = DilatedConv2D(4, n, strides=s, dilation_rate=d, padding=p, use_bias=False)
    y = layer(x)
    expected = conv2d_numpy(x, np.asarray(layer.kernel), (s, s), (d, d), ((p, p), (p, p)))
    np.testing.assert_allclose(y, expected, atol=1e-4)


def test_full_padding_pads_the_effective_kernel_less_one():
    x = np.random.default_rng(1).standard_normal((1, 6, 6, 2)).astype("float32")
    layer = DilatedConv2D(3, 3, dilation_rate=2, padding="full", use_bias=False)
    y = layer(x)
    assert y.shape[1:3] == (10, 10)  # 6 + 2*4 - 5 + 1
    expected = conv2d_numpy(x, np.asarray(layer.kernel), dilation=(2, 2), pads=((4, 4),) * 2)
    np.testing.assert_allclose(y, expected, atol=1e-4)


@pytest.mark.parametrize("m, s, d", [(9, 2, 2), (10, 2, 3), (11, 3, 2), (8, 1, 2), (8, 2, 1)])
def test_same_padding_is_keras_same(m, s, d):
    # Keras' rule: output ceil(m/s), total padding max((out-1)*s + (n-1)*d + 1 - m, 0), the odd pixel at the end.
    x = np.random.default_rng(2).standard_normal((1, m, m, 2)).astype("float32")
    layer = DilatedConv2D(3, 3, strides=s, dilation_rate=d, padding="same", use_bias=False)
    y = layer(x)
    out = math.ceil(m / s)
    total = max((out - 1) * s + 2 * d + 1 - m, 0)
    pads = ((total // 2, total - total // 2),) * 2
    np.testing.assert_allclose(y, conv2d_numpy(x, np.asarray(layer.kernel), (s, s), (d, d), pads), atol=1e-4)
    if s == 1 or d == 1:
        reference = keras.layers.Conv2D(3, 3, strides=s, dilation_rate=d, padding="same", use_bias=False)
        reference.build(x.shape)
        reference.set_weights(layer.get_weights())
        np.testing.assert_allclose(y, reference(x), atol=1e-5)


def test_grouped_conv_equals_separate_convs_on_split_channels():
    x = np.random.default_rng(3).standard_normal((2, 7, 7, 6)).astype("float32")
    grouped = GroupedConv2D(8, 3, groups=2, padding=1)
    y = np.asarray(grouped(x))
    kernel, bias = (np.asarray(w) for w in grouped.get_weights())
    for g in range(2):
        tower = keras.layers.Conv2D(4, 3, padding="same")
        tower.build((2, 7, 7, 3))
        tower.set_weights([kernel[..., 4 * g : 4 * g + 4], bias[4 * g : 4 * g + 4]])
        np.testing.assert_allclose(y[..., 4 * g : 4 * g + 4], tower(x[..., 3 * g : 3 * g + 3]), atol=1e-5)
    # A second implementation: Keras' own grouped Conv2D with the same kernel (XLA-compiled on the CPU).
    reference = keras.layers.Conv2D(8, 3, padding="same", groups=2)
    reference.build(x.shape)
    reference.set_weights(grouped.get_weights())
    np.testing.assert_allclose(y, reference(x), atol=1e-5)


def test_grouped_towers_do_not_see_each_other():
    x = np.zeros((1, 5, 5, 4), "float32")
    x[..., :2] = 1.0  # only the first tower's inputs are non-zero
    y = np.asarray(GroupedConv2D(6, 3, groups=2, use_bias=False)(x))
    assert np.abs(y[..., :3]).sum() > 0
    np.testing.assert_array_equal(y[..., 3:], 0.0)


@pytest.mark.parametrize(
    "layer",
    [
        keras.layers.Conv2D(4, 3, use_bias=False),
        DilatedConv2D(4, 3, strides=2, dilation_rate=2, use_bias=False),
        DilatedConv2D(4, 2, strides=3, dilation_rate=3, use_bias=False),
    ],
)
def test_kernel_gradient_is_the_correlation_of_input_and_output_gradient(layer):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 11, 11, 3)).astype("float32")
    y = layer(x)
    target = rng.standard_normal(y.shape).astype("float32")
    with tf.GradientTape() as tape:
        y = layer(x)
        loss = 0.5 * tf.reduce_sum((y - target) ** 2)
    grad_kernel = tape.gradient(loss, layer.kernel)
    grad_y = np.asarray(y) - target  # dL/dy for the squared error
    strides = getattr(layer, "strides", (1, 1))
    dilation = getattr(layer, "dilation_rate", (1, 1))
    expected = kernel_gradient_numpy(x, grad_y, tuple(layer.kernel.shape), strides, dilation)
    np.testing.assert_allclose(grad_kernel, expected, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("shift", [(1, 0), (2, 3), (-3, 1)])
def test_stride_one_convolution_is_translation_equivariant(shift):
    x = np.random.default_rng(5).standard_normal((1, 24, 24, 2)).astype("float32")
    conv = DilatedConv2D(3, 5, dilation_rate=2, padding="same")
    shifted_then_conv = np.asarray(conv(np.roll(x, shift, axis=(1, 2))))
    conv_then_shifted = np.roll(np.asarray(conv(x)), shift, axis=(1, 2))
    # Away from the borders (the receptive field reaches 4 pixels, plus the shift's wrap-around) they are equal.
    border = 4 + 3
    inner = (slice(None), slice(border, -border), slice(border, -border))
    np.testing.assert_allclose(shifted_then_conv[inner], conv_then_shifted[inner], atol=1e-5)
    assert not np.allclose(shifted_then_conv, np.asarray(conv(x)), atol=1e-3)  # and the output did move


@pytest.mark.parametrize("strides", [(2, 2), (3, 2), (1, 3)])
def test_subsample_picks_every_strides_pixel_and_routes_the_gradient_back_to_it(strides):
    from kerascnn.layers.conv import subsample

    x = tf.constant(np.random.default_rng(3).standard_normal((2, 7, 8, 3)).astype("float32"))
    weights = tf.constant(np.random.default_rng(4).standard_normal(x[:, :: strides[0], :: strides[1]].shape), "float32")
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = subsample(x, strides)
        loss = tf.reduce_sum(y * weights)
    np.testing.assert_array_equal(y, x.numpy()[:, :: strides[0], :: strides[1], :])  # exact, not close
    expected = np.zeros(x.shape, "float32")
    expected[:, :: strides[0], :: strides[1], :] = weights
    np.testing.assert_array_equal(tape.gradient(loss, x), expected)


@pytest.mark.parametrize(
    "size, n, s, d, padding, pads",
    [
        ((7, 6), 3, 1, 1, "valid", ((0, 0), (0, 0))),
        ((8, 8), 3, 1, 1, "same", ((1, 1), (1, 1))),  # cuda-convnet's local3: 3x3, padding 1
        ((9, 7), 3, 2, 1, "same", ((1, 1), (1, 1))),  # ceil(m / 2): total padding 2 and 2
        ((8, 9), 2, 2, 2, 1, ((1, 1), (1, 1))),
        ((5, 5), 2, 1, 1, "full", ((1, 1), (1, 1))),
    ],
)
def test_locally_connected_values_match_numpy(size, n, s, d, padding, pads):
    x = np.random.default_rng(6).standard_normal((2, *size, 3)).astype("float32")
    layer = LocallyConnected2D(4, n, strides=s, dilation_rate=d, padding=padding, bias_initializer="normal")
    y = np.asarray(layer(x))
    out_h, out_w = y.shape[1:3]
    # The documented layout: positions row-major, each row's taps ordered (u, v, c).
    kernels = np.asarray(layer.kernel).reshape(out_h, out_w, n, n, 3, 4)
    expected = locally_connected_numpy(x, kernels, np.asarray(layer.bias), (s, s), (d, d), pads)
    np.testing.assert_allclose(y, expected, atol=1e-4)


def test_locally_connected_with_one_kernel_everywhere_is_a_convolution():
    # A second implementation: Keras' Conv2D, whose kernel and bias every position is given.
    x = np.random.default_rng(7).standard_normal((2, 9, 8, 5)).astype("float32")
    conv = keras.layers.Conv2D(6, 3, strides=2, padding="same", bias_initializer="normal")
    expected = np.asarray(conv(x))
    local = LocallyConnected2D(6, 3, strides=2, padding="same")
    local.build(x.shape)
    kernel, bias = conv.get_weights()
    positions = expected.shape[1] * expected.shape[2]
    local.set_weights([np.broadcast_to(kernel.reshape(1, -1, 6), (positions, 45, 6)), np.broadcast_to(bias, (5, 4, 6))])
    np.testing.assert_allclose(local(x), expected, atol=1e-5)


def test_locally_connected_positions_do_not_share_weights():
    # Changing one position's kernel changes that position's output alone.
    x = np.random.default_rng(8).standard_normal((1, 6, 6, 2)).astype("float32")
    layer = LocallyConnected2D(3, 3)
    before = np.asarray(layer(x))
    kernel = np.asarray(layer.kernel).copy()
    kernel[5] += 1.0  # row 1, column 1 of the 4x4 output
    layer.kernel.assign(kernel)
    changed = np.abs(np.asarray(layer(x)) - before).sum(axis=-1) > 1e-6
    expected = np.zeros((1, 4, 4), bool)
    expected[0, 1, 1] = True
    np.testing.assert_array_equal(changed, expected)


@pytest.mark.parametrize("initializer", ["glorot_uniform", "he_normal", "lecun_normal"])
def test_locally_connected_kernels_start_with_conv2d_variance(initializer):
    # Keras reads a (positions, fan_in, filters) shape's fans as positions times too large; each position's kernel
    # must start as Conv2D's would (Glorot: 2 / (fan_in + taps * filters)).
    local = LocallyConnected2D(32, 3, kernel_initializer=initializer)
    local.build((None, 10, 10, 64))  # 64 positions of 576 x 32
    fan_in, fan_out = 9 * 64, 9 * 32
    variance = {"glorot_uniform": 2 / (fan_in + fan_out), "he_normal": 2 / fan_in, "lecun_normal": 1 / fan_in}
    np.testing.assert_allclose(np.var(np.asarray(local.kernel)), variance[initializer], rtol=0.03)


def test_locally_connected_needs_a_fixed_size():
    with pytest.raises(ValueError, match="needs a fixed input height and width"):
        keras.Model(*(lambda i: (i, LocallyConnected2D(2, 3)(i)))(keras.Input((None, None, 3))))
    with pytest.raises(ValueError, match="leaves no output position"):
        LocallyConnected2D(2, 5)(np.zeros((1, 3, 3, 1), "float32"))


def test_locally_connected_traces_where_the_size_is_unknown_but_the_weights_fix_it():
    # Keras' training function may trace a fixed-size model with its height and width relaxed to unknown: the
    # layer pads for the size it was built for (it failed there: None - 1 in the padding).
    layer = LocallyConnected2D(3, 3, padding="same")
    x = np.random.default_rng(9).standard_normal((2, 6, 5, 2)).astype("float32")
    expected = np.asarray(layer(x))
    traced = tf.function(layer).get_concrete_function(tf.TensorSpec((None, None, None, 2), "float32"))
    np.testing.assert_allclose(traced(tf.constant(x)), expected, atol=1e-6)
