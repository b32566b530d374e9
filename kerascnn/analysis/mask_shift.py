"""How a segmentation model's predicted mask moves with its input.

A dense model should be translation equivariant: shift the input by t pixels and the mask should shift by t. It
is exactly so where t is a multiple of the output stride s (every subsampling then moves by whole units and every
upsampling by whole blocks), away from the borders (the padding and the pixels shifted in are seen there); in
between, the subsamplings see other pixels and the mask changes (Azulay & Weiss 2019; Zhang 2019, for
classifiers). `mask_shift_agreement` measures the fraction of pixels, away from the borders, where the prediction
of the shifted input equals the shifted prediction of the input.
"""

import numpy as np

from kerascnn.analysis.equivariance import shift_images
from kerascnn.analysis.plots import new_figure, save_figure


def predicted_classes(model, images, batch_size=8):
    """The class each pixel of each image is predicted as (the argmax of the model's output)."""
    return _classes(model, np.asarray(images, "float32"), batch_size)


def _classes(model, images, batch_size):
    outputs = model.predict(images, batch_size=batch_size, verbose=0)
    outputs = outputs[0] if isinstance(outputs, (list, tuple)) else outputs
    return np.argmax(outputs, axis=-1)


def mask_shift_agreement(model, images, shifts, *, margin=None, direction=(0, 1), batch_size=8):
    """{shift k: fraction of pixels where argmax f(T_t x) == T_t argmax f(x)}, t = k * direction, over the
    pixels at least `margin` from every border (and from the pixels the shift brings in). The output must have
    the input's size. `margin` None: a quarter of the shorter side."""
    images = np.asarray(images, "float32")
    base = _classes(model, images, batch_size)
    if base.shape[1:3] != images.shape[1:3]:
        raise ValueError(f"{model.name}'s masks are {base.shape[1:3]}, not the input's {images.shape[1:3]}.")
    height, width = base.shape[1:3]
    margin = min(height, width) // 4 if margin is None else margin
    agreement = {}
    for k in shifts:
        dy, dx = (k * d for d in direction)
        moved = _classes(model, shift_images(images, (dy, dx)), batch_size)
        expected = shift_images(base[..., None], (dy, dx))[..., 0]
        rows = slice(margin + max(dy, 0), height - margin + min(dy, 0))
        cols = slice(margin + max(dx, 0), width - margin + min(dx, 0))
        a, b = moved[:, rows, cols], expected[:, rows, cols]
        agreement[k] = float(np.mean(a == b)) if a.size else float("nan")
    return agreement


def plot_mask_shift(curves, path, *, stride=None, title=None):
    """Agreement against the shift, one curve per {label: {shift: agreement}}, the stride's multiples marked."""
    figure, axes = new_figure(figsize=(6.4, 3.8))
    for label, curve in curves.items():
        shifts = sorted(curve)
        axes.plot(shifts, [curve[k] for k in shifts], "-o", ms=3, label=label)
        if stride:
            for k in shifts:
                if k % stride == 0:
                    axes.axvline(k, color="0.8", lw=0.8, zorder=0)
    axes.set_xlabel("shift (pixels)" + (f"; grey lines: multiples of the output stride {stride}" if stride else ""))
    axes.set_ylabel("mask agreement (fraction of pixels)")
    axes.set_ylim(-0.02, 1.02)
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize="small")
    figure.suptitle(title or "Predicted mask of the shifted input vs. shifted predicted mask")
    return save_figure(figure, path)
