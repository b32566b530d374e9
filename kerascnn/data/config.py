"""What the data stage of a run can be told: one typed config, and the one error a user can cause.

`DataConfig` is nested in the run's config and overridden field by field (`data.augmentation=vgg`); each
model's paper recipe picks an `augmentation` and a `normalization` by name.
"""

import dataclasses
from dataclasses import dataclass
from typing import Literal

from kerascnn.choices import BadImagePolicy, spoken, wrong_choice
from kerascnn.data.recipes import MASK_RECIPES, RECIPES
from kerascnn.data.shapes import SHAPE_NAMES
from kerascnn.errors import (
    DataError,  # noqa: F401  (kerascnn.data's error, defined with UserError)
    Mention,
)

# Per-channel mean and std, on the 0-255 scale images are decoded to: x -> (x - mean) / std.
NORMALIZATIONS = {
    "unit": ((0.0,), (255.0,)),  # [0, 1], what most small-data examples do
    "centered": ((127.5,), (127.5,)),  # [-1, 1]
    # LeNet-5 (LeCun et al. 1998, Sec. II-A): background -0.1 and ink 1.175, for white ink at 255 (tfds mnist).
    "lenet": ((0.1 * 255 / 1.275,), (255 / 1.275,)),
    # torchvision's ImageNet statistics, the ones every reference script and keras.applications' "torch" mode use.
    "imagenet": ((123.675, 116.28, 103.53), (58.395, 57.12, 57.375)),
    # MNIST's and Fashion-MNIST's training-set statistics (torchvision's MNIST example: 0.1307, 0.3081; Fashion-MNIST:
    # 0.2860, 0.3530), for the models that take their data centred rather than LeNet's way.
    "mnist": ((0.1307 * 255,), (0.3081 * 255,)),
    "fashion_mnist": ((0.2860 * 255,), (0.3530 * 255,)),
    # CIFAR-10 training set statistics (as in the pytorch-cifar and timm recipes).
    "cifar10": ((125.307, 122.961, 113.8575), (62.9932, 62.0887, 66.7048)),
    # The pretrained weights' own (kerascnn.weights), which take BGR images: these means are in B, G, R order.
    # keras.applications' "caffe" mode (VGG, ResNet): the ImageNet mean pixel subtracted, no scaling.
    "caffe": ((103.939, 116.779, 123.68), (1.0,)),
    # Caffe's bvlc_googlenet (its train_val.prototxt mean_value) and the ONNX zoo's copy of it.
    "bvlc": ((104.0, 117.0, 123.0), (1.0,)),
    # Caffe's bvlc_alexnet subtracts the mean image (ilsvrc_2012_mean); its per-channel average, as pycaffe's
    # classification example uses, stands in for it at any crop.
    "bvlc_alexnet": ((104.00698793, 116.66876762, 122.67891434), (1.0,)),
}
# Normalisations whose images go into the model as B, G, R (Caffe's order); the flip is part of the transform.
BGR_NORMALIZATIONS = ("caffe", "bvlc", "bvlc_alexnet")

AUGMENTATIONS = tuple(RECIPES) + tuple(MASK_RECIPES)  # the latter for segmentation models
# The choices of `augmentation` and `normalization` are the tables' keys: a recipe added is a choice.
Augmentation = Literal[AUGMENTATIONS]
Normalization = Literal[tuple(NORMALIZATIONS)]


@dataclass
class DataConfig:
    """Where the images come from and how they are prepared; see README "Data"."""

    # "shapes" (embedded, offline), a tensorflow-datasets name ("cifar10", "imagenette/160px-v2") or a folder path.
    dataset: str = "shapes"
    data_dir: str | None = None  # tfds data directory; None is tfds' own default (~/tensorflow_datasets)
    download: bool = False  # let tfds download and prepare a missing dataset; off so an offline run fails at once
    val_split: float = 0.1  # held out of a folder without train/ and val/ subfolders (or of a tfds train split)
    # a training recipe of data/recipes.py (segmentation models: of MASK_RECIPES, on the image and mask together)
    augmentation: Augmentation = "none"
    # Evaluation: shorter side resized to image_size / eval_crop_fraction, then a centre crop (torchvision's 0.875
    # is 224 of 256). 0 takes the recipe's: 256 for a 224-227 crop in the ImageNet recipes, none otherwise.
    eval_crop_fraction: float = 0.0
    # a name from NORMALIZATIONS (the BGR ones are pretrained weights', which set them themselves)
    normalization: Normalization = "unit"
    # Zero pixels added on each side after the image is fitted to the input less 2 x pad (LeCun et al. 1998,
    # Sec. III-A: MNIST's 28x28 image centred in LeNet-5's 32x32 field, pad=2). Classifiers only.
    pad: int = 0
    mean: tuple[float, ...] | None = None  # overrides the normalization's mean (0-255 scale, 1 or C values)
    std: tuple[float, ...] | None = None  # overrides its std
    # keep decoded images in memory: "auto" does when they fit in a quarter of RAM
    cache: bool | Literal["auto"] = "auto"
    shuffle_buffer: int = 10_000  # elements; the whole split when it is smaller
    on_bad_image: BadImagePolicy = "fail"  # kerascnn.choices says what each does
    max_image_pixels: int = 89_478_485  # larger declared sizes are image bombs (Pillow's own limit, 0.25 GiB RGB)
    cache_dir: str | None = None  # where folder checks are remembered; None: $XDG_CACHE_HOME/kerascnn or ~/.cache
    # The shapes dataset: its size and classes, and its own seed (the run's seed shuffles, this one draws images).
    shapes_train: int = 1280  # ~2 minutes an epoch for AlexNet on 2 CPU cores
    shapes_val: int = 320
    shapes_classes: int = 6  # circle, square, triangle, star, cross, ring (up to 8: hexagon, crescent)
    shapes_seed: int = 0
    shapes_per_image: int = 1  # segmentation: shapes drawn in each image (classification draws one)
    # A smaller budget on the same data (pipelines.experiment): train on a stratified subset of this many of the
    # training images (drawn with the run's seed), evaluate on the first eval_subset images of the validation and
    # test splits. 0: the whole split.
    train_subset: int = 0
    eval_subset: int = 0

    def __post_init__(self):
        if isinstance(self.cache, str) and self.cache.lower() in ("true", "false"):
            self.cache = self.cache.lower() == "true"
        for name in ("mean", "std"):  # a number, a sequence, or "123.7,116.3,103.5" from the command line
            value = getattr(self, name)
            if isinstance(value, str):
                value = value.strip("()[] ").split(",")
            if value is not None:
                try:
                    setattr(self, name, tuple(float(v) for v in (value if hasattr(value, "__iter__") else (value,))))
                except ValueError:
                    raise DataError(
                        Mention(f"data.{name}"), f" must be numbers, got {getattr(self, name)!r}.", field=f"data.{name}"
                    ) from None
        self.validate()

    def validate(self):
        """Raises DataError naming the first field that its type's choices or its range do not allow."""
        wrong = wrong_choice(self)
        if wrong:
            name, choices = wrong
            raise DataError(
                Mention(f"data.{name}"),
                f" must be {spoken(choices)}, got {getattr(self, name)!r}.",
                field=f"data.{name}",
            )
        checks = [
            ("val_split", 0.0 <= self.val_split < 1.0, "a fraction in [0, 1)"),
            ("eval_crop_fraction", 0.0 <= self.eval_crop_fraction <= 1.0, "in (0, 1], or 0 for the recipe's"),
            ("shuffle_buffer", self.shuffle_buffer >= 0, "0 or more"),
            ("pad", self.pad >= 0, "0 or more"),
            ("max_image_pixels", self.max_image_pixels > 0, "positive"),
            ("std", self.std is None or all(s > 0 for s in self.std), "positive"),
            ("shapes_classes", 2 <= self.shapes_classes <= len(SHAPE_NAMES), f"from 2 to {len(SHAPE_NAMES)}"),
            ("shapes_train", self.shapes_train >= self.shapes_classes, "at least shapes_classes"),
            ("shapes_val", self.shapes_val >= 1, "at least 1"),
            ("shapes_per_image", self.shapes_per_image >= 1, "at least 1"),
            ("train_subset", self.train_subset >= 0, "0 (the whole split) or more"),
            ("eval_subset", self.eval_subset >= 0, "0 (the whole splits) or more"),
            ("dataset", bool(str(self.dataset).strip()), "a dataset name or a folder"),
        ]
        for name, ok, expected in checks:
            if not ok:
                raise DataError(
                    Mention(f"data.{name}"), f" must be {expected}, got {getattr(self, name)!r}.", field=f"data.{name}"
                )

    def normalization_stats(self, channels):
        """(mean, std) as `channels` floats each, on the 0-255 scale."""
        mean, std = NORMALIZATIONS[self.normalization]
        mean, std = self.mean or mean, self.std or std
        return _per_channel(mean, channels, "mean"), _per_channel(std, channels, "std")

    @property
    def bgr(self):
        """Whether the model takes its colour channels as B, G, R (the Caffe-trained pretrained weights)."""
        return self.normalization in BGR_NORMALIZATIONS

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)


# ITU-R 601 luma weights, the ones tf.image.rgb_to_grayscale and Pillow's "L" mode use.
LUMA = (0.299, 0.587, 0.114)


def _per_channel(values, channels, name):
    if len(values) == channels:
        return tuple(values)
    if len(values) == 1:
        return tuple(values) * channels
    if len(values) == 3 and channels == 1:  # RGB statistics for a grayscale model: those of the luma
        return (sum(w * v for w, v in zip(LUMA, values)),)
    raise DataError(
        Mention(f"data.{name}"),
        f" has {len(values)} values but the model takes {channels} channels; give 1 or {channels}.",
        field=f"data.{name}",
    )
