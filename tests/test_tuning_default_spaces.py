"""Each family's default search space: valid for every registered model, and holding what the papers varied."""

import keras_tuner
import pytest

import kerascnn
from kerascnn.tuning.default_spaces import default_space
from kerascnn.tuning.search_space import TrialConfigs, check_space


def space_of(model, dataset="cifar10"):
    configs = TrialConfigs(model, dataset=dataset)
    return {h.name: h for h in default_space(configs())}, configs


@pytest.mark.parametrize("model", kerascnn.list_models())
def test_every_default_space_is_valid_and_declares_in_keras_tuner(model):
    space, configs = space_of(model)
    check_space(list(space.values()), configs)
    hp = keras_tuner.HyperParameters()
    for hyperparameter in space.values():
        hyperparameter.declare(hp)
    # Every default lies inside its range, so a default trial is the recipe's run where the recipe is in the space.
    for h in space.values():
        if h.type in ("float", "int") and h.default is not None:
            assert h.min <= h.default <= h.max, h


def test_the_learning_rate_spans_a_decade_either_side_of_the_recipes():
    space, configs = space_of("resnet20")  # He et al.'s CIFAR recipe: SGD at 0.1
    assert space["optimizer.name"].values == ("sgd", "adam")
    sgd = space["optimizer.learning_rate@sgd"]
    assert (sgd.min, sgd.max, sgd.sampling, sgd.default) == pytest.approx((0.01, 1.0, "log", 0.1))
    assert sgd.when == ("optimizer.name", ("sgd",))
    adam = space["optimizer.learning_rate@adam"]
    assert (adam.min, adam.max) == pytest.approx((1e-4, 1e-2)) and adam.when == ("optimizer.name", ("adam",))
    assert space["optimizer.momentum"].when == ("optimizer.name", ("sgd",))  # Adam has no momentum to search
    weight_decay = space["optimizer.weight_decay"]
    assert (weight_decay.min, weight_decay.max, weight_decay.sampling) == (1e-5, 1e-2, "log")


@pytest.mark.parametrize(
    "model, expected, absent",
    [
        ("alexnet", {"model_options.dropout", "model_options.lrn"}, {"model"}),
        ("alexnet_single", {"model_options.dropout"}, {"model_options.lrn"}),  # no LRN in its table to switch off
        ("vgg16", {"model_options.dropout", "model_options.lrn"}, {"model"}),
        ("googlenet", {"model_options.dropout", "aux_loss_weight"}, {"model_options.lrn"}),
        ("lenet5", {"model_options.activation", "model_options.pool"}, {"model_options.dropout"}),
        ("lenet5_original", set(), {"model_options.activation", "model_options.pool"}),
        ("resnet20", {"model", "model_options.width_multiplier"}, {"model_options.dropout"}),
        ("resnet50", {"model"}, {"model_options.width_multiplier"}),
    ],
)
def test_each_family_searches_its_own_switches(model, expected, absent):
    space, _ = space_of(model)
    assert expected <= set(space) and not absent & set(space)


def test_depth_is_searched_within_the_family_and_kind():
    space, _ = space_of("resnet32")
    assert space["model"].values == ("resnet20", "resnet32", "resnet44", "resnet56")
    assert space["model"].default == "resnet32"
    assert space_of("plain20")[0]["model"].values == ("plain20", "plain32", "plain44", "plain56")
    assert space_of("resnet101")[0]["model"].values == ("resnet18", "resnet34", "resnet50", "resnet101")


def test_the_ranges_follow_the_resolved_recipe():
    space, _ = space_of("vgg11_lrn", dataset="shapes")  # the shapes demo trains with Adam at 1e-4
    assert space["optimizer.name"].values == ("adam", "sgd")
    assert space["optimizer.learning_rate@adam"].default == pytest.approx(1e-4)
    assert space["model_options.lrn"].default is True and space["model_options.dropout"].default == 0.5
