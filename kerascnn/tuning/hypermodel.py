"""The hypermodel: a trial is a training run of the search's config with the trial's hyperparameters set.

It builds and compiles through the trainer's own `build_model` and `compile_model` (so through
`kerascnn.get_model`, the recipe's optimizer, schedule and linear learning-rate scaling) and trains on the same
epoch-structured data stream, on the devices and in the precision the search set up with `runs.prepare`.
What a trial leaves out of `trainer.fit`: checkpoints (keras-tuner keeps each trial's best epoch itself, and an
interrupted search reruns the unfinished trial), recovery from a NaN (the trial fails and the search goes on) and
the run folder's CSV log and input images (each trial writes TensorBoard logs with its hyperparameters).
"""

import dataclasses
import math
import sys

import keras
import keras_tuner

from kerascnn.data import steps_per_epoch
from kerascnn.registry import checked_model
from kerascnn.training.callbacks import TrainingMonitor
from kerascnn.training.models import build_model, compile_model
from kerascnn.training.trainer import run_datasets
from kerascnn.tuning.search_space import active_values


def input_shape(config):
    """The model's input for `config`: its image size and channels, else the paper's (as runs.prepare)."""
    spec = checked_model(config.model, [config.image_size])
    size = config.image_size or spec.input_shape[0]
    return (size, size, config.channels or spec.input_shape[2])


class FailOnNonFiniteLoss(keras.callbacks.Callback):
    """Fails the trial when its loss becomes NaN or infinite: those hyperparameters diverge. keras-tuner records
    it as failed, without retrying it, and the search goes on."""

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            raise keras_tuner.errors.FailedTrialError(f"the loss became {float(loss)} at step {batch + 1}")


class RecipeHyperModel(keras_tuner.HyperModel):
    """Builds and trains a trial of the search.

    Args:
        space: the search's `Hyperparameter`s (search_space.py).
        configs: a `TrialConfigs`: hyperparameter values -> the trial's RunConfig.
        run: the search's `runs.Run` (its strategy and precision serve every trial).
        splits: the dataset's `Splits`; None on a distributed search's chief, which trains nothing.
    """

    def __init__(self, space, configs, run, splits=None):
        super().__init__(name=run.config.model)
        self.space, self.configs, self.run, self.splits = space, configs, run, splits

    def declare_hyperparameters(self, hp):
        for hyperparameter in self.space:
            hyperparameter.declare(hp)

    def trial_run(self, hp):
        """The trial's `Run`: the search's devices and precision with the trial's config and input shape."""
        config = self.configs(active_values(hp))
        return dataclasses.replace(self.run, config=config, input_shape=input_shape(config))

    def steps(self, run):
        steps = steps_per_epoch(self.splits.num_train, run.global_batch)
        if steps == 0:
            raise keras_tuner.errors.FailedTrialError(
                f"the global batch of {run.global_batch} is larger than the {self.splits.num_train} training images"
            )
        return steps

    def build(self, hp):
        run = self.trial_run(hp)
        # Every trial starts from the same draw of weights and dropout masks: trials differ by their
        # hyperparameters, not by their luck.
        keras.utils.set_random_seed(run.config.seed)
        num_classes = self.splits.num_classes
        with run.strategy.scope():
            model = build_model(
                run.config, num_classes=num_classes, input_shape=run.input_shape, precision=run.precision
            )
            compile_model(
                model, run.config, num_classes=num_classes, base_rate=run.base_rate, steps_per_epoch=self.steps(run)
            )
            # With its variables created, the optimizer's state is saved with each trial's best epoch and restored
            # with it: Hyperband continues a trial where it stopped, its schedule included.
            model.optimizer.build(model.trainable_variables)
        return model

    def fit(self, hp, model, *args, callbacks=(), epochs=None, initial_epoch=0, **kwargs):
        run = self.trial_run(hp)
        config = run.config
        train, val = run_datasets(run, self.splits, initial_epoch=initial_epoch)
        own = [TrainingMonitor(run.global_batch), FailOnNonFiniteLoss()]
        if config.optimizer.schedule == "plateau":
            own.append(
                keras.callbacks.ReduceLROnPlateau(
                    monitor="val_loss", factor=config.optimizer.gamma, patience=config.optimizer.patience
                )
            )
        return model.fit(
            train,
            validation_data=val,
            epochs=epochs or config.epochs,  # Hyperband gives each round's epochs
            initial_epoch=initial_epoch,
            steps_per_epoch=self.steps(run),
            callbacks=[*own, *callbacks],  # the monitor first: TensorBoard records what it adds to the logs
            verbose=1 if sys.stdout.isatty() else 2,
            shuffle=False,  # the stream is shuffled, per epoch, by its seed
        )
