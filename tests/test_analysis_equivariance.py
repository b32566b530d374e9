"""kerascnn.analysis.equivariance: convolutions commute with shifts that are multiples of their jump, away from
the borders; a pooled network keeps its prediction under shifts that a flattening one does not."""

import keras
import numpy as np
import pytest
from keras import layers

from kerascnn.analysis import equivariance_error, shift_images, translation_invariance


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).normal(size=(4, 32, 32, 3)).astype("float32")


def _conv_stack(stride2):
    keras.utils.set_random_seed(1)
    inputs = keras.Input((32, 32, 3))
    x = layers.Conv2D(8, 3, padding="same", activation="relu", name="c1")(inputs)
    x = layers.Conv2D(8, 5, activation="relu", name="c2")(x)
    if stride2:
        x = layers.Conv2D(8, 3, strides=2, padding="same", activation="relu", name="c3")(x)
        x = layers.MaxPooling2D(2, name="pool")(x)
    x = layers.Conv2D(8, 3, padding="same", name="c4")(x)
    return keras.Model(inputs, x)


def test_shift_images_moves_content_and_fills_zeros():
    image = np.arange(16, dtype="float32").reshape(1, 4, 4, 1)
    moved = shift_images(image, (1, -2))[0, ..., 0]
    expected = np.zeros((4, 4), "float32")
    expected[1:, :2] = image[0, :3, 2:, 0]
    np.testing.assert_array_equal(moved, expected)
    np.testing.assert_array_equal(shift_images(image, (0, 0)), image)
    assert not shift_images(image, (0, 9)).any()


@pytest.mark.parametrize("direction", [(0, 1), (1, 0), (1, -1)])
def test_stride_one_stack_is_equivariant(images, direction):
    errors = equivariance_error(_conv_stack(stride2=False), images, range(-3, 4), direction=direction)
    assert max(errors.values()) < 1e-5


def test_stride_breaks_equivariance_for_shifts_off_the_jump(images):
    model = _conv_stack(stride2=True)  # c3 (stride 2) and the pool: jump 4 after them, 2 at c3
    at_c3 = equivariance_error(model, images, [1, 2, 3, 4], layer="c3")
    assert at_c3[2] < 1e-5 and at_c3[4] < 1e-5
    assert at_c3[1] > 0.1 and at_c3[3] > 0.1
    after_pool = equivariance_error(model, images, [2, 4, 8])  # the deepest feature map: c4
    assert after_pool[4] < 1e-5 and after_pool[8] < 1e-5 and after_pool[2] > 0.1
    assert equivariance_error(model, images, [0], layer="c2")[0] == 0.0


def test_no_unit_away_from_the_borders_gives_nan(images):
    inputs = keras.Input((32, 32, 3))
    x = layers.Conv2D(2, 31, padding="same", name="wide")(inputs)
    errors = equivariance_error(keras.Model(inputs, x), images, [0, 2])
    assert errors[0] == 0.0 and np.isnan(errors[2])


def test_a_layer_without_feature_maps_is_refused(images):
    inputs = keras.Input((32, 32, 3))
    x = layers.Dense(3, name="dense")(layers.Flatten(name="flat")(inputs))
    with pytest.raises(ValueError, match="feature map"):
        equivariance_error(keras.Model(inputs, x), images, [1], layer="dense")


def _classifier(pooled):
    keras.utils.set_random_seed(2)
    inputs = keras.Input((32, 32, 1))
    x = layers.Conv2D(16, 3, padding="same", activation="relu", use_bias=False)(inputs)
    x = layers.GlobalAveragePooling2D()(x) if pooled else layers.Flatten()(x)
    return keras.Model(inputs, layers.Dense(10, use_bias=False)(x))


def test_pooling_buys_invariance_that_flattening_does_not():
    # Blobs in the middle of an empty (zero) frame: shifting them by up to 8 pixels loses nothing, so a network
    # that averages its bias-free feature maps over space sees exactly the same features.
    images = np.zeros((64, 32, 32, 1), "float32")
    images[:, 10:22, 10:22] = np.random.default_rng(3).normal(size=(64, 12, 12, 1))
    shifts = range(0, 9, 2)
    pooled = translation_invariance(_classifier(pooled=True), images, shifts)
    flattened = translation_invariance(_classifier(pooled=False), images, shifts)
    assert pooled == {k: 1.0 for k in shifts}
    assert flattened[0] == 1.0 and max(flattened[k] for k in shifts if k) < 0.9
