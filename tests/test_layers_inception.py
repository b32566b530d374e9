import numpy as np
import pytest
from layer_checks import check_layer

from kerascnn.layers import AuxiliaryClassifier, InceptionModule
from kerascnn.models.googlenet import GOOGLENET_STAGES

# docs/reference.md section 4b, "Caffe params, with bias": input channels and parameters of each module.
CAFFE_PARAMS = {
    "3a": (192, 163_696),
    "3b": (256, 388_736),
    "4a": (480, 376_176),
    "4b": (512, 449_160),
    "4c": (512, 510_104),
    "4d": (512, 605_376),
    "4e": (528, 868_352),
    "5a": (832, 1_043_456),
    "5b": (832, 1_444_080),
}


def test_layer_contracts():
    widths = dict(c1x1=4, c3x3_reduce=3, c3x3=5, c5x5_reduce=2, c5x5=3, pool_proj=2)
    check_layer(InceptionModule, widths, (2, 7, 7, 6), (2, 7, 7, 14))
    # The head flattens a 4x4 map into a Dense layer: it needs a known size (any_size=False).
    check_layer(AuxiliaryClassifier, {"num_classes": 5}, (2, 14, 14, 8), (2, 5), any_size=False)


@pytest.mark.parametrize("module", list(CAFFE_PARAMS))
def test_module_parameters_match_caffe(module):
    widths = {name: w for stage in GOOGLENET_STAGES for name, w in stage.items()}[module]
    channels, params = CAFFE_PARAMS[module]
    layer = InceptionModule(**widths._asdict())
    layer.build((None, 14, 14, channels))
    assert layer.count_params() == params


def test_branches_concatenate_in_the_papers_order():
    x = np.abs(np.random.default_rng(0).standard_normal((1, 5, 5, 3))).astype("float32")
    layer = InceptionModule(c1x1=2, c3x3_reduce=1, c3x3=3, c5x5_reduce=1, c5x5=4, pool_proj=5)
    y = np.asarray(layer(x))
    assert y.shape == (1, 5, 5, 14)
    # The pool branch alone: a 3x3/1 max-pool then its 1x1 projection with ReLU, the last 5 channels.
    pool, proj = layer.branches[3]
    pooled = np.asarray(pool(x))
    kernel, bias = (np.asarray(w) for w in proj.get_weights())
    np.testing.assert_allclose(y[..., -5:], np.maximum(pooled @ kernel[0, 0] + bias, 0), atol=1e-5)


@pytest.mark.parametrize("channels, params", [(512, 3_188_840), (528, 3_190_888)])
def test_auxiliary_head_parameters(channels, params):
    head = AuxiliaryClassifier(1000)
    y = head(np.zeros((1, 14, 14, channels), "float32"))
    assert head.count_params() == params
    assert y.dtype == "float32" and y.shape == (1, 1000)
