"""`load_splits`: the example gen. One call turns `DataConfig.dataset` into train, validation (and, where the
dataset has one, test) splits, whatever the source: the embedded shapes, a tensorflow-datasets name, the MNIST
family's IDX files, or a folder of images; with masks for segmentation models (mask_folders.py, tfds_masks.py).
One table picks the loader by (source, task); the two shapes loaders, a few lines each, are here."""

from pathlib import Path

import tensorflow as tf

from kerascnn.data import idx
from kerascnn.data.config import DataError
from kerascnn.data.folders import folder_splits
from kerascnn.data.mask_folders import folder_mask_splits
from kerascnn.data.shapes import class_names, generate_shape_masks, generate_shapes
from kerascnn.data.splits import Splits, subset
from kerascnn.data.tfds_masks import tfds_mask_splits
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
    """ "shapes", "folder", "idx" (IDX files: see `idx_set`) or "tfds"."""
    dataset = str(config.dataset)
    if dataset == "shapes":
        return "shapes"
    if idx_set(config):
        return "idx"
    return "folder" if looks_like_path(dataset) else "tfds"


def idx_set(config):
    """(folder, file prefix, the set's known name or None) of the IDX files `config.dataset` names: a folder holding
    them, or an MNIST-family name without a prepared tensorflow-datasets copy, found by idx.locate; else None (for
    an MNIST-family name found nowhere, tensorflow-datasets' not-prepared error names the IDX way too)."""
    dataset = str(config.dataset)
    if looks_like_path(dataset):
        return (Path(dataset).expanduser(), "", None) if idx.find_files(dataset) else None
    if idx.is_idx_name(dataset) and not is_prepared(dataset, config.data_dir):
        found = idx.locate(dataset, config.data_dir)
        return (*found, dataset) if found else None
    return None


def looks_like_path(name):
    return Path(name).expanduser().is_dir() or name.startswith(("/", "./", "../", "~")) or "\\" in name


def _idx(config, *, channels, seed, **_):
    folder, prefix, name = idx_set(config)
    return idx.idx_splits(config, channels, seed, folder=folder, prefix=prefix, name=name)


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


BACKGROUND = "background"


def shapes_mask_splits(config, image_size, channels):
    """The shapes dataset with its masks: background and config.shapes_classes shapes, config.shapes_per_image
    of them in each image."""
    options = dict(
        image_size=image_size,
        channels=channels,
        num_classes=config.shapes_classes,
        shapes_per_image=config.shapes_per_image,
        seed=config.shapes_seed,
    )
    train = generate_shape_masks(config.shapes_train, split=0, **options)
    val = generate_shape_masks(config.shapes_val, split=1, **options)
    return Splits(
        train=tf.data.Dataset.from_tensor_slices(train),
        val=tf.data.Dataset.from_tensor_slices(val),
        class_names=[BACKGROUND, *class_names(config.shapes_classes)],
        num_train=config.shapes_train,
        num_val=config.shapes_val,
        source=f"shapes with masks ({config.shapes_classes} classes and background, {config.shapes_per_image} a "
        f"picture, {image_size}x{image_size}x{channels}): {config.shapes_train} / {config.shapes_val} images",
        in_memory=True,
        task="segmentation",
    )
