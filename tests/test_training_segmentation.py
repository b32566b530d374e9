"""The per-pixel loss, the FCN paper's four scores, the masks in TensorBoard and the poly schedule."""

import math

import keras
import numpy as np
import pytest

from kerascnn.training.config import OptimizerConfig
from kerascnn.training.schedules import learning_rate
from kerascnn.training.segmentation import (
    SCORES,
    PixelCrossEntropy,
    SegmentationScore,
    confusion_matrix,
    mask_grid,
    palette,
    segmentation_scores,
)

# n_ij: pixels of class i predicted as j (3 classes; class 2 is never right, and never predicted).
MATRIX = np.array([[50, 10, 0], [5, 30, 0], [3, 2, 0]])


def test_scores_of_a_hand_made_confusion_matrix():
    scores = segmentation_scores(MATRIX)
    total = 100
    iou = [50 / (60 + 58 - 50), 30 / (35 + 42 - 30), 0 / (5 + 0 - 0)]
    assert scores["pixel_accuracy"] == pytest.approx(80 / total)
    assert scores["mean_accuracy"] == pytest.approx((50 / 60 + 30 / 35 + 0 / 5) / 3)
    assert scores["mean_iou"] == pytest.approx(sum(iou) / 3)
    assert scores["frequency_weighted_iou"] == pytest.approx((60 * iou[0] + 35 * iou[1] + 5 * iou[2]) / total)
    np.testing.assert_allclose(scores["class_iou"], iou)


def test_a_class_absent_from_labels_and_predictions_is_left_out_of_the_means():
    matrix = np.zeros((4, 4), int)
    matrix[:3, :3] = MATRIX
    scores, reference = segmentation_scores(matrix), segmentation_scores(MATRIX)
    assert math.isnan(scores["class_iou"][3])
    for name in SCORES:
        assert scores[name] == pytest.approx(reference[name])


def test_confusion_matrix_skips_ignore_pixels():
    labels = np.array([[0, 1, 255], [2, 2, 1]])
    predicted = np.array([[0, 2, 1], [2, 0, 1]])
    np.testing.assert_array_equal(confusion_matrix(labels, predicted, 3), [[1, 0, 0], [0, 1, 1], [1, 0, 1]])


def test_keras_metric_accumulates_the_whole_split_not_the_mean_of_batches():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, (6, 5, 7))
    labels[0, :2] = 255
    predicted = np.where(rng.random(labels.shape) < 0.7, labels % 255, rng.integers(0, 3, labels.shape))
    predicted[1] = 0  # a batch much worse than the others: a mean of per-batch scores would weigh it differently
    probabilities = keras.ops.one_hot(predicted, 3) * 0.8 + 0.1
    expected = segmentation_scores(confusion_matrix(labels, predicted, 3))
    per_batch = []
    for name in SCORES:
        metric = SegmentationScore(3, name)
        for start in (0, 2, 4):
            metric.update_state(labels[start : start + 2], probabilities[start : start + 2])
        assert float(metric.result()) == pytest.approx(expected[name], rel=1e-6), name
        if name == "mean_iou":
            for start in (0, 2, 4):
                one = confusion_matrix(labels[start : start + 2], predicted[start : start + 2], 3)
                per_batch.append(segmentation_scores(one)["mean_iou"])
        metric.reset_state()
        assert float(metric.result()) == 0.0
    assert abs(np.mean(per_batch) - expected["mean_iou"]) > 1e-3


def test_pixel_loss_against_numpy():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(2, 4, 5, 3))
    probabilities = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    labels = rng.integers(0, 3, (2, 4, 5))
    labels[0, 0] = 255
    valid = labels != 255
    picked = np.take_along_axis(probabilities, np.where(valid, labels, 0)[..., None], -1)[..., 0]
    nll = -np.log(picked)
    weights = np.array([1.0, 2.0, 0.5])[np.where(valid, labels, 0)] * valid
    mean = PixelCrossEntropy(3)(labels, probabilities)
    assert float(mean) == pytest.approx(nll[valid].mean(), rel=1e-5)
    weighted = PixelCrossEntropy(3, class_weights=(1.0, 2.0, 0.5))(labels, probabilities)
    assert float(weighted) == pytest.approx((weights * nll).sum() / weights.sum(), rel=1e-5)
    summed = PixelCrossEntropy(3, normalization="sum")(labels, probabilities)
    assert float(summed) == pytest.approx(nll[valid].sum() / 2, rel=1e-5)
    loss = PixelCrossEntropy(3, class_weights=(1.0, 2.0, 0.5), normalization="sum")
    assert PixelCrossEntropy.from_config(loss.get_config()).get_config() == loss.get_config()


def test_poly_schedule_is_deeplabs():
    config = OptimizerConfig(schedule="poly", power=0.9)
    rate = learning_rate(config, base_rate=1e-3, steps_per_epoch=10, epochs=10)
    for step in (0, 25, 50, 99):
        assert float(rate(step)) == pytest.approx(1e-3 * (1 - step / 100) ** 0.9, rel=1e-5)


def test_mask_grid_shows_image_truth_and_prediction_in_the_voc_palette():
    colours = palette(256)
    assert colours[:4].tolist() == [[0, 0, 0], [128, 0, 0], [0, 128, 0], [128, 128, 0]]  # VOC's
    assert colours[255].tolist() == [255, 255, 255]
    images = np.zeros((2, 8, 8, 3), np.uint8)
    truth, predicted = np.ones((2, 8, 8), int), np.full((2, 8, 8), 2)
    grid = mask_grid(images, truth, predicted)
    assert grid.shape == (16, 24, 3)
    assert grid[0, 0].tolist() == [0, 0, 0] and grid[0, 8].tolist() == [64, 0, 0] and grid[0, 16].tolist() == [0, 64, 0]


def test_mask_moves_with_the_input_exactly_at_multiples_of_the_output_stride(tmp_path):
    from segmentation_helpers import tiny_segnet

    from kerascnn.analysis.mask_shift import mask_shift_agreement, plot_mask_shift

    keras.utils.set_random_seed(0)
    model = tiny_segnet(num_classes=4, input_shape=(32, 32, 3))  # output stride 2: one 2x2 pool, 2x upsampling
    rng = np.random.default_rng(0)
    for layer in ("conv1", "conv2", "score"):  # weights that make a mask of many blobs
        kernel, bias = model.get_layer(layer).get_weights()
        model.get_layer(layer).set_weights([rng.normal(size=kernel.shape), np.zeros_like(bias)])
    images = rng.normal(size=(4, 32, 32, 3)).astype("float32")
    classes = np.argmax(model.predict(images, verbose=0), -1)
    assert np.bincount(classes.ravel(), minlength=4).max() < 0.8 * classes.size
    agreement = mask_shift_agreement(model, images, range(7), margin=6)
    assert agreement[0] == agreement[2] == agreement[4] == agreement[6] == 1.0
    assert min(agreement[1], agreement[3], agreement[5]) < 0.99  # in between, the pool sees other pixels
    plot_mask_shift({"tiny": agreement}, tmp_path / "shift.png", stride=2)
    assert (tmp_path / "shift.png").read_bytes()[:4] == b"\x89PNG"
