"""pipelines.inspect: the table for zoo models and .keras files, the pictures, and one clear line for each mistake
a user can make."""

import json
import os

import keras
import numpy as np
import pytest
from PIL import Image
from pipeline_helpers import run_commands

import kerascnn
from kerascnn.analysis.report import FORMATS
from pipelines import inspect
from pipelines.cli import run


def _error(capsys, argv):
    """The message main() exits with, through pipelines.cli as every pipeline: one line, exit 2."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        run(inspect.main, argv)
    lines = capsys.readouterr().err.strip().splitlines()
    assert exit_info.value.code == 2 and len(lines) == 1, lines
    return lines[0].removeprefix("error: ")


def test_json_totals_of_a_zoo_model(capsys):
    inspect.main(["lenet5", "--num-classes", "10", "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert report["totals"]["macs"] == 416_520 and report["totals"]["params"] == 61_706
    c1 = report["layers"][1]
    assert c1["name"] == "c1" and c1["window"]["kernel"] == [5, 5] and c1["receptive_field"] == [5, 5]
    assert c1["output_shape"] == [28, 28, 6] and c1["macs"] == 5 * 5 * 6 * 28 * 28


def test_markdown_table_and_input_size(capsys):
    inspect.main(["resnet18", "--input-size", "112", "--format", "markdown"])
    out = capsys.readouterr().out
    assert out.startswith("| layer | type |")
    assert "| conv2_block1/conv1 | Conv2D | 3 | 1 |  | 1 | 28x28x64 | 36,864 |" in out
    assert "input 112x112x3" in out


def test_unknown_model_and_bad_flags(capsys):
    assert _error(capsys, ["resnet19"]).startswith("Unknown model 'resnet19': did you mean resnet18,")
    assert "one of the two" in _error(capsys, [])
    assert "at least 32x32" in _error(capsys, ["vgg16", "--input-size", "16"])
    assert "--plot-dir" in _error(capsys, ["vgg16", "--image", "x.png"])
    assert "--max-shift" in _error(capsys, ["vgg16", "--max-shift", "-1"])


def test_plot_dir_that_cannot_be_written(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the folder should go")
    assert "Cannot write the pictures to" in _error(capsys, ["lenet5", "--plot-dir", str(blocker / "plots")])


def _save(model, path):
    model.save(path)
    return str(path)


def _small_model(lambda_layer=False):
    inputs = keras.Input((32, 32, 3), name="images")
    x = keras.layers.Conv2D(4, 3, strides=2, name="conv")(inputs)
    if lambda_layer:
        x = keras.layers.Lambda(lambda t: t * 2.0, name="double")(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    return keras.Model(inputs, keras.layers.Dense(3, name="predictions")(x), name="small")


def test_keras_file_resized_keeps_its_weights(tmp_path, capsys):
    path = _save(_small_model(), tmp_path / "small.keras")
    inspect.main(["--keras-file", path, "--input-size", "64", "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert report["input_shape"] == [64, 64, 3]
    assert report["totals"]["macs"] == 3 * 3 * 3 * 4 * 31 * 31 + 4 * 3


def test_keras_file_errors(tmp_path, capsys):
    assert _error(capsys, ["--keras-file", str(tmp_path / "missing.keras")]).startswith("No such file")
    garbage = tmp_path / "garbage.keras"
    garbage.write_bytes(b"this is not a zip archive")
    assert _error(capsys, ["--keras-file", str(garbage)]).startswith(f"Cannot load {garbage}: ")
    with_lambda = _save(_small_model(lambda_layer=True), tmp_path / "lambda.keras")
    refused = _error(capsys, ["--keras-file", with_lambda])
    assert refused.endswith("(if you trust the file, add --unsafe-deserialization)")
    inspect.main(["--keras-file", with_lambda, "--unsafe-deserialization"])
    assert "double" in capsys.readouterr().out


def test_pictures_of_a_model_without_a_fixed_input_size(tmp_path, capsys):
    inputs = keras.Input((None, None, 3), name="images")
    model = keras.Model(inputs, keras.layers.Conv2D(4, 3, name="conv")(inputs), name="any_size")
    path = _save(model, tmp_path / "any_size.keras")
    photo = tmp_path / "photo.png"
    Image.fromarray(np.zeros((20, 30, 3), "uint8")).save(photo)
    argv = ["--keras-file", path, "--plot-dir", str(tmp_path / "plots"), "--image", str(photo)]
    assert _error(capsys, argv) == "any_size takes images of any size: give one with --input-size N."
    inspect.main([*argv, "--input-size", "24", "--max-shift", "1"])
    assert len(os.listdir(tmp_path / "plots")) == 4


def test_pictures(tmp_path, capsys):
    photo = tmp_path / "photo.jpg"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (40, 50, 3), dtype="uint8")).save(photo)
    plots = tmp_path / "plots"
    images = ["--image", str(photo), "--image", str(photo)]
    inspect.main(["alexnet_single", "--input-size", "64", "--plot-dir", str(plots), *images, "--layer", "conv2"])
    assert sorted(os.listdir(plots)) == ["feature_maps.png", "filters.png", "receptive_field.png", "shift.png"]
    for name in os.listdir(plots):
        with Image.open(plots / name) as image:
            image.load()
    assert f"wrote {plots / 'shift.png'}" in capsys.readouterr().err
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(b"\xff\xd8 not really a jpeg")
    assert "Cannot read image" in _error(capsys, ["lenet5", "--plot-dir", str(plots), "--image", str(corrupt)])
    message = _error(capsys, ["lenet5", "--plot-dir", str(plots), "--image", str(photo), "--layer", "c9"])
    assert message.startswith("lenet5 has no layer named 'c9': did you mean ") and "c1" in message


COMMAND_LINE_ERRORS = [
    (["resnet19"], "error: Unknown model 'resnet19'"),
    (["--keras-file", __file__], "error: Cannot load "),
]


@pytest.fixture(scope="module")
def command_line_errors():
    """Each command of COMMAND_LINE_ERRORS, run in one process (TensorFlow starts once)."""
    return run_commands("inspect", [argv for argv, _ in COMMAND_LINE_ERRORS])


@pytest.mark.parametrize("argv, message", COMMAND_LINE_ERRORS)
def test_command_line_errors_are_one_line_without_traceback(argv, message, command_line_errors):
    result = command_line_errors[tuple(argv)]
    assert result.returncode == 2 and result.stdout == ""
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and lines[0].startswith(message) and "Traceback" not in result.stderr


def test_the_format_choices_are_the_reports():
    assert inspect.FORMATS == FORMATS  # written out in the command line, which parses before importing kerascnn


def test_explanations_of_images(tmp_path, capsys):
    photo = tmp_path / "photo.png"
    Image.fromarray(np.random.default_rng(1).integers(0, 255, (40, 40, 3), dtype="uint8")).save(photo)
    plots = tmp_path / "plots"
    argv = ["allcnn_c", "--num-classes", "10", "--image", str(photo), "--plot-dir", str(plots)]
    inspect.main([*argv, "--explain", "gradcam,guided,deconv,occlusion"])
    assert os.listdir(plots) == ["explain_photo.png"]
    with Image.open(plots / "explain_photo.png") as image:
        assert image.size[0] > 4 * image.size[1]  # image, four maps and the top-5 in one row
    assert f"wrote {plots / 'explain_photo.png'}" in capsys.readouterr().err
    message = _error(capsys, [*argv, "--explain", "gradcam,saliency"])
    assert message.startswith("--explain takes gradcam,guided,deconv,occlusion (any of them) or features")
    assert _error(capsys, ["allcnn_c", "--plot-dir", str(plots), "--explain", "gradcam"]).startswith(
        "--explain needs images to explain"
    )


def test_features_of_a_dataset(tmp_path, capsys):
    plots = tmp_path / "plots"
    argv = ["lenet5", "--num-classes", "10", "--plot-dir", str(plots), "--explain", "features"]
    inspect.main([*argv, "--dataset", "shapes", "--max-images", "12", "--feature-layer", "c3"])
    assert os.listdir(plots) == ["features_c3.png"]
    with Image.open(plots / "features_c3.png") as image:
        assert image.size[1] > image.size[0] / 2  # eight units, one a row
    assert _error(capsys, [*argv, "--dataset", str(tmp_path / "none")]).startswith("--dataset must be shapes or")


def _caption_and_grid(path, grid_shape):
    """The picture's caption band (the rows above the grid) and its grid, which sits at its bottom left."""
    picture = np.asarray(Image.open(path).convert("RGB"))
    height, width = grid_shape[:2]
    return picture[: picture.shape[0] - height], picture[picture.shape[0] - height :, :width]


def test_small_filters_are_drawn_large_and_captioned(tmp_path):
    """VGG's 3x3 filters (FCN's first layer) were 12 pixels a tile, 207x51 in all, without a word: now each
    weight is a 15x15 block (a filter at least 44 pixels, as AlexNet's 11x11 at 4 pixels a weight), the filters
    5 pixels apart, under a caption that names them."""
    from kerascnn.analysis import filter_grid, inspection

    inputs = keras.Input((16, 16, 3), name="images")
    keras.utils.set_random_seed(0)
    model = keras.Model(inputs, keras.layers.Conv2D(64, 3, name="block1_conv1")(inputs), name="vgg_like")
    inspect.main(["--keras-file", _save(model, tmp_path / "vgg_like.keras"), "--plot-dir", str(tmp_path)])
    expected = filter_grid(keras.ops.convert_to_numpy(model.layers[-1].kernel), scale=15, gap=5, columns=16)
    assert expected.shape == (4 * 50 - 5, 16 * 50 - 5, 3)  # 64 tiles of 45 pixels in 4 rows of 16
    caption, grid = _caption_and_grid(tmp_path / "filters.png", expected.shape)
    np.testing.assert_array_equal(grid, expected)
    assert caption.shape[0] >= 30 and (caption < 100).any()  # a band with dark text on white
    lenet = kerascnn.get_model("lenet5")
    lenet = inspection.filter_picture(lenet, lenet.get_layer("c1"))
    assert lenet.shape[0] > 2 * 45 and lenet.shape[1] >= 3 * 45  # 5x5 filters: 9 pixels a weight


def test_a_dense_models_image_gives_its_feature_maps_and_a_constant_mask_is_called_meaningless(tmp_path, capsys):
    photo = tmp_path / "photo.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (40, 40, 3), dtype="uint8")).save(photo)
    inputs = keras.Input((16, 16, 3), name="images")
    keras.utils.set_random_seed(0)
    features = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv")(inputs)
    for name, init in (("untrained", "zeros"), ("varied", "glorot_uniform")):
        # A score layer at zero (as FCN's start): every pixel is class 0, a constant mask agrees with itself anywhere.
        scores = keras.layers.Conv2D(3, 1, kernel_initializer=init, activation="softmax", name="score")(features)
        path = _save(keras.Model(inputs, scores, name=name), tmp_path / f"{name}.keras")
        plots = tmp_path / name
        inspect.main(["--keras-file", path, "--plot-dir", str(plots), "--image", str(photo), "--max-shift", "1"])
        files = ["feature_maps.png", "filters.png", "mask_shift.png", "receptive_field.png"]
        assert sorted(os.listdir(plots)) == files
        err = capsys.readouterr().err
        warning = [line for line in err.splitlines() if "means nothing" in line]
        if name == "untrained":
            assert "shift   1 px: mask agreement 1.0000" in err
            assert len(warning) == 1 and warning[0].startswith("untrained predicts class 0 at every pixel")
        else:
            assert "mask agreement" in err and not warning
