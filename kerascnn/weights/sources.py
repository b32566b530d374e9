"""Where each architecture's published ImageNet weights come from, and what input they expect.

One row per architecture: the file (with and without the classifier), its pinned hash, the format, and the
preprocessing the weights were trained with (a name of kerascnn.data.NORMALIZATIONS), which travels with them into
the training pipeline and the exported model.
"""

from typing import NamedTuple

KERAS_BASE = "https://storage.googleapis.com/tensorflow/keras-applications/"
ONNX_ZOO = "https://github.com/onnx/models/raw/main/validated/vision/classification/"
CACHE_SUBDIR = "models"  # keras.applications' folder in Keras' cache (~/.keras/models), so both share downloads


class WeightsFile(NamedTuple):
    file_name: str
    url: str
    file_hash: str | None  # md5 (32 hex digits) or sha256 (64); None: no hash pinned, the file is never downloaded


class Source(NamedTuple):
    """The published ImageNet weights of one architecture."""

    format: str  # "keras" (keras.applications' .h5) or "onnx"
    top: WeightsFile  # with the 1000-class classifier
    notop: WeightsFile | None  # the backbone alone (smaller); None: the top file serves both
    normalization: str  # the preprocessing the weights expect (kerascnn.data.NORMALIZATIONS)
    origin: str  # where the numbers came from, for the docs and the pushed version's record


def _keras(name, top_hash, notop_hash):
    folder = f"{name}/" if name.startswith("vgg") else "resnet/"
    files = [f"{name}_weights_tf_dim_ordering_tf_kernels{suffix}.h5" for suffix in ("", "_notop")]
    return Source(
        format="keras",
        top=WeightsFile(files[0], KERAS_BASE + folder + files[0], top_hash),
        notop=WeightsFile(files[1], KERAS_BASE + folder + files[1], notop_hash),
        normalization="caffe",
        origin=f"keras.applications.{name}",
    )


def _onnx(path, file_name, normalization, origin):
    # The ONNX model zoo publishes no checksums and these files could not be fetched where kerascnn is developed,
    # so no hash is pinned: weights="imagenet" uses a copy the user put in the cache folder, or asks for one.
    return Source("onnx", WeightsFile(file_name, ONNX_ZOO + path + file_name, None), None, normalization, origin)


# The hashes are keras.applications' own (keras/src/applications/vgg16.py, vgg19.py, resnet.py, Keras 3.15).
SOURCES = {
    "vgg16": _keras("vgg16", "64373286793e3c8b2b4e3219cbf3544b", "6d6bbae143d832006294945121d1f1fc"),
    "vgg19": _keras("vgg19", "cbe5617147190e668d6c5d5026f83318", "253f8cb515780f3b799900260a226db6"),
    "resnet50": _keras("resnet50", "2cb95161c43110f7111970584f804107", "4d473c1dd8becc155b73f8504c6f6626"),
    "resnet101": _keras("resnet101", "f1aeb4b969a6efcfb50fad2f0c20cfc5", "88cf7a10940856eca736dc7b7e228a21"),
    "resnet152": _keras("resnet152", "100835be76be38e30d865e96f2aaae62", "ee4c566cf9a93f14d82f913c2dc6dd0c"),
    "alexnet": _onnx("alexnet/model/", "bvlcalexnet-12.onnx", "bvlc_alexnet", "ONNX model zoo bvlcalexnet-12"),
    "googlenet": _onnx(
        "inception_and_googlenet/googlenet/model/", "googlenet-12.onnx", "bvlc", "ONNX model zoo googlenet-12"
    ),
}

# The format of a local file, by its name.
FORMATS = {".h5": "keras", ".onnx": "onnx"}


# Dense models whose papers start from a classifier's ImageNet weights: the classifier whose file they load, and
# whether they need its classifier too (FCN's fc6 and fc7 are VGG-16's fc6 and fc7 "convolutionalized", Long et al.
# Sec. 3.1; DeepLab-LargeFOV's fc6 is a 3x3 of 1024 filters that fits none of them, so it starts new).
class Backbone(NamedTuple):
    source: str  # a key of SOURCES
    top: bool  # whether the source's classifier is loaded too (FCN's fc6, fc7)


BACKBONES = {
    "fcn32s": Backbone("vgg16", top=True),
    "fcn16s": Backbone("vgg16", top=True),
    "fcn8s": Backbone("vgg16", top=True),
    "deeplab_largefov": Backbone("vgg16", top=False),
    "deeplab_v2": Backbone("resnet101", top=False),  # another `depth` option: that ResNet's
}
