"""Inspect a CNN: one row per layer (window, output shape, parameters, multiply-accumulates, receptive field and
jump) and the totals, for a model of the zoo or any functional Keras model saved as .keras; and, with --plot-dir,
pictures of its receptive-field growth, its first layer's filters and feature maps, and its sensitivity to shifts.

    python -m pipelines.inspect resnet18
    python -m pipelines.inspect alexnet --format markdown
    python -m pipelines.inspect lenet5 --num-classes 10 --format json
    python -m pipelines.inspect --keras-file model.keras --plot-dir pictures --image cat.jpg
"""

import argparse
import difflib
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow is imported

import keras  # noqa: E402
import numpy as np  # noqa: E402

import kerascnn  # noqa: E402
from kerascnn import analysis  # noqa: E402
from kerascnn.analysis.report import FORMATS  # noqa: E402


def main(argv=None):
    args = _parser().parse_args(argv)
    if args.image and not args.plot_dir:
        raise SystemExit("inspect: --image is for the pictures: add --plot-dir DIR to say where to write them.")
    if args.max_shift < 0:
        raise SystemExit(f"inspect: --max-shift must be 0 or more pixels, got {args.max_shift}.")
    model = _model(args)
    names = [layer.name for layer in model.layers]
    if args.layer and args.layer not in names:
        close = ", ".join(difflib.get_close_matches(args.layer, names, n=3, cutoff=0.5)) or ", ".join(names[-3:])
        raise SystemExit(f"inspect: {model.name} has no layer named {args.layer!r}: did you mean {close}?")
    shape = model.inputs[0].shape[1:]
    if args.image and None in shape:
        raise SystemExit(f"inspect: {model.name} takes images of any size: give one with --input-size N.")
    images = [_image(path, shape) for path in args.image or ()]

    stats = analysis.layer_stats(model)
    print(analysis.format_stats(stats, args.format))
    if args.plot_dir:
        try:
            written = _pictures(model, stats, args.plot_dir, images, args.layer, args.max_shift)
        except OSError as error:
            raise SystemExit(f"inspect: cannot write the pictures to {args.plot_dir}: {error}") from None
        for path in written:
            print(f"wrote {path}", file=sys.stderr)


def _parser():
    parser = argparse.ArgumentParser(prog="python -m pipelines.inspect", description=__doc__.split("\n\n")[0])
    parser.add_argument("model", nargs="?", help="a model of the zoo (see kerascnn.list_models())")
    parser.add_argument("--keras-file", help="inspect this saved model (.keras) instead of a zoo model")
    parser.add_argument(
        "--unsafe-deserialization",
        action="store_true",
        help="load a .keras file that runs code (Lambda layers); only for files you trust",
    )
    parser.add_argument("--input-size", type=int, help="input height and width (default: the paper's, or the file's)")
    parser.add_argument("--num-classes", type=int, default=1000, help="classes of a zoo model's head (default 1000)")
    parser.add_argument("--format", choices=FORMATS, default="table")
    parser.add_argument("--plot-dir", help="write PNG pictures here")
    parser.add_argument(
        "--image",
        action="append",
        help="an image to show the feature maps of and to shift (repeatable; needs --plot-dir)",
    )
    parser.add_argument("--layer", help="the layer whose equivariance to measure (default: the deepest feature map)")
    parser.add_argument("--max-shift", type=int, default=8, help="largest shift, in pixels, to measure")
    return parser


def _model(args):
    """The model to inspect; every way a user can name one wrongly ends in one line."""
    if bool(args.model) == bool(args.keras_file):
        raise SystemExit("inspect: name a model of the zoo or give --keras-file, one of the two.")
    if args.input_size is not None and args.input_size < 1:
        raise SystemExit(f"inspect: --input-size must be a positive number of pixels, got {args.input_size}.")
    if args.model:
        try:
            spec = kerascnn.model_spec(args.model)
            size = args.input_size or spec.input_shape[0]
            shape = (size, size, spec.input_shape[2])
            return kerascnn.get_model(args.model, num_classes=args.num_classes, input_shape=shape)
        except ValueError as error:
            raise SystemExit(f"inspect: {error}") from None
    if not os.path.isfile(args.keras_file):
        raise SystemExit(f"inspect: no such file: {args.keras_file}")
    try:
        model = keras.saving.load_model(args.keras_file, compile=False, safe_mode=not args.unsafe_deserialization)
    except Exception as error:  # Keras raises many kinds for a file it cannot read; all mean the same to a user
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        hint = " (if you trust the file, add --unsafe-deserialization)" if "safe_mode" in str(error) else ""
        raise SystemExit(f"inspect: cannot load {args.keras_file}: {reason}{hint}") from None
    return _resized(model, args.input_size) if args.input_size else model


def _resized(model, size):
    """The model on size x size inputs, with its weights (possible where they do not depend on the input size)."""
    shape = (size, size, model.inputs[0].shape[-1])
    try:
        resized = keras.models.clone_model(model, input_tensors=keras.Input(shape, name=model.inputs[0].name))
        resized.set_weights(model.get_weights())
    except Exception as error:
        raise SystemExit(f"inspect: {model.name} cannot take {size}x{size} inputs: {error}".splitlines()[0]) from None
    return resized


def _image(path, shape):
    """An image file resized to the model's input and standardised per channel (mean 0, deviation 1)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image = image.convert("RGB" if shape[-1] == 3 else "L").resize((shape[1], shape[0]))
    except (OSError, UnidentifiedImageError) as error:
        raise SystemExit(f"inspect: cannot read image {path}: {error}") from None
    pixels = np.asarray(image, "float32").reshape(shape)
    return (pixels - pixels.mean(axis=(0, 1))) / (pixels.std(axis=(0, 1)) + 1e-6)


def _pictures(model, stats, directory, images, layer, max_shift):
    """Writes the pictures; the filter and image ones need a 2D convolution and images. Returns their paths."""
    written = [analysis.plot_receptive_field_growth(stats, os.path.join(directory, "receptive_field.png"))]
    if not images:
        return written
    images = np.stack(images)
    try:
        conv = analysis.first_conv(model)
        shifts = range(max_shift + 1)
        equivariance = analysis.equivariance_error(model, images, shifts, layer=layer)
    except ValueError as error:
        raise SystemExit(f"inspect: {error}") from None
    filters = analysis.filter_grid(keras.ops.convert_to_numpy(conv.kernel))
    maps = analysis.feature_map_grid(analysis.feature_maps(model, images[0], conv))
    written += [
        analysis.save_png(filters, os.path.join(directory, "filters.png")),
        analysis.save_png(maps, os.path.join(directory, "feature_maps.png")),
        analysis.plot_shift_sensitivity(
            {model.name: equivariance},
            {model.name: analysis.translation_invariance(model, images, shifts)},
            os.path.join(directory, "shift.png"),
        ),
    ]
    return written


if __name__ == "__main__":
    main()
