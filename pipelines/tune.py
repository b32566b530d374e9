"""Searches a model's hyperparameters with keras-tuner over the same recipe pipelines.train trains:

    python -m pipelines.tune resnet20 --dataset cifar10 --tuner hyperband --epochs 27

Each trial is a training run of the resolved config with its hyperparameters set as config fields; the ranked
trials are printed and written to <tune-dir>/results.json, each trial's TensorBoard logs (HParams view) to
<tune-dir>/logs. Rerunning the command resumes the search. For a distributed search, see the README (Tuning).
"""

import dataclasses
import functools
from pathlib import Path

from pipelines import flags, train
from pipelines.cli import ArgumentParser, run


def parse(argv):
    parser = ArgumentParser(prog="python -m pipelines.tune", description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="a model of kerascnn.list_models(), e.g. lenet5, resnet20, alexnet")
    groups = {title: parser.add_argument_group(title) for title in ("search", "data and training", "the best trial")}
    groups["data"] = groups["training"] = groups["data and training"]
    flags.add_flags(parser, flags.TUNE, groups)
    flags.add_set(groups["training"], "any field of the run's config, fixed for every trial (repeatable)")
    groups["the best trial"].add_argument(
        "--export-best",
        action="store_true",
        help="evaluate the best trial's model and push it as pipelines.train pushes",
    )
    groups["the best trial"].add_argument(
        "--then-train", action="store_true", help="run pipelines.train with the best hyperparameters"
    )
    args = parser.parse_args(argv)
    for flag in ("max_trials", "epochs", "train_epochs", "batch_size"):
        if getattr(args, flag, None) is not None and getattr(args, flag) < 1:
            parser.error(f"--{flag.replace('_', '-')} must be at least 1, got {getattr(args, flag)}")
    return args


def overrides(args):
    """The config fields the flags set (only those given, so the recipe decides the rest)."""
    return flags.overrides(args, flags.TUNE)


def main(argv=None):
    args = parse(argv)
    # kerascnn is imported after parsing, so that --help does not wait for TensorFlow.
    from kerascnn.training import runs
    from kerascnn.tuning import best, loader, logs, project, results, roles, tuners
    from kerascnn.tuning.default_spaces import default_space
    from kerascnn.tuning.hypermodel import RecipeHyperModel
    from kerascnn.tuning.search_space import TrialConfigs, active_values, check_space, load_space

    role = roles.role()
    dataset = getattr(args, "dataset", None)  # a flag not typed is not in args: the recipe decides it
    configs = TrialConfigs(args.model, dataset, tuple(overrides(args).items()), tuple(args.set))
    base = configs()
    source = f"--search-space {args.search_space}" if args.search_space else "default space"
    space = load_space(args.search_space, source=source) if args.search_space else default_space(base)
    check_space(space, configs, source=source)
    objective = tuners.objective(args.objective)
    tune_dir = Path(args.tune_dir or project.default_tune_dir(base, args.tuner))
    project.open_search(
        tune_dir, project.describe_search(base, space, args.tuner, objective), overwrite=args.overwrite, role=role
    )
    search_run = runs.prepare(dataclasses.replace(base, run_dir=str(tune_dir)))
    splits = loader.initial_splits(search_run, role)
    hypermodel = RecipeHyperModel(space, configs, search_run, splits)
    tuner = tuners.make_tuner(
        args.tuner,
        hypermodel,
        objective=objective,
        directory=tune_dir,
        max_trials=args.max_trials or (None if args.tuner == "hyperband" else 10),
        epochs=base.epochs,
        seed=base.seed,
    )
    print(
        f"{runs.describe(search_run)}. {args.tuner} search ({role}) of {len(space)} hyperparameters, up to "
        f"{tuner.planned} trials of {base.epochs} epoch(s), by {objective.name}; in {tune_dir}."
    )
    tuners.search(tuner, callbacks=logs.callbacks(tune_dir))
    if role == "worker":
        after = " (--export-best and --then-train run on the chief)" if args.export_best or args.then_train else ""
        print(f"Worker {tuner.tuner_id}: the chief has no more trials to give{after}.")
        return 0

    path = tune_dir / "results.json"
    keys = [h.key for h in space]
    command = functools.partial(best_command, configs, best.train_fields, epochs=base.epochs)
    print("\n" + results.report(tuner, objective, path, model=base.model, kind=args.tuner, keys=keys, command=command))
    print(f"Results: {path}; TensorBoard: tensorboard --logdir {logs.log_dir(tune_dir)}")
    if not (args.export_best or args.then_train):
        return 0
    trial = best.best_trial(tuner)
    if args.export_best:
        _export(tuner, hypermodel, trial, splits or loader.load(search_run), tune_dir / "best")
    if args.then_train:
        values = active_values(trial.hyperparameters, tuner.order)
        model, fields, sets = best.train_fields(
            configs, values, epochs=args.train_epochs, run_dir=getattr(args, "run_dir", None) or str(tune_dir / "train")
        )
        argv = flags.train_argv(model, configs.dataset, fields, sets)
        print("Training the best trial: python -m pipelines.train " + " ".join(argv))
        return train.main(argv)
    return 0


def best_command(configs, train_fields, record, *, epochs):
    """The `pipelines.train` arguments that train the trial of `record` (a results.json entry) again: the search's
    model (or the searched one), dataset and fields, the trial's epochs (Hyperband's best may have run fewer than
    `epochs`, the search's) and its hyperparameters."""
    model, fields, sets = train_fields(configs, record["hyperparameters"], epochs=record.get("epochs") or epochs)
    return flags.train_argv(model, configs.dataset, fields, sets)


def _export(tuner, hypermodel, trial, splits, retrain_dir):
    """--export-best: the best trial's model through the evaluator and pusher of pipelines.train."""
    from kerascnn.training.evaluate import evaluate_model
    from kerascnn.training.push import deliver
    from kerascnn.tuning.best import restore_or_retrain

    run_, model = restore_or_retrain(tuner, hypermodel, trial, splits, retrain_dir=retrain_dir)
    metrics = evaluate_model(run_, model, splits)
    print(f"Trial {trial.trial_id}: " + ", ".join(f"{k[4:]} {v:.4f}" for k, v in metrics.items() if k[:4] == "val_"))
    pushed, reason = deliver(run_, model, splits, metrics)
    print(f"Pushed {pushed} ({reason})." if pushed else f"Not pushed: {reason}.")


if __name__ == "__main__":
    run(main)
