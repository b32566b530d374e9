"""PNG pictures of what `kerascnn.analysis` measures: receptive-field growth with depth, equivariance error and
prediction invariance against shift, and image grids (filters, feature maps).

matplotlib is imported when a plot is drawn, and draws on its Agg canvas directly: no global backend or pyplot
state is touched, so plotting works on a server and leaves a notebook's settings alone. Every file is written to a
temporary name next to its destination and renamed, so an interrupted run never leaves half a PNG.
"""

import os

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, ScalarFormatter
from PIL import Image, ImageDraw, ImageFont

from kerascnn.analysis.receptive import receptive_field_growth
from kerascnn.io import write_atomic


def save_png(image, path):
    """Writes a uint8 image (height, width) or (height, width, 1 or 3) as a PNG; returns the path."""
    image = np.asarray(image, "uint8")
    image = image[..., 0] if image.ndim == 3 and image.shape[-1] == 1 else image
    return os.fspath(write_atomic(path, lambda f: Image.fromarray(image).save(f, format="PNG")))


def captioned(image, lines, *, size=None, pad=6):
    """(picture, band): `image` (uint8, height x width x 1 or 3) below a white band of `band` rows with `lines` of
    text, a picture that says what it shows. The image's own pixels are unchanged (the band is added above them);
    the width grows to fit the text; the text's `size` (default) grows with a wide image."""
    image = np.asarray(image, "uint8")
    size = size or max(14, image.shape[1] // 70)
    image = np.repeat(image, 3, axis=-1) if image.ndim == 3 and image.shape[-1] == 1 else image
    image = np.stack([image] * 3, axis=-1) if image.ndim == 2 else image
    font = ImageFont.load_default(size=size)
    widths = [font.getbbox(line)[2] for line in lines]
    band = len(lines) * (size + 4) + 2 * pad
    width = max(image.shape[1], max(widths, default=0) + 2 * pad)
    canvas = Image.new("RGB", (width, band + image.shape[0]), "white")
    draw = ImageDraw.Draw(canvas)
    for i, line in enumerate(lines):
        draw.text((pad, pad + i * (size + 4)), line, fill="black", font=font)
    canvas.paste(Image.fromarray(image), (0, band))
    return np.asarray(canvas), band


def plot_receptive_field_growth(stats, path, *, title=None):
    """Receptive field and jump against depth, for one `layer_stats(model)` or a {label: stats} dict to compare.

    The y axis is logarithmic (fields grow linearly with depth until a stride multiplies the growth); dotted lines
    mark the input sizes, past which a unit's field reaches into the padding.
    """
    figure, axes = new_figure(figsize=(6.4, 4.2))
    models = stats if isinstance(stats, dict) else {stats.name: stats}
    for i, (label, model_stats) in enumerate(models.items()):
        growth = receptive_field_growth(model_stats)
        depths = [p.depth for p in growth]
        color = f"C{i}"
        axes.plot(depths, [p.receptive_field for p in growth], "-o", ms=3, color=color, label=f"{label}: field")
        axes.plot(depths, [p.jump for p in growth], "--", color=color, alpha=0.7, label=f"{label}: jump")
    for size in sorted({s.input_shape[0] for s in models.values() if s.input_shape[0]}):
        axes.axhline(size, color="grey", linestyle=":", label=f"input ({size} px)")
    axes.set_yscale("log", base=2)
    axes.yaxis.set_major_formatter(ScalarFormatter())
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel("depth (convolutions and poolings from the input)")
    axes.set_ylabel("input pixels")
    axes.set_title(title or "Receptive field growth")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize="small")
    return save_figure(figure, path)


def plot_shift_sensitivity(equivariance, invariance, path, *, title=None):
    """Equivariance error (left) and top-1 invariance (right) against the shift in pixels.

    Each argument is a {label: {shift: value}} dict, as `equivariance_error` and `translation_invariance` return
    them per model, so that networks can be compared (say, one with pooling and one without); either may be empty.
    """
    figure, (left, right) = new_figure(ncols=2, figsize=(9.6, 3.8))
    for axes, curves, ylabel in (
        (left, equivariance, "relative equivariance error"),
        (right, invariance, "top-1 unchanged (fraction of images)"),
    ):
        for label, curve in curves.items():
            shifts = sorted(curve)
            axes.plot(shifts, [curve[k] for k in shifts], "-o", ms=3, label=label)
        axes.set_xlabel("shift (pixels)")
        axes.set_ylabel(ylabel)
        axes.grid(True, alpha=0.3)
        if curves:
            axes.legend(fontsize="small")
    right.set_ylim(-0.02, 1.02)
    figure.suptitle(title or "Translation: equivariance of features, invariance of the prediction")
    return save_figure(figure, path)


def new_figure(ncols=1, figsize=(6.4, 4.8)):
    """A figure of `ncols` axes on its own Agg canvas (no pyplot, no global backend), and its axes."""
    figure = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, ncols)
    return figure, axes


def save_figure(figure, path):
    """Writes `figure` to `path` as a PNG, whole or not at all, and returns the path."""
    return os.fspath(write_atomic(path, lambda f: figure.savefig(f, format="png", dpi=100)))
