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


def class_sorted_folder(root, classes=4, per_class=30):
    """A folder whose files a listing returns class by class (as every real folder dataset's); each image's grey
    value is its index in that listing, so a batch says which files it drew."""
    from PIL import Image

    for c in range(classes):
        (root / f"class{c}").mkdir(parents=True)
        for i in range(per_class):
            value = c * per_class + i
            Image.fromarray(np.full((4, 4), value, np.uint8)).save(root / f"class{c}" / f"{i:03d}.png")
    return DataConfig(dataset=str(root), val_split=0.2, shuffle_buffer=8, normalization="unit")


def epoch_ids(train, steps, batches):
    """The file index of every image in the first `batches` batches, in order."""
    return [int(round(v)) for x, _ in train.take(batches) for v in (x.numpy()[:, 0, 0, 0] * 255)]


def test_a_class_sorted_folder_trains_in_a_random_class_order(tmp_path):
    # A shuffle buffer of 8 over a class-sorted listing gives batches of one class; a permutation of the whole
    # split gives batches that look like random draws, whatever the buffer.
    config = class_sorted_folder(tmp_path)
    splits = load_splits(config, 4, 1, seed=0)
    batch = 8
    train, _ = make_datasets(splits, image_size=4, channels=1, batch_size=batch, config=config, seed=0)
    steps = steps_per_epoch(splits.num_train, batch)
    ids = epoch_ids(train, steps, steps)
    classes = [i // 30 for i in ids]
    # Distinct classes in a batch of 8 drawn at random from 4 balanced classes: 3.6 on average; a class-sorted
    # stream has 1 or 2.
    distinct = [len(set(classes[i : i + batch])) for i in range(0, len(classes), batch)]
    assert np.mean(distinct) >= 3.0
    # Changes of class between neighbours: about 3/4 of them at random, 3 in a sorted epoch.
    changes = sum(a != b for a, b in zip(classes, classes[1:]))
    assert changes >= 0.5 * (len(classes) - 1)
    # And the epoch is a permutation: no file twice.
    assert len(set(ids)) == len(ids) == steps * batch


def test_folder_epochs_are_permutations_seeded_by_seed_and_epoch(tmp_path):
    config = class_sorted_folder(tmp_path, classes=2, per_class=10)
    splits = load_splits(config, 4, 1, seed=0)
    options = dict(image_size=4, channels=1, batch_size=4, config=config)
    steps = steps_per_epoch(splits.num_train, 4)  # 16 training files: whole epochs of 4 batches
    stream = lambda seed, start: make_datasets(splits, seed=seed, initial_epoch=start, **options)[0]
    ids = epoch_ids(stream(0, 0), steps, 3 * steps)
    epochs = [ids[i * 16 : (i + 1) * 16] for i in range(3)]
    assert all(sorted(e) == sorted(epochs[0]) for e in epochs)  # each epoch all of the split, once
    assert epochs[0] != epochs[1] != epochs[2]  # a new order every epoch
    assert epoch_ids(stream(0, 2), steps, steps) == epochs[2]  # resumed at epoch 2: the same batches
    assert epoch_ids(stream(0, 0), steps, steps) == epochs[0]  # and repeatable
    assert epoch_ids(stream(1, 0), steps, steps) != epochs[0]  # another seed, another order


def test_images_in_memory_with_nothing_random_are_transformed_a_batch_at_a_time(tmp_path):
    # The batched path (one gather and one transform a step) gives what the per-image evaluation transform
    # gives each image it drew, padding included.
    from kerascnn.data.splits import Examples, Splits, permutation
    from kerascnn.data.transforms import eval_transform

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (24, 28, 28, 1), dtype=np.uint8)
    labels = np.arange(24) % 3
    examples = Examples((images, labels))
    splits = Splits(
        train=examples.dataset(),
        val=examples.dataset(),
        class_names=["a", "b", "c"],
        num_train=24,
        num_val=24,
        source="test",
        in_memory=True,
        train_examples=examples,
    )
    config = DataConfig(normalization="lenet", pad=2)
    train, _ = make_datasets(splits, image_size=32, channels=1, batch_size=8, config=config, seed=5)
    order = permutation(24, 5, 0).numpy()
    x, y = next(iter(train))
    expected = eval_transform(images[order[:8]], 32, 1, config).numpy()
    np.testing.assert_allclose(x.numpy(), expected, atol=1e-6)
    np.testing.assert_array_equal(y.numpy(), labels[order[:8]])
    # LeNet's field: the 28x28 image inside a border of background (-0.1 in LeNet's normalisation).
    np.testing.assert_allclose(x.numpy()[:, :2], -0.1, atol=1e-6)
    np.testing.assert_allclose(x.numpy()[:, 2:30, 2:30, 0], images[order[:8], ..., 0] * 1.275 / 255 - 0.1, atol=1e-5)
