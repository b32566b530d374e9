"""The pipeline's stages as functions of explicit inputs and outputs, as TFX's components and Kubeflow's steps are:
example gen, trainer, evaluator (with the blessing) and pusher.

`pipelines.train` calls them one after the other in one process, handing the splits and the model over in
memory; an orchestrator (pipelines.kubeflow) runs each alone, handing them over as artifacts in folders:

- examples (`write_examples` / `read_examples`): what example gen resolved and verified, as `examples.json`
  (the source, the class names, the image counts, the files left out). The images themselves stay where the
  source keeps them (the embedded `shapes` are drawn again, deterministically; tfds and folders are read again):
  a stage that reads the examples loads the same splits and refuses data that changed since.
- model (`save_model` / `load_model`): the trained weights (`model.weights.h5`) and what rebuilds the network
  around them (`model.json`), with the weights' SHA-256 that the pusher records.

Metrics are a dict passed through as the evaluator returns them (`val_*`, and whatever else it reports); the
blessing compares one of them with the latest pushed version's (push.blessing).
"""

import dataclasses
import json
from pathlib import Path

import numpy as np
import tensorflow as tf

from kerascnn.data import load_splits, make_dataset, steps_per_epoch
from kerascnn.errors import DataError, Mention, Message, UserError
from kerascnn.io import write_atomic
from kerascnn.training import config as config_lib
from kerascnn.training import trainer as trainer_lib
from kerascnn.training.evaluate import evaluate
from kerascnn.training.models import build_model, compile_model
from kerascnn.training.push import BLESSING_METRIC, blessing, deliver, weights_digest
from kerascnn.training.segmentation import accumulate, compile_segmentation, predict_classes

EXAMPLES_FILE = "examples.json"
WEIGHTS_FILE = "model.weights.h5"
MODEL_FILE = "model.json"


@dataclasses.dataclass
class Evaluation:
    """The evaluator's output: the metrics, and whether the pusher may push (the blessing) and why."""

    metrics: dict
    blessed: bool
    reason: str


# ------------------------------------------------------------------------------------------------ example gen


def example_gen(run):
    """The splits of the run's dataset (kerascnn.data.load_splits), resolved and verified."""
    config = run.config
    return load_splits(config.data, run.input_shape[0], run.input_shape[2], seed=config.seed, task=run.task)


def describe_examples(run, splits):
    """What example gen verified, as the examples artifact records it (JSON-serialisable)."""
    return {
        "dataset": run.config.data.dataset,
        "source": splits.source,
        "task": splits.task,
        "class_names": list(splits.class_names),
        "num_train": splits.num_train,
        "num_val": splits.num_val,
        **({"num_test": splits.num_test} if getattr(splits, "test", None) is not None else {}),
        "input_shape": list(run.input_shape),
        "bad_images": [list(entry) for entry in splits.bad_images.entries],
        "data": config_lib.to_dict(run.config)["data"],
    }


def write_examples(folder, run, splits):
    """Writes the examples artifact into `folder`; returns what it records."""
    about = describe_examples(run, splits)
    Path(folder).mkdir(parents=True, exist_ok=True)
    write_atomic(Path(folder) / EXAMPLES_FILE, json.dumps(about, indent=2, default=str))
    return about


def read_examples(folder, run):
    """The splits that example gen recorded in `folder`, loaded again for `run`; a DataError if the data or the
    data config changed since (another class list, other counts, another source)."""
    path = Path(folder) / EXAMPLES_FILE
    try:
        recorded = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise UserError(f"{path} is not an examples artifact of example gen: {error}") from None
    splits = example_gen(run)
    now = describe_examples(run, splits)
    changed = [
        key
        for key in ("dataset", "class_names", "num_train", "num_val", "num_test", "input_shape", "data")
        if recorded.get(key) != now.get(key)
    ]
    if changed:
        raise DataError(
            f"the data differs from what example gen recorded in {path} ({', '.join(changed)}); run example gen "
            "again on the data as it is now.",
            field="data.dataset",
        )
    return splits


# ---------------------------------------------------------------------------------------------------- trainer


def trainer(run, splits, *, log=print):
    """The trained model (resumed from the run's checkpoints), with the best epoch's weights when the config
    exports those (export_weights=best). Raises callbacks.TrainingStopped on SIGTERM or Ctrl-C."""
    model, _ = trainer_lib.fit(run, splits, log=log)
    if run.config.export_weights == "best":
        trainer_lib.load_best(run, model)
    return model


def save_model(folder, run, model, splits):
    """Writes the model artifact into `folder`: the weights and what rebuilds the network around them."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_weights(str(folder / WEIGHTS_FILE))
    about = {
        "model": run.config.model,
        "task": run.task,
        "input_shape": list(run.input_shape),
        "num_classes": splits.num_classes,
        "precision": run.precision,
        "weights_sha256": weights_digest(model),
    }
    write_atomic(folder / MODEL_FILE, json.dumps(about, indent=2))
    return about


def load_model(folder, run, splits):
    """The model saved by `save_model`, rebuilt as the trainer built it (the run's precision, compiled with its
    loss and metrics) with the saved weights; a UserError if it is another model's or its weights changed."""
    folder = Path(folder)
    try:
        about = json.loads((folder / MODEL_FILE).read_text())
    except (OSError, ValueError) as error:
        raise UserError(f"{folder} is not a model artifact of the trainer: {error}") from None
    if about["model"] != run.config.model or about["num_classes"] != splits.num_classes:
        raise UserError(
            f"{folder} holds a {about['model']} of {about['num_classes']} classes, not the run's {run.config.model} "
            f"of {splits.num_classes}.",
            field="model",
        )
    config = run.config
    with run.strategy.scope():
        model = build_model(
            config, num_classes=splits.num_classes, input_shape=run.input_shape, precision=run.precision
        )
        # The optimizer is the trainer's only for the record: the evaluator and pusher never step it.
        compile_ = compile_segmentation if run.task == "segmentation" else compile_model
        steps = steps_per_epoch(splits.num_train, run.global_batch)
        compile_(model, config, num_classes=splits.num_classes, base_rate=run.base_rate, steps_per_epoch=steps)
    model.load_weights(str(folder / WEIGHTS_FILE))
    if weights_digest(model) != about["weights_sha256"]:
        raise UserError(f"{folder / WEIGHTS_FILE} does not hold the weights {MODEL_FILE} records.")
    return model


# -------------------------------------------------------------------------------------------------- evaluator


def evaluator(run, model, splits):
    """The metrics of `model` (evaluate.evaluate), and its blessing against the latest version pushed to the
    run's output_dir: blessed when not worse by the blessing metric (val_accuracy; val_mean_iou for segmentation),
    always with push=force, never with push=never."""
    metrics = evaluate(run, model, splits)
    return Evaluation(metrics, *bless(run, metrics))


def bless(run, metrics):
    """(blessed, reason) of `metrics` for the run's push policy (see `evaluator`)."""
    config = run.config
    if config.push == "never":
        return False, Message("pushing is off (", Mention("push", "never"), ")")
    metric = "val_mean_iou" if run.task == "segmentation" else BLESSING_METRIC
    blessed, reason = blessing(Path(config.output_dir) / config.model, metrics, metric)
    if not blessed and config.push == "force":
        return True, Message("forced: ", reason)
    return blessed, reason


def confusion_matrix(run, model, splits):
    """The validation split's confusion matrix (rows: the true class, columns: the predicted one), int64 [C, C]:
    of images for a classifier (the centre crop the evaluator scores), of pixels for segmentation."""
    size, channels = run.input_shape[0], run.input_shape[2]
    if run.task == "segmentation":
        predict = tf.function(lambda images: predict_classes(model, images, size, channels, run.config.data)[0])
        return accumulate(splits.val, predict, splits.num_classes, run.global_batch, splits.num_val)
    val = make_dataset(
        splits.val,
        training=False,
        image_size=size,
        channels=channels,
        batch_size=run.global_batch,
        config=run.config.data,
        num_examples=splits.num_val,
        in_memory=splits.in_memory,
    )
    matrix = np.zeros((splits.num_classes, splits.num_classes), np.int64)
    for images, labels in val:
        outputs = model(images, training=False)
        outputs = outputs[0] if isinstance(outputs, (list, tuple)) else outputs
        predicted = np.argmax(np.asarray(outputs), axis=-1)
        np.add.at(matrix, (np.asarray(labels).astype(np.int64), predicted), 1)
    return matrix


# ----------------------------------------------------------------------------------------------------- pusher


def pusher(run, model, splits, metrics):
    """push.deliver: the next version of the model in output_dir if blessed (it checks the blessing again
    against the versions there now). Returns (path of the new version or None, the reason)."""
    return deliver(run, model, splits, metrics)
