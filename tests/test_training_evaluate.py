"""The evaluator's accuracies against hand-computed values, and AlexNet's 10-crop test against NumPy crops."""

import types

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerascnn.data import DataConfig
from kerascnn.data.transforms import centre_crop, normalize, resize_shorter
from kerascnn.training.evaluate import _accuracies, evaluate_ten_crop


def test_top1_top5_and_loss_by_hand():
    probabilities = np.array(
        [
            [0.5, 0.2, 0.1, 0.1, 0.05, 0.05, 0.0],  # label 0: top-1 right
            [0.1, 0.2, 0.3, 0.15, 0.1, 0.1, 0.05],  # label 4: in the top 5 only
            [0.3, 0.3, 0.2, 0.1, 0.05, 0.04, 0.01],
        ]
    )  # label 6: in neither
    metrics = _accuracies(probabilities, np.array([0, 4, 6]), "val_")
    assert metrics["val_accuracy"] == pytest.approx(1 / 3) and metrics["val_top5_accuracy"] == pytest.approx(2 / 3)
    assert metrics["val_error"] == pytest.approx(2 / 3) and metrics["val_top5_error"] == pytest.approx(1 / 3)
    assert metrics["val_loss"] == pytest.approx(-np.mean(np.log([0.5, 0.1, 0.01])))


def test_ten_crop_averages_the_corners_centre_and_flips():
    # A "model" that reports its input's top-left pixel as class scores: the 10-crop test then averages exactly
    # the top-left pixels of the ten crops, which NumPy can find by hand.
    inputs = keras.Input((32, 32, 3))
    corner = keras.layers.Cropping2D(((0, 31), (0, 31)))(inputs)
    model = keras.Model(inputs, keras.layers.Softmax()(keras.layers.Flatten()(corner)))
    config = DataConfig(augmentation="alexnet", normalization="unit")
    image = np.random.default_rng(0).integers(0, 256, (50, 40, 3), dtype=np.uint8)
    split = tf.data.Dataset.from_tensor_slices((image[None], np.array([1])))
    run = types.SimpleNamespace(input_shape=(32, 32, 3), global_batch=10, config=types.SimpleNamespace(data=config))
    metrics = evaluate_ten_crop(run, model, types.SimpleNamespace(val=split))

    side = 37  # AlexNet's 256 at this input size: round(256 * 32 / 224)
    base = normalize(centre_crop(resize_shorter(image, side), side), (0.0,), (255.0,)).numpy()
    far = side - 32
    starts = [(0, 0), (0, far), (far, 0), (far, far), (far // 2, far // 2)]
    pixels = [base[top, left] for top, left in starts] + [base[top, left + 31] for top, left in starts]  # flips
    expected = np.mean([np.exp(p) / np.exp(p).sum() for p in pixels], axis=0)
    assert metrics["val_ten_crop_loss"] == pytest.approx(-np.log(expected[1]), rel=1e-5)
    assert metrics["val_ten_crop_accuracy"] == float(np.argmax(expected) == 1)
