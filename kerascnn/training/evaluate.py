"""The evaluator: top-1 and top-5 accuracy (and error) on the validation split, and on the test split where the
dataset has one (reported beside the validation metrics as `test_*`; only the validation ones choose anything),
of a trained Keras model or of an exported SavedModel through its serving signature; optionally AlexNet's 10-crop
test. Segmentation models get the four scores of the FCN paper instead (segmentation.py)."""

import sys

import numpy as np
import tensorflow as tf

from kerascnn.data import make_dataset, ten_crop
from kerascnn.errors import UserError
from kerascnn.training.segmentation import accumulate, evaluate_segmentation, metrics_from_matrix


def _accuracies(probabilities, labels, prefix):
    probabilities, labels = np.asarray(probabilities), np.asarray(labels)
    k = min(5, probabilities.shape[1])
    top_k = np.argsort(-probabilities, axis=1)[:, :k]
    top1 = float(np.mean(top_k[:, 0] == labels))
    top5 = float(np.mean((top_k == labels[:, None]).any(axis=1)))
    eps = np.finfo(np.float32).tiny
    loss = float(np.mean(-np.log(np.maximum(probabilities[np.arange(len(labels)), labels], eps))))
    return {
        f"{prefix}loss": loss,
        f"{prefix}accuracy": top1,
        f"{prefix}top5_accuracy": top5,
        f"{prefix}error": 1.0 - top1,
        f"{prefix}top5_error": 1.0 - top5,
    }


def shown(metrics, num_classes, split="val"):
    """The names of `split`'s metrics worth printing (without the "val_" or "test_" prefix): top-5 only where
    there are more than five classes; with five or fewer it is 1 by definition."""
    names = [k.removeprefix(f"{split}_") for k in metrics if k.startswith(f"{split}_")]
    return [name for name in names if num_classes > 5 or "top5" not in name]


def evaluate_model(run, model, splits):
    """Top-1 / top-5 accuracy and error, and the loss, of `model` on the validation split (centre crop), and as
    `test_*` on the test split where there is one."""
    metrics = _evaluate_split(run, model, splits.val, splits.num_val, splits.in_memory, "val")
    if splits.test is not None:
        metrics.update(_evaluate_split(run, model, splits.test, splits.num_test, splits.in_memory, "test"))
    if run.config.ten_crop:
        metrics.update(evaluate_ten_crop(run, model, splits))
    return metrics


def _evaluate_split(run, model, split_ds, count, in_memory, name):
    batches = make_dataset(
        split_ds,
        training=False,
        image_size=run.input_shape[0],
        channels=run.input_shape[2],
        batch_size=run.global_batch,
        config=run.config.data,
        num_examples=count,
        in_memory=in_memory,
    )
    results = model.evaluate(batches, return_dict=True, verbose=1 if sys.stdout.isatty() else 2)
    metrics = {f"{name}_{k}": float(v) for k, v in results.items()}
    metrics[f"{name}_error"] = 1.0 - metrics[f"{name}_accuracy"]
    metrics[f"{name}_top5_error"] = 1.0 - metrics[f"{name}_top5_accuracy"]
    metrics[f"num_{name}"] = count
    return metrics


def evaluate(run, model, splits):
    """The evaluator of the run's task: `evaluate_model` for a classifier, the four segmentation scores
    (segmentation.evaluate_segmentation) for a segmentation model."""
    if run.task == "segmentation":
        return evaluate_segmentation(run, model, splits)
    return evaluate_model(run, model, splits)


def evaluate_ten_crop(run, model, splits):
    """AlexNet's test (Krizhevsky et al. 2012, Sec. 4.1): the softmax averaged over the four corner and centre
    patches of the 256 image and their reflections."""
    size, channels = run.input_shape[0], run.input_shape[2]
    crops = splits.val.map(
        lambda image, label: (ten_crop(image, size, channels, run.config.data), label),
        num_parallel_calls=tf.data.AUTOTUNE,
    ).batch(max(1, run.global_batch // 10))
    probabilities, labels = [], []
    for images, batch_labels in crops:
        flat = tf.reshape(images, [-1, size, size, channels])
        outputs = model(flat, training=False)
        outputs = outputs[0] if isinstance(outputs, (list, tuple)) else outputs
        probabilities.append(tf.reduce_mean(tf.reshape(outputs, [len(batch_labels), 10, -1]), axis=1).numpy())
        labels.append(batch_labels.numpy())
    return _accuracies(np.concatenate(probabilities), np.concatenate(labels), "val_ten_crop_")


def evaluate_saved_model(path, splits, batch_size=32, log=print, split="val"):
    """Accuracy of an exported SavedModel on `splits.val` (or `splits.test`: split="test"), through its
    serving_default signature (uint8 images in, probabilities out): what a TF Serving client would measure. The
    metrics are named `<split>_accuracy`, ..."""
    try:
        loaded = tf.saved_model.load(str(path))
    except (OSError, ValueError, tf.errors.OpError) as error:
        raise UserError(f"{path} is not a readable SavedModel: {str(error).splitlines()[0]}") from None
    if "serving_default" not in loaded.signatures:
        raise UserError(f"{path} has no serving_default signature; export it with pipelines.train.")
    serve = loaded.signatures["serving_default"]
    check_labels(path, splits)
    data, count = (splits.test, splits.num_test) if split == "test" else (splits.val, splits.num_val)
    if data is None:
        raise UserError(f"The dataset ({splits.source}) has no {split} split; evaluate on val.", field="split")
    if splits.task == "segmentation":  # the four scores of the per-pixel `classes`, at each image's own size
        matrix = accumulate(
            data,
            lambda images: serve(images=tf.cast(images, tf.uint8))["classes"],
            splits.num_classes,
            batch_size,
            count,
        )
        scores = metrics_from_matrix(matrix, splits.class_names)
        return (
            scores if split == "val" else {f"test_{k[4:]}" if k.startswith("val_") else k: v for k, v in scores.items()}
        )
    fixed = data.element_spec[0].shape.is_fully_defined()
    batches = data.batch(batch_size if fixed else 1)
    probabilities, labels = [], []
    progress = tf.keras.utils.Progbar(count, unit_name="image") if sys.stdout.isatty() else None
    for images, batch_labels in batches:
        probabilities.append(serve(images=tf.cast(images, tf.uint8))["probabilities"].numpy())
        labels.append(batch_labels.numpy())
        if progress is not None:
            progress.add(len(batch_labels))
    return _accuracies(np.concatenate(probabilities), np.concatenate(labels), f"{split}_")


def check_labels(path, splits):
    """UserError when the SavedModel's labels.txt names other classes than the dataset."""
    labels_file = tf.io.gfile.join(str(path), "assets", "labels.txt")
    if tf.io.gfile.exists(labels_file):
        exported = tf.io.gfile.GFile(labels_file).read().splitlines()
        if exported != list(splits.class_names):
            raise UserError(
                f"{path} was trained on classes {exported[:4]}... but the dataset has {list(splits.class_names)[:4]}"
                "...; evaluate it on the dataset it was trained on."
            )
