import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf
from conv_reference import conv2d_numpy
from layer_checks import check_layer

from kerascnn.layers import (
    BilinearKernel,
    BilinearUpsampling2D,
    Crop2D,
    DilatedConv2D,
    MaxPoolingWithArgmax2D,
    MaxUnpooling2D,
    TransposedConv2D,
    bilinear_upsampling,
)


def conv_size(i, k, s, d, p):
    return (i + 2 * p - d * (k - 1) - 1) // s + 1


# Input sizes i of the convolution, kernels k, strides s, dilations d, paddings p; the output padding a that makes
# the transposed convolution give back i is (i + 2p - d(k-1) - 1) mod s, so every a in [0, s) occurs.
GRID = [g for g in itertools.product((7, 10), (1, 2, 3), (1, 2, 3), (1, 2), (0, 1, 2)) if conv_size(*g) >= 1]


def _transposed_of(i, k, s, d, p, filters, **kwargs):
    a = (i + 2 * p - d * (k - 1) - 1) % s
    return TransposedConv2D(filters, k, strides=s, dilation_rate=d, padding=p, output_padding=a, **kwargs), a


def test_layer_contract():
    check_layer(
        TransposedConv2D,
        {"filters": 4, "kernel_size": 3, "strides": 2, "dilation_rate": 2, "padding": 1, "output_padding": 1},
        (2, 5, 5, 3),
        (2, 12, 12, 4),  # 2 * 4 + 1 + 2 * 2 + 1 - 2
    )
    check_layer(TransposedConv2D, {"filters": 2, "kernel_size": 4, "strides": 2, "padding": "same"}, (2, 5, 6, 3))
    check_layer(BilinearUpsampling2D, {"factor": 4}, (2, 3, 5, 2), (2, 12, 20, 2))


@pytest.mark.parametrize(
    "layer_cls, kwargs, inputs",
    [
        (Crop2D, {"offset": (1, 2)}, [(2, 9, 9, 3), (2, 4, 5, 1)]),
        (MaxUnpooling2D, {"pool_size": 2}, None),
        (MaxPoolingWithArgmax2D, {"pool_size": (2, 3)}, [(2, 8, 9, 3)]),
    ],
)
def test_multi_tensor_layer_contract(layer_cls, kwargs, inputs):
    # check_layer's checks, for the layers that take or return more than one tensor.
    rng = np.random.default_rng(0)
    if inputs is None:  # unpooling takes the values and the switches of a pooling
        values = rng.standard_normal((2, 3, 4, 3)).astype("float32")
        x = [values, rng.integers(0, 4, (2, 3, 4, 3)).astype("int32")]
    else:
        x = [rng.standard_normal(shape).astype("float32") for shape in inputs]
    x = x if len(x) > 1 else x[0]
    layer = layer_cls(**kwargs)
    assert layer.built  # stateless: built once instantiated, as check_layer requires
    y = layer(x)
    config = layer.get_config()
    assert layer_cls.from_config(config).get_config() == config
    serialized = keras.saving.serialize_keras_object(layer)
    assert serialized["registered_name"] == f"kerascnn>{layer_cls.__name__}"
    restored = keras.saving.deserialize_keras_object(serialized)
    for a, b in zip(keras.tree.flatten(restored(x)), keras.tree.flatten(y)):
        np.testing.assert_array_equal(a, b)
    shapes = keras.tree.map_structure(lambda t: t.shape, x)
    expected = layer.compute_output_shape(shapes)
    assert [tuple(e) for e in (expected if isinstance(expected, list) else [expected])] == [
        tuple(t.shape) for t in keras.tree.flatten(y)
    ]
    for policy in ("mixed_float16", "mixed_bfloat16"):
        out = keras.tree.flatten(layer_cls(**kwargs, dtype=policy)(x))
        assert np.isfinite(np.asarray(keras.ops.cast(out[0], "float32"))).all()


def test_output_size_formula_over_a_grid():
    for i, k, s, d, p in GRID:
        layer, a = _transposed_of(i, k, s, d, p, 1)
        o = conv_size(i, k, s, d, p)
        expected = s * (o - 1) + a + d * (k - 1) + 1 - 2 * p  # Dumoulin & Visin, relationship 14, dilated
        assert expected == i  # the output padding recovers the convolution's input
        assert layer(np.zeros((1, o, o, 1), "float32")).shape[1:3] == (i, i), (i, k, s, d, p)
        assert layer.compute_output_shape((1, o, o, 1))[1:3] == (i, i)


def test_adjoint_identity_over_a_grid():
    # <conv(x; K), y> = <x, conv_T(y; K)>: the convolution from the NumPy definition, the transposed from the layer.
    rng = np.random.default_rng(1)
    for i, k, s, d, p in GRID:
        o = conv_size(i, k, s, d, p)
        x = rng.standard_normal((1, i, i, 2))
        y = rng.standard_normal((1, o, o, 3)).astype("float32")
        layer, _ = _transposed_of(i, k, s, d, p, 2, use_bias=False)
        layer.build(y.shape)
        kernel = rng.standard_normal(layer.kernel.shape).astype("float32")  # (k, k, 2, 3): the conv's 2 -> 3
        layer.set_weights([kernel])
        left = np.sum(conv2d_numpy(x, kernel, (s, s), (d, d), ((p, p), (p, p))) * y)
        right = np.sum(x * np.asarray(layer(y), "float64"))
        np.testing.assert_allclose(left, right, rtol=1e-4, err_msg=str((i, k, s, d, p)))


@pytest.mark.parametrize("i, k, s, d, p", [(10, 3, 2, 2, 1), (9, 3, 3, 1, 0), (7, 2, 2, 1, 2), (8, 5, 1, 2, "same")])
def test_input_gradient_of_a_conv_is_the_transposed_conv(i, k, s, d, p):
    rng = np.random.default_rng(2)
    conv = DilatedConv2D(4, k, strides=s, dilation_rate=d, padding=p, use_bias=False)
    x = tf.constant(rng.standard_normal((2, i, i, 3)).astype("float32"))
    with tf.GradientTape() as tape:
        tape.watch(x)
        out = conv(x)
        upstream = rng.standard_normal(out.shape).astype("float32")
        loss = tf.reduce_sum(out * upstream)
    pad = p if p != "same" else (d * (k - 1)) // 2
    a = (i + 2 * pad - d * (k - 1) - 1) % s
    transposed = TransposedConv2D(3, k, strides=s, dilation_rate=d, padding=pad, output_padding=a, use_bias=False)
    transposed.build(upstream.shape)
    transposed.set_weights([np.asarray(conv.kernel)])
    np.testing.assert_allclose(tape.gradient(loss, x), transposed(upstream), atol=1e-4)


@pytest.mark.parametrize(
    "kernel_size, strides, padding, output_padding, dilation_rate",
    [
        (3, 2, "valid", None, 1),
        (4, 2, "same", None, 1),
        (3, 3, "valid", 2, 1),
        (5, 2, "same", 1, 1),
        (3, 1, "same", None, 2),
    ]
    + [(2, 3, "valid", None, 1), (3, 1, "valid", None, 3)],
)
def test_string_padding_matches_keras_conv2d_transpose(kernel_size, strides, padding, output_padding, dilation_rate):
    x = np.random.default_rng(3).standard_normal((2, 5, 6, 3)).astype("float32")
    ours = TransposedConv2D(4, kernel_size, strides, padding, output_padding, dilation_rate, bias_initializer="ones")
    y = ours(x)
    kernel, bias = ours.get_weights()
    reference_size, reference_dilation = kernel_size, dilation_rate
    if dilation_rate > 1:
        # TensorFlow's CPU kernel for a dilated transposed convolution exists only in oneDNN, which TensorFlow
        # enables on CPUs with AVX-512 VNNI or newer; elsewhere Keras' layer cannot run it. A dilated kernel is the
        # kernel with dilation_rate - 1 zeros between its taps: Keras' undilated layer with that kernel is the same
        # function on every CPU.
        size = dilation_rate * (kernel_size - 1) + 1
        spread = np.zeros((size, size, *kernel.shape[2:]), kernel.dtype)
        spread[::dilation_rate, ::dilation_rate] = kernel
        kernel, reference_size, reference_dilation = spread, size, 1
    keras_layer = keras.layers.Conv2DTranspose(
        4, reference_size, strides, padding, output_padding, dilation_rate=reference_dilation
    )
    keras_layer.build(x.shape)
    keras_layer.set_weights([kernel, bias])
    np.testing.assert_allclose(y, keras_layer(x), atol=1e-5)
    # An integer padding computes the same where it gives the same size: Keras' "valid" is p = 0.
    if padding == "valid" and output_padding is not None:
        explicit = TransposedConv2D(4, kernel_size, strides, 0, output_padding, dilation_rate)
        explicit.build(x.shape)
        explicit.set_weights(ours.get_weights())
        np.testing.assert_allclose(explicit(x), y, atol=1e-5)


def test_bilinear_kernel_is_fcn_upsample_filt():
    # upsample_filt(4) by hand: factor 2, centre 1.5, the ramp 1 - |x - 1.5| / 2.
    kernel = np.asarray(BilinearKernel()((4, 4, 3, 3)))
    ramp = np.array([0.25, 0.75, 0.75, 0.25])
    np.testing.assert_allclose(kernel[:, :, 1, 1], np.outer(ramp, ramp))
    assert not kernel[:, :, 0, 1].any() and not kernel[:, :, 2, 0].any()  # no channel mixes with another
    odd = np.asarray(BilinearKernel()((3, 3, 1, 1)))[:, :, 0, 0]  # factor 2, centre 1
    np.testing.assert_allclose(odd, np.outer([0.5, 1, 0.5], [0.5, 1, 0.5]))


def test_fixed_bilinear_2x_reproduces_a_linear_ramp_in_the_interior():
    rows, cols = np.meshgrid(np.arange(6.0), np.arange(7.0), indexing="ij")
    ramp = (3 * rows - 2 * cols + 1)[None, :, :, None].astype("float32")
    layer = bilinear_upsampling(1, 2)
    y = np.asarray(layer(ramp))[0, :, :, 0]
    assert y.shape == (14, 16) and not layer.trainable_weights and len(layer.non_trainable_weights) == 1
    # Output pixel m of a 4/2 transposed conv sits at input coordinate (m - 1.5) / 2.
    m, n = np.meshgrid(np.arange(14.0), np.arange(16.0), indexing="ij")
    expected = 3 * (m - 1.5) / 2 - 2 * (n - 1.5) / 2 + 1
    np.testing.assert_allclose(y[2:-2, 2:-2], expected[2:-2, 2:-2], atol=1e-5)
    assert not np.allclose(y[0], expected[0])  # the borders fade: the ramp is only reproduced inside


def test_align_corners_upsampling_puts_input_pixels_on_multiples_of_the_factor():
    rows, cols = np.meshgrid(np.arange(5.0), np.arange(4.0), indexing="ij")
    ramp = np.stack([rows + 2 * cols, -rows], axis=-1)[None].astype("float32")
    y = np.asarray(BilinearUpsampling2D(8)(ramp))[0]
    assert y.shape == (40, 32, 2)
    m, n = np.meshgrid(np.arange(33.0), np.arange(25.0), indexing="ij")  # up to the last input pixel, 8 * 4
    np.testing.assert_allclose(y[:33, :25, 0], m / 8 + 2 * n / 8, atol=1e-5)
    np.testing.assert_allclose(y[:33, :25, 1], -m / 8, atol=1e-5)


def test_unpooling_puts_each_maximum_at_its_argmax_and_its_gradient_flows_only_there():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 7, 6, 3)).astype("float32")  # the seventh row is dropped, as a valid pool does
    weights = rng.standard_normal((2, 6, 6, 3)).astype("float32")
    expected, expected_grad, pooled = np.zeros((2, 6, 6, 3)), np.zeros_like(x), np.zeros((2, 3, 3, 3))
    for b, i, j, c in itertools.product(range(2), range(3), range(3), range(3)):
        window = x[b, 2 * i : 2 * i + 2, 2 * j : 2 * j + 2, c]
        u, v = np.unravel_index(np.argmax(window), (2, 2))
        expected[b, 2 * i + u, 2 * j + v, c] = pooled[b, i, j, c] = window[u, v]
        expected_grad[b, 2 * i + u, 2 * j + v, c] = weights[b, 2 * i + u, 2 * j + v, c]
    pool, unpool = MaxPoolingWithArgmax2D(2), MaxUnpooling2D(2)
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        values, switches = pool(xt)
        y = unpool([values, switches])
        loss = tf.reduce_sum(y * weights)
    np.testing.assert_array_equal(values, pooled)
    np.testing.assert_array_equal(y, expected)
    np.testing.assert_allclose(tape.gradient(loss, xt), expected_grad, atol=1e-6)


def test_crop_takes_the_reference_size_at_the_offset():
    x = np.arange(2 * 9 * 8 * 1, dtype="float32").reshape(2, 9, 8, 1)
    y = Crop2D((2, 3))([x, np.zeros((2, 4, 5, 7), "float32")])
    np.testing.assert_array_equal(y, x[:, 2:6, 3:8, :])


def test_invalid_arguments_are_refused():
    with pytest.raises(ValueError, match="output_padding"):
        TransposedConv2D(2, 3, strides=2, output_padding=2)
    with pytest.raises(ValueError, match="full"):
        TransposedConv2D(2, 3, padding="full")
    with pytest.raises(ValueError, match="square"):
        BilinearKernel()((4, 4, 2, 3))
