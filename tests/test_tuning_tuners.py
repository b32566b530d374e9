"""The tuners: objectives, and how many trials a search plans."""

import keras_tuner
import pytest

from kerascnn.errors import UserError
from kerascnn.tuning.tuners import objective, planned_trials
from pipelines import flags


def test_losses_are_minimised_and_accuracies_maximised():
    assert objective("val_loss").direction == "min" and objective("loss").direction == "min"
    assert objective("val_accuracy").direction == "max" and objective("val_top5_accuracy").direction == "max"
    with pytest.raises(UserError, match="^objective must be one of") as error:
        objective("val_f1")
    assert flags.speak(error.value, flags.TUNE).startswith("--objective must be one of")


# keras-tuner's Hyperband, counted out by hand: with s0 = ceil(1 + log3(max_epochs)), bracket b (from
# floor(log3(max_epochs)) down to 0) starts ceil(s0 / (b + 1) * 3**b) models and keeps a third in each later round.
@pytest.mark.parametrize(
    "max_epochs, expected",
    [
        (3, (3 + 1) + 2),  # s0 = 2
        (9, (9 + 3 + 1) + (5 + 2) + 3),  # s0 = 3
        (27, (27 + 9 + 3 + 1) + (12 + 4 + 2) + (6 + 2) + 4),  # s0 = 4
    ],
)
def test_hyperband_plans_the_trials_of_its_brackets(max_epochs, expected):
    oracle = keras_tuner.oracles.HyperbandOracle(objective="val_loss", max_epochs=max_epochs, factor=3)
    assert planned_trials(oracle) == expected
    oracle.max_trials = 4
    assert planned_trials(oracle) == 4


def test_other_oracles_plan_their_max_trials():
    oracle = keras_tuner.oracles.RandomSearchOracle(objective="val_loss", max_trials=7)
    assert planned_trials(oracle) == 7
