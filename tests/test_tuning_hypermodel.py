"""The hypermodel builds each trial's model through the registry and the trainer's compile, with the trial's
hyperparameters in its layers and optimizer."""

import dataclasses

import keras
import keras_tuner
import numpy as np
import pytest

from kerascnn.data import load_splits
from kerascnn.layers import LocalResponseNormalization, ResidualBlock
from kerascnn.training import runs
from kerascnn.tuning.default_spaces import default_space
from kerascnn.tuning.hypermodel import FailOnNonFiniteLoss, RecipeHyperModel
from kerascnn.tuning.search_space import TrialConfigs

SMALL = ("data.shapes_train=48", "data.shapes_val=16")


def hypermodel_for(model, tmp_path, image_size=None):
    overrides = (("batch_size", 16), ("epochs", 2)) + ((("image_size", image_size),) if image_size else ())
    configs = TrialConfigs(model, dataset="shapes", overrides=overrides, sets=SMALL)
    base = configs()
    run = runs.prepare(dataclasses.replace(base, run_dir=str(tmp_path)))
    splits = load_splits(base.data, run.input_shape[0], run.input_shape[2], seed=0)
    return RecipeHyperModel(default_space(base), configs, run, splits)


def hyperparameters(hypermodel, values):
    hp = keras_tuner.HyperParameters()
    hypermodel.declare_hyperparameters(hp)
    hp.values.update(values)
    return hp


def test_lenet_trial_has_its_switches_and_optimizer(tmp_path):
    hypermodel = hypermodel_for("lenet5", tmp_path)
    hp = hyperparameters(
        hypermodel,
        {
            "optimizer.name": "adam",
            "optimizer.learning_rate@adam": 2e-3,
            "optimizer.weight_decay": 1e-4,
            "model_options.activation": "tanh",
            "model_options.pool": "avg",
        },
    )
    model = hypermodel.build(hp)
    assert model.get_layer("c1").activation is keras.activations.tanh
    assert isinstance(model.get_layer("s2"), keras.layers.AveragePooling2D)
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    # The recipe's linear scaling: the rate is given for the shapes demo's reference batch of 32; a trial's
    # global batch is 16.
    assert float(model.optimizer.learning_rate) == pytest.approx(2e-3 * 16 / 32)
    # The papers' coupled L2 (the default mode): in the loss, not in the optimizer.
    assert model.weight_decay == pytest.approx(1e-4) and model.optimizer.weight_decay is None
    history = hypermodel.fit(hp, model, epochs=1)
    assert history.epoch == [0] and 0 <= history.history["val_accuracy"][0] <= 1
    assert {"images_per_second", "learning_rate"} <= set(history.history)  # the trainer's monitor ran


def test_sgd_trial_takes_its_momentum(tmp_path):
    hypermodel = hypermodel_for("lenet5", tmp_path)
    hp = hyperparameters(
        hypermodel, {"optimizer.name": "sgd", "optimizer.learning_rate@sgd": 0.02, "optimizer.momentum": 0.85}
    )
    optimizer = hypermodel.build(hp).optimizer
    assert isinstance(optimizer, keras.optimizers.SGD) and optimizer.momentum == pytest.approx(0.85)
    assert float(optimizer.learning_rate) == pytest.approx(0.02 * 16 / 32)


def test_alexnet_trial_drops_lrn_and_sets_dropout(tmp_path):
    hypermodel = hypermodel_for("alexnet", tmp_path, image_size=67)
    model = hypermodel.build(hyperparameters(hypermodel, {"model_options.lrn": False, "model_options.dropout": 0.3}))
    assert not [layer for layer in model.layers if isinstance(layer, LocalResponseNormalization)]
    dropouts = [layer.rate for layer in model.layers if isinstance(layer, keras.layers.Dropout)]
    assert dropouts == [0.3, 0.3]  # after fc6 and fc7


def test_resnet_trial_takes_the_searched_depth_and_width(tmp_path):
    hypermodel = hypermodel_for("resnet20", tmp_path)
    model = hypermodel.build(hyperparameters(hypermodel, {"model": "resnet32", "model_options.width_multiplier": 0.5}))
    blocks = [layer for layer in model.layers if isinstance(layer, ResidualBlock)]
    assert model.name == "resnet32" and len(blocks) == 15  # (32 - 2) / 2 basic blocks
    assert model.get_layer("conv4_block5").output.shape[-1] == 32  # 64 x 0.5


def test_every_trial_starts_from_the_same_weights(tmp_path):
    hypermodel = hypermodel_for("lenet5", tmp_path)
    first = hypermodel.build(hyperparameters(hypermodel, {"optimizer.weight_decay": 1e-3}))
    second = hypermodel.build(hyperparameters(hypermodel, {"optimizer.weight_decay": 1e-5}))
    for a, b in zip(first.get_weights(), second.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_a_diverging_trial_fails_instead_of_reporting_a_score():
    callback = FailOnNonFiniteLoss()
    callback.on_train_batch_end(0, {"loss": 1.5})
    with pytest.raises(keras_tuner.errors.FailedTrialError, match="the loss became nan at step 4"):
        callback.on_train_batch_end(3, {"loss": float("nan")})
