"""The download path of weights="imagenet", with keras.utils.get_file replaced: the file name, hash and cache
folder asked for, a file whose hash does not match refused, and offline a one-line error saying what to do."""

import hashlib

import keras
import pytest

import kerascnn
from kerascnn import weights
from kerascnn.errors import UserError
from kerascnn.weights import download
from kerascnn.weights.sources import SOURCES


@pytest.fixture
def fake_get_file(monkeypatch, tmp_path):
    """get_file writing `content` where it was asked, and recording the call."""
    calls = []

    def install(content):
        def get_file(fname, origin, cache_subdir, file_hash):
            calls.append(dict(fname=fname, origin=origin, cache_subdir=cache_subdir, file_hash=file_hash))
            path = tmp_path / cache_subdir / fname
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
            return str(path)

        monkeypatch.setattr(keras.utils, "get_file", get_file)
        return calls

    return install


def test_asks_for_keras_applications_own_file_hash_and_cache_folder(fake_get_file):
    content = b"not really weights"
    calls = fake_get_file(content)
    source = SOURCES["resnet50"]
    pinned = source.notop._replace(file_hash=hashlib.md5(content).hexdigest())
    path = download.fetch(pinned, "resnet50")
    # The names and hashes of keras/src/applications/resnet.py (Keras 3.15), so the two share one cache.
    assert calls == [
        dict(
            fname="resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5",
            origin="https://storage.googleapis.com/tensorflow/keras-applications/resnet/"
            "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5",
            cache_subdir="models",
            file_hash=pinned.file_hash,
        )
    ]
    assert path.endswith("models/resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5")
    assert source.top.file_hash == "2cb95161c43110f7111970584f804107"
    assert source.notop.file_hash == "4d473c1dd8becc155b73f8504c6f6626"
    assert SOURCES["vgg16"].top.file_hash == "64373286793e3c8b2b4e3219cbf3544b"


def test_get_model_fetches_the_notop_file_for_a_new_head(fake_get_file):
    calls = fake_get_file(b"corrupt")
    with pytest.raises(UserError, match="does not have the pinned md5"):
        kerascnn.get_model("vgg16", weights="imagenet", num_classes=10, input_shape=(32, 32, 3))
    assert [c["fname"] for c in calls] == ["vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"]
    assert calls[0]["file_hash"] == "6d6bbae143d832006294945121d1f1fc"


def test_a_hash_mismatch_is_an_error_not_a_load(fake_get_file):
    fake_get_file(b"something else")
    with pytest.raises(UserError, match="does not have the pinned md5 .* delete it"):
        download.fetch(SOURCES["resnet50"].top, "resnet50")


def test_offline_names_the_file_and_where_to_put_it(monkeypatch):
    def offline(*args, **kwargs):
        raise Exception("URL fetch failure on https://storage.googleapis.com/...: None -- [Errno -3] no network")

    monkeypatch.setattr(keras.utils, "get_file", offline)
    with pytest.raises(UserError) as error:
        kerascnn.get_model("resnet50", weights="imagenet")
    message = str(error.value)
    assert "\n" not in message
    assert "resnet50_weights_tf_dim_ordering_tf_kernels.h5" in message and "weights=PATH" in message
    assert str(download.cache_dir()) in message


def test_onnx_sources_are_never_downloaded_unpinned(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(keras.utils, "get_file", lambda *a, **k: pytest.fail("no download without a pinned hash"))
    with pytest.raises(UserError, match=r"bvlcalexnet-12\.onnx.*weights=PATH"):
        kerascnn.get_model("alexnet", weights="imagenet")


def test_models_without_weights_and_unknown_files_are_one_line(tmp_path):
    with pytest.raises(
        UserError,
        match="lenet5 has no published .*alexnet, deeplab_largefov, .*fcn8s, googlenet, resnet101",
    ):
        kerascnn.get_model("lenet5", weights="imagenet")
    with pytest.raises(UserError, match="is not a file"):
        kerascnn.get_model("vgg16", weights=str(tmp_path / "missing.h5"))
    (tmp_path / "w.bin").write_bytes(b"x")
    with pytest.raises(UserError, match="unknown weights format"):
        kerascnn.get_model("vgg16", weights=str(tmp_path / "w.bin"))


def test_imagenet_class_names_ship_with_the_package():
    names = weights.imagenet_classes()
    assert len(names) == 1000
    # keras.applications' imagenet_class_index.json order (sorted WordNet ids): n01440764 tench ... n15075141.
    assert names[:3] == ["tench", "goldfish", "great white shark"]
    assert names[999] == "toilet tissue" and names[409] == "analog clock"


@pytest.mark.parametrize(
    "model, file_name",
    [
        ("fcn8s", "vgg16_weights_tf_dim_ordering_tf_kernels.h5"),  # fc6, fc7 are VGG's fc1, fc2: the full file
        ("deeplab_largefov", "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"),
        ("deeplab_v2", "resnet101_weights_tf_dim_ordering_tf_kernels_notop.h5"),
    ],
)
def test_dense_models_fetch_their_backbones_file_and_offline_say_so_in_one_line(monkeypatch, model, file_name):
    asked = []

    def offline(fname, *args, **kwargs):
        asked.append(fname)
        raise Exception("URL fetch failure: [Errno -3] no network")

    monkeypatch.setattr(keras.utils, "get_file", offline)
    with pytest.raises(UserError) as error:
        kerascnn.get_model(model, weights="imagenet", input_shape=(64, 64, 3))
    assert asked == [file_name]
    message = str(error.value)
    assert "\n" not in message and file_name in message and "backbone of " + model in message
    assert error.value.field == "weights"
