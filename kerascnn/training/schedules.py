"""The optimizer and learning-rate schedule of a recipe (config.OptimizerConfig)."""

import keras
from keras import ops

from kerascnn.compat import learning_rate_schedule
from kerascnn.training.config import OptimizerConfig


@keras.saving.register_keras_serializable(package="kerascnn")
class LinearWarmup(keras.optimizers.schedules.LearningRateSchedule):
    """Rises linearly from `start` x the schedule's rate to the full rate over `warmup_steps`, then follows
    `schedule` (counted from step 0, so the milestones stay where the recipe put them)."""

    def __init__(self, schedule, warmup_steps, start=0.1):
        self.schedule = schedule
        self.warmup_steps = warmup_steps
        self.start = start

    def __call__(self, step):
        step = ops.cast(step, "float32")
        rate = self.schedule(step) if callable(self.schedule) else ops.cast(self.schedule, "float32")
        fraction = ops.minimum(step / max(self.warmup_steps, 1), 1.0)
        return rate * (self.start + (1.0 - self.start) * fraction)

    def get_config(self):
        schedule = self.schedule
        if isinstance(schedule, keras.optimizers.schedules.LearningRateSchedule):
            schedule = keras.saving.serialize_keras_object(schedule)
        return {"schedule": schedule, "warmup_steps": self.warmup_steps, "start": self.start}

    @classmethod
    def from_config(cls, config):
        schedule = config["schedule"]
        if isinstance(schedule, dict):
            schedule = keras.saving.deserialize_keras_object(schedule)
        return cls(schedule, config["warmup_steps"], config["start"])


def learning_rate(config: OptimizerConfig, *, base_rate, steps_per_epoch, epochs):
    """A float (constant and plateau schedules: ReduceLROnPlateau lowers it) or a LearningRateSchedule."""
    total = steps_per_epoch * epochs
    if config.schedule == "step" and config.milestones:
        boundaries = sorted({max(1, round(m * total)) for m in config.milestones})
        values = [base_rate * config.gamma**i for i in range(len(boundaries) + 1)]
        rate = keras.optimizers.schedules.PiecewiseConstantDecay(boundaries, values)
    elif config.schedule == "exponential":
        rate = keras.optimizers.schedules.ExponentialDecay(
            base_rate,
            decay_steps=max(1, round(config.decay_epochs * steps_per_epoch)),
            decay_rate=config.gamma,
            staircase=True,
        )
    elif config.schedule == "poly":  # DeepLab's "poly": base * (1 - step / steps) ** power, to 0 at the end
        rate = keras.optimizers.schedules.PolynomialDecay(base_rate, max(1, total), 0.0, power=config.power)
    elif config.schedule == "cosine":
        rate = keras.optimizers.schedules.CosineDecay(base_rate, decay_steps=max(1, total))
    else:
        rate = base_rate
    if config.warmup_epochs:
        rate = LinearWarmup(rate, warmup_steps=round(config.warmup_epochs * steps_per_epoch))
    return rate


# Weights that weight decay skips, by variable name: biases, BN's scale and offset, LeNet's subsampling
# coefficients. Decay applies to conv and dense kernels (and any other weight not named here).
NO_DECAY = ("bias", "gamma", "beta", "coefficient")


def decays(variable):
    """Whether weight decay applies to `variable` (a trainable weight not named in NO_DECAY)."""
    return variable.trainable and variable.name not in NO_DECAY


def coupled(config: OptimizerConfig):
    """Whether the recipe's weight decay is the papers' L2 term (added to the gradient) rather than Keras'
    decoupled shrinkage; AdamW's decay is decoupled by definition (Loshchilov & Hutter 2019)."""
    return bool(config.weight_decay) and config.weight_decay_mode == "coupled" and config.name != "adamw"


def l2_penalty(variables, weight_decay):
    """weight_decay / 2 x the sum of squares of the decayed `variables`: its gradient adds weight_decay x w to
    each one's gradient, before the momentum update, as Caffe's and Torch's SGD did with their weight decay."""
    terms = [ops.sum(ops.square(ops.cast(v, "float32"))) for v in variables if decays(v)]
    return 0.5 * weight_decay * sum(terms) if terms else ops.convert_to_tensor(0.0)


def make_optimizer(config: OptimizerConfig, *, base_rate, steps_per_epoch, epochs):
    """The recipe's optimizer. With `weight_decay_mode="decoupled"` (or AdamW) it shrinks the decayed weights
    itself, w -= lr x wd x w at each step; with "coupled" it has no decay of its own: the model's loss carries
    the L2 term (see l2_penalty and models.compile_model)."""
    rate = learning_rate(config, base_rate=base_rate, steps_per_epoch=steps_per_epoch, epochs=epochs)
    decoupled = config.weight_decay and not coupled(config)
    common = dict(learning_rate=rate, weight_decay=config.weight_decay if decoupled else None, clipnorm=config.clipnorm)
    if config.name == "sgd":
        optimizer = keras.optimizers.SGD(momentum=config.momentum, nesterov=config.nesterov, **common)
    elif config.name == "adam":
        optimizer = keras.optimizers.Adam(**common)
    elif config.name == "adamw":
        optimizer = keras.optimizers.AdamW(**{**common, "weight_decay": config.weight_decay})
    else:
        optimizer = keras.optimizers.RMSprop(momentum=config.momentum, **common)
    if decoupled:
        optimizer.exclude_from_weight_decay(var_names=list(NO_DECAY))
    return optimizer


def uses_schedule(optimizer):
    """Whether the optimizer's rate follows a schedule (else it is a variable that callbacks may change)."""
    return learning_rate_schedule(optimizer) is not None


def current_learning_rate(optimizer):
    """The rate the optimizer applies at its current step, as a float."""
    rate = optimizer.learning_rate
    return float(keras.ops.convert_to_numpy(rate))
