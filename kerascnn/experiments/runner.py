"""Runs an experiment: every arm x seed an ordinary run of the pipeline (kerascnn.training's resolve, prepare,
example gen, trainer, evaluator, as `pipelines.train` calls them), each in its own run folder,
`<output>/<experiment>/<arm>/seed_<k>`, with its checkpoints, TensorBoard logs and config.json. A run that
finished writes `result.json` beside them (what the experiment measured of it); a rerun of the same command skips
those, and resumes an interrupted one from its checkpoints."""

import json
import re
from pathlib import Path

from kerascnn.data import steps_per_epoch
from kerascnn.errors import UserError
from kerascnn.experiments import measures as m
from kerascnn.experiments.table import EXPERIMENTS, SHIFTS, arm_overrides
from kerascnn.io import write_atomic
from kerascnn.training import config as config_lib
from kerascnn.training import runs, stages
from kerascnn.training.checkpoints import CheckpointStore
from kerascnn.training.trainer import batch_for_data

RESULT_FILE = "result.json"
DEFAULT_DATASET = "fashion_mnist"


def experiment(name):
    """The experiment called `name`; a UserError naming the experiments otherwise."""
    if name not in EXPERIMENTS:
        raise UserError(f"unknown experiment {name!r}: choose one of {', '.join(EXPERIMENTS)}.", field="experiment")
    return EXPERIMENTS[name]


def budget_of(exp, full=False):
    """The default budget, or with `full` the paper's schedule (a UserError where the paper gives none)."""
    if not full:
        return exp.budget
    if exp.full is None:
        raise UserError(
            f"{exp.name} has no paper's schedule to run in full; run its default budget (without --full).", field="full"
        )
    return exp.full


def slug(label):
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", label).strip("_").lower()


def run_dir(output, exp, arm, seed):
    return Path(output) / exp.name / slug(arm.label) / f"seed_{seed}"


def arm_fields(exp, arm, seed, *, output, data_dir=None, epochs=None, full=False):
    """The config fields one arm and seed set on top of its model's recipe: the budget's, the arm's own, the seed
    and the run folder (`pipelines.train MODEL --set FIELD=VALUE ...` with these is the same run)."""
    folder = run_dir(output, exp, arm, seed)
    fields = arm_overrides(exp, arm, budget_of(exp, full), epochs=epochs)
    fields.update({"seed": seed, "run_dir": str(folder), "output_dir": str(folder / "saved_models")})
    if data_dir:
        fields["data.data_dir"] = data_dir
    return fields


def resolve_arm(exp, arm, seed, *, output, dataset=DEFAULT_DATASET, data_dir=None, epochs=None, full=False):
    """The resolved RunConfig of one arm and seed, as `pipelines.train MODEL --set ...` would resolve it."""
    fields = arm_fields(exp, arm, seed, output=output, data_dir=data_dir, epochs=epochs, full=full)
    return config_lib.resolve(arm.model, dataset=dataset, overrides=fields)


def finished(config):
    """The result a finished run of `config` recorded, or None (not run, unfinished, or of another config)."""
    path = Path(config.run_dir) / RESULT_FILE
    try:
        recorded = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    same = recorded.get("fingerprint") == config_lib.fingerprint(config) and recorded.get("epochs") == config.epochs
    return recorded if same else None


def run_arm(exp, arm, seed, config, *, shift_images=0, log=print):
    """Trains and evaluates one arm's run of `config` (resuming its checkpoints) and returns what the experiment
    measures of it, written to the run folder's result.json."""
    run = runs.prepare(config)
    splits = stages.example_gen(run)
    model = stages.trainer(run, splits, log=log)
    metrics = stages.evaluator(run, model, splits).metrics
    history = logged_history(run)
    split = "test" if "test_accuracy" in metrics else "val"
    accuracy = metrics[f"{split}_accuracy"]
    errors = m.train_errors(history)
    result = {
        "experiment": exp.name,
        "arm": arm.label,
        "model": config.model,
        "seed": seed,
        "run_dir": str(config.run_dir),
        "epochs": config.epochs,
        "fingerprint": config_lib.fingerprint(config),
        "evaluated_on": split,
        "num_train": splits.num_train,
        "num_classes": splits.num_classes,
        "metrics": metrics,
        "history": history,
        "measures": {
            "parameters": int(model.count_params()),
            "test_accuracy": accuracy,
            "test_error": 1.0 - accuracy,
            "final_train_error": errors[-1] if errors else None,
            "ms_per_image": m.ms_per_image(history),
        },
        "curves": {
            "train_error": errors,
            "val_error": [1.0 - e["val_accuracy"] for e in sorted(history, key=lambda e: e["epoch"])],
        },
    }
    if exp.target_error is not None:
        epochs = m.epochs_to(errors, exp.target_error, start=1.0 - 1.0 / splits.num_classes)
        steps = steps_per_epoch(
            splits.num_train, batch_for_data(run, splits.num_train, log=lambda _: None).global_batch
        )
        result["measures"]["epochs_to_target"] = epochs
        result["measures"]["steps_to_target"] = None if epochs is None else epochs * steps
        result["steps_per_epoch"] = steps
    if shift_images and any(name.startswith("shift") for name in exp.measures):
        data = splits.test if split == "test" else splits.val
        images, labels = m.eval_images(data, shift_images)
        shifted = m.shift_measures(model, images, labels, run, SHIFTS)
        moved = [shifted["accuracy"][k] for k in SHIFTS]  # keyed by int here, by str in result.json
        result["shifts"] = {kind: {str(k): v for k, v in values.items()} for kind, values in shifted.items()}
        result["measures"]["shifted_accuracy"] = sum(moved) / len(moved)
        result["measures"]["shift_drop"] = shifted["accuracy"][0] - result["measures"]["shifted_accuracy"]
        result["measures"]["shift_agreement"] = sum(shifted["agreement"][k] for k in SHIFTS) / len(SHIFTS)
    write_atomic(Path(config.run_dir) / RESULT_FILE, json.dumps(result, indent=2, default=str))
    return result


def logged_history(run):
    """The epochs the run's trainer recorded (its last checkpoint's history: resumed runs included)."""
    checkpoints = CheckpointStore(run.checkpoint_dir).checkpoints()
    if not checkpoints:
        return []
    return json.loads((checkpoints[-1][2] / "state.json").read_text()).get("history", [])


def run_experiment(
    exp, *, output, seeds=3, dataset=DEFAULT_DATASET, data_dir=None, epochs=None, full=False, log=print, train_log=print
):
    """Runs (or resumes, or skips where finished) every arm x seed of `exp`, then gathers the results: a dict
    with each arm's measures over seeds (mean and spread), the comparisons' verdicts and the curves."""
    if seeds < 1:
        raise UserError(f"seeds must be at least 1, got {seeds}.", field="seeds")
    budget = budget_of(exp, full)
    configs = {
        (arm.label, seed): resolve_arm(
            exp, arm, seed, output=output, dataset=dataset, data_dir=data_dir, epochs=epochs, full=full
        )
        for arm in exp.arms
        for seed in range(seeds)
    }
    total, results = len(configs), {}
    for i, arm in enumerate((a for a in exp.arms for _ in range(seeds)), start=1):
        seed = (i - 1) % seeds
        config = configs[arm.label, seed]
        head = f"[{i}/{total}] {exp.name}: {arm.label} ({arm.model}), seed {seed}"
        result = finished(config)
        if result is not None:
            log(f"{head}: finished before, in {config.run_dir}")
        else:
            log(f"{head}: training {config.epochs} epochs in {config.run_dir}")
            result = run_arm(exp, arm, seed, config, shift_images=budget.shift_images, log=train_log)
        log(f"{head}: " + ", ".join(f"{k} {m.fmt(k, result['measures'].get(k))}" for k in exp.measures))
        results[arm.label, seed] = result
    return gather(exp, results, seeds=seeds, dataset=dataset, budget=budget, epochs=epochs)


def gather(exp, results, *, seeds, dataset, budget, epochs=None):
    """The experiment's results from its runs' `results` ({(arm label, seed): result}): per arm, each measure's
    summary over the seeds and the mean curves; per comparison, the verdict."""
    arms = {}
    for arm in exp.arms:
        runs_ = [results[arm.label, seed] for seed in range(seeds)]
        arms[arm.label] = {
            "model": arm.model,
            "overrides": dict(arm.overrides),
            "run_dirs": [r["run_dir"] for r in runs_],
            "measures": {name: m.summary(r["measures"].get(name) for r in runs_) for name in exp.measures},
            "curves": {name: [r["curves"][name] for r in runs_] for name in ("train_error", "val_error")},
        }
        if all("shifts" in r for r in runs_):  # accuracy and agreement at each shift, 0 (unshifted) to 4 pixels
            arms[arm.label]["shifts"] = {
                kind: {str(k): m.summary(r["shifts"][kind][str(k)] for r in runs_) for k in (0, *SHIFTS)}
                for kind in ("accuracy", "agreement")
            }
    classes = {r.get("num_classes") for r in results.values()}
    chance = 1.0 / classes.pop() if len(classes) == 1 and None not in classes else None
    # Each arm's test accuracy, whether or not the experiment reports it: two arms that both learned nothing
    # decide nothing by their accuracy.
    accuracy = {
        arm.label: m.summary(results[arm.label, seed]["measures"]["test_accuracy"] for seed in range(seeds))
        for arm in exp.arms
    }
    comparisons = []
    for c in exp.comparisons:
        a, b = arms[c.a]["measures"][c.measure], arms[c.b]["measures"][c.measure]
        outcome, difference = m.verdict(a, b, c.expect)
        if c.measure in ("test_error", "test_accuracy") and chance is not None:
            if m.at_chance(accuracy[c.a], chance) and m.at_chance(accuracy[c.b], chance):
                outcome = m.AT_CHANCE
        comparisons.append(
            {
                "measure": c.measure,
                "a": c.a,
                "b": c.b,
                "expect": c.expect,
                "claim": c.claim,
                "difference": difference,
                "ratio": m.ratio(a, b),
                "verdict": outcome,
            }
        )
    return {
        "experiment": exp.name,
        "claim": exp.claim,
        "dataset": dataset,
        "seeds": seeds,
        "budget": {
            "epochs": epochs or budget.epochs or "the recipe's",
            "train_subset": budget.train_subset,
            "eval_subset": budget.eval_subset,
            "image_size": budget.image_size,
            "shift_images": budget.shift_images,
        },
        "target_error": exp.target_error,
        "arms": arms,
        "comparisons": comparisons,
    }
