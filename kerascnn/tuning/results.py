"""What a search found: its trials ranked by the objective, as a table and as JSON.

results.json holds one entry a trial, best first (trials that failed last):

    {"model": "lenet5", "tuner": "random", "objective": {"name": "val_accuracy", "direction": "max"},
     "trials": [{"rank": 1, "trial": "1", "status": "COMPLETED", "objective": 0.53,
                 "hyperparameters": {"optimizer.name": "adam", "optimizer.learning_rate@adam": 0.00031},
                 "sets": ["optimizer.name=adam", "optimizer.learning_rate=0.00031"],
                 "epochs": 2, "best_epoch": 2, "seconds": 3.1, "metrics": {"val_loss": 1.61, ...}}, ...]}

`sets` are the `--set` items that give `pipelines.train` the trial's config (Hyperband's continued trials also
name the trial they continue).
"""

import json
import shlex
from pathlib import Path

from kerascnn.io import write_atomic
from kerascnn.tuning.search_space import active_values, as_sets

BOOKKEEPING = ("epochs", "best_epoch", "seconds")


def _record(trial, objective, order):
    values = active_values(trial.hyperparameters, order)
    metrics = {name: trial.metrics.get_last_value(name) for name in trial.metrics.metrics}
    record = {
        "trial": trial.trial_id,
        "status": trial.status,
        "objective": trial.score if trial.status == "COMPLETED" else None,
        "hyperparameters": values,
        "sets": as_sets(values),
        **{key: metrics.pop(key, None) for key in BOOKKEEPING},
        "metrics": {name: value for name, value in metrics.items() if name != objective.name},
    }
    if "model" in values:
        record["model"] = values["model"]
    continued = trial.hyperparameters.values.get("tuner/trial_id")
    if continued is not None:
        record["continues"] = continued
    for key in ("epochs", "best_epoch"):
        if record[key] is not None:
            record[key] = int(record[key])
    return record


def rank(trials, objective, order=()):
    """The records of `trials` (keras-tuner Trials), completed ones best first, then the others by id; each
    trial's hyperparameters in the order of the names in `order` (the search space's)."""
    completed = [t for t in trials if t.status == "COMPLETED" and t.score is not None]
    completed.sort(key=lambda t: t.score, reverse=objective.direction == "max")
    others = sorted((t for t in trials if t not in completed), key=lambda t: int(t.trial_id))
    ranked = [{"rank": i, **_record(t, objective, order)} for i, t in enumerate(completed, start=1)]
    return ranked + [{"rank": None, **_record(t, objective, order)} for t in others]


def write_results(path, records, *, model, tuner, objective):
    """Writes results.json (atomically: a reader sees the previous file or this one, never half of one)."""
    path = Path(path)
    document = {
        "model": model,
        "tuner": tuner,
        "objective": {"name": objective.name, "direction": objective.direction},
        "trials": records,
    }
    write_atomic(path, json.dumps(document, indent=2, default=float))


def report(tuner, objective, path, *, model, kind, keys=None, command=None):
    """Ranks the trials of `tuner`'s search and writes them to `path` (results.json); returns them as a table, with
    the `pipelines.train` arguments of the best trial when one completed.

    `model`: the searched model (unless the search chooses it); `kind`: the tuner's kind, e.g. "random"; `keys`:
    the config fields of the table's columns, in order; `command`: the best record -> the arguments of the
    `pipelines.train` run that reproduces it (dataset, epochs, every fixed and tuned field; default: the model and
    the trial's --set items alone)."""
    ranked = rank(tuner.oracle.trials.values(), objective, order=tuner.order)
    write_results(path, ranked, model=model, tuner=kind, objective=objective)
    lines = [format_table(ranked, objective, keys=keys)]
    if ranked and ranked[0]["rank"]:
        top = ranked[0]
        words = command(top) if command else [top.get("model", model), *(w for s in top["sets"] for w in ("--set", s))]
        lines.append(f"Best: trial {top['trial']}; to train it: python -m pipelines.train {shlex.join(words)}")
    return "\n".join(lines)


def _cell(value, digits=4):
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def format_table(records, objective, keys=None):
    """The ranked trials, one a line: rank, trial, objective, epochs, seconds, then the value each gives a config
    field (`keys`, in this order; default: all, as they come)."""
    fields = [{name.split("@")[0]: value for name, value in r["hyperparameters"].items()} for r in records]
    keys = list(dict.fromkeys(keys or [key for values in fields for key in values]))
    rows = [["rank", "trial", objective.name, "epochs", "seconds", *keys]]
    for r, values in zip(records, fields):
        score = _cell(r["objective"]) if r["status"] == "COMPLETED" else r["status"].lower()
        seconds = "-" if r["seconds"] is None else f"{r['seconds']:.1f}"
        rows.append(
            [
                _cell(r["rank"]),
                r["trial"],
                score,
                _cell(r["epochs"]),
                seconds,
                *(_cell(values.get(key)) for key in keys),
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows)
