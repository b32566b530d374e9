"""keras-tuner's random search, Bayesian optimisation and Hyperband over a `RecipeHyperModel`.

Each tuner here adds to keras-tuner's: a progress line as each trial begins and ends (which trial of how many,
its hyperparameters, its time, the best so far), and each trial's time, epochs and best epoch among the metrics it
reports, so that they reach the oracle even when it runs on a distributed search's chief.

Distributed search is keras-tuner's own (roles.py): a chief serves the trials, workers train them.
"""

import time
from pathlib import Path

import keras_tuner

from kerascnn import choices, compat
from kerascnn.choices import OBJECTIVES  # the metrics every trial logs, for each epoch
from kerascnn.errors import Mention, UserError
from kerascnn.tuning import progress, roles


def objective(name):
    """keras-tuner's Objective for a metric of OBJECTIVES: losses are minimised, accuracies maximised."""
    if name not in OBJECTIVES:
        raise UserError(
            Mention("objective"), f" must be one of {', '.join(OBJECTIVES)}, got {name!r}.", field="objective"
        )
    return keras_tuner.Objective(name, "min" if name.endswith("loss") else "max")


def _best_epoch(history, objective):
    """(the metrics of the epoch with the best objective, that epoch counted from 1)."""
    values = history.history[objective.name]
    pick = max if objective.direction == "max" else min
    best = pick(range(len(values)), key=values.__getitem__)
    return {name: float(series[best]) for name, series in history.history.items()}, history.epoch[best] + 1


class Progress:
    """Mixed into a keras-tuner Tuner: progress lines, and the time and epochs of each trial among its metrics."""

    planned = None  # how many trials the search runs at most

    def _populate_initial_space(self):
        # The hypermodel declares the whole space, conditions included: keras-tuner's discovery of conditional
        # hyperparameters by building models is not needed, and a chief, which trains nothing, builds nothing.
        hp = self.oracle.get_space()
        self.hypermodel.declare_hyperparameters(hp)
        self.oracle.update_space(hp)

    @property
    def order(self):
        return [h.name for h in self.hypermodel.space]

    def on_trial_begin(self, trial):
        super().on_trial_begin(trial)
        self._started = time.perf_counter()
        print(progress.begin_line(trial, self.planned, self.order), flush=True)

    def run_trial(self, trial, *args, **kwargs):
        (history,) = super().run_trial(trial, *args, **kwargs)  # one History: one execution per trial
        metrics, best_epoch = _best_epoch(history, self.oracle.objective)
        self._result = {
            **metrics,
            "epochs": history.epoch[-1] + 1,
            "best_epoch": best_epoch,
            "seconds": time.perf_counter() - self._started,
        }
        return self._result

    def on_trial_end(self, trial):
        super().on_trial_end(trial)  # reports to the oracle, which scores the trial
        best = (self.oracle.get_best_trials(1) or [None])[0]
        metrics = getattr(self, "_result", {}) if trial.status == "COMPLETED" else {}
        print(progress.end_line(trial, self.planned, self.oracle.objective.name, metrics, best), flush=True)


class RandomSearch(Progress, keras_tuner.RandomSearch):
    pass


class BayesianOptimization(Progress, keras_tuner.BayesianOptimization):
    pass


class Hyperband(Progress, keras_tuner.Hyperband):
    pass


# kerascnn.choices.TUNERS, in its order: the names the command line offers.
TUNERS = dict(zip(choices.TUNERS, (RandomSearch, BayesianOptimization, Hyperband), strict=True))


def planned_trials(oracle):
    """How many trials `oracle` creates at most: its max_trials, or for Hyperband the trials of its brackets
    (each bracket's rounds run fewer models for more epochs)."""
    if isinstance(oracle, keras_tuner.oracles.HyperbandOracle):
        total = compat.hyperband_trials(oracle) * oracle.hyperband_iterations
        return min(total, oracle.max_trials) if oracle.max_trials else total
    return oracle.max_trials


def make_tuner(kind, hypermodel, *, objective, directory, max_trials=None, epochs=1, seed=0):
    """A tuner of TUNERS[kind] whose project folder is `directory`, resumed if it holds a search.

    Hyperband's rounds train for up to `epochs` (factor 3); `max_trials` caps its trials as it caps the others'.
    """
    if kind not in TUNERS:
        raise UserError(Mention("tuner"), f" must be one of {', '.join(TUNERS)}, got {kind!r}.", field="tuner")
    directory = Path(directory)
    # keras-tuner takes a seed of 0 as "none" and draws one: offset ours so that every seed is honoured.
    common = dict(
        hypermodel=hypermodel,
        objective=objective,
        seed=seed + 1,
        overwrite=False,
        directory=str(directory.parent),
        project_name=directory.name,
    )
    if kind == "hyperband":
        tuner = Hyperband(max_epochs=epochs, factor=3, **common)
    else:
        tuner = TUNERS[kind](max_trials=max_trials, **common)
    oracle = compat.local_oracle(tuner)
    if max_trials:
        oracle.max_trials = max_trials
    tuner.planned = planned_trials(oracle)
    where = roles.role()
    if where == "local":
        oracle.verbose = 0  # the tuner prints progress
    else:
        progress.quiet_condition_protos()
    if where == "chief":
        compat.set_display(oracle, progress.ChiefProgress(oracle, tuner.planned, tuner.order))
    return tuner


def search(tuner, **fit_kwargs):
    """Runs `tuner.search`, its failures that a user can act on raised as one-line UserErrors."""
    try:
        tuner.search(**fit_kwargs)
    except RuntimeError as error:
        lines = str(error).strip().splitlines() or [""]
        if lines[0].startswith("Number of consecutive failures"):
            raise UserError(f"The search stopped: {lines[0].rstrip('.')} trials; the last one: {lines[-1]}") from None
        if "bind" in lines[0].lower():
            raise UserError(
                f"The chief cannot serve the oracle at {roles.oracle_address()} ({lines[0]}); choose a free "
                "KERASTUNER_ORACLE_PORT."
            ) from None
        raise
