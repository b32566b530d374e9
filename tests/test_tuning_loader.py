"""The search's data: its dataset's splits at the search's input size, loaded by the processes that train."""

import dataclasses

import numpy as np

from kerascnn.data import generate_shapes
from kerascnn.training import runs
from kerascnn.tuning import loader
from kerascnn.tuning.search_space import TrialConfigs

SMALL = ("data.shapes_train=12", "data.shapes_val=6", "data.shapes_classes=3")


def search_run(tmp_path, **overrides):
    base = TrialConfigs("lenet5", "shapes", overrides=tuple(overrides.items()), sets=SMALL)()
    return runs.prepare(dataclasses.replace(base, run_dir=str(tmp_path)))


def test_the_splits_are_the_datasets_at_the_searchs_input_size(tmp_path):
    run = search_run(tmp_path, image_size=40)
    assert run.input_shape == (40, 40, 1)  # LeNet-5's one channel, at the size the search asked for
    splits = loader.load(run)
    assert (splits.num_train, splits.num_val, splits.num_classes) == (12, 6, 3)
    images, labels = (np.stack(t) for t in zip(*splits.train.as_numpy_iterator()))
    # The shapes dataset's own draw for these arguments (shapes.py): the loader adds nothing and drops nothing.
    expected, expected_labels = generate_shapes(
        12, image_size=40, channels=1, num_classes=3, seed=run.config.data.shapes_seed, split=0
    )
    np.testing.assert_array_equal(images, expected)
    np.testing.assert_array_equal(labels, expected_labels)


def test_a_chief_loads_nothing_and_the_others_load_the_splits(tmp_path):
    run = search_run(tmp_path)
    assert run.input_shape == (32, 32, 1)  # the paper's input
    assert loader.initial_splits(run, "chief") is None
    for role in ("local", "worker"):
        splits = loader.initial_splits(run, role)
        assert splits.num_train == 12 and splits.train.element_spec[0].shape == (32, 32, 1)
