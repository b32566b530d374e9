"""Inspect a CNN: one row per layer (window, output shape, parameters, multiply-accumulates, receptive field and
jump) and the totals, for a model of the zoo or any functional Keras model saved as .keras; and, with --plot-dir,
pictures of its receptive-field growth, its first layer's filters and feature maps, and its sensitivity to shifts.

    python -m pipelines.inspect resnet18
    python -m pipelines.inspect alexnet --format markdown
    python -m pipelines.inspect lenet5 --num-classes 10 --format json
    python -m pipelines.inspect --keras-file model.keras --plot-dir pictures --image cat.jpg
    python -m pipelines.inspect alexnet --weights bvlcalexnet-12.onnx --plot-dir pictures   (AlexNet's Fig. 3)
    python -m pipelines.inspect --keras-file model.keras --image cat.jpg --explain gradcam,guided,deconv,occlusion \
        --plot-dir pictures                                    (what each prediction rests on)
    python -m pipelines.inspect --keras-file model.keras --explain features --dataset shapes --plot-dir pictures
"""

import sys

from pipelines.cli import ArgumentParser, run

# kerascnn.analysis.report.FORMATS, written out: importing kerascnn before parsing would load TensorFlow.
FORMATS = ("table", "markdown", "json")


def parse(argv):
    parser = ArgumentParser(prog="python -m pipelines.inspect", description=__doc__.split("\n\n")[0])
    parser.add_argument("model", nargs="?", help="a model of the zoo (see kerascnn.list_models())")
    parser.add_argument("--keras-file", help="inspect this saved model (.keras) instead of a zoo model")
    parser.add_argument(
        "--unsafe-deserialization",
        action="store_true",
        help="load a .keras file that runs code (Lambda layers); only for files you trust",
    )
    parser.add_argument("--input-size", type=int, help="input height and width (default: the paper's, or the file's)")
    parser.add_argument(
        "--num-classes",
        type=int,
        help="classes of a zoo model's head (default: 1000 for a classifier, the paper's for a segmentation model)",
    )
    parser.add_argument("--weights", help="a zoo model's pretrained weights: imagenet or a file (.h5, .onnx)")
    parser.add_argument("--format", choices=FORMATS, default="table", help="how the per-layer table is printed")
    parser.add_argument("--plot-dir", help="write PNG pictures here")
    parser.add_argument(
        "--image",
        action="append",
        default=[],
        help="an image to show the feature maps of and to shift, a file or an MNIST-family image such as "
        "fashion_mnist:test:0 (repeatable; needs --plot-dir)",
    )
    parser.add_argument("--layer", help="the layer whose equivariance to measure (default: the deepest feature map)")
    parser.add_argument("--max-shift", type=int, default=8, help="largest shift, in pixels, to measure")
    parser.add_argument(
        "--explain",
        help="explain each --image with gradcam,guided,deconv,occlusion (any of them), or draw features: each unit's "
        "strongest patches in --dataset beside their deconvnet projections (Zeiler & Fergus, Fig. 2)",
    )
    parser.add_argument("--dataset", help="for --explain features: shapes, or a folder of images")
    parser.add_argument("--max-images", type=int, default=64, help="images of --dataset to search (default 64)")
    parser.add_argument(
        "--feature-layer",
        action="append",
        default=[],
        help="a layer for --explain features (repeatable; default: the last convolutional feature map)",
    )
    args = parser.parse_args(argv)
    if args.image and not args.plot_dir:
        parser.error("--image is for the pictures: add --plot-dir DIR to say where to write them")
    if args.explain and not args.plot_dir:
        parser.error("--explain writes pictures: add --plot-dir DIR to say where to write them")
    if args.max_shift < 0:
        parser.error(f"--max-shift must be 0 or more pixels, got {args.max_shift}")
    return args


def main(argv=None):
    args = parse(argv)
    # kerascnn is imported after parsing, so that --help does not wait for TensorFlow.
    from kerascnn import analysis
    from kerascnn.analysis import inspection

    model = inspection.load_model(
        args.model,
        keras_file=args.keras_file,
        input_size=args.input_size,
        num_classes=args.num_classes,
        unsafe_deserialization=args.unsafe_deserialization,
        weights=args.weights,
    )
    inspection.check_layer(model, args.layer)
    images = inspection.read_images(model, args.image)
    stats = analysis.layer_stats(model)
    print(analysis.format_stats(stats, args.format))
    if args.explain:
        methods = inspection.explain_methods(args.explain)
        if methods == [inspection.FEATURES]:
            images = inspection.dataset_images(model, args.dataset, args.max_images)
            written = inspection.write_features(model, images, args.feature_layer, args.plot_dir)
        else:
            written = inspection.write_explanations(model, images, args.image, methods, args.plot_dir)
    elif args.plot_dir:
        written = inspection.write_pictures(model, stats, args.plot_dir, images, args.layer, args.max_shift)
    for path in written if args.plot_dir else ():
        print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    run(main)
