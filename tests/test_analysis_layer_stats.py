"""kerascnn.analysis.layer_stats: per-layer parameters and multiply-accumulates against the papers' figures and
the exact counts of docs/reference.md, on the zoo and on models built here."""

import functools
import math

import keras
import numpy as np
import pytest
from keras import layers

import kerascnn
from kerascnn.analysis import format_stats, layer_stats
from kerascnn.layers import ResidualBlock

# model, get_model keywords, MACs computed exactly in docs/reference.md (to the digits it gives), the paper's figure.
REFERENCE_MACS = [
    ("vgg19", {}, 19.632e9, "19.6G"),  # ResNet paper: "VGG-19 (19.6 billion FLOPs)", conv + FC
    ("resnet18", {}, 1.814e9, "1.8G"),  # ResNet paper, Table 1
    ("resnet34", {}, 3.664e9, "3.6G"),
    ("resnet50", {}, 3.858e9, "3.8G"),
    ("resnet101", {}, 7.570e9, "7.6G"),
    ("resnet152", {}, 11.282e9, "11.3G"),
    ("plain34", {}, 3.645e9, "3.6G"),  # ResNet paper, Sec. 3.3
    ("googlenet", {}, 1.583e9, "1.5G"),  # GoogLeNet paper: "1.5 billion multiply-adds"
    ("alexnet", {}, 724_406_816, None),
    ("alexnet_single", {}, 714_188_480, None),  # torchvision's _ops: 0.714
    ("lenet5", {"num_classes": 10}, 416_520, None),
    ("lenet5_original", {"num_classes": 10}, 326_520, None),  # up to F6 (325,680) + the RBF's 840
    ("resnet20", {"num_classes": 10}, 40.55e6, None),
]
# Keras' count_params() of the same models: docs/reference.md's totals (BN moving statistics included).
REFERENCE_PARAMS = {
    "vgg19": 143_667_240,
    "resnet18": 11_699_112,
    "resnet34": 21_814_696,
    "resnet50": 25_610_152,
    "resnet101": 44_654_504,
    "resnet152": 60_344_232,
    "alexnet": 60_965_224,
    "alexnet_single": 61_100_840,
    "googlenet": 6_998_552,
    "lenet5": 61_706,
    "lenet5_original": 60_000 + 840,  # trainable + the RBF's fixed centres
    "resnet20": 269_722 + 1_376,
}


@functools.cache
def zoo_stats(name, **kwargs):
    """(stats, count_params()) of a zoo model; the model itself is dropped, VGG-19 holds 575 MB of weights."""
    model = kerascnn.get_model(name, **kwargs)
    return layer_stats(model), model.count_params()


@pytest.mark.parametrize("name, kwargs, computed, published", REFERENCE_MACS, ids=[r[0] for r in REFERENCE_MACS])
def test_total_macs_match_the_reference_and_the_papers(name, kwargs, computed, published):
    stats, _ = zoo_stats(name, **kwargs)
    macs = stats.totals.macs
    # docs/reference.md's figures are exact to the digits given: 4 significant digits or the full integer.
    assert macs == pytest.approx(computed, rel=5e-4)
    if published is not None:
        # The papers round (ResNet-101: 7.57 -> 7.6) or truncate (ResNet-34: 3.66 -> 3.6) to the digits they quote.
        number, unit = float(published[:-1]), {"G": 1e9, "M": 1e6}[published[-1]]
        decimals = len(published[:-1].partition(".")[2])
        quoted = macs / unit * 10**decimals
        assert number * 10**decimals in (pytest.approx(round(quoted)), pytest.approx(math.floor(quoted)))


def test_vgg16_conv_macs_are_the_resnet_papers_15_3_billion():
    # The ResNet paper's VGG-16 figure counts the convolutions only (docs/reference.md, section 3).
    stats, _ = zoo_stats("vgg16")
    assert stats.totals.conv_macs == pytest.approx(15.347e9, rel=5e-4)
    assert stats.totals.macs == pytest.approx(15.470e9, rel=5e-4)


@pytest.mark.parametrize("name", sorted(REFERENCE_PARAMS))
def test_parameter_totals_equal_keras_and_the_reference(name):
    kwargs = next(r[1] for r in REFERENCE_MACS if r[0] == name)
    stats, count = zoo_stats(name, **kwargs)
    assert stats.totals.params == count == REFERENCE_PARAMS[name]
    assert stats.totals.unknown_macs == ()


def test_alexnet_rows_match_the_caffe_table():
    # docs/reference.md 2a, layer by layer: grouped convs count only their groups' connections.
    stats, _ = zoo_stats("alexnet")
    expected = {
        "conv1": (34_944, 105_415_200, (55, 55, 96)),
        "conv2": (307_456, 223_948_800, (27, 27, 256)),
        "conv3": (885_120, 149_520_384, (13, 13, 384)),
        "conv4": (663_936, 112_140_288, (13, 13, 384)),
        "conv5": (442_624, 74_760_192, (13, 13, 256)),
        "fc6": (37_752_832, 37_748_736, (4096,)),
    }
    for name, (params, macs, shape) in expected.items():
        assert (stats[name].params, stats[name].macs, stats[name].output_shape) == (params, macs, shape)


def test_lenet_c3_counts_its_connection_table():
    stats, _ = zoo_stats("lenet5_original", num_classes=10)
    assert stats["c3"].params == 1_516 and stats["c3"].macs == 150_000  # 1,500 weights x 10x10 positions
    assert stats["s2"].macs == 0  # subsampling is pooling: not counted


def test_googlenet_inception_rows_and_aux_heads():
    stats, _ = zoo_stats("googlenet", aux_classifiers=True)
    module = [r for r in stats.layers if r.name.startswith("inception_3a/")]
    assert sum(r.macs for r in module) == pytest.approx(128.0e6, rel=5e-4)  # docs/reference.md 4b
    assert stats["inception_3a/5x5"].window.kernel == (5, 5)
    assert stats.totals.params == 13_378_280
    assert stats.totals.macs - zoo_stats("googlenet")[0].totals.macs == pytest.approx(8.4e6, rel=0.01)


@pytest.mark.parametrize("shortcut, strides, widens", [("A", 2, True), ("B", 2, True), ("C", 1, False)])
def test_residual_blocks_expand_into_their_sublayers(shortcut, strides, widens):
    inputs = keras.Input((16, 16, 8))
    block = ResidualBlock(16 if widens else 8, strides=strides, shortcut=shortcut, name="block")
    model = keras.Model(inputs, block(inputs))
    stats = layer_stats(model)
    names = [r.name for r in stats.layers]
    assert names[1:3] == ["block/conv1", "block/bn1"]
    assert names[-2:] == ["block/add", "block/out"]
    assert ("block/shortcut_conv" in names) == (shortcut != "A")
    assert stats.totals.params == model.count_params()
    assert stats["block/out"].output_shape == tuple(model.output.shape[1:])


def test_nested_models_and_shared_layers():
    inner = keras.Sequential([keras.Input((8, 8, 4)), layers.Conv2D(6, 3, name="conv")], name="inner")
    shared = layers.Conv2D(6, 1, name="shared")
    inputs = keras.Input((8, 8, 4))
    x = inner(inputs)
    y = shared(x)
    z = shared(y)
    model = keras.Model(inputs, layers.Add()([y, z]))
    stats = layer_stats(model)
    assert stats["inner/conv"].macs == 3 * 3 * 4 * 6 * 6 * 6
    assert stats["shared"].params == 6 * 6 + 6 and stats["shared#2"].params == 0  # weights counted once
    assert stats["shared#2"].macs == stats["shared"].macs  # but computed twice
    assert stats.totals.params == model.count_params()


def test_depthwise_separable_and_dilated_keras_layers():
    inputs = keras.Input((20, 20, 8))
    x = layers.DepthwiseConv2D(3, depth_multiplier=2, name="dw")(inputs)
    x = layers.SeparableConv2D(4, 3, dilation_rate=2, name="sep")(x)
    x = layers.Conv2D(8, 3, groups=2, padding="same", name="grouped")(x)
    model = keras.Model(inputs, x)
    stats = layer_stats(model)
    assert stats["dw"].macs == 3 * 3 * 8 * 2 * 18 * 18
    assert stats["sep"].macs == (3 * 3 * 16 + 16 * 4) * 14 * 14
    assert stats["grouped"].macs == 3 * 3 * 2 * 8 * 14 * 14


def test_mobilenet_matches_its_paper():
    # Howard et al. 2017, Table 8: 1.0 MobileNet-224 has 569 million mult-adds and 4.2 million parameters.
    model = keras.applications.MobileNet(weights=None)
    stats = layer_stats(model)
    assert stats.totals.macs == pytest.approx(569e6, rel=0.01)
    assert stats.totals.params == model.count_params()


def test_layers_it_does_not_know_are_reported_not_guessed():
    class MyConv(keras.layers.Layer):
        def build(self, input_shape):
            self.kernel = self.add_weight(name="kernel", shape=(3, 3, input_shape[-1], 4))

        def call(self, x):
            return keras.ops.conv(x, self.kernel, padding="same")

    inputs = keras.Input((8, 8, 3))
    x = MyConv(name="mine")(inputs)
    x = layers.UpSampling2D(interpolation="bilinear", name="up")(x)  # nearest-neighbour's window is described
    x = layers.Conv2D(2, 3, name="after")(x)
    stats = layer_stats(keras.Model(inputs, x))
    assert stats["mine"].macs is None and stats.totals.unknown_macs == ("mine",)
    assert "MACs not counted in mine: layers this tool does not know" in format_stats(stats)
    assert stats["up"].field is None and stats["after"].field is None  # upsampling's field is not described
    assert stats["after"].macs == 3 * 3 * 4 * 2 * 14 * 14


@pytest.mark.parametrize("fmt", ["table", "markdown", "json"])
def test_formats_show_every_layer_and_the_totals(fmt):
    stats, _ = zoo_stats("lenet5", num_classes=10)
    text = format_stats(stats, fmt)
    for row in stats.layers:
        assert row.name in text
    assert ("416,520" if fmt != "json" else '"macs": 416520') in text


def test_long_tables_are_cut_in_the_middle():
    stats, _ = zoo_stats("resnet18")
    text = format_stats(stats, "markdown", max_rows=12)
    assert f"... {len(stats.layers) - 12} more layers ..." in text
    assert "| images |" in text and "| predictions |" in text and "conv3_block1/conv1" not in text


def test_unbuilt_subclassed_model_is_refused():
    class Net(keras.Model):
        def call(self, x):
            return x

    with pytest.raises(ValueError, match="no graph"):
        layer_stats(Net())


def test_rows_are_in_graph_order():
    stats, _ = zoo_stats("resnet18")
    seen = set()
    order = [r.name for r in stats.layers]
    # Every block's addition comes after both its branches, and blocks follow one another.
    for name in order:
        if name.endswith("/add"):
            block = name.split("/")[0]
            assert {f"{block}/bn2"} <= seen
        seen.add(name)
    assert order.index("conv2_block2/conv1") > order.index("conv2_block1/out")
    assert np.all(np.diff([r.depth for r in stats.layers if "/" not in r.name or r.name.endswith("/out")]) >= 0)


def test_a_nested_model_called_twice_keeps_each_calls_field():
    inner = keras.Sequential([keras.Input((16, 16, 2)), layers.Conv2D(2, 3, padding="same", name="conv")], name="inner")
    inputs = keras.Input((16, 16, 2))
    a = inner(layers.Conv2D(2, 5, padding="same", name="wide")(inputs))  # field 5 + 2
    b = inner(layers.AveragePooling2D(3, strides=1, padding="same", name="pool")(inputs))  # field 3 + 2
    stats = layer_stats(keras.Model(inputs, layers.Concatenate(name="concat")([a, b])))
    calls = [r for r in stats.layers if r.name.endswith("/conv")]
    assert [r.receptive_field for r in calls] == [(7, 7), (5, 5)]
    assert calls[0].params == 2 * 2 * 9 + 2 and calls[1].params == 0
    assert stats["concat"].receptive_field == (7, 7)


def test_an_input_of_unknown_size_leaves_macs_uncounted_but_keeps_fields():
    inputs = keras.Input((None, None, 3))
    x = layers.Conv2D(4, 3, strides=2, padding="same", name="c1")(inputs)
    x = layers.Conv2D(4, 3, name="c2")(x)
    stats = layer_stats(keras.Model(inputs, layers.GlobalAveragePooling2D(name="gap")(x)))
    assert stats.totals.unknown_macs == ("c1", "c2")
    assert stats["c2"].receptive_field == (7, 7) and stats["c2"].jump == (2, 2)
    assert stats["gap"].field is None  # the whole map of an unknown size
    assert "MACs not counted in c1, c2: the input size is not fixed" in format_stats(stats)
