"""What a unit responds to (Zeiler & Fergus 2014, Fig. 2): for each unit of a layer, the image patches that excite
it most, each cropped to the unit's receptive field, beside their deconvnet projections."""

from typing import NamedTuple

import keras
import numpy as np
from keras import ops

from kerascnn.analysis.attribution import deconvnet, feature_layer
from kerascnn.analysis.layer_stats import layer_stats
from kerascnn.errors import UserError


class TopActivation(NamedTuple):
    """One of a unit's strongest activations."""

    image: int  # index into the images
    position: tuple[int, int]  # (row, column) in the layer's map
    activation: float
    box: tuple[int, int, int, int]  # (top, left, bottom, right) of its receptive field in the image, end excluded
    patch: np.ndarray  # the image cropped to the box
    projection: np.ndarray  # the deconvnet projection of this activation, cropped to the box


def receptive_box(model, layer, position, image_size):
    """(top, left, bottom, right), end excluded: the input pixels unit `position` of `layer`'s map sees, from
    kerascnn.analysis.receptive (through layer_stats), clipped to the image."""
    rows = [row for row in layer_stats(model).layers if row.name == layer or row.name.startswith(f"{layer}/")]
    field = rows[-1].field if rows else None
    if field is None:
        raise UserError(f"The receptive field of {layer} cannot be computed.", field="layer")
    (top, bottom), (left, right) = field.span(position)
    height, width = image_size
    return (max(0, int(top)), max(0, int(left)), min(height, int(bottom) + 1), min(width, int(right) + 1))


def top_activations(model, images, layer, k=9, channels=None):
    """{channel: [TopActivation, ...]}: for each channel of `layer` (or those in `channels`) the `k` strongest
    activations over `images` and positions, strongest first, at most one per image (as the paper's grids show
    nine different images)."""
    target = feature_layer(model, layer)
    images = np.asarray(images, "float32")
    maps = ops.convert_to_numpy(
        ops.cast(keras.Model(model.inputs[0], target.output)(images, training=False), "float32")
    )
    channels = range(maps.shape[-1]) if channels is None else channels
    size, width = images.shape[1:3], maps.shape[2]
    result = {}
    for channel in channels:
        flat = maps[..., channel].reshape(len(images), -1)
        best = flat.argmax(axis=1)
        order = np.argsort(-flat.max(axis=1), kind="stable")[:k]
        positions = [divmod(int(best[n]), width) for n in order]
        projections = deconvnet(model, images[order], target.name, channel, positions=positions)
        result[channel] = []
        for n, position, projection in zip(order, positions, projections):
            top, left, bottom, right = box = receptive_box(model, target.name, position, size)
            result[channel].append(
                TopActivation(
                    int(n),
                    position,
                    float(flat[n].max()),
                    box,
                    images[n, top:bottom, left:right],
                    projection[top:bottom, left:right],
                )
            )
    return result
