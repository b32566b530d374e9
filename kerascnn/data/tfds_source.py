"""A tensorflow-datasets dataset as train and validation splits: `cifar10`, `mnist`, `imagenette/160px-v2`,
`imagenet2012` (from its manually downloaded archives), or any other builder with (image, label) supervised keys.

The validation split is the dataset's "validation", else its "test", else `val_split` of "train". Nothing is
downloaded unless `download` is set: a dataset that is not prepared stops the run at once with the command that
prepares it.
"""

import difflib

import tensorflow as tf

from kerascnn.data.config import DataError
from kerascnn.data.splits import Splits
from kerascnn.data.transforms import to_channels


def tfds_splits(config, channels):
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
        raise DataError(f"Cannot open tensorflow-datasets {name!r}: {_first_line(error)}") from None
    if config.download:
        try:
            builder.download_and_prepare()
        except Exception as error:  # noqa: BLE001  (network, disk, manual files: all end the run the same way)
            raise DataError(f"Could not download and prepare {name!r}: {_first_line(error)}") from None

    info = builder.info
    if not info.supervised_keys or len(info.supervised_keys) != 2:
        raise DataError(f"tensorflow-datasets {name!r} has no (image, label) pairs to classify.")
    label_key = info.supervised_keys[1]
    class_names = list(getattr(info.features[label_key], "names", []) or [])
    if not class_names:
        raise DataError(f"tensorflow-datasets {name!r}: its label {label_key!r} is not a class label.")

    train_split, val_split = _pick_splits(set(info.splits), config.val_split, name)
    datasets = []
    for split in (train_split, val_split):
        try:
            ds = builder.as_dataset(split=split, as_supervised=True, shuffle_files=False)
        except AssertionError:  # tfds' way of saying the prepared files are not there
            raise DataError(_not_prepared(builder, name, config.data_dir), field="data.download") from None
        datasets.append(
            ds.map(lambda x, y: (to_channels(x, channels), tf.cast(y, tf.int64)), num_parallel_calls=tf.data.AUTOTUNE)
        )
    num_train, num_val = (_count(info, split, ds) for split, ds in zip((train_split, val_split), datasets))
    return Splits(
        train=datasets[0],
        val=datasets[1],
        class_names=class_names,
        num_train=num_train,
        num_val=num_val,
        source=f"tfds {name}: {train_split} / {val_split}, {num_train} / {num_val} images",
    )


def _pick_splits(available, val_split, name):
    if not available:  # not prepared (as_dataset will say so) or mocked in tests: the usual names
        return "train", "validation"
    if "train" not in available:
        raise DataError(f"tensorflow-datasets {name!r} has no train split (it has {', '.join(sorted(available))}).")
    for val in ("validation", "test"):
        if val in available:
            return "train", val
    if val_split <= 0:
        raise DataError(
            f"tensorflow-datasets {name!r} has no validation or test split: set data.val_split above 0.",
            field="data.val_split",
        )
    percent = max(1, round(100 * val_split))
    return f"train[:{100 - percent}%]", f"train[{100 - percent}%:]"


def _count(info, split, ds):
    try:
        return int(info.splits[split].num_examples)
    except (KeyError, ValueError):  # mocked datasets carry no split sizes: count them
        count = int(ds.cardinality())
        return count if count >= 0 else int(ds.reduce(0, lambda n, _: n + 1))


def _not_prepared(builder, name, data_dir):
    where = getattr(builder, "data_dir_root", None) or data_dir or "~/tensorflow_datasets"
    if builder.MANUAL_DOWNLOAD_INSTRUCTIONS:
        manual = f"{where}/downloads/manual"
        files = " ".join(builder.MANUAL_DOWNLOAD_INSTRUCTIONS.split())
        return (
            f"tensorflow-datasets {name!r} is not prepared in {where}. It needs files you download yourself "
            f"into {manual} ({files}), then: tfds build {name} --data_dir {where}"
        )
    return (
        f"tensorflow-datasets {name!r} is not prepared in {where} and this run does not download. Prepare it "
        f"on a machine with network with `tfds build {name} --data_dir {where}` (and copy that folder here), or "
        "let this run download it with data.download=true."
    )


def _first_line(error):
    return (str(error).strip().splitlines() or [type(error).__name__])[0]
