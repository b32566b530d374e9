"""Training and evaluating segmentation models: the per-pixel loss, the four metrics of the FCN paper, the
evaluator, and the masks in TensorBoard.

The metrics are those of Long et al. 2015, Sec. 5, from a confusion matrix n (n_ij: pixels of class i predicted
as j, t_i = sum_j n_ij) accumulated over the whole validation split, pixels labelled IGNORE left out:
pixel accuracy sum_i n_ii / sum_i t_i; mean accuracy mean_i n_ii / t_i; mean IoU mean_i n_ii / (t_i + sum_j n_ji
- n_ii); frequency-weighted IoU (sum_k t_k)^-1 sum_i t_i n_ii / (t_i + sum_j n_ji - n_ii). As in the authors'
score.py, a class absent from both the labels and the predictions is left out of the means (NaN-mean).
"""

import math
import sys
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from kerascnn.data.dense import IGNORE, eval_image
from kerascnn.training.schedules import make_optimizer

SCORES = ("pixel_accuracy", "mean_accuracy", "mean_iou", "frequency_weighted_iou")
BLESSING_METRIC = "val_mean_iou"


# ------------------------------------------------------------------------------------------------------- loss


@keras.saving.register_keras_serializable(package="kerascnn")
class PixelCrossEntropy(keras.losses.Loss):
    """Softmax cross-entropy of every pixel whose label is a class (IGNORE and any index >= num_classes are left
    out), optionally weighted per class.

    `normalization` "mean": divided by the (weighted) number of labelled pixels of the batch; "sum": summed over
    each image's pixels and averaged over the images, the "unnormalised" loss of FCN's batch-1 recipe
    (Shelhamer et al. 2017, Sec. 4.1), whose rate is then per pixel. U-Net's border weight map (Ronneberger et al.
    2015, Eq. 2) is not implemented; `class_weights` give its class-balancing part."""

    def __init__(self, num_classes, class_weights=None, normalization="mean", name="pixel_cross_entropy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.num_classes = num_classes
        self.class_weights = None if class_weights is None else [float(w) for w in class_weights]
        self.normalization = normalization

    def call(self, y_true, y_pred):
        y_true = ops.cast(y_true, "int32")
        y_pred = ops.cast(y_pred, "float32")
        valid = ops.logical_and(y_true >= 0, y_true < self.num_classes)
        labels = ops.where(valid, y_true, 0)
        picked = ops.squeeze(ops.take_along_axis(y_pred, labels[..., None], axis=-1), -1)
        nll = -ops.log(ops.clip(picked, 1e-7, 1.0))
        weights = ops.cast(valid, "float32")
        if self.class_weights is not None:
            weights = weights * ops.take(ops.convert_to_tensor(self.class_weights, "float32"), labels)
        total = ops.sum(weights * nll)
        if self.normalization == "sum":
            return total / ops.cast(ops.shape(y_true)[0], "float32")
        return total / ops.maximum(ops.sum(weights), 1.0)

    def get_config(self):
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "class_weights": self.class_weights,
            "normalization": self.normalization,
        }


# ---------------------------------------------------------------------------------------------------- metrics


def confusion_matrix(labels, predictions, num_classes):
    """int64 [K, K] of (label, prediction) pixel counts, IGNORE (and any label >= K) left out."""
    labels, predictions = np.asarray(labels).ravel().astype(np.int64), np.asarray(predictions).ravel()
    keep = (labels >= 0) & (labels < num_classes)
    index = labels[keep] * num_classes + predictions[keep].astype(np.int64)
    return np.bincount(index, minlength=num_classes**2).reshape(num_classes, num_classes)


def segmentation_scores(matrix):
    """The four scores of a confusion matrix, and the IoU of each class (NaN where a class is in neither the
    labels nor the predictions)."""
    n = np.asarray(matrix, np.float64)
    diagonal, truth, predicted = np.diag(n), n.sum(1), n.sum(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        accuracy = diagonal / truth
        iou = diagonal / (truth + predicted - diagonal)
    total = n.sum()
    frequency = truth / total if total else truth
    present = frequency > 0
    return {
        "pixel_accuracy": float(diagonal.sum() / total) if total else math.nan,
        "mean_accuracy": _nanmean(accuracy),
        "mean_iou": _nanmean(iou),
        "frequency_weighted_iou": float((frequency[present] * iou[present]).sum()),
        "class_iou": iou.tolist(),
    }


def _nanmean(values):
    values = values[~np.isnan(values)]
    return float(values.mean()) if values.size else math.nan


@keras.saving.register_keras_serializable(package="kerascnn")
class SegmentationScore(keras.metrics.Metric):
    """One of SCORES, from a confusion matrix accumulated over every batch since the last reset (so over a whole
    split, not averaged over batches)."""

    def __init__(self, num_classes, score="mean_iou", name=None, **kwargs):
        super().__init__(name=name or score, **kwargs)
        if score not in SCORES:
            raise ValueError(f"score must be one of {SCORES}, got {score!r}.")
        self.num_classes, self.score = num_classes, score
        self.matrix = self.add_variable(shape=(num_classes, num_classes), initializer="zeros", name="matrix")

    def update_state(self, y_true, y_pred, sample_weight=None):
        k = self.num_classes
        labels = ops.reshape(ops.cast(y_true, "int32"), [-1])
        predicted = ops.reshape(ops.cast(ops.argmax(y_pred, axis=-1), "int32"), [-1])
        valid = ops.logical_and(labels >= 0, labels < k)
        index = ops.where(valid, labels * k + predicted, 0)
        counts = ops.bincount(index, weights=ops.cast(valid, "float32"), minlength=k * k)
        self.matrix.assign_add(ops.reshape(ops.cast(counts[: k * k], "float32"), (k, k)))

    def result(self):
        n = self.matrix
        diagonal, truth, predicted = ops.diagonal(n), ops.sum(n, 1), ops.sum(n, 0)
        total = ops.maximum(ops.sum(n), 1.0)
        union = truth + predicted - diagonal
        if self.score == "pixel_accuracy":
            return ops.sum(diagonal) / total
        if self.score == "mean_accuracy":
            return _masked_mean(diagonal / ops.maximum(truth, 1.0), truth > 0)
        iou = diagonal / ops.maximum(union, 1.0)
        if self.score == "mean_iou":
            return _masked_mean(iou, union > 0)
        return ops.sum(truth / total * iou)

    def reset_state(self):
        self.matrix.assign(ops.zeros_like(self.matrix))

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes, "score": self.score}


def _masked_mean(values, mask):
    mask = ops.cast(mask, "float32")
    return ops.sum(values * mask) / ops.maximum(ops.sum(mask), 1.0)


def compile_segmentation(model, config, *, num_classes, base_rate, steps_per_epoch):
    """Compiles a segmentation model: the recipe's optimizer, the per-pixel loss, the four scores."""
    options = config.segmentation
    model.compile(
        optimizer=make_optimizer(
            config.optimizer, base_rate=base_rate, steps_per_epoch=steps_per_epoch, epochs=config.epochs
        ),
        loss=PixelCrossEntropy(num_classes, options.class_weights, options.pixel_loss),
        metrics=[SegmentationScore(num_classes, score) for score in SCORES],
        jit_compile=config.jit_compile,
        steps_per_execution=config.steps_per_execution,
    )
    return model


# -------------------------------------------------------------------------------------------------- evaluator


def predict_classes(model, images, image_size, channels, data_config):
    """Per-pixel classes int32 [B, H, W] and winning probabilities of uint8 images [B, H, W, C], at the images'
    own size: the model's probabilities at S x S resized back bilinearly, then the arg max. The exported
    serving graph does the same (kerascnn.serving.dense_export)."""
    probabilities = tf.cast(model(eval_image(images, image_size, channels, data_config), training=False), tf.float32)
    height, width = tf.shape(images)[1], tf.shape(images)[2]
    probabilities = tf.cond(
        tf.logical_and(tf.equal(height, image_size), tf.equal(width, image_size)),
        lambda: probabilities,
        lambda: tf.image.resize(probabilities, tf.stack([height, width]), method="bilinear"),
    )
    return tf.cast(tf.argmax(probabilities, -1), tf.int32), tf.reduce_max(probabilities, -1)


def accumulate(split, predict, num_classes, batch_size=32, total=None):
    """The confusion matrix of `predict(uint8 images [B, H, W, C]) -> classes [B, H, W]` over a split of
    (image, mask) pairs; images of varying size go one at a time."""
    fixed = split.element_spec[0].shape.is_fully_defined()
    matrix = np.zeros((num_classes, num_classes), np.int64)
    progress = keras.utils.Progbar(total, unit_name="image") if total and sys.stdout.isatty() else None
    for images, masks in split.batch(batch_size if fixed else 1):
        matrix += confusion_matrix(masks.numpy(), np.asarray(predict(images)), num_classes)
        if progress is not None:
            progress.add(len(masks))
    return matrix


def metrics_from_matrix(matrix, class_names, prefix="val_"):
    scores = segmentation_scores(matrix)
    metrics = {f"{prefix}{name}": scores[name] for name in SCORES}
    metrics["class_iou"] = {name: iou for name, iou in zip(class_names, scores["class_iou"])}
    return metrics


def evaluate_segmentation(run, model, splits):
    """The four scores and each class's IoU of `model` on the validation split, at each mask's own size."""
    size, channels = run.input_shape[0], run.input_shape[2]
    predict = tf.function(lambda images: predict_classes(model, images, size, channels, run.config.data)[0])
    matrix = accumulate(splits.val, predict, splits.num_classes, run.global_batch, splits.num_val)
    return {**metrics_from_matrix(matrix, splits.class_names), "num_val": splits.num_val, "task": "segmentation"}


# ------------------------------------------------------------------------------------------------ TensorBoard


def palette(num_classes):
    """PASCAL VOC's colour map (the bits of the class index spread over R, G and B), uint8 [256, 3]: class 0
    black, 1 maroon, 2 green, ...; IGNORE (255) is drawn white."""
    colours = np.zeros((256, 3), np.uint8)
    for index in range(256):
        c, r, g, b = index, 0, 0, 0
        for bit in range(8):
            r |= ((c >> 0) & 1) << (7 - bit)
            g |= ((c >> 1) & 1) << (7 - bit)
            b |= ((c >> 2) & 1) << (7 - bit)
            c >>= 3
        colours[index] = (r, g, b)
    colours[IGNORE] = 255
    return colours


def overlay(images, masks, alpha=0.5):
    """uint8 images [B, H, W, 3 or 1] with their masks [B, H, W] blended in the palette's colours."""
    images = np.asarray(images, np.float32)
    if images.shape[-1] == 1:
        images = np.repeat(images, 3, axis=-1)
    colours = palette(256)[np.asarray(masks, np.int64)].astype(np.float32)
    return np.clip((1 - alpha) * images + alpha * colours, 0, 255).astype(np.uint8)


def mask_grid(images, truth, predicted):
    """One row per image: the image, the true mask over it, the predicted mask over it."""
    rgb = np.repeat(images, 3, axis=-1) if images.shape[-1] == 1 else images[..., :3]
    rows = [np.concatenate(row, axis=1) for row in zip(rgb, overlay(rgb, truth), overlay(rgb, predicted))]
    return np.concatenate(rows, axis=0)


class MaskImages(keras.callbacks.Callback):
    """A grid of validation images with the true and the predicted masks in TensorBoard's Images tab (a fixed
    palette: VOC's), every epoch."""

    def __init__(self, log_dir, split, image_size, channels, data_config, count=6):
        super().__init__()
        self.log_dir = Path(log_dir)
        self.images, self.masks = [], []
        for image, mask in split.take(count):
            self.images.append(tf.image.resize(image, [image_size, image_size], method="nearest").numpy())
            self.masks.append(tf.image.resize(mask[..., None], [image_size, image_size], "nearest")[..., 0].numpy())
        self.images, self.masks = np.stack(self.images).astype(np.uint8), np.stack(self.masks)
        self.inputs = eval_image(self.images, image_size, channels, data_config)

    def on_epoch_end(self, epoch, logs=None):
        predicted = np.argmax(keras.ops.convert_to_numpy(self.model(self.inputs, training=False)), -1)
        grid = mask_grid(self.images, self.masks, predicted)
        with tf.summary.create_file_writer(str(self.log_dir / "validation")).as_default():
            tf.summary.image("masks (image, truth, prediction)", grid[np.newaxis], step=epoch)
