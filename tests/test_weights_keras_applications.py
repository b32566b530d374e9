"""keras.applications' weights in the zoo's VGG and ResNet: each architecture built there with random weights and
random batch-normalisation statistics, saved, loaded into ours through `weights=PATH`, and compared on the same
input (the reference is keras.applications' own model, an independent implementation)."""

import keras
import numpy as np
import pytest

import kerascnn
from kerascnn.errors import UserError


def _randomize(model, rng):
    """Random conv biases and BN statistics (so that the bias folding is exercised), tame enough that a deep
    network's activations stay in range: float32 rounding grows with them."""
    for layer in model.layers:
        weights = layer.get_weights()
        if isinstance(layer, keras.layers.BatchNormalization):
            gamma, beta, mean, variance = weights
            layer.set_weights(
                [
                    rng.uniform(0.2, 0.5, gamma.shape),
                    rng.normal(0, 0.2, beta.shape),
                    rng.normal(0, 0.2, mean.shape),
                    rng.uniform(0.5, 2.0, variance.shape),
                ]
            )
        elif isinstance(layer, keras.layers.Conv2D) and len(weights) == 2:
            layer.set_weights([weights[0], rng.normal(0, 0.1, weights[1].shape)])


def _inputs(size, seed):
    return np.random.default_rng(seed).normal(0, 30, (4, size, size, 3)).astype("float32")


def _reference(builder, size, tmp_path, seed, *, legacy=False, include_top=True):
    keras.utils.set_random_seed(seed)
    # Logits out (the probabilities are their softmax, below).
    options = {"classifier_activation": None} if include_top else {}
    reference = builder(weights=None, input_shape=(size, size, 3), include_top=include_top, **options)
    _randomize(reference, np.random.default_rng(seed))
    if include_top:  # logits up to 8: a softmax neither flat nor one-hot, so that comparing it means something
        predictions = reference.get_layer("predictions")
        scale = 8 / np.abs(reference.predict(_inputs(size, seed + 1), verbose=0)).max()
        predictions.set_weights([w * scale for w in predictions.get_weights()])
    if legacy:  # a whole-model .h5, in the legacy format of the files keras.applications downloads
        path = tmp_path / "reference.h5"
        reference.save(path)
    else:
        path = tmp_path / "reference.weights.h5"
        reference.save_weights(path)
    return reference, path


def _softmax(logits):
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _compare(reference, ours, size, seed):
    x = _inputs(size, seed)
    logits, got_logits = reference.predict(x, verbose=0), ours.predict(x, verbose=0)
    logit_difference = np.abs(logits - got_logits).max() / np.abs(logits).max()
    assert logit_difference <= 1e-5, logit_difference
    expected, got = _softmax(logits), _softmax(got_logits)
    assert 0.01 < expected.max() < 0.9999
    difference = np.abs(expected - got).max()
    assert difference < 1e-5, difference
    np.testing.assert_array_equal(np.argsort(-logits)[:, :5], np.argsort(-got_logits)[:, :5])
    return difference, logit_difference


CASES = [
    ("vgg16", keras.applications.VGG16, 32, True),
    ("resnet50", keras.applications.ResNet50, 64, False),
    pytest.param("vgg19", keras.applications.VGG19, 32, True, marks=pytest.mark.slow),
    pytest.param("resnet101", keras.applications.ResNet101, 224, False, marks=pytest.mark.slow),
    pytest.param("resnet152", keras.applications.ResNet152, 224, True, marks=pytest.mark.slow),
]


@pytest.mark.parametrize("name, builder, size, legacy", CASES)
def test_loaded_model_computes_keras_applications_function(name, builder, size, legacy, tmp_path):
    reference, path = _reference(builder, size, tmp_path, seed=1, legacy=legacy)
    ours = kerascnn.get_model(name, weights=str(path), input_shape=(size, size, 3), classifier_activation=None)
    difference, logit_difference = _compare(reference, ours, size, seed=1)
    print(f"{name}: max |p - p_ref| = {difference:.2e}, max |z - z_ref| / max |z_ref| = {logit_difference:.2e}")
    assert ours.preprocessing == "caffe"  # keras.applications' "caffe" mode travels with the weights
    if name.startswith("resnet"):  # the folding itself: moving mean minus the conv's bias, epsilon into the variance
        conv, bn = reference.get_layer("conv3_block2_2_conv"), reference.get_layer("conv3_block2_2_bn")
        mine = ours.get_layer("conv3_block2").norms[1].get_weights()
        np.testing.assert_allclose(mine[2], bn.moving_mean.numpy() - conv.bias.numpy(), atol=1e-6)
        np.testing.assert_allclose(mine[3], bn.moving_variance.numpy() + (1.001e-5 - 1e-5), rtol=3e-7)


def test_new_head_keeps_the_backbone(tmp_path):
    """With other classes the backbone is loaded (its features equal keras.applications' without the top) and the
    head is left new; a file without the classifier serves too."""
    reference, path = _reference(keras.applications.VGG16, 32, tmp_path, seed=3, include_top=False)
    ours = kerascnn.get_model("vgg16", weights=str(path), input_shape=(32, 32, 3), num_classes=7)
    assert ours.output_shape == (None, 7)
    features = keras.Model(ours.inputs, ours.get_layer("block5_pool").output)
    x = np.random.default_rng(4).normal(0, 30, (2, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(features.predict(x, verbose=0), reference.predict(x, verbose=0), rtol=1e-5, atol=1e-4)
    with pytest.raises(UserError, match="no classifier"):
        kerascnn.get_model("vgg16", weights=str(path), input_shape=(32, 32, 3))


def test_a_shape_that_does_not_fit_is_one_line_naming_the_layer(tmp_path):
    _, path = _reference(keras.applications.VGG16, 32, tmp_path, seed=5)
    with pytest.raises(UserError) as error:  # VGG16's file into VGG19: keras.applications itself refuses it
        kerascnn.get_model("vgg19", weights=str(path), input_shape=(32, 32, 3))
    assert "\n" not in str(error.value) and "VGG19" in str(error.value)
    with pytest.raises(UserError) as error:  # fc6 at another input size than the file's
        kerascnn.get_model("vgg16", weights=str(path), input_shape=(64, 64, 3))
    assert "\n" not in str(error.value) and "name=fc1" in str(error.value) and "(512, 4096)" in str(error.value)


def test_deeplab_largefov_starts_from_vgg16s_convolutions_with_a_new_head(tmp_path):
    """The notop file's 13 convs land in the same-named layers; fc6, fc7 (shapes VGG has not) and fc8 stay new."""
    keras.utils.set_random_seed(3)
    reference = keras.applications.VGG16(weights=None, include_top=False, input_shape=(64, 64, 3))
    path = tmp_path / "vgg16_notop.weights.h5"
    reference.save_weights(path)
    model = kerascnn.get_model("deeplab_largefov", weights=str(path), input_shape=(65, 65, 3), num_classes=5)
    convs = [layer.name for layer in reference.layers if layer.weights]
    assert len(convs) == 13
    for name in convs:
        for ours, theirs in zip(model.get_layer(name).get_weights(), reference.get_layer(name).get_weights()):
            np.testing.assert_array_equal(ours, theirs)
    assert set(model.new_layers) == {"fc6", "fc7", "fc8"} and model.preprocessing == "caffe"


@pytest.mark.slow  # VGG-16 with its classifier (138M weights) saved and loaded: about a minute on 2 CPU cores
def test_fcn_convolutionalizes_vgg16s_classifier_and_keeps_its_head_new(tmp_path):
    """FCN's fc6 and fc7 are VGG-16's fc1 and fc2 as convolutions (Long et al. Sec. 3.1): fc6 on a 7x7 map gives
    fc1 on the flattened map; the score layers start at zero and the upsampling stays fixed bilinear."""
    keras.utils.set_random_seed(4)
    reference = keras.applications.VGG16(weights=None, include_top=True, input_shape=(224, 224, 3))
    path = tmp_path / "vgg16.weights.h5"
    reference.save_weights(path)
    model = kerascnn.get_model("fcn8s", weights=str(path), input_shape=(64, 64, 3), num_classes=4)
    np.testing.assert_array_equal(
        model.get_layer("block5_conv3").get_weights()[0], reference.get_layer("block5_conv3").get_weights()[0]
    )
    x = np.random.default_rng(0).normal(0, 1, (2, 7, 7, 512)).astype("float32")
    fc1 = reference.get_layer("fc1")
    expected = np.maximum(x.reshape(2, -1) @ fc1.get_weights()[0] + fc1.get_weights()[1], 0)
    got = model.get_layer("fc6")(x).numpy().reshape(2, -1)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
    fc2 = reference.get_layer("fc2").get_weights()
    np.testing.assert_array_equal(model.get_layer("fc7").get_weights()[0].reshape(4096, 4096), fc2[0])
    assert set(model.new_layers) >= {"score_fr", "score_pool4", "score_pool3", "upscore2", "upscore8"}
    assert not np.any(model.get_layer("score_fr").get_weights()[0])
    assert not model.get_layer("upscore8").trainable
    notop = tmp_path / "vgg16_notop.weights.h5"
    keras.applications.VGG16(weights=None, include_top=False, input_shape=(64, 64, 3)).save_weights(notop)
    with pytest.raises(UserError, match="holds no classifier"):
        kerascnn.get_model("fcn8s", weights=str(notop), input_shape=(64, 64, 3))
