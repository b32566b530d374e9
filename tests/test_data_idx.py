"""The MNIST family's IDX files (kerascnn.data.idx), on small sets the tests write byte by byte in the real
format: a big-endian magic number (0x00000803 images, 0x00000801 labels), the sizes, then the bytes."""

import gzip
import struct

import numpy as np
import pytest

from kerascnn.data import DataConfig, DataError, load_splits
from kerascnn.data.idx import FASHION_MNIST, read_idx


def idx_bytes(array):
    array = np.asarray(array, np.uint8)
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + b"".join(struct.pack(">I", d) for d in array.shape)
    return header + array.tobytes()


def write_set(folder, train=40, test=20, classes=10, side=28, gz=False, prefix="", seed=0):
    """Four IDX files; image i is filled with its own index (mod 256) so that tests can tell images apart, and
    its label is i mod classes."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for split, count, offset in (("train", train, 0), ("t10k", test, 100)):
        labels = np.arange(count) % classes
        images = np.broadcast_to(((np.arange(count) + offset) % 256)[:, None, None], (count, side, side)).copy()
        images[:, 0, 1] = rng.integers(0, 256, count)  # an asymmetric pixel, to see a transpose
        arrays[split] = (images, labels)
        for kind, array in (("images-idx3", images), ("labels-idx1", labels)):
            name = f"{prefix}{split}-{kind}-ubyte"
            data = idx_bytes(array)
            if gz:
                (folder / f"{name}.gz").write_bytes(gzip.compress(data))
            else:
                (folder / name).write_bytes(data)
    return arrays


def test_read_idx_reads_what_was_written(tmp_path):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    (tmp_path / "x").write_bytes(idx_bytes(array))
    (tmp_path / "y.gz").write_bytes(gzip.compress(idx_bytes(array)))
    np.testing.assert_array_equal(read_idx(tmp_path / "x"), array)
    np.testing.assert_array_equal(read_idx(tmp_path / "y.gz"), array)


@pytest.mark.parametrize("gz", [False, True])
def test_a_folder_of_idx_files_is_the_published_split(tmp_path, gz):
    folder = tmp_path / "fashion-mnist"
    arrays = write_set(folder, train=40, test=20, gz=gz)
    splits = load_splits(DataConfig(dataset=str(folder), val_split=0.25), 28, 1, seed=3)
    assert splits.class_names == list(FASHION_MNIST)  # known by the folder's name
    assert (splits.num_train, splits.num_val, splits.num_test) == (30, 10, 20)
    train = list(splits.train.as_numpy_iterator())
    val = list(splits.val.as_numpy_iterator())
    test = list(splits.test.as_numpy_iterator())
    # The test split is the t10k files, whole and in order; validation comes out of train only.
    np.testing.assert_array_equal(np.stack([x for x, _ in test])[..., 0], arrays["t10k"][0])
    np.testing.assert_array_equal([y for _, y in test], arrays["t10k"][1])
    ids = sorted(int(x[1, 1, 0]) for x, _ in train + val)
    assert ids == list(range(40))
    # Stratified: each of the 10 classes gives one of its 4 images to validation.
    assert sorted(int(y) for _, y in val) == list(range(10))
    for image, label in train + val:
        assert image.shape == (28, 28, 1) and image.dtype == np.uint8 and int(image[1, 1, 0]) % 10 == label


def test_the_validation_draw_depends_on_the_seed(tmp_path):
    write_set(tmp_path / "mnist")
    draws = []
    for seed in (0, 0, 1):
        splits = load_splits(DataConfig(dataset=str(tmp_path / "mnist")), 28, 1, seed=seed)
        draws.append(sorted(int(x[1, 1, 0]) for x, _ in splits.val.as_numpy_iterator()))
    assert draws[0] == draws[1] and draws[0] != draws[2]


def test_unknown_sets_get_numbered_classes_and_rgb_models_get_three_channels(tmp_path):
    write_set(tmp_path / "glyphs", classes=4)
    splits = load_splits(DataConfig(dataset=str(tmp_path / "glyphs")), 28, 3)
    assert splits.class_names == ["class_0", "class_1", "class_2", "class_3"]
    image, _ = next(splits.train.as_numpy_iterator())
    assert image.shape == (28, 28, 3)
    np.testing.assert_array_equal(image[..., 0], image[..., 2])


def test_emnist_files_are_named_by_their_prefix_and_transposed(tmp_path):
    folder = tmp_path / "emnist"
    arrays = write_set(folder, train=52, test=26, classes=26, prefix="emnist-letters-")
    for split, count in (("train", 52), ("t10k", 26)):  # letters are labelled 1 to 26
        labels = np.arange(count) % 26 + 1
        (folder / f"emnist-letters-{split}-labels-idx1-ubyte").write_bytes(idx_bytes(labels))
    splits = load_splits(DataConfig(dataset="emnist/letters", data_dir=str(tmp_path)), 28, 1)
    assert splits.class_names[:3] == ["N/A", "a", "b"] and len(splits.class_names) == 27
    image, label = next(splits.test.as_numpy_iterator())
    assert label == 1
    # The file's pixel (0, 1) is at (1, 0) once transposed.
    assert image[1, 0, 0] == arrays["t10k"][0][0, 0, 1]


def test_a_known_name_is_found_in_data_dir_and_its_absence_names_both_ways(tmp_path):
    write_set(tmp_path / "kmnist")
    splits = load_splits(DataConfig(dataset="kmnist", data_dir=str(tmp_path)), 28, 1)
    assert splits.class_names[:2] == ["o", "ki"] and splits.num_test == 20
    with pytest.raises(DataError) as error:
        load_splits(DataConfig(dataset="kmnist", data_dir=str(tmp_path / "elsewhere")), 28, 1)
    message = str(error.value)
    assert "--data-dir" in message and "tfds build kmnist" in message and "\n" not in message


def test_val_split_zero_is_refused_for_idx(tmp_path):
    write_set(tmp_path / "mnist")
    with pytest.raises(DataError, match="data.val_split is 0") as error:
        load_splits(DataConfig(dataset=str(tmp_path / "mnist"), val_split=0.0), 28, 1)
    assert error.value.field == "data.val_split"


def damage_truncate(folder):
    path = folder / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-5])
    return "train-images-idx3-ubyte is truncated"


def damage_magic(folder):
    path = folder / "t10k-labels-idx1-ubyte"
    path.write_bytes(b"\x1f\x8b" + path.read_bytes()[2:])
    return "t10k-labels-idx1-ubyte is not an IDX file"


def damage_type(folder):
    path = folder / "train-labels-idx1-ubyte"
    data = bytearray(path.read_bytes())
    data[2] = 0x0D  # float
    path.write_bytes(bytes(data))
    return "holds IDX type 0x0d"


def damage_counts(folder):
    (folder / "train-labels-idx1-ubyte").write_bytes(idx_bytes(np.arange(39) % 10))
    return "holds 40 images but .*train-labels-idx1-ubyte holds 39 labels"


def damage_label(folder):
    (folder / "t10k-labels-idx1-ubyte").write_bytes(idx_bytes(np.full(20, 12)))
    return "t10k-labels-idx1-ubyte has label 12, past the set's 10 classes"


def damage_missing(folder):
    (folder / "t10k-images-idx3-ubyte").unlink()
    return "holds IDX files but not the test images"


def damage_bad_gzip(folder):
    (folder / "train-images-idx3-ubyte").unlink()
    (folder / "train-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8b\x08\x00garbage")
    return "Cannot read IDX file .*train-images-idx3-ubyte.gz"


@pytest.mark.parametrize(
    "damage",
    [damage_truncate, damage_magic, damage_type, damage_counts, damage_label, damage_missing, damage_bad_gzip],
)
def test_every_damaged_set_is_one_line_naming_the_file(tmp_path, damage):
    folder = tmp_path / "fashion_mnist"
    write_set(folder)
    expected = damage(folder)
    with pytest.raises(DataError, match=expected) as error:
        load_splits(DataConfig(dataset=str(folder)), 28, 1)
    assert "\n" not in str(error.value)


def test_two_sets_in_one_folder_ask_which(tmp_path):
    write_set(tmp_path / "emnist", prefix="emnist-letters-")
    write_set(tmp_path / "emnist", prefix="emnist-digits-")
    with pytest.raises(DataError, match="several IDX sets"):
        load_splits(DataConfig(dataset=str(tmp_path / "emnist")), 28, 1)
    splits = load_splits(DataConfig(dataset="emnist/digits", data_dir=str(tmp_path)), 28, 1)
    assert splits.class_names == [str(d) for d in range(10)]


def test_an_image_of_a_set_is_named_name_split_index(tmp_path):
    from kerascnn.data.idx import example_image

    arrays = write_set(tmp_path / "fashion_mnist")
    image, name = example_image("fashion_mnist:test:3", data_dir=str(tmp_path))
    np.testing.assert_array_equal(image, arrays["t10k"][0][3])
    assert name == "Dress"  # label 3
    assert example_image("photos/cat.jpg") is None and example_image("cifar10:test:1") is None
    with pytest.raises(DataError, match="has 20 images"):
        example_image("fashion_mnist:test:20", data_dir=str(tmp_path))
