"""kerascnn.analysis.callbacks: FilterImagesCallback and GradCamImagesCallback write TensorBoard image summaries
that TensorBoard reads."""

import glob
import io

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from kerascnn.analysis import FilterImagesCallback, grad_cam
from kerascnn.analysis.callbacks import GradCamImagesCallback


def _model():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(8, 3, activation="relu", name="conv1")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(x))
    model.compile("sgd", "sparse_categorical_crossentropy")
    return model


def test_writes_filters_and_feature_maps_every_n_epochs(tmp_path):
    model = _model()
    image = np.random.default_rng(0).normal(size=(16, 16, 3))
    x, y = np.random.default_rng(1).normal(size=(8, 16, 16, 3)), np.zeros(8)
    model.fit(x, y, epochs=4, verbose=0, callbacks=[FilterImagesCallback(tmp_path, image, every_n_epochs=2)])

    events = EventAccumulator(str(tmp_path), size_guidance={"tensors": 0})
    events.Reload()
    assert sorted(events.Tags()["tensors"]) == ["conv1/feature_maps", "conv1/filters"]
    filters = events.Tensors("conv1/filters")
    assert [e.step for e in filters] == [1, 3]  # after the 2nd and 4th epochs (0-based steps)
    # An image summary holds width, height and the PNG.
    width, height, png = tf.make_ndarray(filters[-1].tensor_proto)
    with Image.open(io.BytesIO(png)) as picture:
        assert picture.size == (int(width), int(height)) == (3 * 13 - 1, 3 * 13 - 1)  # 8 filters of 3x3, x4
    first, last = (tf.make_ndarray(e.tensor_proto)[2] for e in filters)
    assert first != last  # the filters moved between the two summaries
    maps = tf.make_ndarray(events.Tensors("conv1/feature_maps")[0].tensor_proto)
    assert (int(maps[0]), int(maps[1])) == (3 * 15 - 1, 3 * 15 - 1)  # 8 maps of 14x14
    assert len(glob.glob(str(tmp_path / "events.out.tfevents.*"))) == 1


def test_names_a_layer_and_checks_its_period(tmp_path):
    with pytest.raises(ValueError, match="every_n_epochs"):
        FilterImagesCallback(tmp_path, np.zeros((16, 16, 3)), every_n_epochs=0)
    model = _model()
    callback = FilterImagesCallback(tmp_path, np.zeros((16, 16, 3)), layer="conv1")
    callback.set_model(model)
    callback.on_train_begin()
    callback.write(step=7)
    callback.on_train_end()
    events = EventAccumulator(str(tmp_path), size_guidance={"tensors": 0})
    events.Reload()
    assert [e.step for e in events.Tensors("conv1/filters")] == [7]


def test_writes_the_grad_cam_of_a_fixed_batch_every_epoch(tmp_path):
    model = _model()
    images = np.random.default_rng(2).normal(size=(3, 16, 16, 3)).astype("float32")
    x, y = np.random.default_rng(1).normal(size=(8, 16, 16, 3)), np.arange(8) % 2
    model.fit(x, y, epochs=2, verbose=0, callbacks=[GradCamImagesCallback(tmp_path, images)])
    events = EventAccumulator(str(tmp_path), size_guidance={"tensors": 0})
    events.Reload()
    written = events.Tensors("grad_cam")
    assert [e.step for e in written] == [0, 1]
    width, height, *pngs = tf.make_ndarray(written[-1].tensor_proto)
    assert (int(width), int(height), len(pngs)) == (32, 16, 3)  # each image beside its heatmap
    with Image.open(io.BytesIO(pngs[0])) as picture:
        right = np.asarray(picture.convert("RGB"), "float32")[:, 16:] / 255
    # The right half is the image blended half and half with jet's colours of grad_cam's map.
    from matplotlib import colormaps

    cam = grad_cam(model, images[:1])[0]
    shown = (images[0] - images[0].min((0, 1))) / np.ptp(images[0], axis=(0, 1))
    np.testing.assert_allclose(right, 0.5 * shown + 0.5 * colormaps["jet"](cam)[..., :3], atol=2.5 / 255)
