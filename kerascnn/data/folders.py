"""A folder of images as a dataset: one subfolder per class (torchvision's ImageFolder layout), or `train/` and
`val/` (or `validation/`) folders of class subfolders, and a `test/` one beside them if there is a test split (it is
reported, never used to choose anything).

Class names are the subfolder names, sorted; files are found recursively inside each class folder (following
symbolic links, each directory once) and taken in sorted order, so the order and the validation split depend
only on the files and the seed. Dotfiles and the desktop's Thumbs.db / desktop.ini are ignored; every other
file must decode (verify.py), or it is reported by path: `on_bad_image="fail"` stops with its name, "skip" leaves
it out and lists it in `Splits.bad_images`. Any size and mode becomes the model's channels (transforms.to_channels:
gray is repeated, alpha dropped, CMYK converted, 16-bit reduced to 8, a GIF's first frame kept).
"""

import os
import stat
from pathlib import Path

import numpy as np
import tensorflow as tf

from kerascnn.data.config import DataError
from kerascnn.data.splits import BadImages, Examples, Splits, stratified_holdout
from kerascnn.data.transforms import decode_image
from kerascnn.data.verify import check_files
from kerascnn.errors import Mention, Message

IGNORED = {"thumbs.db", "desktop.ini"}
SKIP_HINT = Message("or leave such files out with ", Mention("data.on_bad_image", "skip"))


def folder_splits(config, channels, seed=0):
    root = Path(config.dataset).expanduser()
    if not root.is_dir():
        raise DataError(
            f"No folder {str(root)!r}: give an existing folder of class subfolders, or a dataset name.",
            field="data.dataset",
        )
    train_root, val_root, test_root = _layout(root)
    class_names = sorted(entry.name for entry in _subfolders(train_root))
    unprintable = [name for name in class_names if not name.isprintable()]
    if unprintable:  # a newline would split the exported labels.txt, one class name a line
        raise DataError(
            f"{train_root} has a class folder named {unprintable[0]!r}, with a control character: rename it."
        )
    if not class_names:
        raise DataError(f"{train_root} has no class subfolders: put each class's images in a subfolder named for it.")
    bad = BadImages()
    train = _list_files(train_root, class_names, bad)
    val = _list_files(val_root, class_names, bad) if val_root else []
    test = _list_files(test_root, class_names, bad) if test_root else []
    for other in (val_root, test_root):
        extra = sorted({e.name for e in _subfolders(other)} - set(class_names)) if other else []
        if extra:
            raise DataError(f"{other} has class folders that {train_root} lacks: {', '.join(map(repr, extra))}.")

    checks = check_files(
        [path for path, _ in train + val + test],
        root=root,
        max_pixels=config.max_image_pixels,
        cache_dir=config.cache_dir,
    )
    for path, check in checks.items():
        if check.error:
            bad.add(path, check.error)
    bad.entries.sort()  # file order, whether the listing or the decoding found the fault
    if bad and config.on_bad_image == "fail":
        path, reason = bad.entries[0]
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        message = (f"Bad image {path}: {reason}{more}. Remove or fix it, ", SKIP_HINT, ".")
        raise DataError(*message, field="data.on_bad_image")

    def usable(files):
        return [(checks[p].converted or str(p), label) for p, label in files if not checks[p].error]

    train, val, test = usable(train), usable(val), usable(test)
    train, val, class_names, keep = _drop_empty_classes(train, val, class_names, train_root, bad, config.on_bad_image)
    test = keep(test)
    if len(class_names) < 2:
        found = ", ".join(class_names) or "none"
        raise DataError(
            f"{train_root} has images of {len(class_names)} class(es) ({found}); a classifier needs at "
            "least 2 class subfolders."
        )
    if not val_root:
        if config.val_split <= 0:
            raise DataError(
                f"{root} has no val/ folder and ",
                Mention("data.val_split"),
                " is 0: give a fraction to hold out (",
                Mention("data.val_split", 0.1),
                ") or add train/ and val/ folders.",
                field="data.val_split",
            )
        train, val = split_stratified(train, config.val_split, seed)
    if not val:
        raise DataError(f"{val_root or root} gives no usable validation images: add some to each class folder.")
    layout = "train/ and val/" if val_root else f"{config.val_split:g} held out"
    test = usable(test)
    train_examples = _examples(train, channels)
    return Splits(
        train=train_examples.dataset(),
        val=_examples(val, channels).dataset(),
        test=_examples(test, channels).dataset() if test else None,
        class_names=class_names,
        num_train=len(train),
        num_val=len(val),
        num_test=len(test),
        source=f"folder {root} ({layout}): {len(train)} / {len(val)} images" + (f", {len(test)} test" if test else ""),
        bad_images=bad,
        train_examples=train_examples,
    )


def _layout(root):
    """(train, val or None, test or None) folders: `train/` and `val/` (or `validation/`), and `test/` if there is
    one, else the root itself as the training folder."""
    names = {entry.name for entry in _subfolders(root)}
    val = [name for name in ("val", "validation") if name in names]
    test = root / "test" if "test" in names else None
    if "train" not in names or not (val or test):
        return root, None, None
    if len(val) == 2:
        raise DataError(f"{root} has both val/ and validation/ folders: keep one.")
    return root / "train", (root / val[0] if val else None), test


def _subfolders(folder):
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as error:
        raise DataError(f"Cannot list {folder}: {error.strerror or error}.") from None
    return [e for e in entries if not e.name.startswith(".") and _is_dir(e)]


def _is_dir(entry):
    try:
        return entry.is_dir()
    except OSError:  # a symlink loop: reported when the files are listed
        return False


def _list_files(root, class_names, bad):
    """[(path, label)] of every candidate file under root/<class>/, in sorted order; what cannot even be listed
    (symlink loops, broken links, sockets) goes to `bad`. A missing class folder contributes nothing."""
    files = []
    for label, name in enumerate(class_names):
        folder = root / name
        if folder.is_dir():
            files += [(path, label) for path in _walk(folder, bad, set())]
    return files


def _walk(folder, bad, seen):
    info = os.stat(folder)
    seen.add((info.st_dev, info.st_ino))
    for path, info in entries(folder, bad):
        if stat.S_ISDIR(info.st_mode):
            if (info.st_dev, info.st_ino) in seen:
                bad.add(path, "symlink loop: links back to a folder already listed")
            else:
                yield from _walk(path, bad, seen)
        elif stat.S_ISREG(info.st_mode):
            yield path
        else:
            bad.add(path, "not a regular file")


def entries(folder, bad):
    """(path, os.stat of it, links followed) of each entry of `folder` a dataset may hold, in name order. Dotfiles
    and the desktop's Thumbs.db / desktop.ini are left out; what cannot be listed or read, and names that are not
    UTF-8 (TensorFlow takes UTF-8 paths only), go to `bad`."""
    try:
        listed = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as error:  # no permission to list it
        bad.add(folder, f"cannot be listed ({error.strerror or error})")
        return
    for entry in listed:
        path = Path(entry.path)
        if entry.name.startswith(".") or entry.name.lower() in IGNORED:
            continue
        try:
            entry.name.encode("utf-8")
        except UnicodeEncodeError:
            bad.add(ascii(entry.path), "the file name is not valid UTF-8: rename it")
            continue
        try:
            info = os.stat(path)
        except OSError as error:
            bad.add(path, f"cannot be read ({error.strerror or error})")  # broken link or a link to itself
            continue
        yield path, info


def _drop_empty_classes(train, val, class_names, train_root, bad, policy):
    counts = np.bincount([label for _, label in train], minlength=len(class_names))
    empty = [name for name, count in zip(class_names, counts) if count == 0]
    if not empty:
        return train, val, class_names, lambda files: files
    if policy == "fail":
        raise DataError(
            f"Class folder {train_root / empty[0]} has no usable images: add some or remove it, ",
            SKIP_HINT,
            ".",
            field="data.on_bad_image",
        )
    for name in empty:
        bad.add(train_root / name, "class folder without usable images: class left out")
    kept = [name for name in class_names if name not in empty]
    relabel = {class_names.index(name): new for new, name in enumerate(kept)}
    keep = lambda files: [(p, relabel[label]) for p, label in files if label in relabel]
    return keep(train), keep(val), kept, keep


def split_stratified(files, fraction, seed):
    """Holds out `fraction` of each class's files (at least one, never all), drawn with `seed`; both parts stay
    in file order."""
    held = stratified_holdout([label for _, label in files], fraction, seed)
    return [f for f, h in zip(files, held) if not h], [f for f, h in zip(files, held) if h]


def _examples(files, channels):
    """The files as Examples: paths and labels in memory, each image read and decoded when it is drawn."""
    paths = tf.constant([os.fsencode(path) for path, _ in files], tf.string, shape=[len(files)])
    labels = np.array([label for _, label in files], np.int64)

    def read(path, label):
        return decode_image(tf.io.read_file(path), channels), label

    return Examples((paths, labels), read=read)
