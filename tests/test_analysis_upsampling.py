"""The analysis of upsampling layers: their windows, receptive fields and multiply-accumulates."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

import kerascnn
from kerascnn.analysis import layer_stats
from kerascnn.analysis.receptive import Field, Window, through
from kerascnn.layers import (
    BilinearUpsampling2D,
    DilatedConv2D,
    MaxPoolingWithArgmax2D,
    MaxUnpooling2D,
    TransposedConv2D,
)
from pipelines import inspect


def test_a_transposed_window_divides_the_jump():
    # Unit y of a 4/2 transposed conv reads input units ceil((y - 3) / 2) to floor(y / 2): unit 0 reads -1 and 0.
    field = Field(start=(-5,), end=(5,), jump=(8,))
    window = Window((4,), (2,), (1,), ((0, 0),), transposed=True)
    assert through(field, window) == Field(start=(-13,), end=(5,), jump=(4,))
    # Cropping p = 1 first (FCN's padding of the transposed conv): unit 0 reads units -1 and 0 again, shifted.
    assert through(field, window._replace(padding=((1, 1),))) == Field(start=(-13,), end=(5,), jump=(4,))
    # Align-corners x8 (15 taps, 7 cropped): unit 0 is logit 0, units 1 to 7 read logits 0 and 1; the widest.
    bilinear = Window((15,), (8,), (1,), ((7, 0),), transposed=True)
    assert through(Field((-5,), (5,), (8,)), bilinear) == Field(start=(-6,), end=(12,), jump=(1,))


def _model(*layer_list, shape=(32, 32, 1)):
    inputs = keras.Input(shape)
    x = inputs
    for layer in layer_list:
        x = layer(x)
    return keras.Model(inputs, x)


def test_windows_of_the_upsampling_layers():
    model = _model(
        DilatedConv2D(2, 3, strides=2, padding=1, name="down"),
        TransposedConv2D(2, 4, strides=2, padding=1, name="up"),
        BilinearUpsampling2D(2, name="bilinear"),
    )
    stats = layer_stats(model)
    assert stats["up"].window == Window((4, 4), (2, 2), (1, 1), ((1, 1), (1, 1)), transposed=True)
    assert stats["bilinear"].window == Window((3, 3), (2, 2), (1, 1), ((1, 0), (1, 0)), transposed=True)
    assert stats["down"].jump == (2, 2) and stats["up"].jump == (1, 1)
    # MACs: a transposed conv applies its kernel once per input position.
    assert stats["up"].macs == 4 * 4 * 2 * 2 * 16 * 16 and stats["bilinear"].macs == 0

    inputs = keras.Input((8, 8, 3))
    values, switches = MaxPoolingWithArgmax2D(2, name="pool")(inputs)
    unpooled = MaxUnpooling2D(2, name="unpool")([values, switches])
    stats = layer_stats(keras.Model(inputs, unpooled))
    assert stats["unpool"].window == Window((2, 2), (2, 2), (1, 1), ((0, 0), (0, 0)), transposed=True)
    assert stats["unpool"].receptive_field == (2, 2) and stats["unpool"].jump == (1, 1)


def test_gradient_is_nonzero_exactly_inside_the_field_of_an_upsampled_unit():
    model = _model(
        DilatedConv2D(2, 3, strides=2, padding=1, activation="relu"),
        DilatedConv2D(2, 3, strides=2, padding=1, activation="relu"),
        TransposedConv2D(2, 4, strides=2, padding=1, name="up"),
    )
    field = layer_stats(model)["up"].field
    rng = np.random.default_rng(0)
    for weight in model.weights:  # positive weights and inputs: every ReLU passes, no path cancels another
        weight.assign(np.zeros(weight.shape) if "bias" in weight.name else rng.uniform(0.1, 1, weight.shape))
    x = tf.constant(rng.uniform(0.5, 1, (1, 32, 32, 1)).astype("float32"))
    supports = {}
    for unit in ((8, 8), (10, 6), (9, 6)):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = tf.reduce_sum(model(x)[0, unit[0], unit[1]])
        rows, cols = np.nonzero(np.abs(tape.gradient(y, x).numpy()[0, :, :, 0]) > 0)
        supports[unit] = (rows.min(), rows.max()), (cols.min(), cols.max())
    # The units of the field's phase (even here) see exactly the field, moved by the jump.
    assert supports[(8, 8)] == field.span((8, 8)) and supports[(10, 6)] == field.span((10, 6))
    # The others are no translate of it: with p = 1, units 9 and 10 read the same two inputs.
    assert supports[(9, 6)] == supports[(10, 6)] != field.span((9, 6))


# By hand, with the recurrence r += (k - 1) * d * jump (and an upsampling by s reading k / s inputs per unit):
# FCN: VGG-16 (conv1_1 padded, 2x2 pools) to pool5 212, fc6 7x7 at jump 32: 404, the value quoted for FCN-VGG16;
# FCN-32s' upscore 64/32 reads 2 units: + 32 = 436; FCN-16s: upscore2 + 32, upscore16 + 16 = 452; FCN-8s: + 32 +
# 16 + 8 = 460. U-Net: contracting path 140 at the bottom (jump 16), each up level two 3x3 convs: + 32 + 16 + 8 + 4
# = 200. DeepLab-LargeFOV: fc8 419 (see test_models_dense.py), interpolation between two logits + 8 = 427.
DENSE_FIELDS = [
    ("fcn8s", "score_fr", 404),
    ("fcn32s", "predictions", 436),
    ("fcn16s", "predictions", 452),
    ("fcn8s", "predictions", 460),
    ("unet", "bottom_conv2", 140),
    ("unet", "predictions", 200),
    ("deeplab_largefov", "fc8", 419),
    ("deeplab_largefov", "predictions", 427),
]


@pytest.mark.parametrize("name, layer, field", DENSE_FIELDS)
def test_fields_of_the_dense_zoo(name, layer, field):
    stats = layer_stats(kerascnn.get_model(name, num_classes=3, width_multiplier=1 / 16))
    assert stats[layer].receptive_field == (field, field)
    assert not stats.totals.unknown_macs


def test_inspect_reports_a_segmentation_model(capsys):
    inspect.main(["fcn8s", "--input-size", "64", "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    rows = {row["name"]: row for row in report["layers"]}
    assert rows["upscore8"]["window"] == {
        "kernel": [16, 16],
        "stride": [8, 8],
        "dilation": [1, 1],
        "padding": [[0, 0], [0, 0]],
        "transposed": True,
    }
    # 64 px: +198 = 262 -> 131, 66, 33, 17, 9 -> fc6 3 -> upscore2 8 -> upscore_pool4 18; 21 classes, the paper's.
    assert rows["upscore8"]["macs"] == 16 * 16 * 21 * 21 * 18 * 18
    assert rows["predictions"]["output_shape"] == [64, 64, 21] and rows["predictions"]["receptive_field"] == [460, 460]
    assert report["totals"]["params"] == 134_362_751 + 127_008 and not report["totals"]["unknown_macs"]
