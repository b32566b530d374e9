"""A tensorflow-datasets dataset as train and validation splits: `cifar10`, `mnist`, `imagenette/160px-v2`,
`imagenet2012` (from its manually downloaded archives), or any other builder with (image, label) supervised keys.

The validation split is the dataset's "validation", else `val_split` of "train"; a "test" split is the test
split, reported beside the validation one and never used to choose anything (the published numbers of cifar10 or
mnist are on it). A training split that fits in memory (CACHE_FRACTION of it, images of one shape) is read into
memory once: its validation part is then stratified and drawn with the run's seed, and every epoch is a
permutation of all of it; a larger one holds out its last `val_split` (tensorflow-datasets shuffles the records when
it prepares a dataset, so the tail is a random draw, fixed by the prepared files). Nothing is downloaded unless
`download` is set: a dataset that is not prepared stops the run at once with the command that prepares it.
"""

import difflib
import os

import numpy as np
import tensorflow as tf

from kerascnn.data import idx
from kerascnn.data.config import DataError
from kerascnn.data.pipeline import CACHE_FRACTION, physical_memory
from kerascnn.data.splits import Examples, Splits, stratified_holdout
from kerascnn.data.transforms import to_channels
from kerascnn.errors import Mention, Message


def is_prepared(name, data_dir=None):
    """Whether tensorflow-datasets has `name` prepared in `data_dir` (its default when None), without building
    anything or touching the network."""
    import tensorflow_datasets as tfds  # heavy: only when a tfds dataset is asked about

    try:
        builder = tfds.builder(name, data_dir=data_dir)
        return bool(builder.info.splits) and os.path.isdir(builder.data_dir)
    except Exception:  # noqa: BLE001  (not registered, not prepared, a bad version: all "not here")
        return False


def tfds_splits(config, channels, seed=0):
    import tensorflow_datasets as tfds  # heavy: only when a tfds dataset is asked for

    name = config.dataset
    base = name.split("/")[0].split(":")[0]
    known = tfds.list_builders(with_community_datasets=False)
    if base not in known:
        close = difflib.get_close_matches(base, known, n=3, cutoff=0.6)
        hint = f"did you mean {', '.join(close)}?" if close else "see https://www.tensorflow.org/datasets/catalog."
        raise DataError(
            f"Unknown dataset {name!r}: not a folder, and not a tensorflow-datasets name; {hint}", field="data.dataset"
        )
    try:
        builder = tfds.builder(name, data_dir=config.data_dir)
    except Exception as error:  # noqa: BLE001  (a bad config or version; tfds' message says which)
        raise DataError(f"Cannot open tensorflow-datasets {name!r}: {first_line(error)}") from None
    if config.download:
        try:
            builder.download_and_prepare()
        except Exception as error:  # noqa: BLE001  (network, disk, manual files: all end the run the same way)
            raise DataError(f"Could not download and prepare {name!r}: {first_line(error)}") from None

    info = builder.info
    if not info.supervised_keys or len(info.supervised_keys) != 2:
        raise DataError(f"tensorflow-datasets {name!r} has no (image, label) pairs to classify.")
    label_key = info.supervised_keys[1]
    class_names = list(getattr(info.features[label_key], "names", []) or [])
    if not class_names:
        raise DataError(f"tensorflow-datasets {name!r}: its label {label_key!r} is not a class label.")

    train_split, val_split, test_split = pick_splits(set(info.splits), config.val_split, name)

    def load(split):
        try:
            ds = builder.as_dataset(split=split, as_supervised=True, shuffle_files=False)
        except AssertionError:  # tfds' way of saying the prepared files are not there
            if idx.is_idx_name(name):  # offline, the IDX files are the other way to have it
                raise DataError(idx.missing_message(name, config.data_dir), field="data.dataset") from None
            raise DataError(not_prepared(builder, name, config.data_dir), field="data.download") from None
        ds = ds.map(lambda x, y: (to_channels(x, channels), tf.cast(y, tf.int64)), num_parallel_calls=tf.data.AUTOTUNE)
        return ds, count_examples(info, split, ds)

    test, num_test = load(test_split) if test_split else (None, 0)
    if val_split.startswith("train[") and _fits_in_memory(info, "train", channels):
        # Read once into memory: a stratified validation part drawn with the seed, every epoch a permutation.
        images, labels = _arrays(load("train")[0])
        held = stratified_holdout(labels, config.val_split, seed)
        train_examples = Examples((images[~held], labels[~held]))
        val_examples = Examples((images[held], labels[held]))
        train_split, val_split = "train", f"{config.val_split:g} of train held out (seed {seed})"
        return Splits(
            train=train_examples.dataset(),
            val=val_examples.dataset(),
            test=test,
            class_names=class_names,
            num_train=len(train_examples),
            num_val=len(val_examples),
            num_test=num_test,
            source=_describe(
                name, train_split, val_split, test_split, len(train_examples), len(val_examples), num_test
            ),
            in_memory=True,
            train_examples=train_examples,
        )
    (train, num_train), (val, num_val) = load(train_split), load(val_split)
    return Splits(
        train=train,
        val=val,
        test=test,
        class_names=class_names,
        num_train=num_train,
        num_val=num_val,
        num_test=num_test,
        source=_describe(name, train_split, val_split, test_split, num_train, num_val, num_test),
    )


def _describe(name, train_split, val_split, test_split, num_train, num_val, num_test):
    test = f", {test_split} {num_test} images" if test_split else ""
    return f"tfds {name}: {train_split} / {val_split}, {num_train} / {num_val} images{test}"


def pick_splits(available, val_split, name):
    """(train, validation, test or None) split names: the dataset's validation split where it has one, else the
    last `val_split` of train; its test split stays the test split."""
    if not available:  # not prepared (as_dataset will say so) or mocked in tests: the usual names
        return "train", "validation", None
    if "train" not in available:
        raise DataError(f"tensorflow-datasets {name!r} has no train split (it has {', '.join(sorted(available))}).")
    test = "test" if "test" in available else None
    if "validation" in available:
        return "train", "validation", test
    if val_split <= 0:
        raise DataError(
            f"tensorflow-datasets {name!r} has no validation split, and ",
            Mention("data.val_split"),
            " is 0: set it above 0 to hold one out of train (the test split never chooses anything).",
            field="data.val_split",
        )
    percent = max(1, round(100 * val_split))
    return f"train[:{100 - percent}%]", f"train[{100 - percent}%:]", test


def _fits_in_memory(info, split, channels):
    try:
        shape = info.features[info.supervised_keys[0]].shape
        count = int(info.splits[split].num_examples)
    except (KeyError, ValueError, AttributeError):
        return False
    if None in shape[:2]:
        return False
    total = count * shape[0] * shape[1] * channels
    return total < CACHE_FRACTION * physical_memory()


def _arrays(ds):
    images, labels = [], []
    for image, label in ds.batch(4096).as_numpy_iterator():
        images.append(image)
        labels.append(label)
    return np.concatenate(images), np.concatenate(labels)


def count_examples(info, split, ds):
    try:
        return int(info.splits[split].num_examples)
    except (KeyError, ValueError):  # mocked datasets carry no split sizes: count them
        count = int(ds.cardinality())
        return count if count >= 0 else int(ds.reduce(0, lambda n, _: n + 1))


def not_prepared(builder, name, data_dir):
    where = getattr(builder, "data_dir_root", None) or data_dir or "~/tensorflow_datasets"
    if builder.MANUAL_DOWNLOAD_INSTRUCTIONS:
        manual = f"{where}/downloads/manual"
        files = " ".join(builder.MANUAL_DOWNLOAD_INSTRUCTIONS.split())
        return (
            f"tensorflow-datasets {name!r} is not prepared in {where}. It needs files you download yourself "
            f"into {manual} ({files}), then: tfds build {name} --data_dir {where}"
        )
    return Message(
        f"tensorflow-datasets {name!r} is not prepared in {where} and this run does not download. Prepare it "
        f"on a machine with network with `tfds build {name} --data_dir {where}` (and copy that folder here), or "
        "let this run download it with ",
        Mention("data.download", "true"),
        ".",
    )


def first_line(error):
    return (str(error).strip().splitlines() or [type(error).__name__])[0]
