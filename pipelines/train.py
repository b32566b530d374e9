"""From an architecture to a served model in one command:

    python -m pipelines.train alexnet

Example gen (the dataset's splits), trainer (Keras fit under a tf.distribute strategy, resumable), evaluator
(top-1 / top-5 on the validation split) and pusher (a versioned SavedModel for TF Serving, if blessed).
"""

import json
import signal
import sys

from pipelines import flags
from pipelines.cli import ArgumentParser, run


def parse(argv):
    parser = ArgumentParser(prog="python -m pipelines.train", description=__doc__.split("\n\n")[0])
    parser.add_argument("model", nargs="?", help="a model of kerascnn.list_models(), e.g. alexnet, resnet50")
    parser.add_argument("--list-models", action="store_true", help="list the models and exit")
    parser.add_argument("--show-config", action="store_true", help="print the resolved config and exit")
    groups = {title: parser.add_argument_group(title) for title in ("data", "training", "outputs")}
    flags.add_flags(parser, flags.TRAIN, groups)
    groups["training"].add_argument(
        "--cpu-devices",
        type=int,
        default=0,
        help="split the CPU into N logical devices (to try --strategy mirrored without GPUs)",
    )
    flags.add_set(groups["training"], "any field of the run's config, e.g. optimizer.weight_decay=1e-4 (repeatable)")
    args = parser.parse_args(argv)
    if not args.model and not args.list_models:
        parser.error("the model is required, e.g. `python -m pipelines.train alexnet`")
    return args


def overrides(args):
    """The config fields the flags set: only those the user gave, so the recipe decides the rest."""
    return flags.overrides(args, flags.TRAIN)


def sources(args):
    """Where the config's values come from: the flags and --set items the user typed, the recipe for the rest."""
    typed = {field: flags.spelled(flags.TRAIN, field, value) for field, value in overrides(args).items()}
    if getattr(args, "dataset", None) is not None:
        typed["data.dataset"] = f"--dataset {args.dataset}"
    typed.update({item.partition("=")[0].strip(): f"--set {item}" for item in args.set})
    given = "; ".join(f"{field} from {how}" for field, how in typed.items())
    recipe = "every value from the model's recipe (kerascnn/training/recipes.py) and the config's defaults"
    return f"Values: {given}; every other value from the model's recipe." if given else f"Values: {recipe}."


def main(argv=None):
    args = parse(argv)
    # kerascnn is imported after parsing, so that --help does not wait for TensorFlow.
    import kerascnn
    from kerascnn.training import config as config_lib
    from kerascnn.training import runs, stages
    from kerascnn.training.callbacks import TrainingStopped
    from kerascnn.training.devices import split_cpu
    from kerascnn.training.evaluate import shown
    from kerascnn.training.rationale import notes, reasons, value

    if args.list_models:
        print("\n".join(kerascnn.list_models()))
        return 0
    if args.cpu_devices:
        split_cpu(args.cpu_devices)
    dataset = getattr(args, "dataset", None)  # a flag not typed is not in args: the recipe decides it
    config = config_lib.resolve(args.model, dataset=dataset, overrides=overrides(args), sets=args.set)
    warnings = [flags.speak(note, flags.TRAIN) for note in notes(config)]
    if args.show_config:
        if config.weights:
            why = "\n".join(f"  {value}: {reason}" for value, reason in reasons(config))
            print(f"The recipe from --weights {config.weights}, and why:\n{why}", file=sys.stderr)
        data_reasons = config_lib.data_reasons(config)
        if data_reasons:
            why = "\n".join(f"  {key} = {value(config, key)}: {reason}" for key, reason in data_reasons.items())
            print(f"On {config.data.dataset} (28x28 grey images), and why:\n{why}", file=sys.stderr)
        print(sources(args), file=sys.stderr)
        for line in warnings:
            print(line, file=sys.stderr)
        print(json.dumps(config_lib.to_dict(config), indent=2, default=str))
        return 0
    for line in warnings:
        print(line, file=sys.stderr)

    run_ = runs.prepare(config)
    print(runs.describe(run_))
    splits = stages.example_gen(run_)
    print(f"Data: {splits.source}, {splits.num_classes} classes.")
    try:
        model = stages.trainer(run_, splits)
    except TrainingStopped as stop:
        print(
            f"Stopped by {stop}; checkpoint saved in {run_.checkpoint_dir}. Run the same command again to resume.",
            file=sys.stderr,
        )
        return 128 + getattr(signal, stop.signal_name)
    metrics = stages.evaluator(run_, model, splits).metrics  # on every worker of a cluster: its steps are collective
    if not run_.chief:
        return 0
    names = shown(metrics, splits.num_classes)  # no top-5 for five classes or fewer: it is 1 by definition
    print("Validation: " + ", ".join(f"{name} {metrics['val_' + name]:.4f}" for name in names))
    if "test_accuracy" in metrics:  # reported, never used to choose
        print("Test: " + ", ".join(f"{name} {metrics['test_' + name]:.4f}" for name in names))
    if "class_iou" in metrics:
        print("IoU per class: " + ", ".join(f"{name} {iou:.4f}" for name, iou in metrics["class_iou"].items()))
    pushed, reason = stages.pusher(run_, model, splits, metrics)
    reason = flags.speak(reason, flags.TRAIN)
    print(f"Pushed {pushed} ({reason})." if pushed else f"Not pushed: {reason}.")
    if splits.bad_images:
        print(splits.bad_images.summary())
    return 0


if __name__ == "__main__":
    run(main)
