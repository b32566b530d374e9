"""`load_splits`: the example gen. One call turns `DataConfig.dataset` into train, validation (and, where the
dataset has one, test) splits, whatever the source: the embedded shapes, a tensorflow-datasets name, the MNIST
family's IDX files, or a folder of images; with masks for segmentation models. One table picks the loader by
(source, task)."""

from pathlib import Path

import tensorflow as tf

from kerascnn.data import idx
from kerascnn.data.config import DataError
from kerascnn.data.folders import folder_splits
from kerascnn.data.masks import folder_mask_splits, shapes_mask_splits, tfds_mask_splits
from kerascnn.data.shapes import class_names, generate_shapes
from kerascnn.data.splits import Splits, subset
from kerascnn.data.tfds_source import is_prepared, tfds_splits


def load_splits(config, image_size, channels, seed=0, task="classification"):
    """Splits of uint8 images [H, W, channels] and int64 labels for `config.dataset` (with `task`
    "segmentation": and uint8 masks [H, W], 255 where a pixel is to be ignored).

    Args:
        config: a DataConfig.
        image_size: the model's input side; shapes are drawn at this size, other sources keep their own.
        channels: the model's input channels; every image is converted to them.
        seed: the run's seed, which draws a validation split held out of the training images (and the
            training subset of `config.train_subset`).

    Raises:
        DataError: one line saying what is wrong with the dataset and how to fix it.
    """
    if image_size < 1 or channels < 1:
        raise DataError(f"image_size and channels must be positive, got {image_size} and {channels}.")
    kind = source_kind(config)
    loader = LOADERS.get((kind, task))
    if loader is None:
        raise DataError(
            f"{config.dataset} is {SOURCE_NAMES[kind]}, which has no {task} labels; give "
            f"{'a folder of images and masks or shapes' if task == 'segmentation' else 'a classification dataset'}.",
            field="data.dataset",
        )
    splits = loader(config, image_size=image_size, channels=channels, seed=seed)
    return subset(splits, config.train_subset, config.eval_subset, seed)


def source_kind(config):
    """ "shapes", "folder", "idx" (IDX files: a folder holding them, or an MNIST-family name without a prepared
    tensorflow-datasets copy) or "tfds"."""
    dataset = str(config.dataset)
    if dataset == "shapes":
        return "shapes"
    if looks_like_path(dataset):
        return "idx" if idx.find_files(dataset) else "folder"
    if idx.is_idx_name(dataset) and not is_prepared(dataset, config.data_dir) and idx.locate(dataset, config.data_dir):
        return "idx"
    return "tfds"  # for an MNIST-family name found nowhere, its not-prepared error names the IDX way too


def looks_like_path(name):
    return Path(name).expanduser().is_dir() or name.startswith(("/", "./", "../", "~")) or "\\" in name


def _idx(config, *, channels, seed, **_):
    if looks_like_path(str(config.dataset)):
        return idx.idx_splits(config, channels, seed, folder=Path(config.dataset).expanduser())
    return idx.idx_splits(config, channels, seed, name=config.dataset)


SOURCE_NAMES = {
    "shapes": "the embedded shapes",
    "folder": "a folder",
    "idx": "an IDX set",
    "tfds": "a tensorflow-datasets name",
}
# (source, task) -> loader(config, *, image_size, channels, seed) -> Splits
LOADERS = {
    ("shapes", "classification"): lambda config, *, image_size, channels, **_: shapes_splits(
        config, image_size, channels
    ),
    ("folder", "classification"): lambda config, *, channels, seed, **_: folder_splits(config, channels, seed),
    ("idx", "classification"): _idx,
    ("tfds", "classification"): lambda config, *, channels, seed, **_: tfds_splits(config, channels, seed),
    ("shapes", "segmentation"): lambda config, *, image_size, channels, **_: shapes_mask_splits(
        config, image_size, channels
    ),
    ("folder", "segmentation"): lambda config, *, channels, seed, **_: folder_mask_splits(config, channels, seed),
    ("tfds", "segmentation"): lambda config, *, channels, **_: tfds_mask_splits(config, channels),
}


def shapes_splits(config, image_size, channels):
    """The embedded shapes dataset (shapes.py), drawn at the model's input size; train and val are independent
    draws of the same `shapes_seed`."""
    options = dict(image_size=image_size, channels=channels, num_classes=config.shapes_classes, seed=config.shapes_seed)
    train = generate_shapes(config.shapes_train, split=0, **options)
    val = generate_shapes(config.shapes_val, split=1, **options)
    return Splits(
        train=tf.data.Dataset.from_tensor_slices(train),
        val=tf.data.Dataset.from_tensor_slices(val),
        class_names=class_names(config.shapes_classes),
        num_train=config.shapes_train,
        num_val=config.shapes_val,
        source=f"shapes ({config.shapes_classes} classes, {image_size}x{image_size}x{channels}): "
        f"{config.shapes_train} / {config.shapes_val} images",
        in_memory=True,
    )
