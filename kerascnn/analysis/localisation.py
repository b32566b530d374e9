"""Measuring explanations: whether a heatmap points at the object (the pointing game of Zhang et al. 2016, and
the share of its mass inside the object's mask), against a map that ignores the image (a centred Gaussian), and how
much a map depends on the weights (the rank correlation of Adebayo et al. 2018's cascading randomisation)."""

import numpy as np


def heat(maps, size=None):
    """Non-negative [N, H, W] heatmaps of any method's output: gradients ([N, H, W, C]) by the absolute value summed
    over the channels, occlusion's coarse drops clipped at 0 and stretched (nearest) to `size` (H, W)."""
    maps = np.asarray(maps, "float32")
    if maps.ndim == 4:
        return np.abs(maps).sum(-1)
    maps = np.maximum(maps, 0)
    if size is not None and maps.shape[1:] != tuple(size):
        rows = (np.arange(size[0]) * maps.shape[1] // size[0]).clip(0, maps.shape[1] - 1)
        columns = (np.arange(size[1]) * maps.shape[2] // size[1]).clip(0, maps.shape[2] - 1)
        maps = maps[:, rows][:, :, columns]
    return maps


def pointing_game(maps, masks):
    """The share of images whose heatmap peaks inside the mask (ties: the first peak in row-major order)."""
    maps, masks = np.asarray(maps), np.asarray(masks) > 0
    peaks = maps.reshape(len(maps), -1).argmax(1)
    return float(masks.reshape(len(masks), -1)[np.arange(len(masks)), peaks].mean())


def mask_share(maps, masks):
    """The mean share of a heatmap's mass inside the mask (an all-zero map counts as 0)."""
    maps, masks = np.asarray(maps, "float64"), np.asarray(masks) > 0
    total = maps.sum(axis=(1, 2))
    inside = (maps * masks).sum(axis=(1, 2))
    return float(np.mean(np.where(total > 0, inside / np.where(total > 0, total, 1), 0)))


def centred_gaussian(count, size, sigma=None):
    """[count, size, size]: the same Gaussian centred on the image (sigma a quarter of its side by default)."""
    sigma = sigma or size / 4
    axis = np.arange(size) - (size - 1) / 2
    bump = np.exp(-(axis[:, None] ** 2 + axis[None, :] ** 2) / (2 * sigma**2))
    return np.repeat(bump[None], count, axis=0)


def ranks(values):
    """Ranks from 1, ties given their mean rank (as Spearman's coefficient wants them)."""
    values = np.asarray(values).ravel()
    order = np.argsort(values, kind="stable")
    ranked = np.empty(len(values), "float64")
    ranked[order] = np.arange(1, len(values) + 1)
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=ranked)
    return sums[inverse] / counts[inverse]


def spearman(a, b):
    """Spearman's rank correlation of two maps (0 where either is constant)."""
    ra, rb = ranks(a), ranks(b)
    ra, rb = ra - ra.mean(), rb - rb.mean()
    norm = np.sqrt((ra**2).sum() * (rb**2).sum())
    return float((ra * rb).sum() / norm) if norm > 0 else 0.0
