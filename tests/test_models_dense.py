"""The dense-prediction networks: translation equivariance, the sizes they take and give, their tables."""

import keras
import numpy as np
import pytest

import kerascnn
from kerascnn.errors import UserError
from kerascnn.models.unet import valid_unet_sizes


def _randomized(model, seed):
    """The model with every weight redrawn (FCN's score layers start at zero, which would make the test vacuous)."""
    rng = np.random.default_rng(seed)
    weights = []
    for w in model.get_weights():
        fan_in = np.prod(w.shape[:-1]) if w.ndim > 1 else 1
        weights.append((rng.standard_normal(w.shape) * np.sqrt(2 / fan_in)).astype(w.dtype))
    model.set_weights(weights)
    return model


# name, the receptive field of an output pixel counted by hand (the recurrence r += (k - 1) * d * jump, an
# upsampling by s reading k / s of its inputs), the input height (the width is the same in both crops, so every
# column compares).
# FCN-8s: VGG-16 to pool5 212, fc6 7x7 at jump 32: 404, upscore2 (4/2) +32, upscore_pool4 +16, upscore8 +8: 460.
# DeepLab-LargeFOV: to pool3 (3x3/2 pools) 51, conv4 99, pool4 115, conv5 dilated 2: 211, pool5 227, fc6 dilated
# 12 at jump 8: 419, the x8 interpolation +8: 427.
EQUIVARIANCE_CASES = [("fcn8s", 460, 640), ("deeplab_largefov", 427, 521)]


@pytest.mark.parametrize("name, field, height", EQUIVARIANCE_CASES)
def test_shifting_the_input_by_the_output_stride_shifts_the_logits(name, field, height):
    stride = kerascnn.model_spec(name).output_stride
    assert stride == {"fcn8s": 32, "deeplab_largefov": 8}[name]
    model = kerascnn.get_model(
        name, num_classes=3, input_shape=(height, 40, 3), width_multiplier=1 / 16, classifier_activation=None
    )
    model = _randomized(model, seed=0)
    image = np.random.default_rng(1).uniform(-1, 1, (1, height + stride, 40, 3)).astype("float32")
    margin = field // 2 + 1  # an output pixel further than this from a border sees none of the padding
    for shift, equivariant in ((stride, True), (stride // 2, False)):
        base = np.asarray(model(image[:, :height], training=False))[0]
        moved = np.asarray(model(image[:, shift : shift + height], training=False))[0]
        # The moved crop's row y is the base crop's row y + shift.
        inside = slice(margin, height - margin - shift)
        a, b = moved[inside], base[margin + shift : height - margin]
        assert a.shape[0] > stride  # a real interior remains
        scale = np.abs(b).max()
        if equivariant:
            np.testing.assert_allclose(a, b, atol=1e-4 * scale)
        else:  # a shift that is not a multiple of the output stride moves the grid of the coarse maps
            assert np.abs(a - b).max() > 1e-2 * scale
    assert np.abs(moved[:margin] - base[shift : margin + shift]).max() > 0  # the borders do see the padding


@pytest.mark.parametrize("name", ["fcn8s", "deeplab_largefov"])
def test_any_size_gives_an_output_of_the_input_size(name):
    model = kerascnn.get_model(name, num_classes=2, input_shape=(None, None, 3), width_multiplier=1 / 16)
    for height, width in ((32, 33), (47, 40), (65, 57)):
        assert model(np.zeros((1, height, width, 3), "float32")).shape == (1, height, width, 2)


def test_unet_sizes_follow_its_valid_convolutions():
    spec = kerascnn.model_spec("unet")
    assert (spec.output_margin, spec.output_size(572), spec.output_stride) == (92, 388, 16)
    model = kerascnn.get_model("unet", num_classes=2, input_shape=(None, None, 1), width_multiplier=1 / 16)
    assert model(np.zeros((1, 188, 204, 1), "float32")).shape == (1, 4, 20, 2)
    assert kerascnn.get_model("unet", num_classes=2, width_multiplier=1 / 16).output_shape == (None, 388, 388, 2)
    assert valid_unet_sizes(572) == (572,) and valid_unet_sizes(500) == (492, 508) and valid_unet_sizes(100) == (188,)
    with pytest.raises(UserError, match="use 492 or 508"):
        kerascnn.get_model("unet", input_shape=(500, 572, 1))


def test_unet_up_convolutions_halve_the_channels_and_crop_the_skips():
    model = kerascnn.get_model("unet", num_classes=2, width_multiplier=1 / 16)  # 64 ... 1024 -> 4 ... 64
    shapes = {layer.name: layer.output.shape[1:] for layer in model.layers}
    assert shapes["bottom_conv2"] == (28, 28, 64)
    assert shapes["up4_upconv"] == (56, 56, 32) and shapes["up4_crop"] == (56, 56, 32)
    assert shapes["up1_concat"] == (392, 392, 8)
    assert shapes["score"] == (388, 388, 2)


def test_fcn_crops_match_the_reference_offsets():
    # voc-fcn8s/net.py's crop(...) offsets, from caffe.coord_map (see fcn.py's docstring for the derivation).
    model = kerascnn.get_model("fcn8s", num_classes=3, input_shape=(None, None, 3), width_multiplier=1 / 16)
    offsets = {layer.name: layer.offset for layer in model.layers if layer.name.endswith("c") or layer.name == "score"}
    assert offsets == {"score_pool4c": (5, 5), "score_pool3c": (9, 9), "score": (31, 31)}
    shapes = {
        layer.name: layer.output.shape
        for layer in kerascnn.get_model("fcn8s", num_classes=3, width_multiplier=1 / 16).layers
    }
    # 500 + 200 - 2 = 698 -> ceil-mode pools 349, 175, 88, 44, 22 -> fc6 16 -> upscore2 34 -> 70 -> upscore8 568.
    assert shapes["block5_pool"][1] == 22 and shapes["fc6"][1] == 16
    assert shapes["upscore2"][1] == 34 and shapes["upscore_pool4"][1] == 70 and shapes["upscore8"][1] == 568
    assert shapes["predictions"][1:3] == (500, 500)


def test_deeplab_largefov_gives_41_logits_at_321():
    model = kerascnn.get_model("deeplab_largefov", num_classes=21, width_multiplier=1 / 16)
    assert model.get_layer("fc8").output.shape[1:3] == (41, 41)
    assert model.get_layer("fc6").dilation_rate == (12, 12) and model.get_layer("block5_conv1").dilation_rate == (2, 2)
    assert model.output_shape == (None, 321, 321, 21)


def test_allcnn_c_downsamples_by_convolution_only():
    model = kerascnn.get_model("allcnn_c", num_classes=10)
    assert not [layer for layer in model.layers if "pool" in type(layer).__name__.lower() and layer.name != "avg_pool"]
    assert model.get_layer("conv3").strides == (2, 2) and model.get_layer("conv6").strides == (2, 2)
    assert model.get_layer("conv9").output.shape[1:] == (6, 6, 10)
    dropouts = {layer.name: layer.rate for layer in model.layers if isinstance(layer, keras.layers.Dropout)}
    assert dropouts == {"input_dropout": 0.2, "conv3_dropout": 0.5, "conv6_dropout": 0.5}


def test_the_registry_knows_each_task():
    segmentation = {"fcn32s", "fcn16s", "fcn8s", "deeplab_largefov", "deeplab_v2", "unet"}
    assert {n for n in kerascnn.list_models() if kerascnn.model_spec(n).task == "segmentation"} == segmentation
    assert kerascnn.model_spec("allcnn_c").task == "classification"
