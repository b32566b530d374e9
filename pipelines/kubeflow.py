"""The train pipeline on Kubeflow Pipelines (and Vertex AI Pipelines), compiled to YAML or run locally:

    python -m pipelines.kubeflow compile alexnet --epochs 90 --gpus 2 --output alexnet.yaml
    python -m pipelines.kubeflow run lenet5 --set data.shapes_train=256 --epochs 1

Stages as pipelines.train runs them, each a component in the project's image (--image): example gen -> trainer
-> evaluator -> pusher, the pusher under the evaluator's blessing; --tune-flags puts a keras-tuner search first
(pipelines.tune), whose best trial the trainer trains; --evaluate EXAMPLES MODEL reruns the evaluator alone on
an earlier run's artifacts. Any flag of pipelines.train sets the run.
"""

import shlex
import sys
from pathlib import Path

from pipelines.cli import ArgumentParser, fail, run

IMAGE = "kerascnn:latest"  # a local tag: a cluster pulls --image from its registry (see the README)
INSTALL = 'pip install "kerascnn[kubeflow]"'


def parse(argv):
    """(this command's arguments, the train argv: the model first, then pipelines.train's flags)."""
    parser = ArgumentParser(
        prog="python -m pipelines.kubeflow",
        usage="%(prog)s {compile,run} MODEL [pipelines.train flags] [options]",
        description=__doc__.split("\n\n")[0],
        epilog="The run's flags are pipelines.train's: python -m pipelines.train --help lists them.",
    )
    parser.add_argument("command", choices=("compile", "run"), help="write the pipeline's YAML, or run it locally")
    parser.add_argument("--output", help="compile: the YAML file to write (default: <model>.yaml)")
    parser.add_argument(
        "--image", default=IMAGE, help="the image every component runs in (the repository's Dockerfile)"
    )
    parser.add_argument("--gpus", type=int, default=0, help="GPUs the trainer asks for (the other stages stay on CPU)")
    parser.add_argument(
        "--accelerator",
        default="nvidia.com/gpu",
        help="the trainer's accelerator type: nvidia.com/gpu on Kubeflow; on Vertex AI e.g. NVIDIA_TESLA_T4",
    )
    parser.add_argument(
        "--tune-flags",
        type=shlex.split,
        help='a tuning stage first, with these pipelines.tune flags, e.g. "--tuner random --max-trials 4"',
    )
    parser.add_argument(
        "--evaluate",
        nargs=2,
        metavar=("EXAMPLES", "MODEL"),
        help="the evaluator alone, on the examples and model artifacts (URIs) of an earlier run",
    )
    parser.add_argument("--pipeline-root", help="run: where the artifacts go (default: kubeflow-runs/)")
    args, train_argv = parser.parse_known_args(argv)
    if args.gpus < 0:
        parser.error(f"--gpus must be 0 or more, got {args.gpus}")
    return args, train_argv


def check_flags(train_argv, tune_flags):
    """The train argv with its model first, checked as pipelines.train checks it (the same one-line errors)."""
    from pipelines import kubeflow_steps, train, tune

    args = train.parse(train_argv)
    kubeflow_steps.resolve(train_argv)  # an unknown model, a bad --set: the train command's UserError
    argv = list(train_argv)
    argv.remove(args.model)
    if tune_flags is not None:
        tune.parse([args.model, *tune_flags])
    return [args.model, *argv]


def main(argv=None):
    args, train_argv = parse(argv)
    try:
        from kfp import compiler, local
    except ImportError:
        from kerascnn.errors import UserError

        raise UserError(f"Kubeflow Pipelines (kfp) is not installed: {INSTALL}") from None
    from pipelines import kubeflow_components

    train_argv = check_flags(train_argv, args.tune_flags)
    if args.evaluate:
        examples, model = args.evaluate
        pipeline = kubeflow_components.build_evaluation(
            train_argv, image=args.image, examples_uri=examples, model_uri=model
        )
    else:
        pipeline = kubeflow_components.build(
            train_argv, image=args.image, gpus=args.gpus, accelerator=args.accelerator, tune_flags=args.tune_flags
        )
    if args.command == "compile":
        output = Path(args.output or f"{train_argv[0]}.yaml")
        compiler.Compiler().compile(pipeline, str(output))
        print(f"Wrote {output}: submit it to Kubeflow Pipelines or Vertex AI Pipelines.")
        return 0
    root = Path(args.pipeline_root or "kubeflow-runs").resolve()
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(root))
    try:
        pipeline()
    except RuntimeError as error:  # kfp.local's word for a failed task; the task's own log is above
        fail(f"{str(error).splitlines()[0]} (its log is above; the artifacts are in {root})", code=1)
    print(f"Pipeline finished; its artifacts are in {root}.", file=sys.stdout)
    return 0


if __name__ == "__main__":
    run(main, pipeline="train")
