"""The MNIST family from its IDX files: MNIST, Fashion-MNIST, KMNIST and EMNIST, offline and in memory.

IDX (LeCun et al.'s format for MNIST, which the others copied) is a big-endian header and raw bytes: a magic
number whose third byte is the element type (0x08: unsigned byte) and whose fourth is the number of dimensions,
one 32-bit size per dimension, then the data. A set is four files, `train-images-idx3-ubyte`,
`train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte` and `t10k-labels-idx1-ubyte` (gzipped or not; EMNIST's carry
a prefix such as `emnist-byclass-`). The header is the check: a set is decoded into memory once, whole, with no
per-image work.

The split is the published benchmarks': the test images are the test split and choose nothing; validation is
held out of the training images (`data.val_split`, stratified, drawn with the run's seed).
"""

import gzip
import os
import re
import string
import zlib
from pathlib import Path

import numpy as np

from kerascnn.data.config import DataError
from kerascnn.data.splits import Examples, Splits, stratified_holdout
from kerascnn.data.transforms import to_channels
from kerascnn.errors import Mention

# The class names of the known sets, in label order (those of torchvision's and tensorflow-datasets' loaders).
FASHION_MNIST = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
DIGITS = tuple(string.digits)
KMNIST = ("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo")  # Clanuwat et al. 2018, Table 1
# EMNIST (Cohen et al. 2017): byclass has every digit and letter; bymerge and balanced merge the 15 letters whose
# cases look alike; letters labels 1 to 26, 0 unused (torchvision names it "N/A").
_MERGED = DIGITS + tuple(string.ascii_uppercase) + tuple("abdefghnqrt")
EMNIST = {
    "byclass": DIGITS + tuple(string.ascii_uppercase) + tuple(string.ascii_lowercase),
    "bymerge": _MERGED,
    "balanced": _MERGED,
    "letters": ("N/A", *string.ascii_lowercase),
    "digits": DIGITS,
    "mnist": DIGITS,
}
CLASS_NAMES = {"mnist": DIGITS, "fashion_mnist": FASHION_MNIST, "kmnist": KMNIST}
CLASS_NAMES.update({f"emnist/{split}": names for split, names in EMNIST.items()})

# Where Debian's packages put the files (`apt-get install dataset-fashion-mnist`).
SYSTEM_FOLDERS = {"fashion_mnist": ("/usr/share/datasets/fashion-mnist",)}

ROLES = {
    ("train", "images"): r"train-images[-.]idx3-ubyte",
    ("train", "labels"): r"train-labels[-.]idx1-ubyte",
    ("test", "images"): r"(t10k|test)-images[-.]idx3-ubyte",
    ("test", "labels"): r"(t10k|test)-labels[-.]idx1-ubyte",
}
UNSIGNED_BYTE = 0x08
MAX_DIMS = 4


def is_idx_name(name):
    """Whether `name` is an MNIST-family dataset this module knows by name (fashion_mnist, emnist/letters, ...)."""
    return name in CLASS_NAMES


def find_files(folder, prefix=""):
    """{(split, kind): path} of the four IDX files in `folder`, or None when it holds none of them. `prefix`
    picks one of several sets in one folder (EMNIST's `emnist-letters-`)."""
    folder = Path(folder).expanduser()
    try:
        names = sorted(entry.name for entry in os.scandir(folder) if entry.is_file())
    except OSError:
        return None
    found = {}
    for role, pattern in ROLES.items():
        matches = [n for n in names if re.fullmatch(re.escape(prefix) + r"(.*-)?" + pattern + r"(\.gz)?", n)]
        if len(matches) > 1:
            sets = sorted({re.sub(pattern + r"(\.gz)?$", "", n) or "(no prefix)" for n in matches})
            if len(sets) > 1:
                raise DataError(
                    f"{folder} holds several IDX sets ({', '.join(sets)}): give one, e.g. ",
                    Mention("data.dataset", "emnist/letters"),
                    " ",
                    Mention("data.data_dir", folder),
                    ", or keep one set a folder.",
                    field="data.dataset",
                )
            matches = [min(matches, key=len)]  # the same file, gzipped and not: the uncompressed one
        if matches:
            found[role] = folder / matches[0]
    if not found:
        return None
    missing = [f"{split} {kind}" for split, kind in ROLES if (split, kind) not in found]
    if missing:
        raise DataError(
            f"{folder} holds IDX files but not the {', '.join(missing)}: an IDX set is four files "
            "(train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte).",
            field="data.dataset",
        )
    return found


def read_idx(path):
    """The array an IDX file holds (uint8, its shape from the header). Raises DataError naming the file when the
    magic number, the type, the sizes or the length are wrong."""
    path = Path(path)
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as stream:
                data = stream.read()
        else:
            data = path.read_bytes()
    except (OSError, EOFError, zlib.error) as error:
        reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
        raise DataError(f"Cannot read IDX file {path}: {reason}. Download it again.") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise DataError(f"{path} is not an IDX file (its magic number is {data[:4].hex() or 'missing'}).")
    kind, dims = data[2], data[3]
    if kind != UNSIGNED_BYTE:
        raise DataError(f"{path} holds IDX type 0x{kind:02x}; the MNIST family's files hold unsigned bytes (0x08).")
    if not 1 <= dims <= MAX_DIMS:
        raise DataError(f"{path} declares {dims} dimensions; an IDX image or label file has 1 to {MAX_DIMS}.")
    header = 4 + 4 * dims
    if len(data) < header:
        raise DataError(f"{path} is truncated: its header ends after {len(data)} of {header} bytes.")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims))
    expected = header + int(np.prod(shape, dtype=np.int64))
    if len(data) != expected:
        state = "truncated" if len(data) < expected else "longer than its header says"
        raise DataError(
            f"{path} is {state}: {len(data)} bytes where its header ({'x'.join(map(str, shape))}) needs "
            f"{expected}. Download it again."
        )
    return np.frombuffer(data, np.uint8, offset=header).reshape(shape)


def read_set(files, num_classes=None):
    """{"train": (images [N, H, W, 1], labels [N]), "test": ...} from the four files of `find_files`, checked:
    images of rank 3 with a label each, labels below `num_classes` when the set's classes are known."""
    out = {}
    for split in ("train", "test"):
        images, labels = read_idx(files[split, "images"]), read_idx(files[split, "labels"])
        if images.ndim != 3:
            raise DataError(f"{files[split, 'images']} holds an array of rank {images.ndim}; images are N x H x W.")
        if labels.ndim != 1:
            raise DataError(f"{files[split, 'labels']} holds an array of rank {labels.ndim}; labels are one a image.")
        if len(images) != len(labels):
            raise DataError(
                f"{files[split, 'images']} holds {len(images)} images but {files[split, 'labels']} holds "
                f"{len(labels)} labels: the two files are of different sets."
            )
        if num_classes is not None and len(labels) and labels.max() >= num_classes:
            raise DataError(
                f"{files[split, 'labels']} has label {labels.max()}, past the set's {num_classes} classes: "
                "it is not this set's label file."
            )
        out[split] = (images[..., None], labels.astype(np.int64))
    return out


def guess_set(folder, files):
    """The known set a folder's files are (by EMNIST's file prefix, else the folder's name), or None."""
    name = files["train", "images"].name
    emnist = re.match(r"emnist-(\w+?)-train", name)
    if emnist and f"emnist/{emnist.group(1)}" in CLASS_NAMES:
        return f"emnist/{emnist.group(1)}"
    label = Path(folder).expanduser().resolve().name.lower().replace("-", "_")
    for known in ("fashion_mnist", "kmnist", "mnist"):  # fashion_mnist and kmnist contain "mnist": first
        if known in label:
            return known
    return None


def locate(name, data_dir=None):
    """The folder holding the IDX files of the known set `name`: data_dir (or its subfolder named for the set),
    else where Debian's package puts them; None where neither has them."""
    base, _, split = name.partition("/")
    candidates = []
    if data_dir:
        root = Path(data_dir).expanduser()
        candidates += [root / name.replace("/", "-"), root / base, root / base.replace("_", "-"), root]
    candidates += [Path(p) for p in SYSTEM_FOLDERS.get(name, ())]
    prefix = f"emnist-{split}-" if base == "emnist" else ""
    for folder in candidates:
        if folder.is_dir() and find_files(folder, prefix):
            return folder, prefix
    return None


def idx_splits(config, channels, seed=0, *, folder, prefix="", name=None):
    """Splits of the IDX set in `folder` (its files named `prefix`...: `find_files`), the known set `name` if it
    is one (kerascnn.data.sources.idx_set finds both)."""
    files = find_files(folder, prefix)
    if files is None:
        raise DataError(f"{folder} holds no IDX files.", field="data.dataset")
    name = name or guess_set(folder, files)
    names = CLASS_NAMES.get(name)
    arrays = read_set(files, len(names) if names else None)
    (train_x, train_y), (test_x, test_y) = arrays["train"], arrays["test"]
    if name and name.startswith("emnist/"):
        # EMNIST's files hold each image transposed (as tensorflow-datasets' and the paper's loaders note).
        train_x, test_x = train_x.transpose(0, 2, 1, 3), test_x.transpose(0, 2, 1, 3)
    if names is None:
        count = int(max(train_y.max(initial=0), test_y.max(initial=0))) + 1
        names = tuple(f"class_{i}" for i in range(count))
    if config.val_split <= 0:
        raise DataError(
            f"{folder}: the validation split is held out of the training images and ",
            Mention("data.val_split"),
            " is 0; give a fraction (",
            Mention("data.val_split", 0.1),
            "). The test images never choose anything.",
            field="data.val_split",
        )
    held = stratified_holdout(train_y, config.val_split, seed)
    train = _in_memory(train_x[~held], train_y[~held], channels)
    val = _in_memory(train_x[held], train_y[held], channels)
    test = _in_memory(test_x, test_y, channels)
    title = name or Path(folder).name
    return Splits(
        train=train.dataset(),
        val=val.dataset(),
        test=test.dataset(),
        class_names=list(names),
        num_train=len(train),
        num_val=len(val),
        num_test=len(test),
        source=f"{title} IDX files in {folder} ({config.val_split:g} of train held out): {len(train)} / "
        f"{len(val)} images, {len(test)} test",
        in_memory=True,
        train_examples=train,
    )


def _in_memory(images, labels, channels):
    if channels != 1:
        images = to_channels(images, channels).numpy()  # gray repeated: done once, not at every step
    return Examples((np.ascontiguousarray(images), labels))


def missing_message(name, data_dir):
    """The one line for a known set found neither prepared by tensorflow-datasets nor as IDX files."""
    base = name.split("/")[0]
    where = [str(Path(data_dir).expanduser())] if data_dir else []
    where += list(SYSTEM_FOLDERS.get(name, ()))
    debian = " (Debian: apt-get install dataset-fashion-mnist)" if name in SYSTEM_FOLDERS else ""
    return (
        f"{name} is neither a prepared tensorflow-datasets copy nor IDX files in {' or '.join(where) or 'a folder'}: "
        f"put its four IDX files in a folder and give --data-dir FOLDER{debian}, or prepare it with "
        f"`tfds build {base}` on a machine with network."
    )


def example_image(reference, data_dir=None):
    """The uint8 image [H, W] that `reference` names, "NAME:SPLIT:INDEX" (e.g. "fashion_mnist:test:0"; SPLIT train
    or test), and its class name; None when `reference` is not of that form with a known set's name."""
    match = re.fullmatch(r"([\w/]+):(train|test):(\d+)", reference)
    if not match or not is_idx_name(match.group(1)):
        return None
    name, split, index = match.group(1), match.group(2), int(match.group(3))
    found = locate(name, data_dir)
    if found is None:
        raise DataError(missing_message(name, data_dir), field="data.dataset")
    files = find_files(*found)
    images, labels = read_idx(files[split, "images"]), read_idx(files[split, "labels"])
    if index >= len(images):
        raise DataError(f"{reference}: the {split} split of {name} has {len(images)} images (0 to {len(images) - 1}).")
    image = images[index].T if name.startswith("emnist/") else images[index]
    return image, CLASS_NAMES[name][labels[index]]
