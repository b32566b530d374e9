"""Serve pretrained weights without training: a versioned SavedModel for TF Serving, in one command.

    python -m pipelines.export resnet50 --weights imagenet
    python -m pipelines.export alexnet --weights bvlcalexnet-12.onnx

The 1000 ImageNet class names go into labels.txt and the weights' own preprocessing (BGR and mean subtraction,
the resize and centre crop) into the graph, so a served model takes raw images; the rest is the trainer's export.
"""

from pipelines import flags
from pipelines.cli import ArgumentParser, run


def parse(argv):
    parser = ArgumentParser(prog="python -m pipelines.export", description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="a model with published weights, e.g. resnet50, vgg16, alexnet, googlenet")
    groups = {title: parser.add_argument_group(title) for title in ("model", "outputs")}
    flags.add_flags(parser, flags.EXPORT, groups)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse(argv)
    from kerascnn.training import config as config_lib
    from kerascnn.training.push import push_pretrained

    config = config_lib.resolve(args.model, overrides=flags.overrides(args, flags.EXPORT))
    print(f"Pushed {push_pretrained(config)}.")
    return 0


if __name__ == "__main__":
    run(main)
