import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from layer_checks import check_layer

from kerascnn.layers import ResidualBlock


def zero_residual(block):
    """Zeroes every conv kernel, so that F(x) = BN(0) = 0 and the block outputs relu(shortcut(x))."""
    block.set_weights([np.zeros_like(w) if w.ndim == 4 and "shortcut" not in w.path else w for w in block.weights])


@pytest.mark.parametrize(
    "kwargs, input_shape, output_shape",
    [
        ({"filters": 8}, (2, 8, 8, 8), (2, 8, 8, 8)),
        ({"filters": 8, "strides": 2, "shortcut": "A"}, (2, 8, 8, 4), (2, 4, 4, 8)),
        ({"filters": 4, "bottleneck": True, "strides": 2, "shortcut": "C"}, (2, 9, 9, 8), (2, 5, 5, 16)),
        ({"filters": 4, "bottleneck": True, "dilation_rate": 2, "stride_in_3x3": True}, (2, 8, 8, 16), (2, 8, 8, 16)),
        ({"filters": 4, "residual": False, "strides": 2, "dilation_rate": 2}, (2, 8, 8, 4), (2, 4, 4, 4)),
        (
            {"filters": 4, "bottleneck": True, "strides": 2, "shortcut": "C", "folded": True},
            (2, 9, 9, 8),
            (2, 5, 5, 16),
        ),
    ],
)
def test_layer_contract(kwargs, input_shape, output_shape):
    check_layer(ResidualBlock, kwargs, input_shape, output_shape)


def test_option_a_shortcut_is_parameter_free_zero_padded_identity():
    block = ResidualBlock(8, strides=2, shortcut="A")
    x = np.random.default_rng(0).standard_normal((1, 6, 6, 4)).astype("float32")
    block(x)
    # Parameters of the two 3x3 convs and their BNs only: 3*3*4*8 + 3*3*8*8 + 2*(2*8) trainable.
    assert sum(int(np.prod(w.shape)) for w in block.trainable_weights) == 288 + 576 + 32
    zero_residual(block)
    expected = np.maximum(np.pad(x[:, ::2, ::2, :], [(0, 0)] * 3 + [(0, 4)]), 0)
    np.testing.assert_allclose(block(x, training=False), expected, atol=1e-6)


@pytest.mark.parametrize(
    "shortcut, strides, channels, projects",
    [
        ("B", 1, 8, False),
        ("B", 2, 8, True),
        ("B", 1, 4, True),
        ("C", 1, 8, True),
        ("A", 2, 4, False),
    ],
)
def test_projection_only_where_the_option_asks(shortcut, strides, channels, projects):
    block = ResidualBlock(8, strides=strides, shortcut=shortcut)
    block.build((None, 8, 8, channels))
    assert (block.projection is not None) == projects
    names = {w.path.split("/")[-2] for w in block.weights}
    assert ("shortcut_conv" in names) == projects


def test_plain_block_has_no_shortcut():
    x = np.random.default_rng(1).standard_normal((1, 6, 6, 8)).astype("float32")
    block = ResidualBlock(8, residual=False)
    block(x)
    zero_residual(block)
    np.testing.assert_array_equal(block(x, training=False), 0.0)  # relu(F(x)) with F = 0, no identity added


@pytest.mark.parametrize("stride_in_3x3, strides", [(False, (2, 1, 1)), (True, (1, 2, 1))])
def test_bottleneck_stride_placement(stride_in_3x3, strides):
    block = ResidualBlock(4, bottleneck=True, strides=2, stride_in_3x3=stride_in_3x3)
    block.build((None, 8, 8, 16))
    assert tuple(conv.strides[0] for conv in block.convs) == strides
    assert tuple(conv.kernel_size[0] for conv in block.convs) == (1, 3, 1)


def test_strided_3x3_pads_one_pixel_on_every_side_as_caffe():
    # On an even input, Caffe's pad 1 centres the windows on pixels 0, 2, 4...; Keras' "same" would centre them
    # on 1, 3, 5.... With a kernel that picks the centre tap, the output is x[::2].
    x = np.random.default_rng(2).standard_normal((1, 8, 8, 1)).astype("float32")
    block = ResidualBlock(1, strides=2, residual=False)
    block(x)
    kernel = np.zeros((3, 3, 1, 1), "float32")
    kernel[1, 1] = 1.0
    block.convs[0].set_weights([kernel])
    first = block.norms[0](block.convs[0](x), training=False)
    np.testing.assert_allclose(first, x[:, ::2, ::2, :] / np.sqrt(1 + 1e-5), rtol=1e-5)


def test_strided_projection_gradient_does_not_crash():
    # TensorFlow 2.21's oneDNN CPU input gradient of a strided 1x1 convolution corrupts the heap on this shape;
    # the block computes that convolution as a slice and a stride-1 1x1 (DilatedConv2D), in a child process here
    # so that a regression aborts it rather than the test run.
    code = """
import numpy as np, tensorflow as tf, keras
from kerascnn.layers import ResidualBlock
inputs = keras.Input((24, 24, 8))
model = keras.Model(inputs, ResidualBlock(16, strides=2, shortcut="B")(inputs))
x = tf.constant(np.random.rand(1, 24, 24, 8).astype("float32"))
for _ in range(20):
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(model(x, training=False)[0, 6, 6])
    assert tape.gradient(y, x) is not None
print("survived")
"""
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])},
    )
    assert result.returncode == 0 and "survived" in result.stdout, result.stderr[-500:]
