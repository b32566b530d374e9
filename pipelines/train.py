"""From an architecture to a served model in one command:

    python -m pipelines.train alexnet

Example gen (the dataset's splits), trainer (Keras fit under a tf.distribute strategy, resumable), evaluator
(top-1 / top-5 on the validation split) and pusher (a versioned SavedModel for TF Serving, if blessed).
"""

import json
import signal
import sys

from pipelines.cli import ArgumentParser, run

RECIPE = "the model's recipe (--show-config prints it)"


def parse(argv):
    parser = ArgumentParser(prog="python -m pipelines.train", description=__doc__.split("\n\n")[0])
    parser.add_argument("model", nargs="?", help="a model of kerascnn.list_models(), e.g. alexnet, resnet50")
    parser.add_argument("--list-models", action="store_true", help="list the models and exit")
    parser.add_argument("--show-config", action="store_true", help="print the resolved config and exit")
    data = parser.add_argument_group("data")
    data.add_argument(
        "--dataset",
        default="shapes",
        help="shapes (embedded, offline), a tensorflow-datasets name, or a folder of class folders",
    )
    data.add_argument("--data-dir", help="tensorflow-datasets' data directory (default: tfds' own)")
    data.add_argument("--val-split", type=float, help="fraction of a folder held out for validation (default 0.1)")
    data.add_argument("--on-bad-image", choices=("fail", "skip"), help="an undecodable image: fail (default) or skip")
    training = parser.add_argument_group("training")
    training.add_argument("--epochs", type=int, help=f"default: {RECIPE}")
    batch = training.add_mutually_exclusive_group()
    batch.add_argument("--batch-size", type=int, help=f"per replica; default: {RECIPE}")
    batch.add_argument("--global-batch-size", type=int, help="the global batch instead, divided among replicas")
    training.add_argument("--learning-rate", type=float, help=f"for the recipe's reference batch; default: {RECIPE}")
    training.add_argument("--image-size", type=int, help="input height and width (default: the paper's)")
    training.add_argument(
        "--precision",
        default="auto",
        choices=("auto", "float32", "mixed_float16", "mixed_bfloat16"),
        help="auto: mixed_float16 on GPUs of compute capability >= 7.0, bfloat16 on TPU, "
        "float32 on CPU (the fastest there unless the CPU has AVX512_BF16 or AMX, where "
        "mixed_bfloat16 trains 1.3-1.9x faster, measured; auto stays float32 so that "
        "results do not depend on the CPU)",
    )
    training.add_argument(
        "--strategy",
        default="auto",
        choices=("auto", "default", "mirrored", "multi_worker", "tpu"),
        help="auto: TPU, TF_CONFIG's cluster, all GPUs, or one device",
    )
    training.add_argument(
        "--cpu-devices",
        type=int,
        default=0,
        help="split the CPU into N logical devices (to try --strategy mirrored without GPUs)",
    )
    training.add_argument("--seed", type=int, default=0)
    training.add_argument("--deterministic", action="store_true", help="TensorFlow op determinism (bit-exact reruns)")
    training.add_argument(
        "--recover",
        action="store_true",
        help="on a NaN or exploding loss, go back to the last checkpoint with a lower rate",
    )
    training.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any field of the run's config, e.g. optimizer.weight_decay=1e-4 (repeatable)",
    )
    outputs = parser.add_argument_group("outputs")
    outputs.add_argument("--output-dir", default="saved_models", help="where versions are pushed")
    outputs.add_argument("--run-dir", help="logs and checkpoints (default: runs/<model>-<dataset>)")
    push = outputs.add_mutually_exclusive_group()
    push.add_argument("--force-push", action="store_true", help="push even when not better than the last version")
    push.add_argument("--no-push", action="store_true", help="train and evaluate only")
    outputs.add_argument("--ten-crop", action="store_true", help="also evaluate with AlexNet's 10-crop test")
    outputs.add_argument("--profile-batches", help="e.g. 10,20: profile those steps for TensorBoard")
    outputs.add_argument(
        "--filter-images", action="store_true", help="first-layer filters and feature maps in TensorBoard each epoch"
    )
    args = parser.parse_args(argv)
    if not args.model and not args.list_models:
        parser.error("the model is required, e.g. `python -m pipelines.train alexnet`")
    return args


def overrides(args):
    """The config fields the flags set: only those the user gave, so the recipe decides the rest."""
    flags = {
        "data.data_dir": args.data_dir,
        "data.val_split": args.val_split,
        "data.on_bad_image": args.on_bad_image,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "global_batch_size": args.global_batch_size,
        "optimizer.learning_rate": args.learning_rate,
        "image_size": args.image_size,
        "precision": args.precision,
        "strategy": args.strategy,
        "seed": args.seed,
        "output_dir": args.output_dir,
        "run_dir": args.run_dir,
        "profile_batches": args.profile_batches,
        "push": "force" if args.force_push else "never" if args.no_push else None,
        "on_nan": "recover" if args.recover else None,
        **{name: True for name in ("deterministic", "ten_crop", "filter_images") if getattr(args, name)},
    }
    return {key: value for key, value in flags.items() if value is not None}


def main(argv=None):
    args = parse(argv)
    import kerascnn
    from kerascnn.data import load_splits
    from kerascnn.training import config as config_lib
    from kerascnn.training import runs, trainer
    from kerascnn.training.callbacks import TrainingStopped
    from kerascnn.training.devices import split_cpu
    from kerascnn.training.evaluate import evaluate_model
    from kerascnn.training.push import deliver

    if args.list_models:
        print("\n".join(kerascnn.list_models()))
        return 0
    if args.cpu_devices:
        split_cpu(args.cpu_devices)
    config = config_lib.resolve(args.model, dataset=args.dataset, overrides=overrides(args), sets=args.set)
    if args.show_config:
        print(json.dumps(config_lib.to_dict(config), indent=2, default=str))
        return 0

    run_ = runs.prepare(config)
    print(runs.describe(run_))
    splits = load_splits(config.data, run_.input_shape[0], run_.input_shape[2], seed=config.seed)
    print(f"Data: {splits.source}, {splits.num_classes} classes.")
    try:
        model, _ = trainer.fit(run_, splits)
    except TrainingStopped as stop:
        print(
            f"Stopped by {stop}; checkpoint saved in {run_.checkpoint_dir}. Run the same command again to resume.",
            file=sys.stderr,
        )
        return 128 + getattr(signal, stop.signal_name)
    if config.export_weights == "best":
        trainer.load_best(run_, model)
    metrics = evaluate_model(run_, model, splits)  # on every worker of a cluster: its steps are collective
    if not run_.chief:
        return 0
    print("Validation: " + ", ".join(f"{k[4:]} {v:.4f}" for k, v in metrics.items() if k.startswith("val_")))
    pushed, reason = deliver(run_, model, splits, metrics)
    print(f"Pushed {pushed} ({reason})." if pushed else f"Not pushed: {reason}.")
    if splits.bad_images:
        print(splits.bad_images.summary())
    return 0


if __name__ == "__main__":
    run(main)
