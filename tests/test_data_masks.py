"""Sources of images with masks: folders in the VOC and images/masks layouts, every bad case, and tfds masks."""

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from kerascnn.data import DataConfig, DataError, load_splits
from kerascnn.data.dense import IGNORE
from kerascnn.data.splits import Splits


def load(root, tmp_path, **config):
    options = dict(dataset=str(root), cache_dir=str(tmp_path / "cache"), **config)
    return load_splits(DataConfig(**options), 32, 3, task="segmentation")


def pairs(split):
    return [(image, mask) for image, mask in split.as_numpy_iterator()]


def picture(path, size=(12, 10), seed=0):
    """An RGB picture of `size` (width, height): JPEG or PNG by the suffix."""
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), np.uint8)).save(path)


def mask_image(path, values, mode="L"):
    """A mask PNG of class indices: "L" gray, or "P" with VOC-like colours (what TensorFlow would decode to RGB)."""
    image = Image.fromarray(np.asarray(values, np.uint8), "L")
    if mode == "P":
        image = image.convert("P")
        image.putpalette([(i * 37) % 256 for i in range(768)])
        image.frombytes(np.asarray(values, np.uint8).tobytes())
    elif mode != "L":
        image = image.convert(mode)
    image.save(path)


def voc(root, stems=("a", "b", "c", "d"), val=("d",)):
    (root / "JPEGImages").mkdir(parents=True)
    (root / "SegmentationClass").mkdir()
    (root / "ImageSets" / "Segmentation").mkdir(parents=True)
    masks = {}
    for i, stem in enumerate(stems):
        picture(root / "JPEGImages" / f"{stem}.jpg", seed=i)
        values = np.full((10, 12), i % 3, np.uint8)
        values[0] = IGNORE  # VOC's border label
        mask_image(root / "SegmentationClass" / f"{stem}.png", values, "P")
        masks[stem] = values
    lists = root / "ImageSets" / "Segmentation"
    (lists / "train.txt").write_text("".join(f"{s}\n" for s in stems if s not in val))
    (lists / "val.txt").write_text("".join(f"{s}\n" for s in val))
    return masks


def test_voc_layout_reads_palette_masks_as_indices_with_the_listed_split(tmp_path):
    root = tmp_path / "VOC"
    masks = voc(root)
    (root / "labelmap.txt").write_text(
        "# label:color_rgb:parts:actions\nbackground:0,0,0::\ncat:64,0,0::\ndog:1,2,3::\n"
    )
    splits = load(root, tmp_path)
    assert isinstance(splits, Splits) and splits.task == "segmentation"
    assert splits.class_names == ["background", "cat", "dog"]
    assert (splits.num_train, splits.num_val) == (3, 1)
    assert "VOC, ImageSets/Segmentation" in splits.source
    train = pairs(splits.train)
    for (image, mask), stem in zip(train, "abc"):
        assert image.shape == (10, 12, 3) and mask.shape == (10, 12) and mask.dtype == np.uint8
        np.testing.assert_array_equal(mask, masks[stem])  # indices, not the palette's colours
    np.testing.assert_array_equal(pairs(splits.val)[0][1], masks["d"])


def test_images_and_masks_folders_with_classes_txt_and_a_held_out_fraction(tmp_path):
    root = tmp_path / "data"
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for i in range(10):
        picture(root / "images" / f"{i:02d}.png", seed=i)
        mask_image(root / "masks" / f"{i:02d}.png", np.full((10, 12), i % 2))
    (root / "classes.txt").write_text("sky\nground\n")
    splits = load(root, tmp_path, val_split=0.2)
    assert splits.class_names == ["sky", "ground"] and (splits.num_train, splits.num_val) == (8, 2)
    again = load(root, tmp_path, val_split=0.2)
    assert [m.tolist() for _, m in pairs(again.val)] == [m.tolist() for _, m in pairs(splits.val)]


def test_train_and_val_folders_without_names_give_class_numbers(tmp_path):
    root = tmp_path / "data"
    for part in ("train", "val"):
        (root / part / "images").mkdir(parents=True)
        (root / part / "masks").mkdir()
        for i in range(2):
            picture(root / part / "images" / f"{i}.jpg", seed=i)
            mask_image(root / part / "masks" / f"{i}.png", np.full((10, 12), 3 if i else 0))
    splits = load(root, tmp_path)
    assert splits.class_names == ["class_0", "class_1", "class_2", "class_3"]
    assert (splits.num_train, splits.num_val) == (2, 2) and "train/ and val/" in splits.source


def _missing_mask(root):
    (root / "masks" / "01.png").unlink()
    return "01.jpg", "has no mask"


def _missing_image(root):
    (root / "images" / "01.jpg").unlink()
    return "01.png", "mask without an image"


def _wrong_size(root):
    mask_image(root / "masks" / "01.png", np.zeros((9, 12)))
    return "01.png", "is 12x9 but its image is 12x10"


def _index_too_large(root):
    mask_image(root / "masks" / "01.png", np.full((10, 12), 5))
    return "01.png", "class index 5, past the 3 classes"


def _rgb_mask(root):
    Image.fromarray(np.zeros((10, 12, 3), np.uint8)).save(root / "masks" / "01.png")
    return "01.png", "is a RGB image, not single-channel class indices"


@pytest.mark.parametrize("damage", [_missing_mask, _missing_image, _wrong_size, _index_too_large, _rgb_mask])
def test_every_bad_pair_is_one_line_or_a_counted_skip(tmp_path, damage):
    root = tmp_path / "data"
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for i in range(6):
        picture(root / "images" / f"{i:02d}.jpg", seed=i)
        mask_image(root / "masks" / f"{i:02d}.png", np.full((10, 12), i % 3))
    (root / "classes.txt").write_text("a\nb\nc\n")
    name, reason = damage(root)
    with pytest.raises(DataError) as error:
        load(root, tmp_path, val_split=0.2)
    message = str(error.value)
    assert "\n" not in message and name in message and reason in message and "data.on_bad_image=skip" in message
    splits = load(root, tmp_path, val_split=0.2, on_bad_image="skip")
    assert len(splits.bad_images) == 1 and name in splits.bad_images.entries[0][0]
    assert splits.num_train + splits.num_val == 5


def test_a_folder_of_another_layout_says_which_it_expects(tmp_path):
    (tmp_path / "data" / "cats").mkdir(parents=True)
    with pytest.raises(DataError, match="neither JPEGImages/ and SegmentationClass/.*nor images/ and masks/"):
        load(tmp_path / "data", tmp_path)


def test_oxford_pets_trimaps_become_background_pet_and_ignore(tmp_path):
    import tensorflow_datasets as tfds

    trimap = np.array([[1, 2, 3], [3, 2, 1]], np.uint8)

    def examples(self, *args, **kwargs):
        return tf.data.Dataset.from_tensor_slices(
            {
                "image": np.zeros((2, 2, 3, 3), np.uint8),
                "segmentation_mask": np.stack([trimap[..., None]] * 2),
                "label": np.zeros(2, np.int64),
            }
        )

    with tfds.testing.mock_data(num_examples=2, as_dataset_fn=examples):
        splits = load_splits(DataConfig(dataset="oxford_iiit_pet", data_dir=str(tmp_path)), 32, 1, task="segmentation")
        image, mask = next(splits.train.as_numpy_iterator())
    assert splits.class_names == ["background", "pet"] and image.shape == (2, 3, 1)
    np.testing.assert_array_equal(mask, [[1, 0, IGNORE], [IGNORE, 0, 1]])


def test_a_tfds_dataset_without_masks_is_refused(tmp_path):
    with pytest.raises(DataError, match="not a dataset with masks.*oxford_iiit_pet"):
        load_splits(DataConfig(dataset="cifar10", data_dir=str(tmp_path)), 32, 3, task="segmentation")


def test_mask_folders_train_in_a_new_permutation_every_epoch(tmp_path):
    from kerascnn.data import make_datasets
    from kerascnn.data.splits import permutation

    stems = tuple("abcdefgh")
    masks = voc(tmp_path / "VOC", stems=stems, val=("h",))
    splits = load(tmp_path / "VOC", tmp_path)
    assert splits.train_examples is not None and len(splits.train_examples) == 7
    config = DataConfig(dataset=str(tmp_path / "VOC"))
    train, _ = make_datasets(splits, image_size=8, channels=3, batch_size=7, config=config, seed=4)
    for epoch, (_, batch_masks) in enumerate(train.take(2)):
        # The mask of stem i holds i % 3 (past its ignored first row): the batch's order of stems, mod 3.
        values = [int(np.median(m[m != IGNORE])) for m in batch_masks.numpy()]
        order = permutation(7, 4, epoch).numpy()
        assert values == [masks[stems[i]][5, 5] for i in order]


def test_mask_folders_are_listed_as_class_folders_are(tmp_path):
    """The listing is folders.py's: dotfiles and Thumbs.db left out, a broken link named (it used to be passed
    over in silence); a palette mask's gray copy is written whole, with no temporary file left beside it."""
    root = tmp_path / "data"
    masks = voc(root)
    (root / "SegmentationClass" / ".DS_Store").write_bytes(b"x")
    (root / "JPEGImages" / "Thumbs.db").write_bytes(b"x")
    splits = load(root, tmp_path)
    assert splits.num_train + splits.num_val == len(masks)
    converted = sorted((tmp_path / "cache" / "converted-masks").iterdir())
    assert len(converted) == len(masks) and all(path.suffix == ".png" for path in converted)
    (root / "SegmentationClass" / "e.png").symlink_to(tmp_path / "nowhere.png")
    with pytest.raises(DataError, match=r"e\.png: cannot be read"):
        load(root, tmp_path)
