"""kerascnn.analysis.localisation against hand-computed values and a second implementation of Spearman's rho."""

import numpy as np
import pytest

from kerascnn.analysis import localisation


def test_pointing_game_and_mask_share_by_hand():
    maps = np.zeros((2, 3, 3))
    maps[0, 1, 1], maps[0, 0, 0] = 3.0, 1.0  # peak inside, 3/4 of the mass inside
    maps[1, 2, 2], maps[1, 1, 1] = 2.0, 2.0  # a tie: the first peak (1, 1) counts; half the mass inside
    masks = np.zeros((2, 3, 3), bool)
    masks[:, 1, 1] = True
    assert localisation.pointing_game(maps, masks) == 1.0
    assert localisation.mask_share(maps, masks) == pytest.approx((0.75 + 0.5) / 2)
    assert localisation.pointing_game(maps[:, ::-1, ::-1], masks) == 0.5  # image 1's first peak is now (0, 0)


def test_heat_of_gradients_and_occlusion():
    gradients = np.array([[[[1.0, -2.0]], [[0.0, 0.5]]]])  # [1, 2, 1, 2]
    np.testing.assert_array_equal(localisation.heat(gradients), [[[3.0], [0.5]]])
    drops = np.array([[[1.0, -1.0], [0.5, 2.0]]])
    np.testing.assert_array_equal(
        localisation.heat(drops, (4, 4))[0], [[1, 1, 0, 0], [1, 1, 0, 0], [0.5, 0.5, 2, 2], [0.5, 0.5, 2, 2]]
    )


def test_the_gaussian_is_centred_and_symmetric():
    bump = localisation.centred_gaussian(2, 9)
    assert bump.shape == (2, 9, 9) and bump[0].argmax() == 4 * 9 + 4
    np.testing.assert_allclose(bump[0], bump[0].T)
    np.testing.assert_allclose(bump[0], bump[0][::-1, ::-1])


def test_spearman_equals_pearson_of_ranks_with_ties():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 5, 50).astype(float)  # many ties
    b = a + rng.normal(0, 2, 50)
    # Second implementation: mean ranks by counting.
    mean_rank = lambda v: np.array([(v < x).sum() + ((v == x).sum() + 1) / 2 for x in v])  # noqa: E731
    expected = np.corrcoef(mean_rank(a), mean_rank(b))[0, 1]
    assert localisation.spearman(a, b) == pytest.approx(expected)
    assert localisation.spearman(a, a) == pytest.approx(1.0) and localisation.spearman(a, -a) == pytest.approx(-1.0)
    assert localisation.spearman(np.ones(5), a[:5]) == 0.0
