"""First-layer filters and feature maps laid out as one image: what a network's first layer looks for, and where it
finds it in a picture (Krizhevsky et al. 2012, Fig. 3; Zeiler & Fergus, "Visualizing and Understanding
Convolutional Networks", ECCV 2014).

The grids are uint8 arrays (height, width, channels), so the same picture goes to a PNG (`plots.save_png`) and to
TensorBoard (`callbacks.FilterImagesCallback`).
"""

import math

import keras
import numpy as np


def first_conv(model):
    """The first layer of the model (in its graph's order) with a 2D convolution kernel: the one whose filters
    can be seen as images."""
    for layer in model.layers:
        kernels = [w for w in layer.weights if w.name == "kernel" and len(w.shape) == 4]
        if kernels and len(layer.output.shape) == 4:
            return layer
    raise ValueError(f"{model.name} has no 2D convolution at its top level to show.")


def filter_grid(kernel, *, scale=4, gap=1, columns=None):
    """A kernel (height, width, in_channels, filters) as a grid of its filters, each scaled to the full range.

    Filters over 3 input channels are shown in colour (as RGB); others as the mean over their input channels.
    Each pixel of a filter becomes a `scale` x `scale` block, so that an 11x11 filter is visible. `columns`
    fixes the grid's width (default: near square); AlexNet's 96 in 16 columns are the paper's Fig. 3, the first
    48 (one GPU) in the top three rows and the last 48 (the other) below.
    """
    kernel = np.asarray(kernel, "float32")
    if kernel.shape[2] != 3:
        kernel = kernel.mean(axis=2, keepdims=True)
    tiles = [_to_uint8(kernel[..., i]) for i in range(kernel.shape[-1])]
    tiles = [np.kron(t, np.ones((scale, scale, 1), "uint8")) for t in tiles]
    return _grid(tiles, gap, columns)


def feature_map_grid(maps, *, max_maps=64, gap=1):
    """Feature maps (height, width, channels) of one image as a grayscale grid, each map scaled to the full range."""
    maps = np.asarray(maps, "float32")
    return _grid([_to_uint8(maps[..., i : i + 1]) for i in range(min(maps.shape[-1], max_maps))], gap)


def feature_maps(model, image, layer):
    """The output of `layer` (a Layer of the model or its name) for one image (height, width, channels)."""
    layer = model.get_layer(layer) if isinstance(layer, str) else layer
    extractor = keras.Model(model.input, layer.output)
    return np.asarray(extractor(np.asarray(image, "float32")[None], training=False))[0]


def _to_uint8(values):
    low, high = float(values.min()), float(values.max())
    scaled = (values - low) / (high - low) if high > low else np.zeros_like(values)
    return np.round(scaled * 255).astype("uint8")


def _grid(tiles, gap, columns=None):
    """Equal tiles in a grid (near square by default), `gap` white pixels between them."""
    columns = columns or math.ceil(math.sqrt(len(tiles)))
    rows = math.ceil(len(tiles) / columns)
    h, w, c = tiles[0].shape
    grid = np.full((rows * (h + gap) - gap, columns * (w + gap) - gap, c), 255, "uint8")
    for i, tile in enumerate(tiles):
        r, col = divmod(i, columns)
        grid[r * (h + gap) : r * (h + gap) + h, col * (w + gap) : col * (w + gap) + w] = tile
    return grid
