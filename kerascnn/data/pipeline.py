"""From splits to batches: cache, shuffle, augment or crop, normalise, batch and prefetch, with AUTOTUNE.

The training stream is endless and epoch-structured: epoch e is the split in an order drawn with a seed of (seed,
e), each image augmented with a seed of (seed, e, index), cut into whole batches. So a run is repeatable, every epoch
sees new crops, and a run resumed at `initial_epoch` sees exactly the batches an uninterrupted run would have.
Where the source can read its split in any order (`Splits.train_examples`: folders, IDX sets, small tfds sets),
the order is a permutation of the whole split: a folder lists its files class by class, and a shuffle buffer
smaller than the split would feed batches of one or two classes. Other sources are shuffled in a buffer of
`data.shuffle_buffer`. Give Keras `steps_per_epoch(num_train, batch_size)`.
"""

import os

import numpy as np
import tensorflow as tf

from kerascnn.data.augment import augment
from kerascnn.data.config import DataError
from kerascnn.data.dense import augment_example, check_recipe, eval_example
from kerascnn.data.recipes import RECIPES, Recipe
from kerascnn.data.splits import Examples, permutation
from kerascnn.data.transforms import eval_transform, normalize

AUTOTUNE = tf.data.AUTOTUNE
CACHE_FRACTION = 0.25  # of physical memory that "auto" lets a cached split take


def make_datasets(splits, *, image_size, channels, batch_size, config, seed=0, initial_epoch=0):
    """(training stream, validation batches) for a `Splits`; see `make_dataset`."""
    options = dict(image_size=image_size, channels=channels, batch_size=batch_size, config=config, seed=seed)
    if splits.task != "classification":
        options["task"] = splits.task
    train = make_dataset(
        splits.train,
        training=True,
        num_examples=splits.num_train,
        in_memory=splits.in_memory,
        initial_epoch=initial_epoch,
        examples=splits.train_examples,
        **options,
    )
    val = make_dataset(splits.val, training=False, num_examples=splits.num_val, in_memory=splits.in_memory, **options)
    return train, val


def make_dataset(
    split_ds,
    *,
    training,
    image_size,
    channels,
    batch_size,
    config,
    seed=0,
    num_examples=None,
    initial_epoch=0,
    in_memory=False,
    task="classification",
    examples=None,
):
    """Batches of (float32 normalised images [B, S, S, channels], int64 labels [B]), or with `task`
    "segmentation" of int32 masks [B, S, S] (see dense.py).

    Args:
        split_ds: a split of `load_splits`: uint8 images [H, W, C] of any size, and labels.
        training: augment with `config.augmentation` and stream epoch after epoch, from `initial_epoch` on, in
            whole batches; otherwise one pass of the evaluation crop, the last batch possibly short.
        num_examples: the split's size, for the shuffle buffer and the cache's memory estimate.
        in_memory: the split already lives in memory (`Splits.in_memory`): no cache.
        examples: the split in random access (`Splits.train_examples`): training epochs are permutations of it.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}.")
    evaluate, train_transform = _transforms(task, image_size, channels, config)
    if training and examples is not None:
        return _permuted_stream(examples, evaluate, train_transform, batch_size, seed, initial_epoch, task, config)
    if not in_memory and should_cache(config.cache, split_ds, num_examples):
        split_ds = split_ds.cache()
    if not training:
        ds = split_ds.map(evaluate, num_parallel_calls=AUTOTUNE)
        return ds.batch(batch_size, num_parallel_calls=AUTOTUNE).prefetch(AUTOTUNE)

    buffer = min(config.shuffle_buffer, num_examples or config.shuffle_buffer)

    def epoch(e):
        ds = split_ds
        if buffer > 1:
            # The order of epoch e depends on (seed, e) only. Inside this traced function the graph-level seed is
            # ours: TF pairs it with the op seed, and with a global seed of 0 it would compare our tensor seed
            # to 0 in Python, which a traced tensor cannot do.
            tf.compat.v1.random.set_random_seed(seed + 1)
            ds = ds.shuffle(buffer, seed=e, reshuffle_each_iteration=False)
        epoch_seed = tf.random.experimental.stateless_fold_in(tf.constant([seed, 0], tf.int64), e)

        def transform(index, example):
            return train_transform(*example, tf.random.experimental.stateless_fold_in(epoch_seed, index))

        ds = ds.enumerate().map(transform, num_parallel_calls=AUTOTUNE)
        return ds.batch(batch_size, drop_remainder=True)

    epochs = tf.data.Dataset.counter(start=initial_epoch)
    return epochs.flat_map(epoch).prefetch(AUTOTUNE)


def _transforms(task, image_size, channels, config):
    """(evaluation, training) transforms of one example: (image, label) and (image, label, seed) -> the model's
    (input, target)."""
    if task == "segmentation":
        check_recipe(config)
        options = dict(image_size=image_size, channels=channels, config=config)
        return (
            lambda image, mask: eval_example(image, mask, **options),
            lambda image, mask, seed: augment_example(image, mask, seed, **options),
        )
    if config.augmentation not in RECIPES:
        raise DataError(f"data.augmentation={config.augmentation} is a segmentation recipe, for segmentation models.")
    mean, std = config.normalization_stats(channels)

    def train_transform(image, label, seed):
        x = augment(
            image, seed, image_size=image_size, channels=channels, recipe_name=config.augmentation, pad=config.pad
        )
        return normalize(x, mean, std, bgr=config.bgr), label

    return lambda image, label: (eval_transform(image, image_size, channels, config), label), train_transform


def _permuted_stream(examples, evaluate, train_transform, batch_size, seed, initial_epoch, task, config):
    """The training stream of a split in random access: epoch e is permutation(size, seed, e) of all of it."""
    size = len(examples)
    # Images in memory under a recipe with nothing random (LeNet's, the MNIST family's): transformed once, and
    # each step is one gather of a batch, so that a small model does not wait for `batch_size` calls of a
    # per-image function a step (what Keras' own fit on arrays costs).
    batched = examples.in_memory and task == "classification" and _deterministic(config)
    if batched:
        examples = _transformed(examples, evaluate)

    examples.tensors  # noqa: B018  (made here, eagerly, not in the traced epoch function)

    def epoch(e):
        order = permutation(size, seed, e)
        if batched:
            return examples.batches(order, batch_size)
        epoch_seed = tf.random.experimental.stateless_fold_in(tf.constant([seed, 0], tf.int64), e)

        def transform(index, example):
            return train_transform(*example, tf.random.experimental.stateless_fold_in(epoch_seed, index))

        ds = examples.dataset(order).enumerate().map(transform, num_parallel_calls=AUTOTUNE)
        return ds.batch(batch_size, drop_remainder=True)

    return tf.data.Dataset.counter(start=initial_epoch).flat_map(epoch).prefetch(AUTOTUNE)


def _transformed(examples, evaluate, chunk=4096):
    """The in-memory examples after `evaluate` (the float32 model inputs), computed a chunk at a time; where they
    would take more than CACHE_FRACTION of memory, the uint8 examples and a transform at each step instead."""
    images, labels = examples.items
    first = evaluate(images[:1], labels[:1])[0]
    if len(images) * first.shape[1:].num_elements() * 4 > CACHE_FRACTION * physical_memory():
        return Examples((images, labels), read=None, transform=evaluate)
    return Examples((in_chunks(lambda x, y: evaluate(x, y)[0], images, labels, chunk=chunk), labels))


def in_chunks(transform, *columns, chunk=4096):
    """`transform` of the arrays `columns` (sliced alike) a chunk at a time, concatenated into one NumPy array: the
    float32 inputs of a whole split in memory without the transform's intermediates of all of it at once."""
    size = len(columns[0])
    return np.concatenate([np.asarray(transform(*(c[i : i + chunk] for c in columns))) for i in range(0, size, chunk)])


def _deterministic(config):
    """Whether training images get exactly the evaluation transform (a recipe with nothing random, and the
    evaluation resizing to the input as the training does)."""
    return RECIPES.get(config.augmentation) == Recipe() and not config.eval_crop_fraction


def steps_per_epoch(num_examples, batch_size):
    """Whole training batches in an epoch (the stream drops the remainder of each epoch)."""
    return num_examples // batch_size


def should_cache(cache, split_ds, num_examples):
    """Whether to keep the decoded split in memory: `cache` True or False, or "auto": when its estimated size is
    under CACHE_FRACTION of the machine's memory."""
    if cache != "auto":
        return bool(cache)
    if not num_examples:
        return False
    return num_examples * bytes_per_example(split_ds) < CACHE_FRACTION * physical_memory()


def bytes_per_example(split_ds, sample=8):
    """Bytes of one decoded image: from the element shape when it is fixed, else the mean of a few."""
    shape = split_ds.element_spec[0].shape
    if shape.is_fully_defined():
        return int(np.prod(shape)) * split_ds.element_spec[0].dtype.size
    sizes = [int(tf.size(image)) for image, _ in split_ds.take(sample)]
    return float(np.mean(sizes)) if sizes else 0.0


def physical_memory():
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not POSIX: assume a modest 8 GiB
        return 8 * 2**30
