"""The served `explain` signatures, loaded with plain TensorFlow in a process that cannot import kerascnn: the
heatmap equals kerascnn.analysis.grad_cam of the model's input, placed back at the request image's size where the
evaluation transform cropped it from, and the request guard refuses what serving_default refuses."""

import json

import numpy as np
import pytest
import tensorflow as tf
from serving_helpers import export_resnet20, run_without_kerascnn

from kerascnn import analysis
from kerascnn.data.config import DataConfig
from kerascnn.training.config import RunConfig
from kerascnn.training.models import build_model

# Run where kerascnn cannot be imported (serving_helpers.run_without_kerascnn): loads the SavedModel, explains each
# image (of its own size) and writes the outputs to an .npz file.
EXPLAIN = """
import json
import numpy as np, tensorflow as tf
model = tf.saved_model.load(sys.argv[1])
images = np.load(sys.argv[2])
out = {}
for i, image in enumerate(images.values()):
    top = model.signatures["explain"](images=tf.constant(image[None]))
    other = model.signatures["explain_class"](images=tf.constant(image[None]), class_index=tf.constant([2]))
    for name, result in (("top", top), ("class", other)):
        for key, value in result.items():
            out[f"{name}_{key}_{i}"] = value.numpy()
try:
    model.signatures["explain"](images=tf.zeros([1, 3000, 3000, 3], tf.uint8))
    refused = ""
except tf.errors.InvalidArgumentError as error:
    refused = error.message
np.savez(sys.argv[3], **out)
print(json.dumps({"signatures": sorted(model.signatures), "refused": refused}))
"""

CONFIG = RunConfig(model="resnet20", data=DataConfig(eval_crop_fraction=0.8))  # resized to 40, cropped to 32


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    tf.keras.utils.set_random_seed(0)
    trained = build_model(CONFIG, num_classes=4, input_shape=(32, 32, 3), precision="float32")
    folder = tmp_path_factory.mktemp("export") / "1"
    limits = {"max_image_pixels": 10**6, "max_batch_pixels": 10**6}
    served, transform = export_resnet20(trained, CONFIG, folder, max_pixels=10**6, limits=limits, explain_resize=40)
    rng = np.random.default_rng(1)
    images = {"square": rng.integers(0, 256, (40, 40, 3), dtype="uint8")}
    images["wide"] = rng.integers(0, 256, (40, 50, 3), dtype="uint8")
    np.savez(folder.parent / "images.npz", **images)
    result = run_without_kerascnn(EXPLAIN, folder, folder.parent / "images.npz", folder.parent / "out.npz")
    assert result.returncode == 0, result.stderr[-3000:]
    return served, transform, images, dict(np.load(folder.parent / "out.npz")), json.loads(result.stdout)


def test_every_classifier_version_has_the_explain_signatures(exported):
    *_, report = exported
    assert report["signatures"] == ["explain", "explain_class", "serving_bytes", "serving_default"]


def test_the_served_heatmap_is_grad_cam_at_the_request_images_size(exported):
    served, transform, images, out, _ = exported
    # The centre crop of the 40-pixel side: rows 4 to 36; columns 4 to 36 of the square one, 9 to 41 of the wide.
    for i, (image, left) in enumerate(zip(images.values(), (4, 9))):
        inputs = transform(image[None])
        for name, class_index in (("top", None), ("class", 2)):
            expected = np.zeros(image.shape[:2], "float32")
            expected[4:36, left : left + 32] = analysis.grad_cam(served, inputs, class_index=class_index)[0]
            heatmap = out[f"{name}_heatmap_{i}"][0]
            assert heatmap.shape == image.shape[:2] and expected.max() == 1.0
            np.testing.assert_allclose(heatmap, expected, atol=1e-4)
            np.testing.assert_allclose(out[f"{name}_probabilities_{i}"][0], served(inputs)[0], atol=1e-5)
        assert out[f"top_class_index_{i}"][0] == np.argmax(served(inputs)[0]) and out[f"class_class_index_{i}"] == 2


def test_the_explain_signature_goes_through_the_request_guard(exported):
    *_, report = exported
    assert "9000000" in report["refused"] and "1000000" in report["refused"]
