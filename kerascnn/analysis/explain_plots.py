"""Pictures of the explanations: for one image, the image, each method's map over it and the top-5 classes; for a
layer, Zeiler & Fergus's Fig. 2 (for each unit, its nine strongest patches beside their deconvnet projections).

Drawn on matplotlib's Agg canvas (see kerascnn.analysis.plots), written atomically.
"""

import numpy as np
from keras import Model, ops

from kerascnn.analysis.attribution import deconvnet, feature_layer, grad_cam, guided_backprop
from kerascnn.analysis.occlusion import occlusion
from kerascnn.analysis.plots import new_figure, save_figure, save_png
from kerascnn.analysis.top_activations import top_activations

METHODS = ("gradcam", "guided", "deconv", "occlusion")
TITLES = {
    "gradcam": "Grad-CAM",
    "guided": "guided backprop",
    "deconv": "deconvnet",
    "occlusion": "occlusion",
}


def explanations(model, images, methods):
    """{method: [N, H, W] or [N, H, W, C] map} for `methods` (of METHODS), each image's top-1 class explained; the
    deconvnet projects the strongest unit of the last convolutional feature map."""
    images = np.asarray(images, "float32")
    maps = {}
    if "gradcam" in methods:
        maps["gradcam"] = grad_cam(model, images)
    if "guided" in methods:
        maps["guided"] = guided_backprop(model, images)
    if "deconv" in methods:
        layer = feature_layer(model)
        projections = []
        for image in images:  # each image's own strongest channel
            activations = ops.convert_to_numpy(Model(model.inputs[0], layer.output)(image[None], training=False))
            channel = int(activations.reshape(-1, activations.shape[-1]).max(0).argmax())
            projections.append(deconvnet(model, image[None], layer.name, channel)[0])
        maps["deconv"] = np.stack(projections)
    if "occlusion" in methods:
        maps["occlusion"] = occlusion(model, images)
    return maps


def displayable(image):
    """An image of any range as floats in [0, 1], channel by channel (grey for one channel)."""
    image = np.asarray(image, "float32")
    low, high = image.min(axis=(0, 1)), image.max(axis=(0, 1))
    image = (image - low) / np.where(high > low, high - low, 1.0)
    return np.repeat(image, 3, axis=-1) if image.shape[-1] == 1 else image


def signed(gradient):
    """A gradient image centred on grey: 0.5 + g / (2 max |g|), as Springenberg et al. and Zeiler & Fergus show them."""
    peak = np.abs(gradient).max()
    return np.clip(0.5 + gradient / (2 * peak if peak > 0 else 1.0), 0, 1)


def plot_explanation(image, maps, probabilities, path, class_names=None, title=None):
    """One figure: the image, each map (heatmaps over the image, gradients as images) and the top-5 classes."""
    panels = 2 + len(maps)
    figure, axes = new_figure(figsize=(2.6 * panels, 2.9), ncols=panels)
    shown = displayable(image)
    axes[0].imshow(shown)
    axes[0].set_title(title or "image", fontsize=9)
    height, width = shown.shape[:2]
    for ax, (method, value) in zip(axes[1:], maps.items()):
        if value.ndim == 3:  # a gradient image
            ax.imshow(signed(value).mean(-1) if value.shape[-1] == 1 else signed(value), cmap="gray")
        else:  # a heatmap, coarse ones (occlusion) stretched over the image
            ax.imshow(shown)
            ax.imshow(value, cmap="jet", alpha=0.5, extent=(-0.5, width - 0.5, height - 0.5, -0.5))
        ax.set_title(TITLES.get(method, method), fontsize=9)
    for ax in axes[:-1]:
        ax.set_xticks([])
        ax.set_yticks([])
    top = np.argsort(-probabilities)[:5]
    names = [class_names[i] if class_names else str(i) for i in top]
    bars = axes[-1]
    bars.barh(range(len(top))[::-1], probabilities[top], color="C0")
    bars.set_yticks(range(len(top))[::-1], names, fontsize=8)
    bars.set_xlim(0, 1)
    bars.set_title("top-5", fontsize=9)
    return save_figure(figure, path)


def feature_grid(model, images, layer, channels, k=9):
    """Zeiler & Fergus's Fig. 2 for `layer` as a uint8 image: a row per channel, its `k` strongest patches
    (receptive fields) beside their deconvnet projections, each tile padded to the field's size."""
    tops = top_activations(model, images, layer, k=k, channels=channels)
    tiles = [t for found in tops.values() for t in found]
    tile_h = max(t.patch.shape[0] for t in tiles)
    tile_w = max(t.patch.shape[1] for t in tiles)
    side = int(np.ceil(np.sqrt(k)))
    gap = 2
    block_h, block_w = side * (tile_h + gap), side * (tile_w + gap)
    grid = np.ones((len(tops) * (block_h + 2 * gap), 2 * block_w + 4 * gap, 3), "float32")
    for row, found in enumerate(tops.values()):
        for i, t in enumerate(found):
            y = row * (block_h + 2 * gap) + (i // side) * (tile_h + gap)
            x = (i % side) * (tile_w + gap)
            h, w = t.patch.shape[:2]
            projection = signed(t.projection)
            grid[y : y + h, x : x + w] = np.repeat(projection, 3, -1) if projection.shape[-1] == 1 else projection
            x += block_w + 3 * gap
            grid[y : y + h, x : x + w] = displayable(t.patch)
    return (grid * 255).round().astype("uint8")


def write_feature_grid(model, images, layer, path, channels=range(8), k=9):
    """feature_grid, written as a PNG; returns the path."""
    channels = [c for c in channels if c < feature_layer(model, layer).output.shape[-1]]
    return save_png(feature_grid(model, images, layer, channels, k), path)
