"""tensorflow-datasets builders with masks, for segmentation models: their masks mapped to our classes."""

import numpy as np
import tensorflow as tf

from kerascnn.data.config import DataError
from kerascnn.data.dense import IGNORE
from kerascnn.data.splits import Splits
from kerascnn.data.tfds_source import count_examples, first_line, not_prepared, pick_splits
from kerascnn.data.transforms import to_channels

# tensorflow-datasets builders with masks: (image feature, mask feature, {stored value: class}, class names).
# oxford_iiit_pet's trimaps (Parkhi et al. 2012): 1 pet, 2 background, 3 the uncertain border, which is ignored
# here as VOC ignores its object borders.
TFDS_MASKS = {
    "oxford_iiit_pet": ("image", "segmentation_mask", {1: 1, 2: 0, 3: IGNORE}, ("background", "pet")),
}


def tfds_mask_splits(config, channels):
    """A tensorflow-datasets builder of TFDS_MASKS, its masks mapped to our classes."""
    import tensorflow_datasets as tfds

    name = config.dataset
    base = name.split("/")[0].split(":")[0]
    if base not in TFDS_MASKS:
        raise DataError(
            f"{name!r} is not a dataset with masks kerascnn reads: use shapes, a folder of images and masks, or "
            f"one of {', '.join(TFDS_MASKS)}."
        )
    image_key, mask_key, mapping, names = TFDS_MASKS[base]
    try:
        builder = tfds.builder(name, data_dir=config.data_dir)
        if config.download:
            builder.download_and_prepare()
    except Exception as error:  # noqa: BLE001  (tfds' message says which)
        raise DataError(f"Cannot open tensorflow-datasets {name!r}: {first_line(error)}") from None
    table = np.full(256, IGNORE, np.uint8)
    for stored, ours in mapping.items():
        table[stored] = ours
    lookup = tf.constant(table)

    def convert(example):
        mask = tf.gather(lookup, tf.cast(tf.reshape(example[mask_key], tf.shape(example[mask_key])[:2]), tf.int32))
        return to_channels(example[image_key], channels), mask

    train_split, val_split, _ = pick_splits(set(builder.info.splits), config.val_split, name)
    datasets = []
    for split in (train_split, val_split):
        try:
            ds = builder.as_dataset(split=split, shuffle_files=False)
        except AssertionError:
            raise DataError(not_prepared(builder, name, config.data_dir)) from None
        datasets.append(ds.map(convert, num_parallel_calls=tf.data.AUTOTUNE))
    num_train, num_val = (count_examples(builder.info, s, ds) for s, ds in zip((train_split, val_split), datasets))
    return Splits(
        train=datasets[0],
        val=datasets[1],
        class_names=list(names),
        num_train=num_train,
        num_val=num_val,
        source=f"tfds {name} masks: {train_split} / {val_split}, {num_train} / {num_val} images",
        task="segmentation",
    )
