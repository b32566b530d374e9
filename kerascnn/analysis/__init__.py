"""See what a CNN computes.

    from kerascnn import analysis
    stats = analysis.layer_stats(model)          # one row per layer: window, shape, params, MACs, receptive field
    print(analysis.format_stats(stats, "table"))
    analysis.equivariance_error(model, images, range(9), layer="conv3_block1")
    analysis.translation_invariance(model, images, range(9))

Works on any functional or Sequential Keras model; nested models and block layers with a `sublayer_graph()`
(kerascnn.layers.sublayers) are expanded into their layers.
"""

from kerascnn.analysis.equivariance import equivariance_error, shift_images, translation_invariance
from kerascnn.analysis.layer_stats import LayerStats, ModelStats, Totals, layer_stats, multiply_accumulates
from kerascnn.analysis.receptive import Field, GrowthPoint, Window, receptive_field_growth
from kerascnn.analysis.report import format_stats

__all__ = [
    "Field",
    "GrowthPoint",
    "LayerStats",
    "ModelStats",
    "Totals",
    "Window",
    "equivariance_error",
    "format_stats",
    "layer_stats",
    "multiply_accumulates",
    "receptive_field_growth",
    "shift_images",
    "translation_invariance",
]
