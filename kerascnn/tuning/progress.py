"""The lines a search prints as each trial begins and ends: which trial of how many, its hyperparameters, its
time and objective, and the best so far. Workers and a local search print them from the tuner; a distributed
search's chief, which runs the oracle, prints them for every worker's trials."""

import contextlib
import io

from kerascnn import compat
from kerascnn.tuning.search_space import active_values, describe


def label(trial, planned, notes=()):
    # A trial is named by its id everywhere (these lines, the table, results.json, its folder trial_<id>); the
    # count in brackets says how far the search is.
    count = f"{int(trial.trial_id) + 1} of {planned or '?'}"
    return f"Trial {trial.trial_id} ({'; '.join([count, *notes])})"


def begin_line(trial, planned, order=(), by=None):
    values = trial.hyperparameters.values
    notes = [f"on {by}"] if by else []
    if "tuner/trial_id" in values:  # Hyperband's next round, for the best of the last
        notes.append(f"continues trial {values['tuner/trial_id']} from epoch {values['tuner/initial_epoch'] + 1}")
    return f"\n{label(trial, planned, notes)}: {describe(active_values(trial.hyperparameters, order))}"


def end_line(trial, planned, objective, metrics, best):
    """The result of `trial` (`metrics`: what it reported), or why it failed; `best`: the best trial so far."""
    if trial.status != "COMPLETED":
        reason = (trial.message or "").strip().splitlines()[-1:] or ["no message"]
        return f"{label(trial, planned)} {trial.status.lower()}: {reason[0]}"
    best = f"best so far {best.score:.4f} (trial {best.trial_id})" if best and best.score is not None else ""
    return (
        f"{label(trial, planned)} done in {metrics['seconds']:.1f} s: {objective} {metrics[objective]:.4f} at "
        f"epoch {int(metrics['best_epoch'])} of {int(metrics['epochs'])}; {best}."
    )


class ChiefProgress(compat.tuner_display_class()):
    """The oracle's display on a chief: our lines for the trials the workers run (keras-tuner 1.4.8's own take
    any process with IPython installed for a notebook, and write screen-clearing codes into the log)."""

    def __init__(self, oracle, planned, order=()):
        super().__init__(oracle, verbose=1)
        self.planned, self.order = planned, order

    def on_trial_begin(self, trial):
        by = next((tuner for tuner, t in self.oracle.ongoing_trials.items() if t.trial_id == trial.trial_id), None)
        print(begin_line(trial, self.planned, self.order, by), flush=True)

    def on_trial_end(self, trial):
        metrics = {name: trial.metrics.get_last_value(name) for name in trial.metrics.metrics}
        best = (self.oracle.get_best_trials(1) or [None])[0]
        print(end_line(trial, self.planned, self.oracle.objective.name, metrics, best), flush=True)


def quiet_condition_protos():
    """keras-tuner 1.4.8's `Parent.to_proto` prints its first value (a leftover debug print) whenever a trial with
    a conditional hyperparameter crosses gRPC; this swallows that print. For distributed searches only."""
    Parent = compat.tuner_parent_condition()
    if getattr(Parent.to_proto, "quiet", False):
        return
    original = Parent.to_proto

    def to_proto(self):
        with contextlib.redirect_stdout(io.StringIO()):
            return original(self)

    to_proto.quiet = True
    Parent.to_proto = to_proto
