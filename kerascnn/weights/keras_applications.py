"""keras.applications' ImageNet weights (VGG16/19, ResNet50/101/152) copied into the zoo's models.

keras.applications reads the file (its downloaded .h5, or a .weights.h5 saved from one of its models), so any
file its constructor accepts works; the weights are then copied layer by layer into ours, each shape checked.

- VGG: the same layers under other names (fc1, fc2 are our fc6, fc7); its head has no dropout, ours does
  (inactive in inference): nothing to map.
- ResNet: its convs carry a bias and ours do not (the paper's: a BN follows each). The bias b is folded exactly
  into the next BN: BN(conv(x) + b) with moving mean m is BN(conv(x)) with moving mean m - b. Its BNs use
  epsilon 1.001e-5, ours 1e-5: the difference is added to the moving variance (var + eps is what BN divides by),
  so the loaded model computes keras.applications' function with our layers, to float32 rounding.
"""

import warnings

import numpy as np

from kerascnn.errors import UserError

APPLICATIONS = {
    "vgg16": "VGG16",
    "vgg19": "VGG19",
    "resnet50": "ResNet50",
    "resnet101": "ResNet101",
    "resnet152": "ResNet152",
}
HEAD = ("fc6", "fc7", "predictions")  # our classifier: loaded only where it is the source's (1000 classes)
RENAMED = {"fc6": "fc1", "fc7": "fc2"}  # VGG's head in keras.applications


def has_top(path):
    """Whether a keras.applications weights file holds the classifier."""
    import h5py

    with h5py.File(path, "r") as file:
        group = file["model_weights"] if "model_weights" in file else file
        if "layer_names" in group.attrs:  # the legacy format (the downloaded files)
            return any(name in (b"predictions", "predictions") for name in group.attrs["layer_names"])
        return "layers" in file and any(key.startswith("dense") for key in file["layers"])  # Keras 3 .weights.h5


def read(path, model_name, input_shape, top):
    """keras.applications' model of `model_name` with the file's weights, as its own constructor loads them."""
    import keras

    builder = getattr(keras.applications, APPLICATIONS[model_name])
    try:
        # Keras 3 loads a .weights.h5 of another architecture with only a warning, leaving layers as initialised:
        # here that is an error, never a partial load.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = builder(weights=str(path), include_top=top, input_shape=tuple(input_shape))
        skipped = [str(w.message) for w in caught if "Skipping" in str(w.message) or "freshly" in str(w.message)]
        if skipped:
            raise ValueError(skipped[0])
        return model
    except Exception as error:  # h5py and Keras raise several kinds for a file that does not fit
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        reason = " ".join(lines[:2]) if lines else type(error).__name__
        raise UserError(
            f"{path} is not a keras.applications {APPLICATIONS[model_name]} weights file ({reason}); give the .h5 "
            f"its constructor downloads, or weights saved from keras.applications.{APPLICATIONS[model_name]}."
        ) from None


def _pairs(model):
    """(our layer, its name in keras.applications) for every layer with weights, in model order."""
    for layer in model.layers:
        if hasattr(layer, "convs") and hasattr(layer, "norms"):  # a ResidualBlock: conv{k}/bn{k}, shortcut_*
            for k, (conv, norm) in enumerate(zip(layer.convs, layer.norms), start=1):
                yield conv, f"{layer.name}_{k}_conv"
                yield norm, f"{layer.name}_{k}_bn"
            if getattr(layer, "projection", None) is not None:
                yield layer.projection, f"{layer.name}_0_conv"
                yield layer.projection_norm, f"{layer.name}_0_bn"
        elif layer.weights:
            yield layer, RENAMED.get(layer.name, layer.name)


def _check(ours, theirs, what):
    if len(ours) != len(theirs) or any(a.shape != b.shape for a, b in zip(ours, theirs)):
        have = ", ".join(str(tuple(a.shape)) for a in theirs) or "no weights"
        want = ", ".join(str(tuple(a.shape)) for a in ours)
        raise UserError(f"{what}: the file has {have}, the model needs {want}; the weights do not fit this model.")


def copy_weights(model, source, *, load_head):
    """Copies `source` (a keras.applications model) into `model`; returns the names of our layers left as they
    were initialised (the head, where `load_head` is False)."""
    return _copy(model, source, lambda layer: not load_head and layer.name in HEAD)


def copy_backbone(model, source, name):
    """Copies the classifier `source` into the dense model `model` (the registry's `name`) built on its backbone:
    each of our layers with a counterpart of its name (FCN's fc6 and fc7 from VGG's fc1 and fc2, their kernels
    reshaped into the 7x7 and 1x1 convolutions they compute, Long et al. Sec. 3.1). Returns the layers left new
    (the dense head, FCN's fixed bilinear upsampling). Every layer of the source's backbone must find its place:
    a file of another architecture is an error, never a partial load."""
    have = {n for _, n in _pairs(model)}
    left = _copy(model, source, lambda layer: False, missing_ok=True)
    unused = [layer.name for layer in source.layers if layer.weights and layer.name not in have]
    unused = [n for n in unused if n != "predictions"]  # the ImageNet classifier: the dense head replaces it
    if unused:
        raise UserError(f"The {source.name} weights' layer {unused[0]} has no place in {name}; they do not fit it.")
    return left


def _copy(model, source, skip, *, missing_ok=False):
    names = {layer.name for layer in source.layers}
    folded = None  # the bias of the last conv, waiting for its BN
    left = []
    for layer, name in _pairs(model):
        if skip(layer) or (missing_ok and name not in names):
            left.append(layer.name)
            continue
        if name not in names:
            raise UserError(f"Layer {layer.name} has no counterpart {name!r} in the keras.applications model.")
        theirs = [np.asarray(w, np.float64) for w in source.get_layer(name).get_weights()]
        ours = layer.get_weights()
        what = f"Layer {name}"
        if len(theirs) == len(ours) + 1 and len(ours) == 1:  # a conv with a bias into ours without one
            theirs, folded = theirs[:1], theirs[1]
        elif len(ours) == 4 and len(theirs) == 4:  # BN: gamma, beta, moving mean, moving variance
            gamma, beta, mean, variance = theirs
            if folded is not None:
                mean = mean - folded
                folded = None
            their_eps = getattr(source.get_layer(name), "epsilon", None)
            our_eps = getattr(layer, "epsilon", their_eps)
            if their_eps is not None:
                variance = variance + (their_eps - our_eps)
            theirs = [gamma, beta, mean, variance]
        elif ours and theirs[0].ndim == 2 and ours[0].ndim == 4 and theirs[0].size == ours[0].size:
            # A dense layer as the convolution over its input's map (row-major flatten of height, width, channels).
            theirs = [theirs[0].reshape(ours[0].shape), *theirs[1:]]
        _check(ours, theirs, what)
        layer.set_weights([t.astype(o.dtype) for o, t in zip(ours, theirs)])
    return left
