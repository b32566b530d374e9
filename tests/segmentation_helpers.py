"""A tiny segmentation model for the tests, registered here (not in the zoo), and the pipelines run with it."""

import contextlib
import subprocess
import sys
from pathlib import Path

import keras
from pipeline_helpers import environment

import kerascnn
from kerascnn.registry import register_model

ROOT = Path(__file__).resolve().parents[1]
TINY_SEGMENTATION = ["--image-size", 32, "--set", "data.shapes_train=64", "--set", "data.shapes_val=16"]


def tiny_segnet(
    *,
    num_classes,
    input_shape,
    include_top=True,
    classifier_activation="softmax",
    name="tiny_segnet",
    width_multiplier=1.0,
):
    """Two 3x3 convs around a 2x2 max-pool, a 1x1 classifier and a bilinear 2x upsampling: output stride 2."""
    filters = max(4, round(16 * width_multiplier))
    inputs = keras.Input(input_shape, name="images")
    x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu", name="conv1")(inputs)
    x = keras.layers.MaxPooling2D(2, name="pool1")(x)
    x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu", name="conv2")(x)
    if include_top:
        x = keras.layers.Conv2D(num_classes, 1, name="score")(x)
        x = keras.layers.UpSampling2D(2, interpolation="bilinear", name="upsample")(x)
        if classifier_activation:
            x = keras.layers.Activation(classifier_activation, dtype="float32", name="probabilities")(x)
    return keras.Model(inputs, x, name=name)


def register():
    """Adds tiny_segnet to the registry of this process (the subprocesses of `run_with_tiny` do it)."""
    if "tiny_segnet" not in kerascnn.list_models():
        register_model(
            "tiny_segnet", tiny_segnet, input_shape=(32, 32, 3), min_size=8, family="tiny", task="segmentation"
        )


@contextlib.contextmanager
def registered():
    """tiny_segnet in the registry for the duration, so that the tests of every registered model never see it."""
    from kerascnn import registry

    register()
    try:
        yield
    finally:
        registry.MODELS.pop("tiny_segnet", None)


RUNNER = (
    "import sys; sys.path.insert(0, {tests!r}); import segmentation_helpers; segmentation_helpers.register(); "
    "from pipelines.cli import run; from pipelines.{name} import main; run(main, sys.argv[1:])"
)


def run_with_tiny(name, *args, env=None, timeout=600):
    """`python -m pipelines.<name> *args` in a subprocess that knows the tiny model."""
    code = RUNNER.format(tests=str(ROOT / "tests"), name=name)
    return subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        capture_output=True,
        text=True,
        env=environment(**(env or {})),
        cwd=ROOT,
        timeout=timeout,
    )


def restored(run_dir, num_classes=7):
    """The tiny model of a run (with its config's model options, e.g. the demo's width), at its last checkpoint."""
    import json

    from kerascnn.training.checkpoints import CheckpointStore

    config = json.loads((Path(run_dir) / "config.json").read_text())
    model = tiny_segnet(
        num_classes=num_classes, input_shape=tuple(config["input_shape"]), **config["config"]["model_options"]
    )
    CheckpointStore(Path(run_dir) / "checkpoints").restore(model)
    return model
