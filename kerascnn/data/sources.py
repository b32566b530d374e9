"""`load_splits`: the example gen. One call turns `DataConfig.dataset` into train and validation splits, whatever
the source: the embedded shapes, a tensorflow-datasets name, or a folder of images."""

from pathlib import Path

import tensorflow as tf

from kerascnn.data.config import DataError
from kerascnn.data.folders import folder_splits
from kerascnn.data.masks import mask_splits
from kerascnn.data.shapes import class_names, generate_shapes
from kerascnn.data.splits import Splits
from kerascnn.data.tfds_source import tfds_splits


def load_splits(config, image_size, channels, seed=0, task="classification"):
    """Splits of uint8 images [H, W, channels] and int64 labels for `config.dataset` (with `task`
    "segmentation": and uint8 masks [H, W], 255 where a pixel is to be ignored).

    Args:
        config: a DataConfig.
        image_size: the model's input side; shapes are drawn at this size, other sources keep their own.
        channels: the model's input channels; every image is converted to them.
        seed: the run's seed, which draws a folder's validation split.

    Raises:
        DataError: one line saying what is wrong with the dataset and how to fix it.
    """
    if image_size < 1 or channels < 1:
        raise DataError(f"image_size and channels must be positive, got {image_size} and {channels}.")
    dataset = str(config.dataset)
    if task == "segmentation":
        return mask_splits(config, image_size, channels, seed)
    if dataset == "shapes":
        return shapes_splits(config, image_size, channels)
    if _looks_like_path(dataset):
        return folder_splits(config, channels, seed)

    return tfds_splits(config, channels)


def _looks_like_path(name):
    return Path(name).expanduser().is_dir() or name.startswith(("/", "./", "../", "~")) or "\\" in name


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
