"""Time the zoo's models and custom layers on the Keras backend in use, TensorFlow not needed:

    KERAS_BACKEND=jax python -m pipelines.benchmark_backend googlenet resnet50 alexnet \\
        --precision float32 mixed_float16 mixed_bfloat16 --batch-size 64 --markdown benchmarks/jax-gpu.md

Training (`train_on_batch`: forward, loss, backward, SGD update) and inference images per second of each model at
its paper's input, and of each custom layer at the shapes its paper uses it (`--layers`), the precisions timed in
alternation. For the whole pipeline on TensorFlow, beside keras.applications, use `pipelines.benchmark`.
"""

import shlex
import sys

from kerascnn.choices import PRECISIONS
from pipelines.cli import ArgumentParser, run

FIXED_PRECISIONS = tuple(p for p in PRECISIONS if p != "auto")  # each timed as itself


def parse(argv):
    parser = ArgumentParser(prog="python -m pipelines.benchmark_backend", description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="*", metavar="MODEL", help="models of kerascnn.list_models()")
    parser.add_argument("--layers", action="store_true", help="also time each custom layer at its paper's shapes")
    parser.add_argument(
        "--precision",
        nargs="+",
        default=list(FIXED_PRECISIONS),
        choices=FIXED_PRECISIONS,
        help="timed in alternation",
    )
    parser.add_argument("--batch-size", type=int, default=32, help="images in each timed step")
    parser.add_argument("--image-size", type=int, help="default: each model's paper input")
    parser.add_argument("--num-classes", type=int, default=1000, help="classes of the models' heads")
    parser.add_argument("--steps", type=int, default=10, help="timed steps in each repetition")
    parser.add_argument("--warmup", type=int, default=3, help="uncounted steps after the first (which compiles)")
    parser.add_argument("--repeats", type=int, default=3, help="repetitions (median and spread over them)")
    parser.add_argument("--markdown", help="also write the report to this markdown file")
    args = parser.parse_args(argv)
    if not args.models and not args.layers:
        parser.error("name at least one model, or --layers")
    for flag in ("batch_size", "num_classes", "steps", "repeats"):
        if getattr(args, flag) < 1:
            parser.error(f"--{flag.replace('_', '-')} must be at least 1, got {getattr(args, flag)}")
    if args.warmup < 0:
        parser.error(f"--warmup must be at least 0, got {args.warmup}")
    return args


def main(argv=None):
    args = parse(argv)
    # kerascnn is imported after parsing, so that --help does not wait for TensorFlow.
    from kerascnn.benchmark import backends
    from kerascnn.io import write_atomic

    workloads = {
        name: backends.model_workload(name, num_classes=args.num_classes, image_size=args.image_size)
        for name in args.models
    }  # an unknown name or a size too small fails here, before anything is timed
    if args.layers:
        workloads.update(backends.LAYER_WORKLOADS)
    timing = dict(batch_size=args.batch_size, steps=args.steps, warmup=args.warmup, repeats=args.repeats)
    results = {}
    for workload, (build, input_shape) in workloads.items():
        print(f"timing {workload}...", file=sys.stderr)
        results[workload] = backends.time_workload(
            build, input_shape, precisions=args.precision, num_classes=args.num_classes, **timing
        )
    command = "python -m pipelines.benchmark_backend " + shlex.join(sys.argv[1:] if argv is None else argv)
    text = backends.markdown(backends.describe_backend(), results, command=command, **timing)
    print(text)
    if args.markdown:
        write_atomic(args.markdown, text)
    return 0


if __name__ == "__main__":
    run(main)
