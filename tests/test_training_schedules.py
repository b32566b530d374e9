"""kerascnn.training.schedules: each learning-rate schedule at chosen steps against the formula worked by hand, the
linear scaling of the rate with the global batch, and which weights weight decay skips."""

import math
from types import SimpleNamespace

import keras
import numpy as np
import pytest
from keras import layers

from kerascnn.layers import Subsampling2D
from kerascnn.training.config import OptimizerConfig, RunConfig
from kerascnn.training.runs import Run
from kerascnn.training.schedules import (
    LinearWarmup,
    current_learning_rate,
    decays,
    l2_penalty,
    learning_rate,
    make_optimizer,
    uses_schedule,
)


def rates(schedule, steps):
    return [float(keras.ops.convert_to_numpy(schedule(step))) for step in steps]


def test_step_milestones_divide_the_rate_after_each_boundary():
    # 9 epochs of 10 steps, milestones at 1/3 and 2/3 of the run: boundaries at steps 30 and 60; a boundary step
    # itself still has the rate before it (PiecewiseConstantDecay's `step <= boundary`).
    config = OptimizerConfig(schedule="step", milestones=(1 / 3, 2 / 3), gamma=0.1)
    schedule = learning_rate(config, base_rate=0.4, steps_per_epoch=10, epochs=9)
    assert rates(schedule, [0, 30, 31, 60, 61, 89]) == pytest.approx([0.4, 0.4, 0.04, 0.04, 0.004, 0.004])


def test_exponential_schedule_is_a_staircase_every_decay_epochs():
    # GoogLeNet: x 0.96 every 8 epochs; 10 steps an epoch -> every 80 steps, constant in between.
    config = OptimizerConfig(schedule="exponential", gamma=0.96, decay_epochs=8.0)
    schedule = learning_rate(config, base_rate=0.01, steps_per_epoch=10, epochs=60)
    expected = [0.01, 0.01, 0.01 * 0.96, 0.01 * 0.96, 0.01 * 0.96**2, 0.01 * 0.96**7]
    assert rates(schedule, [0, 79, 80, 159, 160, 599]) == pytest.approx(expected)


def test_cosine_schedule_follows_half_a_cosine_over_the_run():
    config = OptimizerConfig(schedule="cosine")
    schedule = learning_rate(config, base_rate=0.2, steps_per_epoch=25, epochs=4)  # 100 steps
    steps = [0, 25, 50, 75, 100]
    expected = [0.2 * 0.5 * (1 + math.cos(math.pi * s / 100)) for s in steps]  # 0.2, 0.1707, 0.1, 0.0293, 0
    assert rates(schedule, steps) == pytest.approx(expected, abs=1e-7)


def test_warmup_rises_linearly_from_a_tenth_and_keeps_the_milestones_in_place():
    # ResNet-110's warm-up: one epoch (10 steps) from 0.1 x the rate; the step schedule's boundaries (30, 60 of 90)
    # are counted from step 0, not from the end of the warm-up.
    config = OptimizerConfig(schedule="step", milestones=(1 / 3, 2 / 3), warmup_epochs=1.0)
    schedule = learning_rate(config, base_rate=0.1, steps_per_epoch=10, epochs=9)
    assert isinstance(schedule, LinearWarmup) and schedule.warmup_steps == 10
    expected = [0.01, 0.01 + 0.09 * 0.5, 0.1, 0.1, 0.01, 0.001]  # 0.1 x (0.1 + 0.9 x min(step / 10, 1))
    assert rates(schedule, [0, 5, 10, 30, 31, 61]) == pytest.approx(expected)
    # A round trip through its config gives the same rates (checkpoints and .keras files rebuild it).
    restored = LinearWarmup.from_config(schedule.get_config())
    assert rates(restored, [0, 5, 31, 61]) == pytest.approx(rates(schedule, [0, 5, 31, 61]))


@pytest.mark.parametrize("schedule", ["constant", "plateau"])
def test_constant_and_plateau_rates_are_variables_a_callback_may_lower(schedule):
    config = OptimizerConfig(schedule=schedule)
    assert learning_rate(config, base_rate=0.05, steps_per_epoch=10, epochs=9) == 0.05
    optimizer = make_optimizer(config, base_rate=0.05, steps_per_epoch=10, epochs=9)
    assert not uses_schedule(optimizer) and current_learning_rate(optimizer) == pytest.approx(0.05)
    optimizer.learning_rate = 0.005  # what ReduceLROnPlateau does on a plateau
    assert current_learning_rate(optimizer) == pytest.approx(0.005)


@pytest.mark.parametrize(
    "batch_size, replicas, global_batch_size, rate",
    [
        (128, 1, None, 0.1),  # the recipe's own batch: the recipe's rate
        (128, 4, None, 0.4),  # 4 replicas of 128: 512 images a step, 4 x the rate (Goyal et al. 2017)
        (32, 1, None, 0.025),
        (128, 2, 64, 0.05),  # a global batch given directly wins over batch_size x replicas
    ],
)
def test_the_rate_scales_linearly_with_the_global_batch(batch_size, replicas, global_batch_size, rate):
    config = RunConfig(model="resnet20", batch_size=batch_size, global_batch_size=global_batch_size)
    config.optimizer.learning_rate, config.optimizer.reference_batch = 0.1, 128
    strategy = SimpleNamespace(num_replicas_in_sync=replicas)
    run = Run(config, strategy, "float32", True, None, (32, 32, 3))
    assert run.base_rate == pytest.approx(rate)


def small_model():
    inputs = keras.Input((8, 8, 2))
    x = layers.Conv2D(3, 3, name="conv")(inputs)
    x = layers.BatchNormalization(name="bn")(x)
    x = Subsampling2D(2, name="sub")(x)
    x = layers.Flatten()(x)
    outputs = layers.Dense(4, name="fc")(x)
    return keras.Model(inputs, outputs)


def test_weight_decay_skips_biases_bn_and_subsampling_coefficients():
    model = small_model()
    decayed = sorted(v.path for v in model.weights if decays(v))
    assert decayed == ["conv/kernel", "fc/kernel"]
    # Coupled: the L2 term is wd / 2 x the squared kernels, by NumPy.
    kernels = [model.get_layer("conv").kernel, model.get_layer("fc").kernel]
    expected = 0.5 * 1e-2 * sum(float(np.sum(np.square(np.asarray(k)))) for k in kernels)
    assert float(l2_penalty(model.trainable_weights, 1e-2)) == pytest.approx(expected, rel=1e-6)


def test_decoupled_decay_skips_the_same_weights():
    # One step with zero gradients: only decay moves the weights, w -> w (1 - lr wd), and only the kernels.
    model = small_model()
    config = OptimizerConfig(name="sgd", momentum=0.0, weight_decay=0.1, weight_decay_mode="decoupled")
    optimizer = make_optimizer(config, base_rate=0.5, steps_per_epoch=1, epochs=1)
    before = {v.path: np.asarray(v) for v in model.trainable_weights}
    optimizer.apply([keras.ops.zeros(v.shape) for v in model.trainable_weights], model.trainable_weights)
    for v in model.trainable_weights:
        factor = 1 - 0.5 * 0.1 if v.path in ("conv/kernel", "fc/kernel") else 1.0
        np.testing.assert_allclose(np.asarray(v), before[v.path] * factor, rtol=1e-6, err_msg=v.path)
