import numpy as np
import pytest
import tensorflow as tf
from layer_checks import check_layer

from kerascnn.layers import LENET5_C3_TABLE, ConnectionTableConv2D, EuclideanRBF, Subsampling2D, lecun_tanh

# Table I of the paper, as printed: rows are S2 maps, columns C3 maps, X = connected.
PAPER_TABLE_I = """
X . . . X X X . . X X X X . X X
X X . . . X X X . . X X X X . X
X X X . . . X X X . . X . X X X
. X X X . . X X X X . . X . X X
. . X X X . . X X X X . X X . X
. . . X X X . . X X X X . X X X
"""


def connected(s2_map, c3_map):
    return PAPER_TABLE_I.split()[s2_map * 16 + c3_map] == "X"


def test_layer_contracts():
    check_layer(
        ConnectionTableConv2D, {"connections": ((0, 1), (1, 2), (0, 2)), "kernel_size": 3}, (2, 6, 6, 3), (2, 4, 4, 3)
    )
    check_layer(Subsampling2D, {"pool_size": 2, "activation": "tanh"}, (2, 6, 6, 3), (2, 3, 3, 3))
    check_layer(EuclideanRBF, {"units": 10}, (2, 84), (2, 10))


def test_table_is_the_papers_table_one():
    for c3_map, inputs in enumerate(LENET5_C3_TABLE):
        assert sorted(inputs) == [s2 for s2 in range(6) if connected(s2, c3_map)]


def test_c3_has_the_papers_1516_parameters():
    c3 = ConnectionTableConv2D(LENET5_C3_TABLE, 5)
    c3.build((None, 14, 14, 6))
    assert c3.count_params() == 1516  # 6*(3*25+1) + 9*(4*25+1) + 1*(6*25+1)


def test_c3_maps_do_not_depend_on_unconnected_s2_maps():
    c3 = ConnectionTableConv2D(LENET5_C3_TABLE, 5, activation=lecun_tanh)
    s2 = tf.constant(np.random.default_rng(0).standard_normal((1, 14, 14, 6)).astype("float32"))
    for c3_map in range(16):
        with tf.GradientTape() as tape:
            tape.watch(s2)
            out = tf.reduce_sum(c3(s2)[..., c3_map])
        grad = tape.gradient(out, s2).numpy()
        for s2_map in range(6):
            magnitude = np.abs(grad[..., s2_map]).sum()
            assert (magnitude > 0) == connected(s2_map, c3_map), (c3_map, s2_map)


def test_subsampling_is_sum_times_coefficient_plus_bias():
    x = np.arange(32, dtype="float32").reshape(1, 4, 4, 2)
    layer = Subsampling2D(2)
    layer.build(x.shape)
    layer.set_weights([np.array([0.5, -2.0], "float32"), np.array([1.0, 3.0], "float32")])
    y = np.asarray(layer(x))
    # Top-left 2x2 of channel 0 holds 0, 2, 8, 10: sum 20, times 0.5, plus 1.
    assert y[0, 0, 0, 0] == pytest.approx(20 * 0.5 + 1)
    assert y[0, 1, 1, 1] == pytest.approx((21 + 23 + 29 + 31) * -2.0 + 3)
    assert layer.count_params() == 4


def test_scaled_tanh_maps_one_to_one():
    # A = 1.7159 and S = 2/3 were chosen so that f(1) = 1 and f(-1) = -1 (paper, Appendix A).
    np.testing.assert_allclose(lecun_tanh(np.array([1.0, -1.0])), [1.0, -1.0], atol=1e-4)


def test_rbf_outputs_squared_distances_to_fixed_codes():
    x = np.random.default_rng(1).standard_normal((3, 84)).astype("float32")
    rbf = EuclideanRBF(10)
    y = np.asarray(rbf(x))
    centres = np.asarray(rbf.centres)
    assert set(np.unique(centres)) == {-1.0, 1.0} and rbf.trainable_weights == []
    expected = ((x[:, :, None] - centres[None]) ** 2).sum(axis=1)
    np.testing.assert_allclose(y, expected, rtol=1e-4)
