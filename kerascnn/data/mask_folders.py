"""A folder of images and their masks, for segmentation models, in the layouts people already have:
- PASCAL VOC: `JPEGImages/` and `SegmentationClass/`, the split from `ImageSets/Segmentation/{train,val}.txt`;
- `images/` and `masks/` with the same file stems, or `train/` and `val/` (or `validation/`) each holding both.
Masks are PNGs of class indices, palette (VOC's) or 8-bit gray; 255 means "ignore". Class names come from a
`classes.txt` (one a line) or `labelmap.txt` (VOC/CVAT's `name:color::` lines) at the root, else `class_<i>` up
to the largest index found. Without a split, `data.val_split` of the pairs is held out (drawn with the seed).
Every mask is read once with Pillow before training: a mask without its image or an image without its mask, a
mask of another size than its image, a mask that is not single-channel indices, or indices past the classes
are each named, and stop the run (`on_bad_image="fail"`) or are left out and counted ("skip"), as bad images are.
Palette masks are rewritten as gray PNGs in the cache directory, since TensorFlow decodes palettes to colours.
Files are listed as folders.py lists a class folder (`entries`): dotfiles and the desktop's files left out,
what cannot be read reported.
"""

import hashlib
import os
import stat
from pathlib import Path

import numpy as np
import tensorflow as tf
from PIL import Image, UnidentifiedImageError

from kerascnn.data.config import DataError
from kerascnn.data.dense import IGNORE
from kerascnn.data.folders import SKIP_HINT, entries
from kerascnn.data.splits import BadImages, Examples, Splits
from kerascnn.data.transforms import decode_image
from kerascnn.data.verify import check_files, default_cache_dir
from kerascnn.errors import Mention
from kerascnn.io import write_atomic

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm"}


def folder_mask_splits(config, channels, seed=0):
    root = Path(config.dataset).expanduser()
    if not root.is_dir():
        raise DataError(f"No folder {str(root)!r}: give a folder of images and masks, or a dataset name.")
    bad = BadImages()
    parts, layout = _pairs(root, bad)
    names = _class_names(root)
    pairs = [pair for part in parts.values() for pair in part]
    checks = check_files(
        [image for image, _ in pairs], root=root, max_pixels=config.max_image_pixels, cache_dir=config.cache_dir
    )
    cache = Path(config.cache_dir) if config.cache_dir else default_cache_dir()
    largest = 0
    usable = {}
    for part, part_pairs in parts.items():
        usable[part] = []
        for image, mask in part_pairs:
            check = checks[image]
            if check.error:
                bad.add(image, check.error)
                continue
            result = check_mask(mask, (check.width, check.height), len(names) if names else None, cache)
            if isinstance(result, str):
                bad.add(mask, result)
                continue
            path, top = result
            largest = max(largest, top)
            usable[part].append((check.converted or str(image), path))
    bad.entries.sort()
    if bad and config.on_bad_image == "fail":
        path, reason = bad.entries[0]
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        raise DataError(
            f"Bad image or mask {path}: {reason}{more}. Remove or fix it, ", SKIP_HINT, ".", field="data.on_bad_image"
        )
    names = names or [f"class_{i}" for i in range(max(largest + 1, 2))]
    train, val = usable.get("train", []), usable.get("val")
    if val is None:
        if config.val_split <= 0:
            raise DataError(
                f"{root} has no validation split and ",
                Mention("data.val_split"),
                " is 0: give a fraction to hold out (",
                Mention("data.val_split", 0.1),
                "), or add val/ or an ImageSets/Segmentation/val.txt.",
                field="data.val_split",
            )
        held = np.random.default_rng(seed).permutation(len(train))[: max(1, round(config.val_split * len(train)))]
        held = set(held.tolist()) if len(train) > 1 else set()
        train, val = [p for i, p in enumerate(train) if i not in held], [p for i, p in enumerate(train) if i in held]
        layout += f", {config.val_split:g} held out"
    if not train or not val:
        raise DataError(f"{root} gives no usable {'training' if not train else 'validation'} pairs of image and mask.")
    train_examples = _examples(train, channels)
    return Splits(
        train=train_examples.dataset(),
        val=_examples(val, channels).dataset(),
        train_examples=train_examples,
        class_names=names,
        num_train=len(train),
        num_val=len(val),
        source=f"folder {root} ({layout}): {len(train)} / {len(val)} images with masks",
        bad_images=bad,
        task="segmentation",
    )


def _pairs(root, bad):
    """{"train": [(image, mask)], "val": [...]} (no "val" when the folder has no split), and the layout's name."""
    if (root / "JPEGImages").is_dir() and (root / "SegmentationClass").is_dir():
        images, masks = _stems(root / "JPEGImages", bad), _stems(root / "SegmentationClass", bad)
        lists = root / "ImageSets" / "Segmentation"
        if (lists / "train.txt").is_file() and (lists / "val.txt").is_file():
            parts = {}
            for part in ("train", "val"):
                stems = [line.strip() for line in (lists / f"{part}.txt").read_text().splitlines() if line.strip()]
                parts[part] = _match(
                    {s: images[s] for s in stems if s in images}, {s: masks[s] for s in stems if s in masks}, bad, stems
                )
            return parts, "VOC, ImageSets/Segmentation"
        return {"train": _match(images, masks, bad)}, "VOC"
    folders = {name for name in ("train", "val", "validation") if (root / name / "images").is_dir()}
    if "train" in folders and folders & {"val", "validation"}:
        val = "val" if "val" in folders else "validation"
        parts = {
            part: _match(_stems(root / folder / "images", bad), _stems(root / folder / "masks", bad), bad)
            for part, folder in (("train", "train"), ("val", val))
        }
        return parts, f"train/ and {val}/"
    if (root / "images").is_dir() and (root / "masks").is_dir():
        return {"train": _match(_stems(root / "images", bad), _stems(root / "masks", bad), bad)}, "images/ and masks/"
    raise DataError(
        f"{root} holds neither JPEGImages/ and SegmentationClass/ (PASCAL VOC) nor images/ and masks/: put the "
        "images and their masks (PNGs of class indices, same file names) in one of these layouts."
    )


def _stems(folder, bad):
    """{file stem: path} of the image files directly in `folder`, listed as folders.py lists a class folder."""
    if not folder.is_dir():
        raise DataError(f"{folder} is missing: it should hold the masks of the images beside it, by file name.")
    files = {}
    for path, info in entries(folder, bad):
        if stat.S_ISREG(info.st_mode) and path.suffix.lower() in IMAGE_SUFFIXES:
            files.setdefault(path.stem, path)
    return files


def _match(images, masks, bad, listed=None):
    """[(image, mask)] by stem; an image without a mask and a mask without an image go to `bad`."""
    for stem in sorted(set(images) - set(masks)):
        bad.add(images[stem], "has no mask (no file of the same name among the masks)")
    for stem in sorted(set(masks) - set(images)):
        bad.add(masks[stem], "is a mask without an image (no file of the same name among the images)")
    for stem in listed or ():
        if stem not in images and stem not in masks:
            bad.add(stem, "is listed in ImageSets/Segmentation but has neither an image nor a mask")
    return [(images[s], masks[s]) for s in sorted(set(images) & set(masks))]


def _class_names(root):
    """The names of classes.txt (one a line) or labelmap.txt (`name:color:parts:actions`), or None."""
    for name in ("classes.txt", "labelmap.txt"):
        path = root / name
        if path.is_file():
            lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
            names = [line.split(":")[0].strip() for line in lines if line and not line.startswith("#")]
            if len(names) < 2:
                raise DataError(f"{path} names {len(names)} class(es): a segmentation needs at least 2, one a line.")
            if len(names) > IGNORE:
                raise DataError(f"{path} names {len(names)} classes; masks of bytes hold at most {IGNORE}.")
            return names
    return None


def check_mask(path, image_size, num_classes, cache_dir):
    """(a path TensorFlow reads as a gray PNG of indices, the largest class index), or why the mask is bad."""
    try:
        with Image.open(path) as mask:
            if mask.size != tuple(image_size):
                return f"is {mask.size[0]}x{mask.size[1]} but its image is {image_size[0]}x{image_size[1]}"
            if mask.mode not in ("P", "L"):
                return (
                    f"is a {mask.mode} image, not single-channel class indices: save it as a palette or 8-bit "
                    "gray PNG whose values are the classes"
                )
            values = np.asarray(mask)
            fmt, mode = mask.format, mask.mode
    except UnidentifiedImageError:
        return "not an image Pillow can read"
    except (OSError, ValueError, SyntaxError, EOFError) as error:
        return f"cannot be decoded ({error})"
    present = np.unique(values)
    present = present[present != IGNORE]
    top = int(present.max()) if present.size else 0
    if num_classes is not None and top >= num_classes:
        return f"holds class index {top}, past the {num_classes} classes of classes.txt (0 to {num_classes - 1})"
    if fmt == "PNG" and mode == "L":
        return str(path), top
    target = Path(cache_dir) / "converted-masks" / f"{_digest(path)}.png"
    if not target.exists():  # a palette (or non-PNG) mask: its indices as gray, which TensorFlow reads as they are
        write_atomic(target, lambda f: Image.fromarray(values.astype(np.uint8), "L").save(f, "PNG"))
    return str(target), top


def _digest(path):
    stat = path.stat()
    return hashlib.sha1(f"{path.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}".encode()).hexdigest()[:20]


def _examples(pairs, channels):
    """The pairs as Examples: paths in memory, each image and mask read when drawn (so that every training epoch
    can be a permutation of all of them)."""
    images = tf.constant([os.fsencode(image) for image, _ in pairs], tf.string, shape=[len(pairs)])
    masks = tf.constant([os.fsencode(mask) for _, mask in pairs], tf.string, shape=[len(pairs)])

    def read(image, mask):
        return decode_image(tf.io.read_file(image), channels), tf.io.decode_png(tf.io.read_file(mask), 1)[..., 0]

    return Examples((images, masks), read=read)
