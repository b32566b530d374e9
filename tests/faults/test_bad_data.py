"""Bad data, kind by kind: each file is either used correctly, or skipped and reported by path
(`--on-bad-image skip`) and named in a one-line error otherwise (`fail`); each bad dataset gives one clear line."""

import io
import os
import struct
import zlib

import numpy as np
import pytest
from harness import survive
from PIL import Image

from kerascnn.data import DataConfig, DataError, load_splits
from pipelines import flags

RNG = np.random.default_rng(0)


def rgb(height=20, width=24):
    return RNG.integers(0, 256, (height, width, 3), dtype=np.uint8)


def good_classes(root, classes=("cat", "dog"), per_class=3):
    for name in classes:
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            Image.fromarray(rgb()).save(root / name / f"good{i}.png")


def jpeg_bytes(mode="RGB"):
    buffer = io.BytesIO()
    Image.fromarray(rgb()).convert(mode).save(buffer, format="JPEG")
    return buffer.getvalue()


def png_bytes():
    buffer = io.BytesIO()
    Image.fromarray(rgb()).save(buffer, format="PNG")
    return buffer.getvalue()


def bomb_png():
    """A valid PNG header declaring 100,000 x 100,000 pixels, with one tiny compressed row: an image bomb."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 0, 0, 0, 0)
    body = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 10)) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


def write(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


# Files that must be left out (skip) or named (fail): name -> (how to make it in a class folder, its name).
BAD_FILES = {
    "non-image file": (lambda p: write(p / "cat" / "notes.txt", b"not an image"), "notes.txt"),
    "truncated JPEG": (lambda p: write(p / "cat" / "cut.jpg", jpeg_bytes()[:300]), "cut.jpg"),
    "zero-byte JPEG": (lambda p: write(p / "cat" / "empty.jpg", b""), "empty.jpg"),
    "truncated PNG": (lambda p: write(p / "cat" / "cut.png", png_bytes()[:100]), "cut.png"),
    "zero-byte PNG": (lambda p: write(p / "cat" / "empty.png", b""), "empty.png"),
    "image bomb (100000x100000 declared)": (lambda p: write(p / "cat" / "bomb.png", bomb_png()), "bomb.png"),
    "JPEG header, garbage body": (
        lambda p: write(p / "cat" / "garbage.jpg", b"\xff\xd8\xff\xe0" + os.urandom(500)),
        "garbage.jpg",
    ),
    "dangling symbolic link": (lambda p: os.symlink(p / "nowhere.png", p / "cat" / "dangling.png"), "dangling.png"),
    "symbolic link to itself": (lambda p: os.symlink(p / "cat" / "self.png", p / "cat" / "self.png"), "self.png"),
    "symbolic link loop (a folder inside itself)": (lambda p: os.symlink(p / "cat", p / "cat" / "loop"), "loop"),
    "non-UTF-8 file name": (
        lambda p: write(p / "cat" / os.fsdecode(b"bad\xffname.png"), png_bytes()),
        "bad\\udcffname.png",
    ),
}


@pytest.mark.parametrize("kind", list(BAD_FILES))
@pytest.mark.parametrize("policy", ["skip", "fail"])
def test_bad_file_is_skipped_and_reported_or_named(kind, policy, tmp_path):
    good_classes(tmp_path)
    make, name = BAD_FILES[kind]
    make(tmp_path)
    config = DataConfig(dataset=str(tmp_path), on_bad_image=policy, cache_dir=str(tmp_path / ".cache"))
    if policy == "fail":
        with pytest.raises(DataError) as error:
            load_splits(config, 16, 3)
        message = str(error.value)
        survived = "\n" not in message and "Bad image" in message and str(tmp_path) in message and name in message
        # The library names the field; the command line says it as the flag the user types.
        survived &= "data.on_bad_image=skip" in message and error.value.field == "data.on_bad_image"
        survived &= "--on-bad-image skip" in flags.speak(error.value, flags.TRAIN)
    else:
        splits = load_splits(config, 16, 3)
        reported = [path for path, _ in splits.bad_images]
        survived = splits.num_train + splits.num_val == 6 and len(reported) == 1 and name in reported[0]
    happened = message if policy == "fail" else f"{splits.num_train + splits.num_val} images kept, reported {reported}"
    survive(f"bad file ({policy}): {kind}", survived, happened)


def _image(mode, **save):
    def make(p):
        image = Image.fromarray(rgb(30, 28)).convert(mode)
        write(p / "cat" / f"odd.{save.pop('ext', 'png')}", b"")
        image.save(p / "cat" / next(iter((p / "cat").glob("odd.*"))).name, **save)

    return make


def _sixteen_bit(p):
    (p / "cat").mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((10, 12), 65535, np.uint16)).save(p / "cat" / "deep.png")  # white, 16 bits a pixel


def _animated_gif(p):
    frames = [Image.fromarray(np.full((8, 8, 3), value, np.uint8)) for value in (10, 200, 90)]
    frames[0].save(p / "cat" / "moving.gif", save_all=True, append_images=frames[1:], duration=50, loop=0)


def _rotated_jpeg(p):
    image = Image.fromarray(rgb(10, 30))
    exif = image.getexif()
    exif[0x0112] = 6  # orientation: rotate 90
    image.save(p / "cat" / "rotated.jpg", exif=exif)


def _nested(p):
    write(p / "cat" / "2024" / "june" / "deep.png", png_bytes())


def _misnamed(p):
    write(p / "cat" / "really_a_jpeg.png", jpeg_bytes())


def _tiny(p):
    Image.fromarray(rgb(1, 1)).save(p / "cat" / "dot.png")


def _large(p):
    Image.fromarray(np.zeros((3000, 2000, 3), np.uint8)).save(p / "cat" / "large.jpg")


def _hidden(p):
    write(p / "cat" / ".DS_Store", b"\0\0\0\1Bud1")
    write(p / "cat" / "Thumbs.db", b"\xd0\xcf\x11\xe0")


# Files that must be used, and decoded as the image they are: name -> (maker, images added).
USED_FILES = {
    "grayscale PNG": (_image("L"), 1),
    "RGBA PNG": (_image("RGBA"), 1),
    "palette PNG": (_image("P"), 1),
    "gray + alpha PNG": (_image("LA"), 1),
    "CMYK JPEG": (_image("CMYK", ext="jpg", format="JPEG"), 1),
    "grayscale JPEG": (_image("L", ext="jpg", format="JPEG"), 1),
    "BMP": (_image("RGB", ext="bmp", format="BMP"), 1),
    "TIFF": (_image("RGB", ext="tif", format="TIFF"), 1),
    "WebP": (_image("RGB", ext="webp", format="WEBP"), 1),
    "16-bit PNG": (_sixteen_bit, 1),
    "animated GIF (first frame)": (_animated_gif, 1),
    "EXIF-rotated JPEG": (_rotated_jpeg, 1),
    "image in a nested subfolder": (_nested, 1),
    "JPEG named .png": (_misnamed, 1),
    "1x1 image": (_tiny, 1),
    "3000x2000 image": (_large, 1),
    "hidden files and Thumbs.db (ignored)": (_hidden, 0),
}


@pytest.mark.parametrize("kind", list(USED_FILES))
def test_unusual_file_is_used(kind, tmp_path):
    good_classes(tmp_path)
    make, added = USED_FILES[kind]
    make(tmp_path)
    config = DataConfig(dataset=str(tmp_path), val_split=0.5, cache_dir=str(tmp_path / ".cache"))
    splits = load_splits(config, 16, 3)
    images = [(image.numpy(), int(label)) for split in (splits.train, splits.val) for image, label in split]
    survived = len(images) == 6 + added and not splits.bad_images
    survived &= all(image.dtype == np.uint8 and image.ndim == 3 and image.shape[-1] == 3 for image, _ in images)
    if kind == "16-bit PNG":  # white at 16 bits is white at 8
        survived &= any(image.shape[:2] == (10, 12) and image.min() == 255 for image, _ in images)
    if kind == "animated GIF (first frame)":
        survived &= any(image.shape[:2] == (8, 8) and image.max() == 10 for image, _ in images)
    survive(f"unusual file used: {kind}", survived, [(image.shape, image.dtype, label) for image, label in images])


def _file_not_folder(p):
    write(p / "file.png", png_bytes())
    return p / "file.png"


def _empty(p):
    p.mkdir(exist_ok=True)
    return p


def _empty_classes(p):
    (p / "cat").mkdir(parents=True)
    (p / "dog").mkdir()
    return p


def _one_class(p):
    good_classes(p, classes=("cat",))
    return p


def _only_bad(p):
    good_classes(p)
    for image in (p / "dog").iterdir():
        image.write_bytes(b"broken")
    return p


def _val_extra_class(p):
    good_classes(p / "train")
    good_classes(p / "val", classes=("cat", "dog", "bird"))
    return p


def _val_empty(p):
    good_classes(p / "train")
    (p / "val" / "cat").mkdir(parents=True)
    return p


def _val_twice(p):
    good_classes(p / "train")
    good_classes(p / "val")
    good_classes(p / "validation")
    return p


def _control_character(p):
    good_classes(p, classes=("cat", "dog\nfish"))
    return p


# Datasets that cannot be used at all: name -> (maker returning the dataset, fragment of the one-line error).
BAD_DATASETS = {
    "missing folder": (lambda p: p / "nowhere" / "", "No folder"),
    "a file, not a folder": (_file_not_folder, "No folder"),
    "empty folder": (_empty, "no class subfolders"),
    "class folders without images": (_empty_classes, "needs at least 2"),
    "one class only": (_one_class, "needs at least 2"),
    "every image of a class bad (skip)": (_only_bad, "needs at least 2"),
    "val/ with a class train/ lacks": (_val_extra_class, "bird"),
    "val/ without images": (_val_empty, "no usable validation images"),
    "both val/ and validation/": (_val_twice, "keep one"),
    "class name with a control character": (_control_character, "control character"),
    "tfds name that does not exist": (lambda p: "no_such_dataset_at_all", "no_such_dataset_at_all"),
    "tfds dataset not prepared offline": (lambda p: "cifar10", "not prepared"),
    "MNIST-family set neither prepared nor found as IDX files": (
        lambda p: "kmnist",
        "neither a prepared tensorflow-datasets copy nor IDX files",
    ),
}


@pytest.mark.parametrize("kind", list(BAD_DATASETS))
def test_bad_dataset_gives_one_clear_line(kind, tmp_path):
    make, fragment = BAD_DATASETS[kind]
    dataset = make(tmp_path / "data")
    config = DataConfig(
        dataset=str(dataset), data_dir=str(tmp_path / "tfds"), on_bad_image="skip", cache_dir=str(tmp_path / ".cache")
    )
    with pytest.raises(DataError) as error:
        load_splits(config, 16, 3)
    message = str(error.value)
    survived = "\n" not in message and fragment in message
    survive(f"bad dataset: {kind}", survived, message)


def test_unicode_and_spaces_in_class_names(tmp_path):
    good_classes(tmp_path, classes=("chat noir", "猫", "ñandú"))
    splits = load_splits(DataConfig(dataset=str(tmp_path), cache_dir=str(tmp_path / ".cache")), 16, 3)
    survived = splits.class_names == sorted(["chat noir", "猫", "ñandú"]) and splits.num_train + splits.num_val == 9
    happened = f"classes {splits.class_names}, {splits.num_train + splits.num_val} images"
    survive("unicode and spaces in class names", survived, happened)
