"""The input pipeline's timing: the folder of JPEGs it writes, and one number per source."""

import pytest
from PIL import Image

from kerascnn.benchmark import input_pipeline


def test_jpeg_folder_holds_photo_sized_images_in_class_folders(tmp_path):
    height, width = input_pipeline.write_jpeg_folder(tmp_path, 6, image_size=224, channels=3, classes=2)
    assert (height, width) == (375, 500)  # ImageNet's typical photo for a 224 model
    files = sorted(tmp_path.rglob("*.jpg"))
    assert [f.parent.name for f in files] == ["class0"] * 3 + ["class1"] * 3
    with Image.open(files[0]) as image:
        assert image.size == (500, 375) and image.mode == "RGB" and image.format == "JPEG"
    input_pipeline.write_jpeg_folder(tmp_path / "gray", 2, image_size=32, channels=1)
    with Image.open(next((tmp_path / "gray").rglob("*.jpg"))) as image:
        assert image.mode == "L" and image.size == (71, 54)  # 32 x 500/224, 32 x 375/224


def test_time_stream_takes_one_sample_per_repetition_after_the_warm_up():
    import tensorflow as tf

    seen = []

    def record(i):
        seen.append(int(i))
        return i

    dataset = tf.data.Dataset.range(100).map(lambda i: tf.py_function(record, [i], tf.int64))
    samples = input_pipeline.time_stream(dataset, 4, batches=3, repeats=2, warmup=5)
    assert len(samples) == 2 and all(s > 0 for s in samples)
    assert len(seen) >= 5 + 3 * 2  # prefetching may read ahead, never less


def test_every_source_delivers_the_models_batches():
    results = input_pipeline.measure_sources(
        "lenet5", batch_size=2, image_size=32, batches=1, repeats=2, warmup=1, images=8
    )
    assert list(results) == ["shapes", "folder", "tfds"]
    for row in results.values():
        assert len(row["samples"]) == 2 and row["min"] <= row["median"] <= row["max"]
        assert row["augmentation"] == "none"  # LeNet-5's recipe
    assert results["tfds"]["source"] == "tfds mnist (mock data)"
    with pytest.raises(ValueError, match="Unknown source 'hdf5'"):
        input_pipeline.measure_sources("lenet5", batch_size=2, image_size=32, sources=("hdf5",))
