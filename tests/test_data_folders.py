"""Image folders: every mode becomes the model's channels, every bad file is named, layouts and splits."""

import os
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from kerascnn.data import DataConfig, DataError, load_splits, verify
from kerascnn.data.folders import split_stratified
from pipelines import flags

RNG = np.random.default_rng(0)
# Smooth, like a photograph (JPEG's loss on noise is large and decoder-dependent), with a little noise.
RGB = np.clip(np.stack(np.mgrid[:120:10, :160:10], -1)[..., [0, 1, 0]] + RNG.integers(0, 8, (12, 16, 3)), 0, 255)
RGB = RGB.astype(np.uint8)
GRAY = RNG.integers(0, 256, (10, 9), dtype=np.uint8)


def write_good(folder):
    """One image of each mode Pillow writes, and what it should come out as in RGB."""
    folder.mkdir(parents=True, exist_ok=True)
    Image.fromarray(RGB).save(folder / "rgb.png")
    Image.fromarray(GRAY).save(folder / "gray.png")
    Image.fromarray(np.dstack([RGB, np.full((12, 16), 9, np.uint8)])).save(folder / "rgba.png")
    Image.fromarray(RGB).convert("P").save(folder / "palette.png")
    Image.fromarray(GRAY.astype(np.uint16) * 257).save(folder / "deep.png")  # 16-bit: v * 257 -> v
    Image.fromarray(RGB).convert("CMYK").save(folder / "cmyk.jpg", quality=100)
    Image.fromarray(RGB).save(folder / "photo.jpg", quality=95)
    frames = [Image.fromarray(RGB).convert("P"), Image.fromarray(255 - RGB).convert("P")]
    frames[0].save(folder / "animated.gif", save_all=True, append_images=frames[1:])
    Image.fromarray(RGB).save(folder / "scan.tiff")  # TensorFlow cannot decode TIFF: converted to PNG
    return {
        "rgb.png": RGB,
        "gray.png": np.repeat(GRAY[..., None], 3, -1),
        "rgba.png": RGB,
        "palette.png": np.asarray(Image.fromarray(RGB).convert("P").convert("RGB")),
        "deep.png": np.repeat(GRAY[..., None], 3, -1),
        "cmyk.jpg": RGB,
        "photo.jpg": RGB,
        "animated.gif": np.asarray(frames[0].convert("RGB")),
        "scan.tiff": RGB,
    }


def huge_png_header(path, width=100_000, height=100_000):
    """A PNG that declares 10^10 pixels and holds none: decoding it would allocate 30 GB."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b""))


def write_bad(folder):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "zero.jpg").write_bytes(b"")
    Image.fromarray(RGB).save(folder / "whole.jpg")
    (folder / "truncated.jpg").write_bytes((folder / "whole.jpg").read_bytes()[:300])
    (folder / "whole.jpg").unlink()
    Image.fromarray(RGB).save(folder / "whole.png")
    (folder / "truncated.png").write_bytes((folder / "whole.png").read_bytes()[:200])
    (folder / "whole.png").unlink()
    (folder / "notes.txt").write_text("not an image")
    huge_png_header(folder / "bomb.png")
    os.symlink(folder, folder / "loop")  # a folder that contains itself
    os.symlink(folder / "self.jpg", folder / "self.jpg")  # a link to itself
    (folder / ".DS_Store").write_bytes(b"\0junk")  # ignored, as dotfiles are
    return {"zero.jpg", "truncated.jpg", "truncated.png", "notes.txt", "bomb.png", "loop", "self.jpg"}


def config(root, tmp_path, **changes):
    return DataConfig(dataset=str(root), cache_dir=str(tmp_path / "cache"), **changes)


def decoded(dataset):
    return [(image, int(label)) for image, label in dataset.as_numpy_iterator()]


def test_every_mode_becomes_rgb_with_the_right_pixels(tmp_path):
    root = tmp_path / "data"
    expected = write_good(root / "train" / "cat")
    write_good(root / "train" / "dog")
    write_good(root / "val" / "cat")
    write_good(root / "val" / "dog")
    splits = load_splits(config(root, tmp_path), 32, 3)
    assert splits.class_names == ["cat", "dog"] and (splits.num_train, splits.num_val) == (18, 18)
    images = decoded(splits.train)
    names = sorted(expected)  # the files in sorted order, class after class
    assert [label for _, label in images] == [0] * 9 + [1] * 9
    for name, (image, _) in zip(names, images[:9]):
        want = expected[name]
        if name.endswith(".jpg"):  # lossy: compare with Pillow's decoding; libjpeg versions differ by a few levels
            want = np.asarray(Image.open(root / "train" / "cat" / name).convert("RGB"))
        assert image.dtype == np.uint8 and image.shape == want.shape, name
        error = np.abs(image.astype(int) - want)
        assert error.mean() <= 1 and error.max() <= (8 if name.endswith(".jpg") else 1), name


def test_grayscale_model_gets_one_channel(tmp_path):
    root = tmp_path / "data"
    write_good(root / "a")
    write_good(root / "b")
    splits = load_splits(config(root, tmp_path, val_split=0.2), 32, 1)
    shapes = {image.shape for image, _ in decoded(splits.train)}
    assert all(shape[-1] == 1 for shape in shapes) and (16 - 2 * 2) <= splits.num_train


def test_bad_files_fail_with_the_first_path_or_are_skipped_and_reported(tmp_path):
    root = tmp_path / "data"
    write_good(root / "train" / "cat")
    bad_names = write_bad(root / "train" / "cat")
    write_good(root / "train" / "dög with space")
    write_good(root / "val" / "cat")
    write_good(root / "val" / "dög with space")
    with pytest.raises(DataError) as error:
        load_splits(config(root, tmp_path), 32, 3)
    message = str(error.value)
    assert "\n" not in message and "data.on_bad_image=skip" in message and error.value.field == "data.on_bad_image"
    assert "--on-bad-image skip" in flags.speak(error.value, "train")  # what the command line prints
    assert str(root / "train" / "cat" / "bomb.png") in message  # the first bad file in sorted order
    assert f"and {len(bad_names) - 1} more" in message

    splits = load_splits(config(root, tmp_path, on_bad_image="skip"), 32, 3)
    reported = {os.path.basename(path): reason for path, reason in splits.bad_images}
    assert set(reported) == bad_names
    assert "bomb" in reported["bomb.png"] and "runcated" in reported["truncated.jpg"]
    assert "0 bytes" in reported["zero.jpg"] and "symlink loop" in reported["loop"]
    assert "not an image" in reported["notes.txt"]
    assert splits.num_train == 18 and len(decoded(splits.train)) == 18  # only the good ones, and all of them
    assert splits.class_names == ["cat", "dög with space"]
    assert "7 bad image(s)" in splits.bad_images.summary()


def test_checks_are_cached_and_redone_when_a_file_changes(tmp_path, monkeypatch):
    root = tmp_path / "data"
    write_good(root / "a")
    write_good(root / "b")
    load_splits(config(root, tmp_path, val_split=0.3), 16, 3)
    checked = []
    original = verify.check_image
    monkeypatch.setattr(verify, "check_image", lambda path, *args: checked.append(path.name) or original(path, *args))
    load_splits(config(root, tmp_path, val_split=0.3), 16, 3)
    assert checked == []
    (root / "a" / "rgb.png").write_bytes(b"now broken")
    os.utime(root / "a" / "rgb.png", ns=(1, 1))
    with pytest.raises(DataError, match="rgb.png"):
        load_splits(config(root, tmp_path, val_split=0.3), 16, 3)
    assert checked == ["rgb.png"]


def test_val_split_is_stratified_and_seeded(tmp_path):
    root = tmp_path / "data"
    for name in ("x", "y"):
        (root / name).mkdir(parents=True)
        for i in range(10):
            Image.fromarray(np.full((4, 4), i * 20, np.uint8)).save(root / name / f"{i}.png")
    first = load_splits(config(root, tmp_path, val_split=0.2), 4, 1, seed=1)
    again = load_splits(config(root, tmp_path, val_split=0.2), 4, 1, seed=1)
    other = load_splits(config(root, tmp_path, val_split=0.2), 4, 1, seed=2)
    assert (first.num_train, first.num_val) == (16, 4)
    val = decoded(first.val)
    assert sorted(label for _, label in val) == [0, 0, 1, 1]
    as_set = lambda splits: {(int(x[0, 0, 0]), y) for x, y in decoded(splits.val)}
    assert as_set(first) == as_set(again) and as_set(first) != as_set(other)
    train = {(int(x[0, 0, 0]), y) for x, y in decoded(first.train)}
    assert not train & as_set(first) and len(train | as_set(first)) == 20


def test_split_stratified_keeps_one_of_each_side():
    files = [("a", 0), ("b", 0), ("c", 1)]
    train, val = split_stratified(files, 0.01, seed=0)
    assert len(val) == 1 and ("c", 1) in train  # a class of one stays in training


@pytest.mark.parametrize(
    "layout, match",
    [
        ({}, "has no class subfolders"),
        ({"only": 3}, "at least 2 class"),
        ({"a": 3, "b": 0}, "has no usable images"),
        ({"train/a": 2, "train/b": 2, "val/a": 1, "validation/a": 1}, "both val/ and validation/"),
        ({"train/a": 2, "train/b": 2, "val/a": 1, "val/c": 1}, "lacks: 'c'"),
    ],
)
def test_folder_layout_errors(tmp_path, layout, match):
    root = tmp_path / "data"
    root.mkdir()
    for folder, count in layout.items():
        (root / folder).mkdir(parents=True)
        for i in range(count):
            Image.fromarray(GRAY).save(root / folder / f"{i}.png")
    with pytest.raises(DataError, match=match):
        load_splits(config(root, tmp_path), 8, 1)


def test_empty_class_is_left_out_with_skip(tmp_path):
    root = tmp_path / "data"
    for folder, count in {"a": 3, "b": 0, "c": 3}.items():
        (root / folder).mkdir(parents=True)
        for i in range(count):
            Image.fromarray(GRAY).save(root / folder / f"{i}.png")
    splits = load_splits(config(root, tmp_path, on_bad_image="skip", val_split=0.3), 8, 1)
    assert splits.class_names == ["a", "c"] and {y for _, y in decoded(splits.train)} == {0, 1}
    assert [os.path.basename(p) for p, _ in splits.bad_images] == ["b"]


def test_max_image_pixels_is_ours_to_set(tmp_path):
    root = tmp_path / "data"
    write_good(root / "a")
    write_good(root / "b")
    with pytest.raises(DataError, match=r"declares 16x12 pixels, over data.max_image_pixels \(100\)"):
        load_splits(config(root, tmp_path, max_image_pixels=100), 8, 3)


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="No folder"):
        load_splits(config(tmp_path / "nowhere", tmp_path), 8, 1)
