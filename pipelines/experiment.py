"""The lecture's claims, reproduced on real images, the paper beside each result:

    python -m pipelines.experiment --list
    python -m pipelines.experiment relu_vs_tanh --seeds 3

Every arm x seed is an ordinary run of the pipeline in OUTPUT/EXPERIMENT/ARM/seed_K (its checkpoints, TensorBoard
logs, config.json), so an interrupted experiment resumes where it stopped; the experiment writes results.json,
results.md and a PNG figure in OUTPUT/EXPERIMENT, and prints the claim beside what it measured.
"""

import json
import shlex
import signal
import sys

from pipelines import flags
from pipelines.cli import ArgumentParser, run


def parse(argv):
    parser = ArgumentParser(prog="python -m pipelines.experiment", description=__doc__.split("\n\n")[0])
    parser.add_argument("experiment", nargs="?", help="an experiment of --list, e.g. relu_vs_tanh")
    parser.add_argument("--list", action="store_true", help="list the experiments, their claims and budgets")
    parser.add_argument(
        "--dataset", default="fashion_mnist", help="any source pipelines.train takes (an IDX folder, a tfds name)"
    )
    parser.add_argument("--data-dir", help="where the dataset's files are (default: the source's own)")
    parser.add_argument("--seeds", type=int, default=3, help="runs per arm, seeds 0 to N-1")
    parser.add_argument("--epochs", type=int, help="epochs of every arm (default: the experiment's budget)")
    parser.add_argument("--output", default="experiments", help="the folder of the runs and results")
    parser.add_argument("--full", action="store_true", help="the paper's schedule, where the paper gives one")
    parser.add_argument(
        "--show-config",
        action="store_true",
        help="print each arm's run (seed 0) as a pipelines.train command and its resolved config, and exit",
    )
    args = parser.parse_args(argv)
    if not args.experiment and not args.list:
        parser.error("the experiment is required, e.g. `python -m pipelines.experiment relu_vs_tanh` (or --list)")
    if args.seeds < 1:
        parser.error(f"--seeds must be at least 1, got {args.seeds}")
    if args.epochs is not None and args.epochs < 1:
        parser.error(f"--epochs must be at least 1, got {args.epochs}")
    return args


def main(argv=None):
    args = parse(argv)
    from kerascnn import experiments
    from kerascnn.training.callbacks import TrainingStopped

    if args.list:
        for exp in experiments.EXPERIMENTS.values():
            arms = ", ".join(f"{arm.label} ({arm.model})" for arm in exp.arms)
            b = exp.budget
            print(
                f"{exp.name}: {exp.claim}\n  arms: {arms}\n  default budget: {b.epochs} epochs, training subset "
                f"{b.train_subset or 'all'}; {exp.estimate}"
            )
        return 0
    exp = experiments.experiment(args.experiment)
    if args.show_config:
        return show_config(exp, args)
    argv = sys.argv[1:] if argv is None else list(argv)
    command = shlex.join(["python", "-m", "pipelines.experiment", *argv])
    try:
        results = experiments.run_experiment(
            exp,
            output=args.output,
            seeds=args.seeds,
            dataset=args.dataset,
            data_dir=args.data_dir,
            epochs=args.epochs,
            full=args.full,
        )
    except TrainingStopped as stop:
        print(f"Stopped by {stop}; run the same command again to resume.", file=sys.stderr)
        return 128 + getattr(signal, stop.signal_name)
    paths = experiments.report.write(results, f"{args.output}/{exp.name}", command=command, kind=exp.figure)
    print("\n".join(experiments.report.summary_lines(results)))
    print("Wrote " + ", ".join(map(str, paths)) + f"; TensorBoard: tensorboard --logdir {args.output}/{exp.name}")
    return 0


def show_config(exp, args):
    """Each arm as the ordinary pipeline run it is: the pipelines.train command, and the config it resolves to."""
    from kerascnn.experiments.runner import arm_fields, resolve_arm
    from kerascnn.training import config as config_lib

    for arm in exp.arms:
        options = dict(output=args.output, data_dir=args.data_dir, epochs=args.epochs, full=args.full)
        fields = arm_fields(exp, arm, 0, **options)
        command = ["python", "-m", "pipelines.train", *flags.train_argv(arm.model, args.dataset, fields, [])]
        config = resolve_arm(exp, arm, 0, dataset=args.dataset, **options)
        print(f"{arm.label}: {shlex.join(map(str, command))}")
        print(json.dumps(config_lib.to_dict(config), indent=2, default=str))
    return 0


if __name__ == "__main__":
    run(main)
