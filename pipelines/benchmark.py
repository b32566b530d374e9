"""Measure a model's speed on this machine, side by side with keras.applications:

    python -m pipelines.benchmark resnet50 --compare
    python -m pipelines.benchmark resnet50 --serving --serving-precision float32 bfloat16 --sources
    python -m pipelines.benchmark lenet5 alexnet vgg16 resnet50 googlenet fcn8s --serving-only
    python -m pipelines.benchmark vgg16 --batch-size 8 16 32 --image-size 160 224
    python -m pipelines.benchmark resnet50 --precision auto mixed_bfloat16 --jit-compile auto true

Training and inference images per second (median of repetitions, after uncounted warm-up steps), the input
pipeline's images per second for each source, the time from start to the first training step, peak memory.
"""

import shlex
import sys

from kerascnn.choices import PRECISIONS, SERVING_PRECISIONS
from pipelines.cli import ArgumentParser, run


def parse(argv):
    parser = ArgumentParser(prog="python -m pipelines.benchmark", description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+", metavar="MODEL", help="models of kerascnn.list_models()")
    parser.add_argument(
        "--batch-size", type=int, nargs="+", default=[16], help="the first is the main point; more make a sweep"
    )
    parser.add_argument("--image-size", type=int, nargs="+", help="default: the paper's; more make a sweep")
    parser.add_argument(
        "--precision",
        nargs="+",
        default=["auto"],
        choices=PRECISIONS,
        help="several are timed side by side",
    )
    parser.add_argument(
        "--jit-compile",
        nargs="+",
        default=["auto"],
        choices=("auto", "true", "false"),
        help="XLA; several are timed side by side (auto: Keras' rule, no XLA on a CPU)",
    )
    parser.add_argument(
        "--compare",
        action="store_true",
        help="also time keras.applications' build of the same architecture, in alternation",
    )
    parser.add_argument(
        "--serving",
        action="store_true",
        help="also load our pushed SavedModel in fresh processes (load, first answer, resident memory) and time "
        "its serving signature, against keras.applications' model.export where it has the model",
    )
    parser.add_argument(
        "--serving-only", action="store_true", help="with --serving: measure only the serving side (no training)"
    )
    parser.add_argument(
        "--serving-precision",
        nargs="+",
        default=["float32"],
        choices=SERVING_PRECISIONS,
        help="with --serving: our export in each of these (pipelines.train --serving-precision), side by side",
    )
    parser.add_argument("--steps", type=int, default=3, help="timed steps in each repetition")
    parser.add_argument("--warmup", type=int, default=2, help="uncounted steps after the first, per model")
    parser.add_argument("--repeats", type=int, default=3, help="repetitions (median and spread over them)")
    parser.add_argument(
        "--sources",
        nargs="*",
        default=["shapes", "folder", "tfds"],
        choices=("shapes", "folder", "tfds"),
        help="input pipeline sources to time (none: skip)",
    )
    parser.add_argument("--input-batches", type=int, default=10, help="timed input batches in each repetition")
    parser.add_argument(
        "--num-classes",
        type=int,
        help="default: a segmentation model's paper's (FCN 21), 10 for 32x32 models, else 1000",
    )
    parser.add_argument(
        "--versus-keras",
        metavar="DATASET",
        help="instead: time a training epoch of each model through pipelines.train's input pipeline and step "
        "against plain Keras fit(x, y) on the same arrays of DATASET (e.g. fashion_mnist), alternating",
    )
    parser.add_argument("--data-dir", help="with --versus-keras: where the dataset's files are")
    parser.add_argument("--markdown", help="also write the report to this markdown file (after each model)")
    parser.add_argument("--json", help="also write every number to this JSON file (after each model)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse(argv)
    # kerascnn is imported after parsing, so that --help does not wait for TensorFlow.
    from kerascnn.benchmark import Settings, report, run_benchmark, validate
    from kerascnn.io import write_atomic

    if args.versus_keras:
        return versus_keras_main(args, argv)
    jit = [{"auto": "auto", "true": True, "false": False}[value] for value in args.jit_compile]
    command = "python -m pipelines.benchmark " + shlex.join(sys.argv[1:] if argv is None else argv)
    every = [
        Settings(
            model,
            batch_sizes=tuple(args.batch_size),
            image_sizes=tuple(args.image_size or ()),
            precisions=tuple(args.precision),
            jit_compile=tuple(jit),
            compare=args.compare,
            serving=args.serving or args.serving_only,
            serving_only=args.serving_only,
            serving_precisions=tuple(args.serving_precision),
            steps=args.steps,
            warmup=args.warmup,
            repeats=args.repeats,
            sources=tuple(args.sources),
            input_batches=args.input_batches,
            num_classes=args.num_classes,
        )
        for model in args.models
    ]
    # Every model's settings are checked before the first is measured: a misspelt last name of a zoo run would
    # otherwise end it after an hour spent on the others.
    for settings in every:
        validate(settings)
    results = []
    for settings in every:
        results.append(run_benchmark(settings, log=lambda line: print(line, file=sys.stderr)))
        # The report is rewritten after every model, so that a zoo run of an hour stopped (or killed for
        # memory) in its last model still leaves the numbers of the others.
        text = report.markdown(results, command)
        if args.markdown:
            write_atomic(args.markdown, text)
        if args.json:
            write_atomic(args.json, report.to_json(results, command))
    print(text)
    return 0


def versus_keras_main(args, argv):
    from kerascnn.benchmark.machine import describe_machine
    from kerascnn.benchmark.versus_keras import markdown, versus_keras
    from kerascnn.io import write_atomic
    from kerascnn.registry import checked_model

    machine = describe_machine()
    where = f"{machine['cpu']} ({machine['cores']} cores), load average {machine['load_average'][0]} at the start"
    command = "python -m pipelines.benchmark " + shlex.join(sys.argv[1:] if argv is None else argv)
    steps, repeats = max(args.steps, 300), max(args.repeats, 5)  # an epoch's worth: a few steps say nothing here
    for model in args.models:  # every name checked before the first model's epochs
        checked_model(model)
    texts = []
    for model in args.models:
        result = versus_keras(
            model,
            args.versus_keras,
            steps=steps,
            repeats=repeats,
            data_dir=args.data_dir,
            log=lambda line: print(line, file=sys.stderr),
        )
        texts.append(markdown(result, command, where))
    print("\n".join(texts))
    if args.markdown:
        write_atomic(args.markdown, "\n".join(texts))
    return 0


if __name__ == "__main__":
    run(main)
