"""The steps of the Kubeflow pipeline (pipelines.kubeflow) as its components run them, one process each: the
run's config from the train flags it was compiled with (parsed as pipelines.train parses them), the inputs and
outputs in artifact folders, the work done by kerascnn.training.stages as pipelines.train does it.

Nothing here imports kfp: each function takes plain paths, so a step can also be run by hand.
"""

import dataclasses
import json
import sys
from pathlib import Path

from kerascnn.errors import UserError
from kerascnn.training import config as config_lib
from kerascnn.training import runs, stages
from pipelines import train

RUN_FOLDER = "run"  # inside the model artifact: the trainer's checkpoints and logs when no --run-dir is given


def resolve(argv):
    """The run's config for `argv` (a model and train flags), as pipelines.train resolves it."""
    args = train.parse(list(argv))
    if args.list_models or args.show_config:
        raise UserError("--list-models and --show-config are commands of pipelines.train, not steps.")
    dataset = getattr(args, "dataset", None)  # a flag not typed is not in args: the recipe decides it
    return config_lib.resolve(args.model, dataset=dataset, overrides=train.overrides(args), sets=args.set)


def prepare(argv, *, run_dir=None, record=False):
    """The run of `argv`; `run_dir` where the flags give none (the trainer's folder in its artifact)."""
    config = resolve(argv)
    if run_dir and not config.run_dir:
        config = dataclasses.replace(config, run_dir=str(run_dir))
    return runs.prepare(config, record=record)


def example_gen(argv, examples_dir):
    """Example gen: resolves and verifies the data; writes the examples artifact and returns what it records."""
    run = prepare(argv)
    splits = stages.example_gen(run)
    print(f"Data: {splits.source}, {splits.num_classes} classes.")
    if splits.bad_images:
        print(splits.bad_images.summary())
    return stages.write_examples(examples_dir, run, splits)


def trainer(argv, examples_dir, model_dir):
    """The trainer: trains on the examples (resuming from the run folder's checkpoints: --run-dir on a volume
    that outlives the pod makes a retried step resume) and writes the model artifact."""
    run = prepare(argv, run_dir=Path(model_dir) / RUN_FOLDER, record=True)
    print(runs.describe(run))
    splits = stages.read_examples(examples_dir, run)
    model = stages.trainer(run, splits)
    return stages.save_model(model_dir, run, model, splits)


def evaluator(argv, examples_dir, model_dir, metrics_file):
    """The evaluator: the metrics (written as JSON to `metrics_file`), the confusion matrix and the blessing
    against the versions in the output folder now. Returns (Evaluation, confusion matrix, class names)."""
    run = prepare(argv)
    splits = stages.read_examples(examples_dir, run)
    model = stages.load_model(model_dir, run, splits)
    evaluation = stages.evaluator(run, model, splits)
    matrix = stages.confusion_matrix(run, model, splits)
    Path(metrics_file).parent.mkdir(parents=True, exist_ok=True)
    Path(metrics_file).write_text(json.dumps(evaluation.metrics, indent=2, default=str))
    print("Validation: " + ", ".join(f"{k[4:]} {v:.4f}" for k, v in evaluation.metrics.items() if _scalar(k, v)))
    print(f"{'Blessed' if evaluation.blessed else 'Not blessed'}: {evaluation.reason}.")
    return evaluation, matrix, list(splits.class_names)


def pusher(argv, examples_dir, model_dir, metrics_file):
    """The pusher: the next version in the output folder, if still blessed. Returns (path or None, reason)."""
    run = prepare(argv)
    splits = stages.read_examples(examples_dir, run)
    model = stages.load_model(model_dir, run, splits)
    metrics = json.loads(Path(metrics_file).read_text())
    pushed, reason = stages.pusher(run, model, splits, metrics)
    print(f"Pushed {pushed} ({reason})." if pushed else f"Not pushed: {reason}.", file=sys.stdout)
    return (str(Path(pushed).resolve()) if pushed else None), reason


def storage_uri(path):
    """The URI of a path in a step's file system: Vertex AI mounts Cloud Storage at /gcs/BUCKET (FUSE)."""
    return "gs://" + path[len("/gcs/") :] if path.startswith("/gcs/") else path


def scalar_metrics(metrics):
    """The metrics a Kubeflow Metrics artifact can hold: numbers by name (per-class dicts stay in the JSON)."""
    return {k: float(v) for k, v in metrics.items() if _scalar(k, v)}


def _scalar(key, value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and key.startswith(("val_", "test_"))


def tuner(argv, tune_flags, tune_dir):
    """The tuning step: pipelines.tune's search with `tune_flags` (its own flags, after the model) into
    `tune_dir`; returns the train flags of the best trial: `argv` with the trial's model and its hyperparameters
    as --set items after the rest (a later --set wins)."""
    from pipelines import tune

    model, rest = argv[0], list(argv[1:])
    tune_flags = list(tune_flags)
    if "--tune-dir" not in tune_flags:
        tune_flags += ["--tune-dir", str(tune_dir)]
    tune.main([model, *tune_flags])
    results_dir = Path(tune_flags[tune_flags.index("--tune-dir") + 1])
    ranked = json.loads((results_dir / "results.json").read_text())["trials"]
    if not ranked or not ranked[0].get("rank"):
        raise UserError("No trial of the search completed, so there is no best one; see the trials' errors above.")
    best = ranked[0]
    sets = [part for item in best["sets"] for part in ("--set", item)]
    return [best.get("model") or model, *rest, *sets]
