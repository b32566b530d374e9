"""Every registered model: built at the paper's input with its parameters pinned, run, saved and reloaded."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import kerascnn

# Trainable parameters at the paper's input (docs/reference.md; torchvision's num_params for the ResNets).
TRAINABLE_PARAMS = {
    "lenet5": (10, 61_706),
    "lenet5_original": (10, 60_000),
    "alexnet": (1000, 60_965_224),
    "alexnet_single": (1000, 61_100_840),
    "alexnet_no_lrn": (1000, 60_965_224),  # LRN has no weights: alexnet's count
    "vgg11": (1000, 132_863_336),
    "vgg11_lrn": (1000, 132_863_336),
    "vgg13": (1000, 133_047_848),
    "vgg16_c": (1000, 133_638_952),
    "vgg16": (1000, 138_357_544),
    "vgg19": (1000, 143_667_240),
    "googlenet": (1000, 6_998_552),
    "resnet18": (1000, 11_689_512),
    "resnet34": (1000, 21_797_672),
    "resnet50": (1000, 25_557_032),
    "resnet101": (1000, 44_549_160),
    "resnet152": (1000, 60_192_808),
    "resnet20": (10, 269_722),
    "resnet32": (10, 464_154),
    "resnet44": (10, 658_586),
    "resnet56": (10, 853_018),
    "resnet110": (10, 1_727_962),
    "plain18": (1000, 11_515_688),  # option A counts: no projections
    "plain34": (1000, 21_623_848),
    "plain20": (10, 269_722),
    "plain32": (10, 464_154),
    "plain44": (10, 658_586),
    "plain56": (10, 853_018),
    # All-CNN-C by hand (allcnn.py's docstring), the paper's "1.4M"; Springenberg et al.'s Table 1 model C and its
    # Table 2 relatives (test_springenberg_tables_layer_by_layer counts them again from the tables).
    "allcnn_c": (10, 1_369_738),
    "model_c": (10, 954_730),
    "strided_cnn_c": (10, 954_730),
    "convpool_cnn_c": (10, 1_369_738),
    # The lecture's dense network, 1,024-512-256-10, by hand in dense.py's docstring.
    "dense": (10, 1_024 * 512 + 512 + 512 * 256 + 256 + 256 * 10 + 10),
    # Krizhevsky et al. 2012, Fig. 1, as cuda-convnet's layers-80sec.cfg: by hand in convnet4.py's docstring and
    # again in test_convnet4_is_layers_80sec_with_one_activation.
    "convnet4_relu": (10, 145_578),
    "convnet4_tanh": (10, 145_578),
    # Krizhevsky et al. 2012, Sec. 3.3, as cuda-convnet's layers-conv-local-13pct/11pct.cfg: by hand in
    # convlocal.py's docstring and again in test_convlocal_is_layers_conv_local.
    "convlocal": (10, 1_901_386),
    "convlocal_lrn": (10, 1_901_386),
    # Dense prediction (tests/test_models.py counts them at a small input: they do not depend on the size).
    # FCN: by hand, k*k*c_in*c_out + c_out per conv, as in the FCN module docstring; the paper says "134M".
    "fcn32s": (21, 134_346_581),
    "fcn16s": (21, 134_357_354),
    "fcn8s": (21, 134_362_751),
    # DeepLab-LargeFOV by hand (VGG-16 convs + fc6 3x3x512x1024 + fc7 + fc8), the paper's "20.5M"; DeepLab v2:
    # resnet101 without its classifier (44,549,160 - 2,049,000) + four 3x3x2048x21 ASPP convs.
    "deeplab_largefov": (21, 20_505_429),
    "deeplab_v2": (21, 42_500_160 + 4 * (9 * 2048 * 21 + 21)),
    # U-Net by hand for the paper's one-channel 572x572 tiles (31,031,810 is the count for three channels).
    "unet": (2, 31_030_658),
}
# Fixed (non-trainable) parameters: FCN's bilinear transposed convs, k*k*21*21 each, no bias.
# DeepLab v2: ResNet-101's BatchNormalization statistics, a mean and a variance per channel of each BN: conv1's 64,
# 6w per bottleneck of width w (3, 4, 23, 3 of them at 64, 128, 256, 512) and 4w per projection: 2 * 52,672.
NON_TRAINABLE_PARAMS = {"fcn32s": 64 * 64 * 21 * 21, "fcn16s": 458_640, "fcn8s": 127_008, "deeplab_v2": 105_344}
# Switches that shrink a model for the tests that check its layers rather than its size.
SMALL = {
    "deeplab_largefov": {"width_multiplier": 1 / 16},
    "unet": {"width_multiplier": 1 / 16},
    "deeplab_v2": {"depth": 18},
    "fcn32s": {"width_multiplier": 1 / 16},
    "fcn16s": {"width_multiplier": 1 / 16},
    "fcn8s": {"width_multiplier": 1 / 16},
}


def trainable(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def non_trainable(model):
    return sum(int(np.prod(w.shape)) for w in model.non_trainable_weights)


def segmentation_size(spec):
    """A small input a segmentation model takes: its parameters do not depend on the size."""
    return max(spec.min_size, 64)


def test_the_table_covers_the_registry():
    assert set(TRAINABLE_PARAMS) == set(kerascnn.list_models())


@pytest.mark.parametrize("name", kerascnn.list_models())
def test_paper_input_parameters_and_forward(name):
    num_classes, params = TRAINABLE_PARAMS[name]
    spec = kerascnn.model_spec(name)
    if spec.task == "segmentation":
        # Counted without a forward pass (FCN's conv1_1 pads by 100: even a small input costs VGG-16 at 264 px);
        # the forward pass runs on the same layers with fewer filters.
        channels = spec.input_shape[-1]
        model = kerascnn.get_model(name, num_classes=num_classes, input_shape=(None, None, channels))
        assert trainable(model) == params
        assert non_trainable(model) == NON_TRAINABLE_PARAMS.get(name, 0)
        if name in SMALL:
            del model
            model = kerascnn.get_model(name, num_classes=num_classes, input_shape=(None, None, channels), **SMALL[name])
        size = segmentation_size(spec)
        x = np.random.default_rng(0).uniform(-1, 1, (2, size, size + 16, channels)).astype("float32")
        y = np.asarray(model(x, training=False))
        assert y.shape == (2, spec.output_size(size), spec.output_size(size + 16), num_classes)
        assert y.dtype == np.float32 and np.isfinite(y).all()
        np.testing.assert_allclose(y.sum(axis=-1), 1.0, rtol=1e-5)
        return
    model = kerascnn.get_model(name, num_classes=num_classes)
    assert trainable(model) == params
    assert model.input_shape[1:] == kerascnn.model_spec(name).input_shape
    x = np.random.default_rng(0).uniform(-1, 1, (2, *model.input_shape[1:])).astype("float32")
    y = np.asarray(model(x, training=False))
    assert y.shape == (2, num_classes) and y.dtype == np.float32
    assert np.isfinite(y).all()
    np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("name", kerascnn.list_models())
def test_keras_file_round_trip(name, tmp_path):
    # A small input keeps the FC layers of VGG and AlexNet small; the layers and their configs are the same.
    spec = kerascnn.model_spec(name)
    size = max(spec.min_size, 32) if spec.task == "classification" else segmentation_size(spec)
    channels = spec.input_shape[-1] if spec.task == "segmentation" else 3
    model = kerascnn.get_model(name, num_classes=7, input_shape=(size, size, channels), **SMALL.get(name, {}))
    x = np.random.default_rng(1).uniform(-1, 1, (2, size, size, channels)).astype("float32")
    path = tmp_path / f"{name}.keras"
    model.save(path)
    restored = keras.saving.load_model(path)  # safe mode: no lambdas anywhere in the zoo
    assert [layer.name for layer in restored.layers] == [layer.name for layer in model.layers]
    np.testing.assert_array_equal(restored(x, training=False), model(x, training=False))


def test_googlenet_auxiliary_heads():
    model = kerascnn.get_model("googlenet", aux_classifiers=True)
    assert trainable(model) == 13_378_280
    assert model.output_names == ["predictions", "aux1", "aux2"]
    assert [tuple(o.shape) for o in model.outputs] == [(None, 1000)] * 3
    with pytest.raises(ValueError, match="aux_classifiers needs include_top"):
        kerascnn.get_model("googlenet", aux_classifiers=True, include_top=False)


@pytest.mark.parametrize("output_stride, size", [(32, 7), (16, 14), (8, 28)])
def test_resnet_output_stride_trades_strides_for_dilation(output_stride, size):
    model = kerascnn.get_model("resnet50", include_top=False, output_stride=output_stride)
    assert model.output_shape == (None, size, size, 2048)
    assert trainable(model) == 25_557_032 - 2_049_000  # same weights, without the 2048 x 1000 classifier
    last = model.get_layer("conv5_block3")
    assert last.dilation_rate == {32: 1, 16: 2, 8: 4}[output_stride]


def test_resnet_v1_5_moves_the_stride_not_the_parameters():
    v1 = kerascnn.get_model("resnet50", include_top=False)
    v15 = kerascnn.get_model("resnet50", include_top=False, stride_in_3x3=True)
    assert trainable(v1) == trainable(v15)
    assert v1.get_layer("conv3_block1").convs[0].strides == (2, 2)
    assert v15.get_layer("conv3_block1").convs[1].strides == (2, 2)


@pytest.mark.parametrize("shortcut, params", [("A", 11_515_688), ("C", 12_043_816)])
def test_resnet18_shortcut_options_match_the_reference(shortcut, params):
    assert trainable(kerascnn.get_model("resnet18", shortcut=shortcut)) == params


@pytest.mark.parametrize(
    "name, shape",
    [
        ("vgg16", (7, 7, 512)),
        ("alexnet", (6, 6, 256)),
        ("googlenet", (7, 7, 1024)),
        ("resnet20", (8, 8, 64)),
        ("lenet5", (1, 1, 120)),
    ],
)
def test_include_top_false_ends_in_the_feature_maps(name, shape):
    model = kerascnn.get_model(name, include_top=False)
    assert model.output_shape[1:] == shape
    assert kerascnn.get_model(name, include_top=False, pooling="avg").output_shape[1:] == (shape[-1],)


def test_layer_names_are_stable_and_hierarchical():
    names = [layer.name for layer in kerascnn.get_model("resnet18").layers]
    assert names[:8] == [
        "images",
        "conv1_pad",
        "conv1_conv",
        "conv1_bn",
        "conv1_relu",
        "pool1_pad",
        "pool1_pool",
        "conv2_block1",
    ]
    assert names[-2:] == ["avg_pool", "predictions"]
    paths = {w.path for w in kerascnn.get_model("resnet18").weights}
    assert "conv3_block1/shortcut_conv/kernel" in paths
    googlenet = [layer.name for layer in kerascnn.get_model("googlenet").layers]
    assert "inception_4e" in googlenet and "norm2" in googlenet


@pytest.mark.parametrize("mixed_policy", ["mixed_float16", "mixed_bfloat16"], indirect=True)
@pytest.mark.parametrize("name", kerascnn.list_models())
def test_mixed_precision_computes_in_half_and_predicts_in_float32(name, mixed_policy):
    # Every registered model, at a small input: the body computes in half precision, the outputs (and their
    # declared specs) are float32 and finite. In training mode, as mixed precision trains: at initialisation BN's
    # moving statistics are still the identity, and through ResNet-110's or -152's residual additions an
    # inference-mode forward overflows float16 (measured: NaN), which batch statistics, or trained ones, prevent.
    spec = kerascnn.model_spec(name)
    if spec.task == "classification":
        shape = (max(spec.min_size, 32),) * 2 + spec.input_shape[-1:]
    else:
        shape = (segmentation_size(spec),) * 2 + spec.input_shape[-1:]
    model = kerascnn.get_model(name, num_classes=5, input_shape=shape, **SMALL.get(name, {}))
    half = {"mixed_float16": "float16", "mixed_bfloat16": "bfloat16"}[mixed_policy]
    assert half in {layer.compute_dtype for layer in model.layers}
    assert [output.dtype for output in model.outputs] == ["float32"] * len(model.outputs)
    x = np.random.default_rng(2).uniform(-1, 1, (2, *model.input_shape[1:])).astype("float32")
    for y in keras.tree.flatten(model(x, training=True)):
        assert y.dtype == "float32" and np.isfinite(np.asarray(y)).all()


def test_alexnet_export_holds_no_xla_must_compile_function(tmp_path):
    model = kerascnn.get_model("alexnet", num_classes=3, input_shape=(67, 67, 3))
    model.export(tmp_path / "ours", verbose=False)
    assert b"_XlaMustCompile" not in (tmp_path / "ours" / "saved_model.pb").read_bytes()
    # Keras' own grouped Conv2D on the TensorFlow backend is what this guards against.
    inputs = keras.Input((8, 8, 4))
    keras.Model(inputs, keras.layers.Conv2D(4, 3, groups=2)(inputs)).export(tmp_path / "keras", verbose=False)
    assert b"_XlaMustCompile" in (tmp_path / "keras" / "saved_model.pb").read_bytes()
    reloaded = tf.saved_model.load(str(tmp_path / "ours"))
    x = np.random.default_rng(3).uniform(size=(1, 67, 67, 3)).astype("float32")
    np.testing.assert_allclose(reloaded.serve(x), model(x, training=False), rtol=1e-5)


@pytest.mark.parametrize("without", [{"name": "alexnet", "lrn": False}, {"name": "alexnet_no_lrn"}])
def test_alexnet_without_lrn_drops_only_the_normalizations(without):
    # LRN has no weights: the ablation keeps every parameter and loses the two norm layers (paper, Sec. 3.3); the
    # registered alexnet_no_lrn is that switch, not another network.
    with_lrn = kerascnn.get_model("alexnet", num_classes=10, input_shape=(67, 67, 3))
    without = kerascnn.get_model(**without, num_classes=10, input_shape=(67, 67, 3))
    assert trainable(without) == trainable(with_lrn)
    assert {"norm1", "norm2"} <= {layer.name for layer in with_lrn.layers}
    assert [layer.name for layer in without.layers] == [
        layer.name for layer in with_lrn.layers if layer.name not in ("norm1", "norm2")
    ]
    # Same weights, same order: a checkpoint of one loads into the other, and the outputs differ by the LRNs only.
    without.set_weights(with_lrn.get_weights())
    x = np.random.default_rng(4).uniform(0, 1, (1, 67, 67, 3)).astype("float32")
    assert not np.allclose(without(x, training=False), with_lrn(x, training=False))


def cifar_resnet_params(n, widths, num_classes=10):
    """Trainable parameters of a CIFAR ResNet with option A shortcuts, counted by hand: 3x3 convs without bias,
    each followed by BN (gamma and beta), then the classifier."""
    conv_bn = lambda c_in, c_out: 9 * c_in * c_out + 2 * c_out
    total, c_in = conv_bn(3, widths[0]), widths[0]
    for width in widths:
        for _ in range(n):
            total += conv_bn(c_in, width) + conv_bn(width, width)
            c_in = width
    return total + widths[-1] * num_classes + num_classes


@pytest.mark.parametrize("multiplier, widths", [(1, (16, 32, 64)), (2, (32, 64, 128)), (0.5, (8, 16, 32))])
def test_cifar_resnet_width_multiplier_scales_every_stage(multiplier, widths):
    assert cifar_resnet_params(3, (16, 32, 64)) == TRAINABLE_PARAMS["resnet20"][1]  # the count itself is right
    model = kerascnn.get_model("resnet20", num_classes=10, width_multiplier=multiplier)
    assert trainable(model) == cifar_resnet_params(3, widths)
    assert model.get_layer("conv4_block1").output.shape[-1] == widths[-1]


# Springenberg et al. 2015, Tables 1 and 2, as the paper lists each network's weight layers: (kernel, filters,
# stride), 3x3/2 max-pools marked "M"; every network ends in the same higher layers.
SPRINGENBERG_TABLES = {
    "model_c": [(3, 96, 1), (3, 96, 1), "M", (3, 192, 1), (3, 192, 1), "M"],
    "strided_cnn_c": [(3, 96, 1), (3, 96, 2), (3, 192, 1), (3, 192, 2)],
    "convpool_cnn_c": [(3, 96, 1), (3, 96, 1), (3, 96, 1), "M", (3, 192, 1), (3, 192, 1), (3, 192, 1), "M"],
    "allcnn_c": [(3, 96, 1), (3, 96, 1), (3, 96, 2), (3, 192, 1), (3, 192, 1), (3, 192, 2)],
}
SPRINGENBERG_HIGHER = [(3, 192, 1), (1, 192, 1), (1, 10, 1)]  # the 3x3 one valid, 8 -> 6


@pytest.mark.parametrize("name", sorted(SPRINGENBERG_TABLES))
def test_springenberg_tables_layer_by_layer(name):
    table = SPRINGENBERG_TABLES[name]
    convs = [row for row in table if row != "M"] + SPRINGENBERG_HIGHER
    expected, c_in = 0, 3
    for kernel, filters, _ in convs:
        expected += kernel * kernel * c_in * filters + filters
        c_in = filters
    model = kerascnn.get_model(name, num_classes=10)
    assert trainable(model) == expected == TRAINABLE_PARAMS[name][1]
    ours = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [(layer.kernel_size[0], layer.filters, layer.strides[0]) for layer in ours] == convs
    assert [layer.name for layer in ours] == [f"conv{i}" for i in range(1, len(convs) + 1)]
    pools = [layer for layer in model.layers if isinstance(layer, keras.layers.MaxPooling2D)]
    assert [(p.pool_size, p.strides) for p in pools] == [((3, 3), (2, 2))] * table.count("M")
    assert ours[-1].output.shape[1:] == (6, 6, 10)  # the map the paper averages over
    # Dropout 20% on the input and 50% after each downsampling layer, pool or stride-2 conv (paper, Sec. 3.1).
    downsampling = [p.name for p in pools] or [layer.name for layer in ours if layer.strides == (2, 2)]
    dropouts = {layer.name: layer.rate for layer in model.layers if isinstance(layer, keras.layers.Dropout)}
    assert dropouts == {"input_dropout": 0.2, **{f"{d}_dropout": 0.5 for d in downsampling}}


# cuda-convnet's example-layers/layers-80sec.cfg (docs/reference.md): conv (filters, 5x5, padding 2) and the 3x3/2
# pool after it, then fc64 and fc10.
LAYERS_80SEC = [(32, "max"), (32, "avg"), (64, "avg")]


@pytest.mark.parametrize("channels, expected", [(3, 145_578), (1, 143_978)])
def test_convnet4_is_layers_80sec_with_one_activation(channels, expected):
    relu = kerascnn.get_model("convnet4_relu", num_classes=10, input_shape=(32, 32, channels))
    tanh = kerascnn.get_model("convnet4_tanh", num_classes=10, input_shape=(32, 32, channels))
    count, c_in, side = 0, channels, 32
    for filters, _ in LAYERS_80SEC:
        count += 5 * 5 * c_in * filters + filters
        c_in, side = filters, -(-(side - 3) // 2) + 1  # cuda-convnet's pool: ceil((side - 3) / 2) + 1 windows
    count += side * side * c_in * 64 + 64 + 64 * 10 + 10
    assert trainable(relu) == trainable(tanh) == expected == count
    convs = [layer for layer in relu.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [(c.filters, c.kernel_size, c.padding) for c in convs] == [(f, (5, 5), "same") for f, _ in LAYERS_80SEC]
    pools = [layer for layer in relu.layers if "pool" in layer.name]
    kinds = {keras.layers.MaxPooling2D: "max", keras.layers.AveragePooling2D: "avg"}
    assert [(kinds[type(p)], p.pool_size, p.strides) for p in pools] == [
        (kind, (3, 3), (2, 2)) for _, kind in LAYERS_80SEC
    ]
    assert relu.get_layer("pool3").output.shape[1:] == (side, side, 64)
    # The two variants differ in the hidden layers' activation and nothing else.
    for a, b in zip(relu.layers, tanh.layers, strict=True):
        config_a, config_b = a.get_config(), b.get_config()
        if isinstance(a, (keras.layers.Conv2D, keras.layers.Dense)) and a.name != "predictions":
            assert (config_a.pop("activation"), config_b.pop("activation")) == ("relu", "tanh")
        assert config_a == config_b
    x = np.random.default_rng(5).uniform(-1, 1, (1, 32, 32, channels)).astype("float32")
    tanh.set_weights(relu.get_weights())
    hidden = keras.Model(tanh.input, tanh.get_layer("fc4").output)(x)
    assert np.abs(np.asarray(hidden)).max() < 1  # tanh's range, where ReLU's is unbounded


def test_the_lectures_dense_network_and_its_arithmetic():
    from kerascnn.models.dense import first_layer_weights

    model = kerascnn.get_model("dense", num_classes=10)
    assert TRAINABLE_PARAMS["dense"][1] == 658_698 == trainable(model)
    assert model.input_shape == (None, 32, 32, 1)  # grey: the lecture's 1,024-vector
    assert [layer.units for layer in model.layers if isinstance(layer, keras.layers.Dense)] == [512, 256, 10]
    assert model.get_layer("flatten").output.shape[1:] == (1024,)
    assert model.get_layer("fc1").kernel.shape == (1024, 512)
    # The lecture: a first dense layer on 224x224x3 needs 150,528 x n weights, 154,140,672 for n = 1,024.
    assert first_layer_weights((224, 224, 3), 1) == 150_528
    assert first_layer_weights((224, 224, 3), 1_024) == 154_140_672
    # ... which a built layer confirms at a size that fits a test.
    small = kerascnn.get_model("dense", input_shape=(24, 20, 3), hidden=(16,))
    assert int(np.prod(small.get_layer("fc1").kernel.shape)) == first_layer_weights((24, 20, 3), 16) == 23_040
    # Without the top: the last hidden layer's features; a vector has no maps to pool.
    assert kerascnn.get_model("dense", include_top=False).output_shape == (None, 256)
    with pytest.raises(ValueError, match="no maps to pool"):
        kerascnn.get_model("dense", include_top=False, pooling="avg")


# cuda-convnet's example-layers/layers-conv-local-11pct.cfg (the 13pct file without the rnorm layers): conv
# (filters, 5x5, padding 2) and a 3x3/2 max-pool after each, then two 3x3 locally connected layers padded by 1,
# then fc10; rnorm size 5, scale 0.001, pow 0.75.
LAYERS_CONV_LOCAL = {"convs": (64, 64), "locals": (32, 32)}


@pytest.mark.parametrize("channels, expected", [(3, 1_901_386), (1, 1_898_186)])
def test_convlocal_is_layers_conv_local(channels, expected):
    plain = kerascnn.get_model("convlocal", num_classes=10, input_shape=(32, 32, channels))
    normed = kerascnn.get_model("convlocal_lrn", num_classes=10, input_shape=(32, 32, channels))
    count, c_in, side = 0, channels, 32
    for filters in LAYERS_CONV_LOCAL["convs"]:
        count += 5 * 5 * c_in * filters + filters
        c_in, side = filters, -(-(side - 3) // 2) + 1  # cuda-convnet's pool: ceil((side - 3) / 2) + 1 windows
    for filters in LAYERS_CONV_LOCAL["locals"]:
        count += side * side * (3 * 3 * c_in * filters + filters)  # a kernel and a bias at every position
        c_in = filters
    count += side * side * c_in * 10 + 10
    assert trainable(plain) == trainable(normed) == expected == count
    assert plain.get_layer("local4").output.shape[1:] == (8, 8, 32)
    # The 11% network is the 13% one with a response normalisation after each conv's ReLU, before its pool.
    names = [layer.name for layer in normed.layers]
    assert names == ["images", "conv1", "rnorm1", "pool1", "conv2", "rnorm2", "pool2", "local3", "local4"] + [
        "flatten",
        "predictions",
    ]
    assert [layer.name for layer in plain.layers] == [n for n in names if not n.startswith("rnorm")]
    # cuda-convnet's rnorm: x / (1 + scale / size * sum of the size squares around the channel) ** pow.
    normed.set_weights(plain.get_weights())
    x = np.random.default_rng(6).uniform(0, 1, (1, 32, 32, channels)).astype("float32")
    conv1 = np.asarray(keras.Model(normed.input, normed.get_layer("conv1").output)(x), np.float64)
    squares = np.pad(conv1**2, [(0, 0), (0, 0), (0, 0), (2, 2)])
    window = sum(squares[..., i : i + 64] for i in range(5))
    expected_rnorm1 = conv1 / (1 + 0.001 / 5 * window) ** 0.75
    rnorm1 = keras.Model(normed.input, normed.get_layer("rnorm1").output)(x)
    np.testing.assert_allclose(rnorm1, expected_rnorm1, rtol=1e-5, atol=1e-6)
