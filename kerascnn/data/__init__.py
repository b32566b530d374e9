"""The example gen: datasets, the papers' augmentations and the evaluation transforms (kerascnn.serving serves them).

from kerascnn.data import DataConfig, load_splits, make_datasets, steps_per_epoch
config = DataConfig(dataset="shapes", augmentation="alexnet", normalization="imagenet")
splits = load_splits(config, image_size=227, channels=3, seed=0)
train, val = make_datasets(splits, image_size=227, channels=3, batch_size=128, config=config, seed=0)
model.fit(train, steps_per_epoch=steps_per_epoch(splits.num_train, 128), validation_data=val, epochs=5)
"""

from kerascnn.data.config import NORMALIZATIONS, DataConfig, DataError
from kerascnn.data.pipeline import make_dataset, make_datasets, steps_per_epoch
from kerascnn.data.recipes import RECIPES, Recipe
from kerascnn.data.shapes import SHAPE_NAMES, generate_shapes
from kerascnn.data.sources import load_splits
from kerascnn.data.splits import BadImages, Splits
from kerascnn.data.transforms import (
    decode_for_serving,
    eval_transform,
    ten_crop,
    to_channels,
)

__all__ = [
    "NORMALIZATIONS",
    "RECIPES",
    "SHAPE_NAMES",
    "BadImages",
    "DataConfig",
    "DataError",
    "Recipe",
    "Splits",
    "decode_for_serving",
    "eval_transform",
    "generate_shapes",
    "load_splits",
    "make_dataset",
    "make_datasets",
    "steps_per_epoch",
    "ten_crop",
    "to_channels",
]
