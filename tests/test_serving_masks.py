"""kerascnn.serving.masks: a segmentation version's classes and scores at the request's size, computed in bands of
rows, against the whole bilinear resize they replace (tf.image.resize, then argmax and max), bit for bit; and the
segmentation SavedModel that uses them (kerascnn.serving.dense_export)."""

import io

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from kerascnn.data import DataConfig
from kerascnn.data.dense import eval_image
from kerascnn.serving import masks
from kerascnn.serving.dense_export import write_segmentation_saved_model


def _whole(probabilities, height, width):
    """What the served graph computed before: the probabilities resized whole, then each pixel's best."""
    up = tf.image.resize(probabilities, [height, width], method="bilinear")
    return tf.argmax(up, -1, output_type=tf.int32).numpy(), tf.reduce_max(up, -1).numpy()


@pytest.mark.parametrize(
    "model_size, size",
    [
        ((16, 16), (16, 16)),  # the model's own size: the resize is the identity
        ((16, 16), (1, 1)),
        ((13, 17), (37, 611)),  # a band of 107 rows: rows shared between two bands
        ((32, 32), (480, 640)),
        ((32, 32), (2049, 3)),  # one band of a single image row... of 3 pixels: bands of 21,845 rows
        ((64, 64), (7, 5)),  # smaller than the model's: every output row between far-apart input rows
    ],
)
def test_bands_give_the_whole_resize_bit_for_bit(model_size, size):
    rng = np.random.default_rng(sum(size))
    logits = rng.normal(size=(*model_size, 21)) * 3
    logits[..., 5] = logits[..., 4]  # two classes tie everywhere: the lower index wins in both
    probabilities = tf.nn.softmax(tf.constant(logits, tf.float32))
    expected_classes, expected_scores = _whole(probabilities, *size)
    for dtype in (tf.int32, tf.int8):
        classes, scores = tf.function(masks.upsampled_masks)(probabilities[tf.newaxis], tf.constant([size]), dtype)
        assert classes.dtype == dtype and classes.shape == (1, *size)
        classes, scores = classes[0], scores[0]
        np.testing.assert_array_equal(classes.numpy().astype(np.int32), expected_classes)
        np.testing.assert_array_equal(scores.numpy(), expected_scores)


def test_a_batch_of_sizes_is_each_image_resized_whole_then_padded(monkeypatch):
    # Bands of 3 rows at the largest width (7): the shorter images end inside a band or before one, whose rows are
    # all padding; every band of every image goes through the one loop.
    monkeypatch.setattr(masks, "BAND_PIXELS", 21)
    rng = np.random.default_rng(0)
    probabilities = tf.nn.softmax(tf.constant(rng.normal(size=(3, 4, 5, 6)) * 3, tf.float32))
    sizes = [(10, 7), (4, 2), (1, 6)]
    classes, scores = tf.function(masks.upsampled_masks)(probabilities, tf.constant(sizes), tf.int8)
    assert classes.dtype == tf.int8 and classes.shape == (3, 10, 7)
    for i, (height, width) in enumerate(sizes):
        expected_classes, expected_scores = _whole(probabilities[i], height, width)
        np.testing.assert_array_equal(classes[i, :height, :width].numpy().astype(np.int32), expected_classes)
        np.testing.assert_array_equal(scores[i, :height, :width].numpy(), expected_scores)
        assert np.all(classes[i, height:] == -1) and np.all(classes[i, :, width:] == -1)
        assert np.all(scores[i, height:] == 0) and np.all(scores[i, :, width:] == 0)


def test_a_band_is_the_pixels_budget_whole_rows():
    # 4096 wide: 16 rows a band; wider than the budget: one row a band.
    rows = lambda width: max(masks.BAND_PIXELS // width, 1)
    assert rows(4096) == 16 and rows(masks.BAND_PIXELS * 2) == 1


def _png(image):
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def version(tmp_path_factory):
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((16, 16, 3)), keras.layers.Conv2D(5, 3, padding="same", activation="softmax")]
    )
    folder = tmp_path_factory.mktemp("dense") / "1"
    write_segmentation_saved_model(
        model, folder, class_names=list("abcde"), data_config=DataConfig(), model_name="tiny", max_pixels=64 * 64
    )
    return model, tf.saved_model.load(str(folder))


def test_the_served_masks_are_the_model_upsampled_and_padded(version):
    model, served = version
    rng = np.random.default_rng(1)
    images = [rng.integers(0, 256, shape, dtype=np.uint8) for shape in ((20, 36, 3), (30, 12, 3))]
    out = served.signatures["serving_bytes"](image_bytes=tf.constant([_png(image) for image in images]))
    assert out["classes"].shape == (2, 30, 36) and out["classes"].dtype == tf.int32
    for i, image in enumerate(images):
        height, width = image.shape[:2]
        probabilities = model(eval_image(image[np.newaxis], 16, 3, DataConfig()), training=False)[0]
        classes, scores = _whole(probabilities, height, width)
        # Keras' forward pass and the SavedModel's differ by float rounding (1e-7): the classes agree wherever
        # the best class leads the second by more (the banding itself is bit-exact, tested above).
        up = np.sort(tf.image.resize(probabilities, [height, width], method="bilinear").numpy(), -1)
        clear = up[..., -1] - up[..., -2] > 1e-5
        assert clear.mean() > 0.95
        np.testing.assert_array_equal(out["classes"][i, :height, :width].numpy()[clear], classes[clear])
        np.testing.assert_allclose(out["scores"][i, :height, :width], scores, atol=1e-6)
        assert np.all(out["classes"][i, height:] == -1) and np.all(out["classes"][i, :, width:] == -1)
        assert np.all(out["scores"][i, height:] == 0) and np.all(out["scores"][i, :, width:] == 0)
        np.testing.assert_array_equal(tf.io.decode_png(out["mask_png"][i])[..., 0], out["classes"][i, :height, :width])
    # The arrays signature, a batch of one size: no padding, the same masks.
    same = served.signatures["serving_default"](images=tf.constant(images[0][np.newaxis]))
    np.testing.assert_array_equal(same["classes"][0], out["classes"][0, :20, :36])
    np.testing.assert_array_equal(same["scores"][0], out["scores"][0, :20, :36])


def test_a_batch_whose_padded_masks_are_over_the_limit_is_refused(version):
    # Each image and the two together are within 64 x 64 pixels; padded to 64 x 64 each, the answer is not.
    _, served = version
    wide, tall = np.zeros((1, 64, 3), np.uint8), np.zeros((64, 1, 3), np.uint8)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"padded to the largest \(64x64\) is 8192 pixels"):
        served.signatures["serving_bytes"](image_bytes=tf.constant([_png(wide), _png(tall)]))
    answer = served.signatures["serving_bytes"](image_bytes=tf.constant([_png(wide), _png(wide)]))
    assert answer["classes"].shape == (2, 1, 64)
