"""See what a CNN computes.

    from kerascnn import analysis
    stats = analysis.layer_stats(model)          # one row per layer: window, shape, params, MACs, receptive field
    print(analysis.format_stats(stats, "table"))
    analysis.plot_receptive_field_growth(stats, "rf.png")
    analysis.equivariance_error(model, images, range(9), layer="conv3_block1")
    analysis.translation_invariance(model, images, range(9))
    served = analysis.fold_batch_norms(model)    # BNs folded into the convs before them, for inference
    analysis.grad_cam(model, images)             # what a prediction rests on: also guided_backprop, occlusion
    analysis.top_activations(model, images, "conv2", k=9)  # what a unit responds to, with deconvnet projections

Works on any functional or Sequential Keras model; nested models and block layers with a `sublayer_graph()`
(kerascnn.layers.sublayers) are expanded into their layers.
"""

from kerascnn.analysis.attribution import deconvnet, grad_cam, guided_backprop
from kerascnn.analysis.callbacks import FilterImagesCallback
from kerascnn.analysis.equivariance import equivariance_error, shift_images, translation_invariance
from kerascnn.analysis.folding import fold_batch_norms, folded_kernel_and_bias
from kerascnn.analysis.grids import feature_map_grid, feature_maps, filter_grid, first_conv
from kerascnn.analysis.layer_stats import LayerStats, ModelStats, Totals, layer_stats, multiply_accumulates
from kerascnn.analysis.occlusion import occlusion
from kerascnn.analysis.plots import plot_receptive_field_growth, plot_shift_sensitivity, save_png
from kerascnn.analysis.receptive import Field, GrowthPoint, Window, receptive_field_growth
from kerascnn.analysis.report import format_stats
from kerascnn.analysis.top_activations import TopActivation, top_activations

__all__ = [
    "Field",
    "FilterImagesCallback",
    "GrowthPoint",
    "LayerStats",
    "ModelStats",
    "TopActivation",
    "Totals",
    "Window",
    "deconvnet",
    "equivariance_error",
    "feature_map_grid",
    "feature_maps",
    "filter_grid",
    "first_conv",
    "fold_batch_norms",
    "folded_kernel_and_bias",
    "format_stats",
    "grad_cam",
    "guided_backprop",
    "layer_stats",
    "multiply_accumulates",
    "occlusion",
    "plot_receptive_field_growth",
    "plot_shift_sensitivity",
    "receptive_field_growth",
    "save_png",
    "shift_images",
    "top_activations",
    "translation_invariance",
]
