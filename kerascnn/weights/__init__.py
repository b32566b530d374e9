"""Pretrained weights for the zoo: `kerascnn.get_model(name, weights="imagenet" | PATH)`.

Sources (kerascnn/weights/sources.py): keras.applications' files for vgg16, vgg19, resnet50, resnet101 and
resnet152 (downloaded once into Keras' cache, md5 pinned); the ONNX model zoo's BVLC AlexNet and GoogLeNet for
alexnet and googlenet (a local file: no hash of theirs can be pinned). A path may be any file keras.applications'
constructor accepts for that architecture (.h5), or an ONNX graph (.onnx) whose topology matches the model (AlexNet,
GoogLeNet, VGG, ResNet: kerascnn/weights/onnx_import.py).

With the source's 1000 classes and the classifier, everything is loaded; with another `num_classes` or
`include_top=False` the backbone is loaded and the classifier (VGG's and AlexNet's fc6, fc7 too, as
keras.applications leaves them out without the top) is left as initialised, for fine-tuning.

The dense models whose papers start from an ImageNet classifier (FCN and DeepLab-LargeFOV on VGG-16, DeepLab v2 on
ResNet-101: sources.BACKBONES) load that classifier's file into their backbone; their head (score layers, ASPP)
stays new and FCN's upsampling stays fixed bilinear.

The preprocessing the weights expect travels with them: `preprocessing(name, weights)` names it (a
kerascnn.data normalisation), and the returned model carries it as `model.preprocessing`.
"""

from importlib import resources
from pathlib import Path

from kerascnn.errors import UserError
from kerascnn.weights import download, keras_applications, onnx_import, onnx_resnet
from kerascnn.weights.sources import BACKBONES, FORMATS, SOURCES

IMAGENET_CLASSES = 1000
# What each format's weights expect when a local file is given (the source's, for the models it covers).
FORMAT_NORMALIZATION = {"keras": "caffe", "onnx": "bvlc"}


def imagenet_classes():
    """The 1000 ImageNet class names in the order of the published classifiers (keras.applications' index)."""
    text = resources.files("kerascnn.weights").joinpath("imagenet_classes.txt").read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line]


def backbone(name, options=None):
    """The classifier (a key of SOURCES) whose ImageNet weights the dense model `name` starts from, or None."""
    if name not in BACKBONES:
        return None
    if name == "deeplab_v2" and (options or {}).get("depth", 101) != 101:
        return f"resnet{options['depth']}"
    return BACKBONES[name].source


def _format(name, weights, options=None):
    arch = backbone(name, options)
    if arch and arch not in SOURCES:
        raise UserError(f"{name} on {arch} has no ImageNet weights in kerascnn (its depths 50, 101 and 152 do).")
    if weights == "imagenet":
        if arch:
            return SOURCES[arch].format
        if name not in SOURCES:
            have = ", ".join(sorted([*SOURCES, *BACKBONES]))
            raise UserError(f"{name} has no published ImageNet weights in kerascnn; models that do: {have}.")
        return SOURCES[name].format
    path = Path(weights)
    if not path.is_file():
        raise UserError(f'weights must be None, "imagenet" or a weights file; {weights} is not a file.')
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise UserError(f"{path}: unknown weights format {path.suffix!r}; give a keras.applications .h5 or an .onnx.")
    if fmt == "keras" and name not in keras_applications.APPLICATIONS and not arch:
        have = ", ".join([*keras_applications.APPLICATIONS, *BACKBONES])
        raise UserError(f"keras.applications weights map onto {have}, not {name}.")
    if fmt != "keras" and arch:
        raise UserError(f"{name} loads its backbone from keras.applications' {arch} .h5, not from {path.suffix}.")
    return fmt


def preprocessing(name, weights):
    """The normalisation (a name of kerascnn.data.NORMALIZATIONS) that `weights` for model `name` expect."""
    if weights is None:
        return None
    if weights == "imagenet" or backbone(name):
        _format(name, weights)
        return SOURCES[backbone(name) or name].normalization
    fmt = _format(name, weights)
    if name in SOURCES and SOURCES[name].format == fmt:
        return SOURCES[name].normalization
    if fmt == "onnx" and name.startswith("resnet"):
        return "imagenet"  # ONNX ResNets come from torchvision or MXNet Gluon (the zoo's): RGB, ImageNet mean and std
    return FORMAT_NORMALIZATION[fmt]


def onnx_graph(name, weights):
    """The ONNX graph that `weights` for the registry's `name` are, read once (a 60M-parameter file) for
    `build_options` and `load_weights`; None where the weights are not ONNX."""
    if weights is None or _format(name, weights) != "onnx":
        return None
    return onnx_import.load_graph(_path(name, weights, top=True))


def build_options(graph):
    """The model options that the weights' ONNX `graph` fixes (its LRN constants), to build the model with; none
    where `graph` is None (weights in Keras' format fix none)."""
    return {} if graph is None else onnx_import.options(graph)


def _path(name, weights, *, top, arch=None):
    if weights != "imagenet":
        return weights
    source = SOURCES[arch or name]
    label = f"{arch} (the backbone of {name})" if arch else name
    return download.fetch(source.top if top or source.notop is None else source.notop, label)


def load_weights(model, name, weights, *, head, options=None, graph=None):
    """Copies `weights` into `model` (the registry's `name`, built with `options`); `head` says whether the model's
    classifier is the source's (1000 classes); `graph`: the ONNX graph of `weights` where the caller has read it
    (`onnx_graph`). Returns the names of the layers left as initialised."""
    fmt = _format(name, weights, options)
    arch = backbone(name, options)
    if arch:
        top = BACKBONES[name].top
        path = _path(name, weights, top=top, arch=arch)
        if top and not keras_applications.has_top(path):
            raise UserError(
                f"{path} holds no classifier, and {name}'s fc6 and fc7 are {arch}'s, convolutionalized: give the "
                f"file with it ({SOURCES[arch].top.file_name})."
            )
        source = keras_applications.read(path, arch, (224, 224, 3), top)
        left = keras_applications.copy_backbone(model, source, name)
    elif fmt == "keras":
        path = _path(name, weights, top=head)
        top = keras_applications.has_top(path)
        if head and not top:
            raise UserError(f"{path} holds no classifier: pass include_top=False or another num_classes.")
        source = keras_applications.read(path, name, model.input_shape[1:], top)
        left = keras_applications.copy_weights(model, source, load_head=head)
    else:
        graph = onnx_graph(name, weights) if graph is None else graph
        copy = onnx_resnet.copy_resnet if onnx_resnet.is_resnet(model) else onnx_import.copy_weights
        left = copy(model, graph, load_head=head)
    model.preprocessing = preprocessing(name, weights)
    model.new_layers = tuple(left)
    return left
