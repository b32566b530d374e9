"""tensorflow-datasets sources, through tfds' own mock data (nothing is downloaded)."""

import numpy as np
import pytest
import tensorflow_datasets as tfds

from kerascnn.data import DataConfig, DataError, load_splits, make_dataset
from kerascnn.data.tfds_source import pick_splits


@pytest.mark.parametrize("name, channels, native", [("mnist", 3, 1), ("cifar10", 1, 3)])
def test_mock_dataset_becomes_the_models_channels(tmp_path, name, channels, native):
    with tfds.testing.mock_data(num_examples=6):
        splits = load_splits(DataConfig(dataset=name, data_dir=str(tmp_path)), 32, channels)
    assert splits.num_classes == 10 and (splits.num_train, splits.num_val) == (6, 6)
    assert splits.source == f"tfds {name}: train / validation, 6 / 6 images"  # mocks have every split name
    images = list(splits.train.as_numpy_iterator())
    side = 28 if name == "mnist" else 32
    assert len(images) == 6
    for image, label in images:
        assert image.shape == (side, side, channels) and image.dtype == np.uint8
        assert label.dtype == np.int64 and 0 <= label < 10
        if native == 1:  # gray repeated into RGB
            np.testing.assert_array_equal(image[..., 0], image[..., 2])
    batch, labels = next(
        iter(
            make_dataset(
                splits.val, training=False, image_size=32, channels=channels, batch_size=4, config=DataConfig()
            )
        )
    )
    assert batch.shape == (4, 32, 32, channels) and labels.shape == (4,)


def test_unknown_name_suggests_close_ones():
    with pytest.raises(DataError, match="Unknown dataset 'mnsit'.*did you mean mnist"):
        load_splits(DataConfig(dataset="mnsit"), 32, 1)


def test_bad_config_of_a_known_dataset_is_one_line():
    with pytest.raises(DataError, match="Cannot open tensorflow-datasets 'imagenette/999px'") as error:
        load_splits(DataConfig(dataset="imagenette/999px"), 32, 3)
    assert "\n" not in str(error.value)


def test_not_prepared_says_how_to_prepare(tmp_path):
    with pytest.raises(DataError) as error:
        load_splits(DataConfig(dataset="imagenette/160px-v2", data_dir=str(tmp_path)), 64, 3)
    message = str(error.value)
    assert "not prepared" in message and f"tfds build imagenette/160px-v2 --data_dir {tmp_path}" in message
    assert "\n" not in message


def test_manual_dataset_names_its_files(tmp_path):
    with pytest.raises(DataError) as error:
        load_splits(DataConfig(dataset="imagenet2012", data_dir=str(tmp_path)), 224, 3)
    message = str(error.value)
    assert f"{tmp_path}/downloads/manual" in message and "ILSVRC2012_img_train.tar" in message
    assert "\n" not in message


def test_validation_is_the_validation_split_else_held_out_of_train_and_test_stays_test():
    # The published numbers of cifar10 and mnist are on "test": it must never choose, so validation comes out of
    # train when there is no validation split.
    assert pick_splits({"train", "validation", "test"}, 0.1, "x") == ("train", "validation", "test")
    assert pick_splits({"train", "test"}, 0.1, "x") == ("train[:90%]", "train[90%:]", "test")
    assert pick_splits({"train"}, 0.2, "x") == ("train[:80%]", "train[80%:]", None)
    with pytest.raises(DataError, match="no validation split, and data.val_split is 0"):
        pick_splits({"train", "test"}, 0.0, "x")
    with pytest.raises(DataError, match="no train split"):
        pick_splits({"test"}, 0.1, "x")


class KerascnnTinyGrey(tfds.core.GeneratorBasedBuilder):
    """A prepared tensorflow-datasets set with train and test splits and no validation split (as mnist and
    cifar10), built offline: image i of a split is filled with i, its label is i mod 3."""

    VERSION = tfds.core.Version("1.0.0")

    def _info(self):
        features = tfds.features.FeaturesDict(
            {"image": tfds.features.Image(shape=(8, 8, 1)), "label": tfds.features.ClassLabel(num_classes=3)}
        )
        return tfds.core.DatasetInfo(builder=self, features=features, supervised_keys=("image", "label"))

    def _split_generators(self, dl_manager):
        return {"train": self._generate_examples(30, 0), "test": self._generate_examples(9, 100)}

    def _generate_examples(self, count, offset):
        for i in range(count):
            yield i, {"image": np.full((8, 8, 1), i + offset, np.uint8), "label": i % 3}


def test_a_prepared_set_without_validation_holds_it_out_of_train_and_keeps_test(tmp_path):
    KerascnnTinyGrey(data_dir=str(tmp_path)).download_and_prepare()
    config = DataConfig(dataset="kerascnn_tiny_grey", data_dir=str(tmp_path), val_split=0.2)
    splits = load_splits(config, 8, 1, seed=0)
    assert (splits.num_train, splits.num_val, splits.num_test) == (24, 6, 9)
    ids = lambda ds: sorted(int(x[0, 0, 0]) for x, _ in ds.as_numpy_iterator())
    assert ids(splits.test) == list(range(100, 109))  # the test split, whole
    assert sorted(ids(splits.train) + ids(splits.val)) == list(range(30))  # validation only from train
    assert sorted(int(y) for _, y in splits.val.as_numpy_iterator()) == [0, 0, 1, 1, 2, 2]  # stratified
    assert splits.train_examples is not None and splits.in_memory  # small: each epoch a permutation
    other = load_splits(config, 8, 1, seed=1)
    assert ids(other.val) != ids(splits.val)  # drawn with the seed
