"""What every source returns: the train, validation and test splits, the class names and the files it left out."""

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import tensorflow as tf


@dataclass
class BadImages:
    """Files a folder source could not use, each with the reason, in file order."""

    entries: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)

    def add(self, path, reason):
        self.entries.append((str(path), reason))

    def __len__(self):
        return len(self.entries)

    def __iter__(self):
        return iter(self.entries)

    def summary(self, limit=20):
        """Lines for the end of a run: the count, then up to `limit` of the files and why."""
        if not self.entries:
            return "No bad images."
        lines = [f"{len(self.entries)} bad image(s) left out:"]
        lines += [f"  {path}: {reason}" for path, reason in self.entries[:limit]]
        if len(self.entries) > limit:
            lines.append(f"  ... and {len(self.entries) - limit} more")
        return "\n".join(lines)


@dataclass(frozen=True)
class Examples:
    """A split that can be read in any order, so that every training epoch can be a new permutation of all of it
    (a shuffle buffer only mixes neighbours, and a folder lists its files class by class).

    `items` are arrays of one length: (file paths, labels) that `read` turns into (image, label), or (images,
    labels) already in memory when `read` is None.
    """

    items: tuple
    read: Callable | None = None
    transform: Callable | None = None  # applied to each batch of `batches` (a deterministic, batched transform)

    def __len__(self):
        return int(self.items[-1].shape[0])

    @property
    def in_memory(self):
        return self.read is None

    @functools.cached_property
    def tensors(self):
        """The items as eager tensors, made once: a traced tf.data function then captures them by reference,
        where converting an array inside it would copy the array into the graph at every epoch."""
        with tf.init_scope():
            return tuple(tf.convert_to_tensor(column) for column in self.items)

    def dataset(self, order=None):
        """(image, label) in the items' order, or in `order` (a 1-D tensor of indices)."""
        if order is None:
            ds = tf.data.Dataset.from_tensor_slices(self.tensors)
        else:
            items = self.tensors
            ds = tf.data.Dataset.from_tensor_slices(order).map(lambda i: tuple(tf.gather(c, i) for c in items))
        return ds if self.read is None else ds.map(self.read, num_parallel_calls=tf.data.AUTOTUNE)

    def batches(self, order, batch_size):
        """Whole batches (images [B, ...], labels [B]) in `order`, gathered a batch at a time: for items in
        memory, a step costs one gather instead of `batch_size` calls of a per-example function."""
        items = self.tensors
        ds = tf.data.Dataset.from_tensor_slices(order).batch(batch_size, drop_remainder=True)
        ds = ds.map(lambda i: tuple(tf.gather(c, i) for c in items), num_parallel_calls=tf.data.AUTOTUNE)
        return ds if self.transform is None else ds.map(self.transform, num_parallel_calls=tf.data.AUTOTUNE)


def permutation(size, seed, epoch):
    """The order of epoch `epoch`: a permutation of range(size) that depends on (seed, epoch) only, so that a run
    resumed at any epoch sees the order an uninterrupted one would."""
    key = tf.random.experimental.stateless_fold_in(tf.stack([tf.cast(seed, tf.int64), 1]), tf.cast(epoch, tf.int64))
    return tf.argsort(tf.random.stateless_uniform([size], key))


def stratified_holdout(labels, fraction, seed):
    """A boolean mask over `labels` holding out `fraction` of each class's indices (at least one, never all of a
    class), drawn with `seed`."""
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    held = np.zeros(len(labels), bool)
    for label in np.unique(labels):
        mine = np.flatnonzero(labels == label)
        count = min(len(mine) - 1, max(1, round(fraction * len(mine)))) if len(mine) > 1 else 0
        held[rng.permutation(mine)[:count]] = True
    return held


@dataclass
class Splits:
    """Datasets of (uint8 image [H, W, channels] of any H and W, int64 label), unbatched and in a fixed order;
    for segmentation, of (image, uint8 mask [H, W] of the image's size).

    `val` chooses (the blessing, the best checkpoint, a tuner's trials); `test`, where the dataset has one (the
    published benchmarks' test images), is only reported, never used to choose. `train_examples`, where the source
    can read its training split in any order, lets every epoch be a permutation of the whole split.
    `make_datasets` (pipeline.py) turns them into training and evaluation batches.
    """

    train: tf.data.Dataset
    val: tf.data.Dataset
    class_names: list[str]
    num_train: int
    num_val: int
    source: str  # what was read, for logs: "shapes (1280 / 320 images)", "tfds cifar10: train / test", ...
    bad_images: BadImages = field(default_factory=BadImages)
    in_memory: bool = False  # the images already live in memory (shapes): caching them again would only copy
    task: str = "classification"  # "segmentation": the labels are uint8 masks [H, W] (dense.py), 255 ignored
    train_examples: Examples | None = None  # the training split in random access (see Examples)
    test: tf.data.Dataset | None = None
    num_test: int = 0

    @property
    def num_classes(self):
        return len(self.class_names)


def subset(splits, train, evaluation, seed):
    """`splits` cut to a smaller budget on the same data: a stratified subset of `train` training images (drawn
    with `seed`; the first `train` where the source cannot read its split in any order) and the first
    `evaluation` images of the validation and test splits (already in a random order). 0 keeps a split whole."""
    changes, cut = {}, []
    if train and train < splits.num_train:
        examples = splits.train_examples
        if examples is not None:
            labels = np.asarray(examples.items[-1])
            kept = stratified_holdout(labels, train / len(labels), seed)
            examples = dataclasses.replace(examples, items=tuple(np.asarray(c)[kept] for c in examples.items))
            changes.update(train=examples.dataset(), train_examples=examples, num_train=len(examples))
        else:
            changes.update(train=splits.train.take(train), num_train=train)
        cut.append(f"{changes['num_train']} train")
    if evaluation and evaluation < splits.num_val:
        changes.update(val=splits.val.take(evaluation), num_val=evaluation)
        cut.append(f"{evaluation} val")
    if evaluation and splits.test is not None and evaluation < splits.num_test:
        changes.update(test=splits.test.take(evaluation), num_test=evaluation)
        cut.append(f"{evaluation} test")
    if not cut:
        return splits
    return dataclasses.replace(splits, source=f"{splits.source}; subsets of {', '.join(cut)}", **changes)
