"""Evaluates an exported SavedModel through its serving signature, as a TF Serving client would see it:

    python -m pipelines.evaluate saved_models/alexnet/3 --dataset shapes

Prints top-1 and top-5 accuracy and error on the dataset's validation split (`--split test`: its test split, the
one published numbers use); for a segmentation model, pixel accuracy, mean accuracy, mean IoU and
frequency-weighted IoU, and each class's IoU.
"""

import json
from pathlib import Path

from pipelines.cli import ArgumentParser, run


def parse(argv):
    parser = ArgumentParser(prog="python -m pipelines.evaluate", description=__doc__.split("\n\n")[0])
    parser.add_argument("path", help="a version folder, e.g. saved_models/alexnet/1, or a model folder (its latest)")
    parser.add_argument("--dataset", help="default: the dataset the version was trained on")
    parser.add_argument("--data-dir", help="tensorflow-datasets' data directory")
    parser.add_argument("--image-size", type=int, help="size of the shapes images (default: the model's input)")
    parser.add_argument("--batch-size", type=int, default=32, help="images in each batch sent to the model")
    parser.add_argument(
        "--split", choices=("val", "test"), default="val", help="the validation split (default) or the test split"
    )
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a data config field")
    parser.add_argument("--json", action="store_true", help="print the metrics as JSON")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse(argv)
    # kerascnn is imported after parsing, so that --help does not wait for TensorFlow.
    from kerascnn.data import DataConfig, load_splits
    from kerascnn.errors import UserError
    from kerascnn.training.config import apply
    from kerascnn.training.evaluate import evaluate_saved_model, shown
    from kerascnn.training.push import versions
    from kerascnn.training.segmentation import SCORES

    path = Path(args.path)
    if path.is_dir() and versions(path):  # a model folder: its latest version, as TF Serving would serve
        path = path / str(versions(path)[-1])
    if not (path / "saved_model.pb").exists():
        raise UserError(f"{path} holds no saved_model.pb; give a version folder such as saved_models/alexnet/1.")
    about_file = path / "assets.extra" / "metrics.json"
    about = json.loads(about_file.read_text()) if about_file.exists() else {}
    height, _, channels = about.get("input_shape", (None, None, 3))
    config = DataConfig(
        dataset=args.dataset or about.get("dataset", "shapes"),
        data_dir=args.data_dir or about.get("data_dir"),
        shapes_per_image=about.get("shapes_per_image", 1),
    )
    task = about.get("task", "classification")
    for item in args.set:
        key, _, value = item.partition("=")
        apply(config, key.removeprefix("data."), value)
    size = args.image_size or height
    if size is None:
        raise UserError(f"{path} does not say its input size; pass --image-size.")
    splits = load_splits(config, size, channels, seed=about.get("seed", 0), task=task)
    metrics = evaluate_saved_model(path, splits, batch_size=args.batch_size, split=args.split)
    if args.json:
        print(json.dumps(metrics, indent=2))
    else:
        print(f"{path} on the {args.split} split of {splits.source}:")
        worth = shown(metrics, splits.num_classes, args.split)
        names = ("accuracy", "top5_accuracy", "error", "top5_error", "loss")
        names = SCORES if task == "segmentation" else [n for n in names if n in worth]
        for name in names:
            print(f"  {name:{22 if task == 'segmentation' else 15}s} {metrics[f'{args.split}_{name}']:.4f}")
        for name, iou in metrics.get("class_iou", {}).items():
            print(f"  IoU {name:18s} {iou:.4f}")
    return 0


if __name__ == "__main__":
    run(main)
