"""What every source returns: the train and validation splits, the class names and the files it left out."""

from dataclasses import dataclass, field

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


@dataclass
class Splits:
    """Datasets of (uint8 image [H, W, channels] of any H and W, int64 label), unbatched and in a fixed order;
    for segmentation, of (image, uint8 mask [H, W] of the image's size).

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

    @property
    def num_classes(self):
        return len(self.class_names)
