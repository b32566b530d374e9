import keras
import numpy as np
import pytest
import tensorflow as tf
from layer_checks import check_layer

from kerascnn.layers import LocalResponseNormalization


def lrn_numpy(a, r=2, k=2.0, alpha=1e-4, beta=0.75):
    """The AlexNet paper's equation, written as a loop over channels."""
    channels = a.shape[-1]
    b = np.empty_like(a, dtype=np.float64)
    for c in range(channels):
        window = a[..., max(0, c - r) : min(channels, c + r + 1)].astype(np.float64)
        b[..., c] = a[..., c] / (k + alpha * np.sum(window**2, axis=-1)) ** beta
    return b


def test_layer_contract():
    check_layer(LocalResponseNormalization, {"depth_radius": 2, "groups": 2}, (2, 5, 5, 8), (2, 5, 5, 8))


@pytest.mark.parametrize("r, k, alpha, beta", [(2, 2.0, 1e-4, 0.75), (1, 1.0, 2e-5, 0.5), (3, 0.5, 1e-2, 1.0)])
def test_matches_the_paper_formula(r, k, alpha, beta):
    a = np.random.default_rng(0).standard_normal((2, 4, 4, 11)).astype("float32") * 20
    layer = LocalResponseNormalization(r, bias=k, alpha=alpha, beta=beta)
    expected = lrn_numpy(a, r, k, alpha, beta)
    np.testing.assert_allclose(layer(a), expected, rtol=1e-5)
    # The portable keras.ops path (used on other backends) computes the same.
    np.testing.assert_allclose(layer.normalize_portably(keras.ops.convert_to_tensor(a)), expected, rtol=1e-5)


def test_matches_tensorflow():
    a = np.random.default_rng(1).standard_normal((2, 6, 6, 96)).astype("float32") * 50
    expected = tf.nn.local_response_normalization(a, depth_radius=2, bias=2.0, alpha=1e-4, beta=0.75)
    np.testing.assert_allclose(LocalResponseNormalization()(a), expected, rtol=1e-5)


def test_caffe_convention_converts_by_dividing_alpha_by_the_window():
    # Caffe: scale = k + (alpha / n) * sum(a^2), n = 5, k = 1 (bvlc_alexnet's settings).
    a = np.random.default_rng(2).standard_normal((1, 3, 3, 16)).astype("float32") * 30
    channels = np.arange(16)
    caffe = np.empty_like(a, dtype=np.float64)
    for c in channels:
        window = a[..., max(0, c - 2) : c + 3].astype(np.float64)
        caffe[..., c] = a[..., c] / (1.0 + 1e-4 / 5 * np.sum(window**2, -1)) ** 0.75
    np.testing.assert_allclose(LocalResponseNormalization(2, bias=1.0, alpha=2e-5, beta=0.75)(a), caffe, rtol=1e-5)


def test_groups_keep_windows_inside_each_tower():
    a = np.random.default_rng(3).standard_normal((1, 2, 2, 8)).astype("float32") * 40
    towers = LocalResponseNormalization(groups=2)(a)
    expected = np.concatenate([lrn_numpy(a[..., :4]), lrn_numpy(a[..., 4:])], axis=-1)
    np.testing.assert_allclose(towers, expected, rtol=1e-5)
    # And it differs from one window over all eight channels at the boundary.
    assert not np.allclose(towers[..., 3], lrn_numpy(a)[..., 3])


@pytest.mark.parametrize("mixed_policy", ["mixed_float16", "mixed_bfloat16"], indirect=True)
def test_squares_do_not_overflow_float16(mixed_policy):
    # 300^2 * 5 = 450,000 > float16's 65,504: a float16 computation would give inf and then zeros.
    a = np.full((1, 2, 2, 8), 300.0, "float32")
    out = np.asarray(keras.ops.cast(LocalResponseNormalization()(a), "float32"))
    expected = lrn_numpy(a)
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out, expected, rtol=2e-2)
