"""After a search: the best trial's model, for the same evaluator and pusher as `pipelines.train`, or the
arguments of a full `pipelines.train` run with the best hyperparameters."""

import dataclasses
from pathlib import Path

from kerascnn.errors import UserError
from kerascnn.training import runs, trainer
from kerascnn.tuning.search_space import active_values, as_sets, searched_model

# keras-tuner's file for the weights of a trial's best epoch, in the trial's folder.
CHECKPOINT = "checkpoint.weights.h5"


def best_trial(tuner):
    """The completed trial with the best objective; UserError when none completed."""
    trials = tuner.oracle.get_best_trials(1)
    if not trials or trials[0].status != "COMPLETED":
        raise UserError("No trial of the search completed, so there is no best one; see the trials' errors above.")
    return trials[0]


def restore_or_retrain(tuner, hypermodel, trial, splits, *, retrain_dir, log=print):
    """(run, model) of the best trial, trained: the weights of its best epoch restored when this machine holds
    them (a distributed search keeps them on the worker that ran it), else the trial's config trained again by
    `trainer.fit` for the trial's epochs, in `retrain_dir` (rerunning resumes it)."""
    hypermodel.splits = splits  # a chief, which trained nothing, loads the data only now
    checkpoint = Path(tuner.get_trial_dir(trial.trial_id)) / CHECKPOINT
    if checkpoint.exists():
        log(f"Restoring trial {trial.trial_id} from {checkpoint}.")
        return hypermodel.trial_run(trial.hyperparameters), tuner.load_model(trial)
    epochs = int(trial.metrics.get_last_value("epochs") or hypermodel.trial_run(trial.hyperparameters).config.epochs)
    log(
        f"Trial {trial.trial_id}'s weights are not on this machine: training its config for {epochs} epochs in "
        f"{retrain_dir}."
    )
    config = hypermodel.configs(active_values(trial.hyperparameters))
    run = runs.prepare(dataclasses.replace(config, run_dir=str(retrain_dir), epochs=epochs))
    model, _ = trainer.fit(run, splits, log=log)
    return run, model


def train_fields(configs, values, *, run_dir=None, epochs=None):
    """A full training run of the trial with `values`, as (model, {config field: value}, "key=value" items): the
    search's model (or the searched one), its fields and items, with the trial's hyperparameters as more items
    (pipelines.flags.train_argv makes them a `pipelines.train` command line).

    `epochs`: the run's (default: the recipe's; the search's per-trial epochs are not carried over); `run_dir`:
    the run's folder (default: pipelines.train's)."""
    fields = {key: value for key, value in configs.overrides if key not in ("epochs", "run_dir")}
    fields.update({**({"run_dir": run_dir} if run_dir else {}), **({"epochs": epochs} if epochs else {})})
    return searched_model(values, configs.model), fields, [*configs.sets, *as_sets(values)]
