"""The input pipeline: batch shapes and dtypes, determinism, epoch-exact resume, caching."""

import numpy as np
import pytest
import tensorflow as tf

from kerascnn.data import DataConfig, load_splits, make_dataset, make_datasets, steps_per_epoch
from kerascnn.data.pipeline import bytes_per_example, should_cache

CONFIG = DataConfig(augmentation="alexnet", normalization="imagenet", shapes_train=20, shapes_val=7)


@pytest.fixture(scope="module")
def splits():
    return load_splits(CONFIG, 67, 3)


def take(dataset, n):
    return [(x.numpy(), y.numpy()) for x, y in dataset.take(n)]


def test_batches_have_the_models_shape_and_dtypes(splits):
    train, val = make_datasets(splits, image_size=67, channels=3, batch_size=4, config=CONFIG)
    x, y = next(iter(train))
    assert x.shape == (4, 67, 67, 3) and x.dtype == tf.float32 and y.dtype == tf.int64
    assert -3 < float(tf.reduce_mean(x)) < 3  # normalised, not 0-255
    sizes = [len(y) for _, y in val]
    assert sizes == [4, 3]  # the whole validation split, the last batch short
    assert steps_per_epoch(splits.num_train, 4) == 5


def test_each_epoch_is_a_permutation_in_whole_batches(splits):
    train = make_dataset(
        splits.train,
        training=True,
        image_size=67,
        channels=3,
        batch_size=6,
        config=CONFIG,
        num_examples=splits.num_train,
    )
    epochs = [np.concatenate([y for _, y in take(train, 9)][3 * e : 3 * e + 3]) for e in range(3)]
    labels = np.array([y for _, y in splits.train.as_numpy_iterator()])
    for epoch in epochs:  # 3 batches of 6 from 20 images: 18 distinct images per epoch
        assert len(epoch) == 18 and np.all(np.bincount(epoch, minlength=6) <= np.bincount(labels, minlength=6))
    assert not np.array_equal(epochs[0], epochs[1])


def test_same_seed_same_batches_and_resume_is_exact(splits):
    options = dict(training=True, image_size=67, channels=3, batch_size=5, config=CONFIG, num_examples=20)
    first = take(make_dataset(splits.train, seed=3, **options), 8)
    again = take(make_dataset(splits.train, seed=3, **options), 8)
    other = take(make_dataset(splits.train, seed=4, **options), 2)
    for (xa, ya), (xb, yb) in zip(first, again):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
    assert not np.array_equal(first[0][0], other[0][0])
    # A run resumed at epoch 1 (4 steps an epoch) sees exactly what the uninterrupted run saw from step 4 on.
    resumed = take(make_dataset(splits.train, seed=3, initial_epoch=1, **options), 4)
    for (xa, ya), (xb, yb) in zip(first[4:], resumed):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
    tf.keras.utils.set_random_seed(0)  # a global seed (even 0) must not change or break the stream
    with_global = take(make_dataset(splits.train, seed=3, **options), 1)
    np.testing.assert_array_equal(with_global[0][0], first[0][0])


def test_evaluation_is_deterministic_and_unaugmented(splits):
    options = dict(training=False, image_size=67, channels=3, batch_size=7, config=CONFIG)
    a = take(make_dataset(splits.val, **options), 1)[0][0]
    b = take(make_dataset(splits.val, seed=9, **options), 1)[0][0]
    np.testing.assert_array_equal(a, b)


def test_cache_decision():
    small = tf.data.Dataset.from_tensor_slices((np.zeros((4, 8, 8, 3), np.uint8), np.zeros(4, np.int64)))
    assert bytes_per_example(small) == 8 * 8 * 3
    assert should_cache("auto", small, 4) and not should_cache("auto", small, 10**12)
    assert should_cache(True, small, None) and not should_cache(False, small, 4)
    ragged = tf.data.Dataset.from_generator(
        lambda: ((np.zeros((h, 10, 1), np.uint8), 0) for h in (2, 4)),
        output_signature=(tf.TensorSpec([None, None, 1], tf.uint8), tf.TensorSpec([], tf.int64)),
    )
    assert bytes_per_example(ragged) == 30  # the mean of 20 and 40
