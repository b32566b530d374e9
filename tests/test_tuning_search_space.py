"""Search spaces: the file schema, its one-line errors, and trial configs as --set items."""

import json

import keras_tuner
import pytest

from kerascnn.errors import UserError
from kerascnn.training import config as config_lib
from kerascnn.tuning.search_space import (
    Hyperparameter,
    TrialConfigs,
    active_values,
    check_space,
    load_space,
    parse_space,
)

SPACE_YAML = """\
# comments are welcome in YAML
optimizer.name: [sgd, adam]
optimizer.learning_rate@sgd: {type: float, min: 1.0e-3, max: 0.1, sampling: log, when: {optimizer.name: sgd}}
optimizer.learning_rate@adam: {type: float, min: 1.0e-5, max: 1.0e-3, sampling: log, when: {optimizer.name: [adam]}}
batch_size: {type: int, min: 16, max: 64, step: 16}
model_options.width_multiplier: [1, 2, 0.5]
model_options.shortcut: {type: choice, values: [A, B], default: B}
data.cache: {type: bool}
"""
SPACE_JSON = {
    "optimizer.name": ["sgd", "adam"],
    "optimizer.learning_rate@sgd": {
        "type": "float",
        "min": 1e-3,
        "max": 0.1,
        "sampling": "log",
        "when": {"optimizer.name": "sgd"},
    },
    "optimizer.learning_rate@adam": {
        "type": "float",
        "min": 1e-5,
        "max": 1e-3,
        "sampling": "log",
        "when": {"optimizer.name": ["adam"]},
    },
    "batch_size": {"type": "int", "min": 16, "max": 64, "step": 16},
    "model_options.width_multiplier": [1, 2, 0.5],
    "model_options.shortcut": {"type": "choice", "values": ["A", "B"], "default": "B"},
    "data.cache": {"type": "bool"},
}


def test_yaml_and_json_files_give_the_same_space(tmp_path):
    (tmp_path / "space.yaml").write_text(SPACE_YAML)
    (tmp_path / "space.json").write_text(json.dumps(SPACE_JSON))
    space = load_space(tmp_path / "space.yaml")
    assert space == load_space(tmp_path / "space.json")
    assert [h.name for h in space] == list(SPACE_JSON)  # the file's order
    assert space[0] == Hyperparameter("optimizer.name", "choice", values=("sgd", "adam"))
    assert space[1] == Hyperparameter(
        "optimizer.learning_rate@sgd", "float", 1e-3, 0.1, sampling="log", when=("optimizer.name", ("sgd",))
    )
    assert space[1].key == "optimizer.learning_rate"
    assert space[4].values == (1.0, 2.0, 0.5)  # one kind for keras-tuner: numbers become floats
    assert (space[3].min, space[3].max, space[3].step) == (16, 64, 16)


def test_conditions_leave_inactive_fields_out_of_a_trial():
    hp = keras_tuner.HyperParameters()
    for hyperparameter in parse_space(SPACE_JSON):
        hyperparameter.declare(hp)
    # An oracle may leave values of inactive hyperparameters in a trial (Bayesian optimisation does).
    hp.values.update({"optimizer.learning_rate@sgd": 0.01, "optimizer.learning_rate@adam": 1e-4})
    hp.values["optimizer.name"] = "adam"
    values = active_values(hp)
    assert values["optimizer.learning_rate@adam"] == 1e-4 and "optimizer.learning_rate@sgd" not in values
    hp.values["optimizer.name"] = "sgd"
    values = active_values(hp)
    assert values["optimizer.learning_rate@sgd"] == 0.01 and "optimizer.learning_rate@adam" not in values
    assert list(active_values(hp, order=["data.cache", "batch_size"]))[:2] == ["data.cache", "batch_size"]


def test_a_trial_config_is_the_config_pipelines_train_resolves_from_the_same_sets():
    configs = TrialConfigs("resnet20", dataset="shapes", overrides=(("epochs", 3),), sets=("seed=7",))
    values = {
        "optimizer.name": "sgd",
        "optimizer.learning_rate@sgd": 0.05,
        "batch_size": 48,
        "model_options.width_multiplier": 2.0,
        "data.cache": True,
    }
    config = configs(values)
    by_hand = config_lib.resolve(
        "resnet20",
        dataset="shapes",
        overrides={"epochs": 3},
        sets=[
            "seed=7",
            "optimizer.name=sgd",
            "optimizer.learning_rate=0.05",
            "batch_size=48",
            "model_options.width_multiplier=2.0",
            "data.cache=True",
        ],
    )
    assert config == by_hand
    assert (config.optimizer.name, config.optimizer.learning_rate, config.batch_size) == ("sgd", 0.05, 48)
    assert config.model_options == {"width_multiplier": 2.0} and config.data.cache is True and config.seed == 7


def test_a_searched_model_gets_its_own_recipe():
    config = TrialConfigs("resnet20", dataset="cifar10")({"model": "resnet110"})
    assert config.model == "resnet110" and config.optimizer.warmup_epochs == 1.0  # He et al.'s warm-up
    assert TrialConfigs("resnet20", dataset="cifar10")().optimizer.warmup_epochs == 0.0


@pytest.mark.parametrize(
    "document, fragment",
    [
        ([], "expected a mapping of config fields to ranges"),
        ({}, "expected a mapping of config fields to ranges"),
        ({"x": 3}, "x: expected a list of choices or a mapping with a type"),
        ({"x": {"min": 1}}, "x: type must be one of float, int, choice, bool, got None"),
        ({"x": {"type": "float", "min": 1, "max": 2, "scale": "log"}}, "x: unknown key(s) scale for a float"),
        ({"x": {"type": "float", "min": 0.1, "max": 0.01}}, "x: min (0.1) must be below max (0.01)"),
        ({"x": {"type": "float", "min": "a", "max": 1}}, "x: min must be a number, got 'a'"),
        ({"x": {"type": "int", "min": 1.5, "max": 4}}, "x: min must be an integer, got 1.5"),
        ({"x": {"type": "float", "min": 0, "max": 1, "sampling": "log"}}, "x: log sampling needs a positive min"),
        ({"x": {"type": "float", "min": 0, "max": 1, "sampling": "cubic"}}, "x: sampling must be one of linear, log"),
        ({"x": {"type": "float", "min": 0, "max": 1, "default": 2}}, "x: default 2 is outside [0.0, 1.0]"),
        ({"x": []}, "x: values must be a non-empty list"),
        ({"x": ["a", 1]}, "x: values must all be of one kind"),
        ({"x": [{"a": 1}]}, "x: values must be strings, numbers or booleans"),
        ({"x": ["a", "a"]}, "x: values repeat"),
        ({"x": {"type": "choice", "values": ["a"], "default": "b"}}, "x: default 'b' is not one of the values"),
        ({"x@a": {"type": "bool"}}, "x@a: a tagged name needs a `when` condition"),
        (
            {"x": {"type": "bool", "when": {"y": ["a"]}}},
            "x: when names 'y', which is not a choice or bool listed before",
        ),
        ({"y": ["a"], "x": {"type": "bool", "when": {"y": ["b"]}}}, "x: when gives y values ['b'] it cannot take"),
    ],
)
def test_malformed_spaces_are_refused_in_one_line(document, fragment):
    with pytest.raises(UserError) as error:
        parse_space(document, source="space.json")
    assert str(error.value).startswith("space.json") and fragment in str(error.value)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(
    "text, name, fragment",
    [
        ('{"x": [1, 2]', "space.json", "not valid JSON at line 1"),
        ("x: [1, 2\ny: 3\n", "space.yaml", "not valid YAML at line"),
        ("x: [1, 2]", "space.txt", "expected a .json, .yaml or .yml file"),
    ],
)
def test_unreadable_files_are_refused_in_one_line(tmp_path, text, name, fragment):
    (tmp_path / name).write_text(text)
    with pytest.raises(UserError, match="^search space .*" + fragment.replace(".", r"\.")):
        load_space(tmp_path / name)
    with pytest.raises(UserError, match="^--search-space .*" + fragment.replace(".", r"\.")):
        load_space(tmp_path / name, source=f"--search-space {name}")
    with pytest.raises(UserError, match="cannot read it"):
        load_space(tmp_path / "missing.json")


@pytest.mark.parametrize(
    "model, document, fragment",
    [
        (
            "lenet5",
            {"optimizer.learnig_rate": [0.1]},
            "optimizer.learnig_rate: unknown config field (did you mean optimizer.learning_rate?)",
        ),
        ("lenet5", {"optimizer.momentum": [0.5, 1.5]}, "optimizer.momentum must be in [0, 1), got 1.5"),
        ("lenet5", {"epochs": {"type": "float", "min": 1, "max": 2.5}}, "space.json: epochs=1.0: expected int"),
        ("lenet5", {"model_options.lrn": {"type": "bool"}}, "model_options.lrn: lenet5 has no switch 'lrn'"),
        ("lenet5", {"model_options.num_classes": [3]}, "lenet5 has no switch 'num_classes'"),
        ("resnet20", {"model": ["resnet32", "resnet50"]}, "resnet50 is a resnet model and resnet20 a resnet_cifar one"),
        ("resnet20", {"model": ["resnet32", "resnet33"]}, "Unknown model 'resnet33'"),
        (
            "resnet18",
            {"model": ["resnet18", "resnet34"], "model_options.width_multiplier": [1, 2]},
            "resnet18 has no switch 'width_multiplier'",
        ),
    ],
)
def test_fields_and_values_are_checked_against_the_config(model, document, fragment):
    with pytest.raises(UserError) as error:
        check_space(parse_space(document, source="space.json"), TrialConfigs(model), source="space.json")
    assert str(error.value).startswith("space.json: ") and fragment in str(error.value)


def test_a_valid_space_passes_the_checks_after_resolving_each_extreme():
    configs = TrialConfigs("resnet20", dataset="shapes")
    resolved = []

    def recording(values=None):
        config = configs(values)  # raises on an invalid trial, as check_space expects
        resolved.append((values, config))
        return config

    check_space(parse_space(SPACE_JSON), recording)
    probed = {(key, value) for values, _ in resolved for key, value in (values or {}).items()}
    # Every choice, both ends of every range and both booleans made a config of their own.
    assert {("optimizer.name", "sgd"), ("optimizer.name", "adam"), ("batch_size", 16), ("batch_size", 64)} <= probed
    assert {("optimizer.learning_rate@sgd", 1e-3), ("optimizer.learning_rate@sgd", 0.1)} <= probed
    assert {("model_options.width_multiplier", w) for w in (1.0, 2.0, 0.5)} <= probed
    assert {("model_options.shortcut", "A"), ("model_options.shortcut", "B")} <= probed
    assert {("data.cache", False), ("data.cache", True)} <= probed
    by_value = {tuple((values or {}).items()): config for values, config in resolved}
    assert by_value[(("batch_size", 64),)].batch_size == 64
    assert by_value[(("optimizer.learning_rate@sgd", 0.1),)].optimizer.learning_rate == 0.1
    assert by_value[(("model_options.shortcut", "A"),)].model_options["shortcut"] == "A"
