"""Translation equivariance of feature maps and translation invariance of predictions.

Convolution commutes with translation: shifting the input by t pixels shifts a feature map by t / J units, J being
the map's jump (the product of the strides before it). That holds only where t is a multiple of J, and only away
from the borders, where the padding and the pixels shifted in are seen. Subsampling (a stride, a pooling) breaks it
for the other shifts, and so the classifier's prediction is not invariant to small shifts either, which pooling
only partly restores (Azulay & Weiss, "Why do deep convolutional networks generalize so poorly to small image
transformations?", JMLR 2019; Zhang, "Making Convolutional Networks Shift-Invariant Again", ICML 2019).

`equivariance_error` measures the first, `translation_invariance` the second, so that networks (with pooling and
without, strided and not) can be compared on the same images.
"""

import math

import keras
import numpy as np

from kerascnn.analysis.layer_stats import layer_stats


def shift_images(images, offset):
    """A batch of images (batch, height, width, channels) moved by offset = (dy, dx) pixels, zeros shifted in.

    Positive values move the content down and right. With normalised inputs zero is the mean colour.
    """
    images = np.asarray(images)
    moved = np.zeros_like(images)
    source, target = [slice(None)], [slice(None)]
    for t, size in zip(offset, images.shape[1:3]):
        t = max(-size, min(size, t))
        source.append(slice(max(0, -t), size - max(0, t)))
        target.append(slice(max(0, t), size - max(0, -t)))
    moved[tuple(target)] = images[tuple(source)]
    return moved


def equivariance_error(model, images, shifts, *, layer=None, direction=(0, 1), batch_size=32):
    """{shift k: relative error} of a feature map under a translation of the input by k pixels.

    The error is ||f(T_t x) - T_{t/J} f(x)|| / ||T_{t/J} f(x)|| with f the model up to `layer` (the name of one of
    the model's layers; None: the last one with feature maps), T_t a shift by t = k * direction pixels, J the
    map's jump, and t / J rounded to the nearest unit where J does not divide t. Only units whose receptive field
    lies inside the image both before and after the shift are compared; NaN if there are none.
    """
    extractor, field = _feature_extractor(model, layer)
    images = np.asarray(images, "float32")
    base = extractor.predict(images, batch_size=batch_size, verbose=0)
    errors = {}
    for k in shifts:
        offset = tuple(k * d for d in direction)
        moved = extractor.predict(shift_images(images, offset), batch_size=batch_size, verbose=0)
        unit_offset = tuple(math.floor(t / j + 0.5) for t, j in zip(offset, field.jump))
        target, source = [], []
        for axis, (t, u) in enumerate(zip(offset, unit_offset)):
            units = _comparable_units(field, axis, images.shape[1 + axis], base.shape[1 + axis], t, u)
            target.append(units)
            source.append(units - u)
        if not all(len(units) for units in target):
            errors[k] = float("nan")
            continue
        expected = base[:, source[0][:, None], source[1][None, :]]
        actual = moved[:, target[0][:, None], target[1][None, :]]
        norm = np.linalg.norm(expected)
        errors[k] = float(np.linalg.norm(actual - expected) / norm) if norm else 0.0
    return errors


def translation_invariance(model, images, shifts, *, direction=(0, 1), batch_size=32):
    """{shift k: the fraction of images whose top-1 class survives a translation by k * direction pixels}.

    The prediction is the model's first output; the images are shifted with zeros (see `shift_images`).
    """
    images = np.asarray(images, "float32")
    before = _top1(model, images, batch_size)
    return {
        k: float(np.mean(_top1(model, shift_images(images, tuple(k * d for d in direction)), batch_size) == before))
        for k in shifts
    }


def _top1(model, images, batch_size):
    predictions = model.predict(images, batch_size=batch_size, verbose=0)
    if isinstance(predictions, (list, tuple)):
        predictions = predictions[0]
    return np.argmax(predictions, axis=-1)


def _feature_extractor(model, layer):
    """(model from the input to the layer's output, that output's receptive field)."""
    stats = layer_stats(model)
    if layer is None:
        maps = [candidate.name for candidate in model.layers if len(candidate.output.shape) == 4]
        if not maps:
            raise ValueError(f"{model.name} has no layer that outputs feature maps.")
        layer = maps[-1]
    output = model.get_layer(layer).output
    # A block or nested model is expanded in the table: its output is the last row inside it.
    row = [r for r in stats.layers if r.name == layer or r.name.startswith(f"{layer}/")][-1]
    if len(output.shape) != 4 or row.field is None:
        raise ValueError(f"{layer}'s output is not a feature map with a known receptive field.")
    return keras.Model(model.input, output), row.field


def _comparable_units(field, axis, image_size, map_size, shift, unit_shift):
    """Units along one axis that see only image pixels, in the shifted image and at their source in the original."""
    units = np.arange(map_size)
    first = field.start[axis] + units * field.jump[axis]
    last = field.end[axis] + units * field.jump[axis]
    inside_shifted = (first >= max(0, shift)) & (last < image_size + min(0, shift))
    source = units - unit_shift
    source_first = field.start[axis] + source * field.jump[axis]
    source_last = field.end[axis] + source * field.jump[axis]
    inside_source = (source >= 0) & (source < map_size) & (source_first >= 0) & (source_last < image_size)
    return units[inside_shifted & inside_source]
