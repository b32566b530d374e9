"""Grad-CAM, guided backpropagation, the deconvnet and occlusion, each against an independent computation: CAM
(Zhou et al. 2016), a deconvnet assembled from the zoo's MaxPoolingWithArgmax2D / MaxUnpooling2D /
TransposedConv2D, TensorFlow's own input gradient, hand-derived guided gradients and hand sums."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import layers

from kerascnn import analysis
from kerascnn.errors import UserError
from kerascnn.layers import InceptionModule, MaxPoolingWithArgmax2D, MaxUnpooling2D, ResidualBlock, TransposedConv2D


def _images(n, size, channels, seed=0):
    return np.random.default_rng(seed).normal(size=(n, size, size, channels)).astype("float32")


def _cam_network(classes=4, block=None):
    """Convolutions at the input's size, global average pooling, one dense softmax layer: CAM's network (its last
    convolution `block`, if given)."""
    keras.utils.set_random_seed(1)
    inputs = keras.Input((10, 10, 3))
    x = layers.Conv2D(6, 3, padding="same", activation="relu", name="conv1")(inputs)
    x = (block or layers.Conv2D(8, 3, padding="same", activation="relu", name="conv2"))(x)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs)


BLOCKS = {
    "conv": lambda: layers.Conv2D(8, 3, padding="same", activation="relu", name="conv2"),
    "residual": lambda: ResidualBlock(6, shortcut="A", name="conv2"),
    "inception": lambda: InceptionModule(2, 2, 3, 1, 2, 1, name="conv2"),
}


@pytest.mark.parametrize("block", sorted(BLOCKS))
@pytest.mark.parametrize("class_index", [None, 2])
def test_grad_cam_of_a_global_average_pooling_head_is_cam(class_index, block):
    model = _cam_network(block=BLOCKS[block]())
    images = _images(3, 10, 3)
    maps = keras.Model(model.inputs, model.get_layer("conv2").output).predict(images, verbose=0)
    weights = model.get_layer("predictions").kernel.numpy()  # [features, classes]
    classes = model.predict(images, verbose=0).argmax(-1) if class_index is None else [class_index] * 3
    cam = np.maximum(np.einsum("nhwk,nk->nhw", maps, weights[:, classes].T), 0)  # Zhou et al., Eq. 1 (and a ReLU)
    peak = cam.max(axis=(1, 2), keepdims=True)
    expected = np.where(peak > 0, cam / np.where(peak > 0, peak, 1), 0)  # nothing positive: all zeros
    found = analysis.grad_cam(model, images, class_index=class_index)
    assert found.shape == (3, 10, 10) and found.dtype == np.float32
    np.testing.assert_allclose(found, expected, atol=1e-5)
    assert np.ptp(found) > 0.5  # maps, not constants


def test_grad_cam_defaults_to_the_last_convolution_and_takes_another():
    model = _cam_network()
    assert analysis.attribution.feature_layer(model).name == "conv2"
    images = _images(2, 10, 3)
    assert not np.allclose(analysis.grad_cam(model, images, layer="conv1"), analysis.grad_cam(model, images))
    with pytest.raises(UserError, match="no layer named 'conv3'") as error:
        analysis.grad_cam(model, images, layer="conv3")
    assert error.value.field == "layer"


def _deconv_network():
    keras.utils.set_random_seed(2)
    inputs = keras.Input((8, 8, 2))
    x = layers.Conv2D(3, 3, padding="same", activation="relu", name="conv1")(inputs)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = layers.Conv2D(4, 3, padding="same", activation="relu", name="conv2")(x)
    return keras.Model(inputs, x)


def test_the_deconvnet_is_zeiler_and_fergus_assembled_from_switches_and_transposed_filters():
    model = _deconv_network()
    images = _images(2, 8, 2, seed=3)
    conv1, conv2 = model.get_layer("conv1"), model.get_layer("conv2")
    first = keras.Model(model.inputs, conv1.output).predict(images, verbose=0)
    top = model.predict(images, verbose=0)[..., 1]
    _, switches = MaxPoolingWithArgmax2D(2)(first)
    # The unit's strongest activation alone, then: rectify, conv2's transposed filters, unpool through the
    # switches, rectify, conv1's transposed filters (no biases: the deconvnet runs the filters only).
    signal = np.zeros(top.shape + (4,), "float32")
    for n in range(2):
        i, j = np.unravel_index(top[n].argmax(), top[n].shape)
        signal[n, i, j, 1] = top[n, i, j]
    back2 = TransposedConv2D(3, 3, padding="same", use_bias=False)
    back2.build((None, 4, 4, 4))
    back2.kernel.assign(conv2.kernel)
    back1 = TransposedConv2D(2, 3, padding="same", use_bias=False)
    back1.build((None, 8, 8, 3))
    back1.kernel.assign(conv1.kernel)
    x = back2(np.maximum(signal, 0))
    x = MaxUnpooling2D(2)([x, switches])
    expected = back1(np.maximum(x, 0)).numpy()
    found = analysis.deconvnet(model, images, "conv2", 1)
    assert np.abs(expected).max() > 0
    np.testing.assert_allclose(found, expected, atol=1e-5)


def test_the_deconvnet_signal_through_a_max_pool_reaches_only_its_switches():
    keras.utils.set_random_seed(4)
    inputs = keras.Input((8, 8, 3))
    x = layers.MaxPooling2D(2, name="pool")(inputs)
    x = layers.Conv2D(5, 3, padding="same", name="conv")(x)
    model = keras.Model(inputs, x)
    images = _images(4, 8, 3, seed=5)
    _, switches = MaxPoolingWithArgmax2D(2)(images)
    recorded = MaxUnpooling2D(2)([np.ones((4, 4, 4, 3), "float32"), switches]).numpy() > 0  # the maxima
    for channel in range(5):
        projection = analysis.deconvnet(model, images, "conv", channel)
        assert np.all(projection[~recorded] == 0)
        assert np.any(projection[recorded] != 0)


def test_guided_backprop_without_relus_is_the_input_gradient():
    keras.utils.set_random_seed(6)
    inputs = keras.Input((6, 6, 2))
    x = layers.Conv2D(4, 3, activation="tanh")(inputs)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    outputs = layers.Dense(3, activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    images = tf.constant(_images(2, 6, 2, seed=7))
    classes = np.argmax(model(images), -1)
    expected = []
    for n in range(2):
        image = images[n : n + 1]
        with tf.GradientTape() as tape:
            tape.watch(image)
            score = _logits(model, image)[0, classes[n]]
        expected.append(tape.gradient(score, image)[0])
    np.testing.assert_allclose(analysis.guided_backprop(model, images.numpy()), np.stack(expected), atol=1e-6)


def _logits(model, images):
    dense = model.layers[-1]
    return tf.matmul(keras.Model(model.inputs, dense.input)(images), dense.kernel) + dense.bias


def test_guided_backprop_of_one_hidden_relu_layer_is_the_hand_derived_rule():
    keras.utils.set_random_seed(8)
    inputs = keras.Input((3, 3, 1))
    x = layers.Flatten()(inputs)
    x = layers.Dense(7, activation="relu", name="hidden")(x)
    outputs = layers.Dense(2, name="scores")(x)  # no softmax: the scores are the output
    model = keras.Model(inputs, outputs)
    w1, b1 = (v.numpy() for v in model.get_layer("hidden").weights)
    w2 = model.get_layer("scores").kernel.numpy()
    images = _images(5, 3, 1, seed=9)
    found = analysis.guided_backprop(model, images, class_index=1)
    for n in range(5):
        z = images[n].reshape(-1) @ w1 + b1
        upstream = w2[:, 1]
        passed = upstream * (z > 0) * (upstream > 0)  # Springenberg et al., Eq. for the guided ReLU
        np.testing.assert_allclose(found[n].reshape(-1), w1 @ passed, atol=1e-6)
    plain = w1 @ (w2[:, 1] * (images[0].reshape(-1) @ w1 + b1 > 0))
    assert not np.allclose(found[0].reshape(-1), plain)  # the rule is not the plain gradient here


def test_occlusion_of_a_linear_model_is_the_hand_sum_of_weights_times_the_covered_patch():
    keras.utils.set_random_seed(10)
    inputs = keras.Input((7, 7, 2))
    outputs = layers.Dense(3)(layers.Flatten()(inputs))
    model = keras.Model(inputs, outputs)
    weights = model.layers[-1].kernel.numpy().reshape(7, 7, 2, 3)
    images = _images(2, 7, 2, seed=11)
    found = analysis.occlusion(model, images, class_index=2, patch=3, stride=2)
    assert found.shape == (2, 3, 3)
    for n in range(2):
        for i, top in enumerate(range(0, 5, 2)):
            for j, left in enumerate(range(0, 5, 2)):
                patch = images[n, top : top + 3, left : left + 3]
                expected = np.sum(weights[top : top + 3, left : left + 3, :, 2] * patch)  # fill 0: all of it drops
                assert found[n, i, j] == pytest.approx(expected, abs=1e-5)


def test_occlusion_rejects_a_patch_larger_than_the_image():
    with pytest.raises(UserError, match="patch must be 1 to 10") as error:
        analysis.occlusion(_cam_network(), _images(1, 10, 3), patch=11)
    assert error.value.field == "patch"


def test_top_activations_crop_each_units_receptive_field_with_its_projection():
    model = _deconv_network()
    images = _images(12, 8, 2, seed=12)
    top = analysis.top_activations(model, images, "conv2", k=4, channels=[0, 3])
    maps = model.predict(images, verbose=0)
    assert sorted(top) == [0, 3]
    for channel, found in top.items():
        strongest = maps[..., channel].reshape(12, -1).max(1)
        assert [t.activation for t in found] == pytest.approx(sorted(strongest, reverse=True)[:4], abs=1e-5)
        for t in found:
            # conv2's units see 3x3 of pool1's 2x2 windows of conv1's 3x3: 8x8 pixels, jump 2, first at -3.
            i, j = t.position
            assert t.box == (max(0, 2 * i - 3), max(0, 2 * j - 3), min(8, 2 * i + 5), min(8, 2 * j + 5))
            np.testing.assert_array_equal(t.patch, images[t.image, t.box[0] : t.box[2], t.box[1] : t.box[3]])
            projection = analysis.deconvnet(model, images[t.image : t.image + 1], "conv2", channel)[0]
            outside = projection.copy()
            outside[t.box[0] : t.box[2], t.box[1] : t.box[3]] = 0
            assert np.all(outside == 0)  # the projection stays inside the receptive field
            np.testing.assert_allclose(t.projection, projection[t.box[0] : t.box[2], t.box[1] : t.box[3]], atol=1e-6)
