"""What `python -m pipelines.inspect` does, for tests and notebooks: the model to inspect (a zoo model or a .keras
file, resized), the images to show it, and the pictures of what it computes.

    model = inspection.load_model("alexnet", input_size=64)
    images = inspection.read_images(model, ["cat.jpg"])
    inspection.write_pictures(model, analysis.layer_stats(model), "pictures", images)

Every mistake a user can make raises UserError naming the argument (`keras_file`, `input_size`, `layer`...).
"""

import difflib
import math
import os
import sys
from pathlib import Path

import keras
import numpy as np
from PIL import Image, UnidentifiedImageError

from kerascnn.analysis.attribution import feature_layer
from kerascnn.analysis.equivariance import equivariance_error, translation_invariance
from kerascnn.analysis.explain_plots import METHODS, explanations, plot_explanation, write_feature_grid
from kerascnn.analysis.grids import feature_map_grid, feature_maps, filter_grid, first_conv
from kerascnn.analysis.mask_shift import mask_shift_agreement, plot_mask_shift, predicted_classes
from kerascnn.analysis.plots import captioned, plot_receptive_field_growth, plot_shift_sensitivity, save_png
from kerascnn.data import idx
from kerascnn.data.config import BGR_NORMALIZATIONS
from kerascnn.data.shapes import generate_shapes
from kerascnn.errors import Mention, UserError
from kerascnn.registry import checked_model, get_model, model_spec


def load_model(
    name=None, *, keras_file=None, input_size=None, num_classes=None, unsafe_deserialization=False, weights=None
):
    """The zoo's model `name` (with pretrained `weights`, see kerascnn.weights), or the model saved in `keras_file`
    (one of the two), at `input_size` if given; `num_classes` None is the model's own (1000 for a classifier, the
    paper's for a segmentation model)."""
    if bool(name) == bool(keras_file):
        message = ("Name a model of the zoo or give ", Mention("keras_file"), ", one of the two.")
        raise UserError(*message, field="keras_file")
    if input_size is not None and input_size < 1:
        raise UserError(
            Mention("input_size"), f" must be a positive number of pixels, got {input_size}.", field="input_size"
        )
    if name:
        spec = checked_model(name)  # an unknown name: UserError about the model, with the closest names
        size = input_size or spec.input_shape[0]
        shape = (size, size, spec.input_shape[2])
        try:
            return get_model(name, num_classes=num_classes, input_shape=shape, weights=weights)
        except ValueError as error:  # the model's own refusal of the size
            raise UserError(str(error), field="input_size") from None
    if weights:
        message = (Mention("weights"), " are for a model of the zoo; a ", Mention("keras_file"), " has its own.")
        raise UserError(*message, field="weights")
    if not os.path.isfile(keras_file):
        raise UserError(f"No such file: {keras_file}", field="keras_file")
    try:
        model = keras.saving.load_model(keras_file, compile=False, safe_mode=not unsafe_deserialization)
    except Exception as error:  # Keras raises many kinds for a file it cannot read; all mean the same to a user
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        trust = (" (if you trust the file, add ", Mention("unsafe_deserialization", True), ")")
        hint = trust if "safe_mode" in str(error) else ()
        raise UserError(f"Cannot load {keras_file}: {reason}", *hint, field="unsafe_deserialization") from None
    return resized(model, input_size) if input_size else model


def resized(model, size):
    """The model on size x size inputs, with its weights (possible where they do not depend on the input size)."""
    shape = (size, size, model.inputs[0].shape[-1])
    try:
        clone = keras.models.clone_model(model, input_tensors=keras.Input(shape, name=model.inputs[0].name))
        clone.set_weights(model.get_weights())
    except Exception as error:  # noqa: BLE001  (a shape error of any layer: the model is fixed to its size)
        message = f"{model.name} cannot take {size}x{size} inputs: {error}".splitlines()[0]
        raise UserError(message, field="input_size") from None
    return clone


def check_layer(model, layer):
    """UserError unless `layer` (None: the default) names a layer of `model`, with the closest names."""
    names = [each.name for each in model.layers]
    if layer and layer not in names:
        close = ", ".join(difflib.get_close_matches(layer, names, n=3, cutoff=0.5)) or ", ".join(names[-3:])
        raise UserError(f"{model.name} has no layer named {layer!r}: did you mean {close}?", field="layer")


def read_images(model, paths):
    """The image files at `paths` (or an MNIST-family image named "NAME:SPLIT:INDEX", e.g.
    "fashion_mnist:test:0"), each resized to `model`'s input and standardised per channel (mean 0, deviation 1)."""
    shape = tuple(model.inputs[0].shape[1:])
    if paths and None in shape:
        message = (f"{model.name} takes images of any size: give one with ", Mention("input_size"), " N.")
        raise UserError(*message, field="input_size")
    images = []
    for path in paths:
        try:
            example = None if Path(path).exists() else idx.example_image(str(path))
            with Image.fromarray(example[0]) if example else Image.open(path) as image:
                image = image.convert("RGB" if shape[-1] == 3 else "L").resize((shape[1], shape[0]))
        except (OSError, UnidentifiedImageError) as error:
            raise UserError(f"Cannot read image {path}: {error}") from None
        pixels = np.asarray(image, "float32").reshape(shape)
        images.append((pixels - pixels.mean(axis=(0, 1))) / (pixels.std(axis=(0, 1)) + 1e-6))
    return images


# The smallest side of a filter in the picture, in pixels: AlexNet's 11x11 filters at 4 pixels a weight (its paper's
# Fig. 3), and a 3x3 (VGG's, FCN's) as large.
FILTER_PIXELS = 44


def filter_picture(model, conv):
    """The grid of `conv`'s filters, each weight a block of pixels so that a filter is at least FILTER_PIXELS
    wide, under a caption naming them: in R, G, B order for weights trained on B, G, R (the Caffe models), 16 a
    row for 64 filters or more (AlexNet's 96 are its paper's Fig. 3: one GPU's 48 above, the other's below)."""
    kernel = keras.ops.convert_to_numpy(conv.kernel)
    bgr = getattr(model, "preprocessing", None) in BGR_NORMALIZATIONS and kernel.shape[2] == 3
    if bgr:
        kernel = kernel[:, :, ::-1]
    columns = 16 if kernel.shape[-1] % 16 == 0 and kernel.shape[-1] >= 64 else None
    scale = max(1, math.ceil(FILTER_PIXELS / max(kernel.shape[:2])))
    height, width, channels, count = kernel.shape
    colour = {3: "in colour (RGB)", 1: "in grey"}.get(channels, f"the mean over their {channels} input channels")
    lines = [
        f"{model.name}: the {count} filters of {conv.name} ({height}x{width}x{channels}), {colour}",
        f"each scaled to its own range (black lowest, white highest); one weight = {scale}x{scale} pixels",
    ]
    # Gaps a third of a weight wide: the filters of a 3x3 layer stay apart.
    return captioned(filter_grid(kernel, scale=scale, gap=max(1, scale // 3), columns=columns), lines)[0]


def feature_picture(model, image, layer):
    """The feature maps of `layer` for one image, magnified to at least 96 pixels a map, under a caption."""
    maps = feature_maps(model, image, layer)
    scale = max(1, math.ceil(96 / max(maps.shape[:2])))
    grid = feature_map_grid(maps)
    grid = np.kron(grid, np.ones((scale, scale, 1), "uint8")) if scale > 1 else grid
    shown = min(maps.shape[-1], 64)
    lines = [
        f"{model.name}: {shown} of the {maps.shape[-1]} feature maps of {layer.name} ({maps.shape[0]}x{maps.shape[1]})",
        "for the first --image, each scaled to its own range (black lowest, white highest)",
    ]
    return captioned(grid, lines)[0]


def write_pictures(model, stats, directory, images=(), layer=None, max_shift=8):
    """Writes the receptive-field growth, the first layer's filters and, given images, its feature maps and the
    sensitivity to shifts of up to `max_shift` pixels (of `layer`, default the deepest feature map) into
    `directory`. Returns the paths written."""
    if max_shift < 0:
        raise UserError(Mention("max_shift"), f" must be 0 or more pixels, got {max_shift}.", field="max_shift")
    try:
        written = [plot_receptive_field_growth(stats, os.path.join(directory, "receptive_field.png"))]
        try:
            conv = first_conv(model)
        except ValueError as error:
            if len(images):
                raise UserError(str(error)) from None
            return written
        written.append(save_png(filter_picture(model, conv), os.path.join(directory, "filters.png")))
        if not len(images):
            return written
        images = np.stack(images)
        written.append(save_png(feature_picture(model, images[0], conv), os.path.join(directory, "feature_maps.png")))
        out, into = model.outputs[0].shape, model.inputs[0].shape
        if len(out) == 4 and None not in out[1:3] and tuple(out[1:3]) == tuple(into[1:3]):  # a mask: how it moves
            return [*written, mask_shift_picture(model, images, directory, max_shift)]
        try:
            shifts = range(max_shift + 1)
            equivariance = equivariance_error(model, images, shifts, layer=layer)
        except ValueError as error:
            raise UserError(str(error)) from None
        return [
            *written,
            plot_shift_sensitivity(
                {model.name: equivariance},
                {model.name: translation_invariance(model, images, shifts)},
                os.path.join(directory, "shift.png"),
            ),
        ]
    except OSError as error:
        raise UserError(f"Cannot write the pictures to {directory}: {error}", field="plot_dir") from None


def mask_shift_picture(model, images, directory, max_shift):
    """mask_shift.png: the agreement of the mask of shifted inputs with the shifted mask, by shift, the multiples
    of the model's output stride marked (when the registry knows it)."""
    try:
        stride = model_spec(model.name).output_stride
    except ValueError:  # a model of a file: its stride is not known
        stride = None
    try:
        agreement = mask_shift_agreement(model, images, range(max_shift + 1))
    except ValueError as error:
        raise UserError(str(error)) from None
    for k, value in agreement.items():
        print(f"shift {k:3d} px: mask agreement {value:.4f}", file=sys.stderr)
    title = None
    classes = np.unique(predicted_classes(model, images))
    if classes.size == 1:
        # A mask of one class moves with any shift: the agreement is 1 whatever the network computes.
        print(
            f"{model.name} predicts class {int(classes[0])} at every pixel of these images, so the mask agreement "
            "means nothing here: a constant mask agrees with itself at any shift (train the model or give its "
            "weights).",
            file=sys.stderr,
        )
        title = f"Mask agreement: meaningless, {model.name} predicts class {int(classes[0])} everywhere"
    path = os.path.join(directory, "mask_shift.png")
    return plot_mask_shift({model.name: agreement}, path, stride=stride, title=title)


FEATURES = "features"


def explain_methods(text):
    """The methods named in `text` ("gradcam,guided,deconv,occlusion", any of them, or "features")."""
    methods = [m.strip() for m in text.split(",") if m.strip()]
    unknown = [m for m in methods if m not in (*METHODS, FEATURES)]
    if unknown or not methods or (FEATURES in methods and len(methods) > 1):
        raise UserError(
            Mention("explain"),
            f" takes {','.join(METHODS)} (any of them) or {FEATURES}, got {text!r}.",
            field="explain",
        )
    return methods


def write_explanations(model, images, paths, methods, directory):
    """One figure per image (explain_<file name>.png): the image, each method's map, the top-5 classes."""
    if not len(images):
        raise UserError(Mention("explain"), " needs images to explain: give image files.", field="image")
    images = np.stack(images)
    maps = explanations(model, images, methods)
    probabilities = keras.ops.convert_to_numpy(model(images, training=False)).astype("float32")
    if probabilities.ndim == 4:  # a segmentation model: the share of each class over the image
        probabilities = probabilities.mean(axis=(1, 2))
    written = []
    for n, path in enumerate(paths):
        name = os.path.splitext(os.path.basename(path))[0]
        target = os.path.join(directory, f"explain_{name}.png")
        try:
            written.append(plot_explanation(images[n], {m: v[n] for m, v in maps.items()}, probabilities[n], target))
        except OSError as error:
            raise UserError(f"Cannot write {target}: {error}", field="plot_dir") from None
    return written


def dataset_images(model, dataset, max_images=64):
    """Images to look for a unit's strongest activations in: `dataset` "shapes" (kerascnn.data.shapes, drawn at
    the model's input size) or a folder of image files; at most `max_images`, standardised as read_images does."""
    shape = tuple(model.inputs[0].shape[1:])
    if dataset == "shapes":
        pixels = generate_shapes(max_images, image_size=shape[0], channels=shape[-1], split=1)[0].astype("float32")
        return list(
            (pixels - pixels.mean(axis=(1, 2), keepdims=True)) / (pixels.std(axis=(1, 2), keepdims=True) + 1e-6)
        )
    if not os.path.isdir(dataset or ""):
        raise UserError(Mention("dataset"), f" must be shapes or a folder of images, got {dataset!r}.", field="dataset")
    files = sorted(os.path.join(dataset, f) for f in os.listdir(dataset) if not f.startswith("."))[:max_images]
    return read_images(model, files)


def write_features(model, images, layers, directory):
    """Zeiler & Fergus's Fig. 2 for each of `layers` (default: the last convolutional feature map), written as
    features_<layer>.png."""
    written = []
    for layer in layers or [feature_layer(model).name]:
        check_layer(model, layer)
        target = os.path.join(directory, f"features_{layer.replace('/', '_')}.png")
        try:
            written.append(write_feature_grid(model, np.stack(images), layer, target))
        except OSError as error:
            raise UserError(f"Cannot write {target}: {error}", field="plot_dir") from None
    return written
