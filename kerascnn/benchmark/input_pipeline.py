"""Images per second the input pipeline delivers, for each kind of source, with the model's own augmentation and
normalisation at the model's input size: what `make_dataset` feeds `fit`.

- shapes: the embedded dataset, drawn at the model's size and held in memory.
- folder: JPEGs written to a temporary folder at the size of a typical ImageNet photo scaled to the model's input
  (500x375 for a 224 model), decoded anew every epoch (no cache, as for a dataset larger than memory).
- tfds: a tensorflow-datasets dataset through `tfds.testing.mock_data`: random images of the builder's spec
  (small, of random sizes, made by a Python generator), so this times tfds' reading machinery and our
  conversion and augmentation, not real decoding.

The pipeline is timed alone, with every core to itself. During training it shares the cores with the model, so
it should deliver several times what training consumes to keep the model from waiting.
"""

import contextlib
import itertools
import tempfile
import time
from pathlib import Path

from PIL import Image

from kerascnn import registry
from kerascnn.benchmark.candidates import paper_config, paper_dataset
from kerascnn.benchmark.throughput import summarize
from kerascnn.data import generate_shapes, load_splits, make_dataset

SOURCES = ("shapes", "folder", "tfds")
# A typical ImageNet photo (500x375) for a 224 input; scaled with the model's input size.
PHOTO = (375 / 224, 500 / 224)


def measure_sources(model, *, batch_size, image_size, sources=SOURCES, batches=10, repeats=3, warmup=3, images=64):
    """{source: summary of images per second, plus "source" describing it} for each of `sources`.

    Each repetition times `batches` batches of the training stream after `warmup` uncounted ones (which fill the
    shuffle buffer and the prefetch queue); folders and mocks hold `images` images."""
    spec = registry.model_spec(model)
    channels = spec.input_shape[2]
    config = paper_config(model, batch_size=batch_size, image_size=image_size)
    results = {}
    for source in sources:
        with (
            tempfile.TemporaryDirectory(prefix="kerascnn-benchmark-") as temp,
            _open(source, config.data, model, image_size, channels, images, Path(temp)) as (data, splits, description),
        ):
            stream = make_dataset(
                splits.train,
                training=True,
                image_size=image_size,
                channels=channels,
                batch_size=batch_size,
                config=data,
                num_examples=splits.num_train,
                in_memory=splits.in_memory,
            )
            samples = time_stream(stream, batch_size, batches=batches, repeats=repeats, warmup=warmup)
        results[source] = {**summarize(samples), "source": description, "augmentation": data.augmentation}
    return results


def time_stream(dataset, batch_size, *, batches, repeats, warmup):
    """Images per second of `dataset`'s batches, one sample per repetition of `batches` batches."""
    iterator = iter(dataset)
    for _ in itertools.islice(iterator, warmup):
        pass
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in itertools.islice(iterator, batches):
            pass
        samples.append(batch_size * batches / (time.perf_counter() - start))
    return samples


@contextlib.contextmanager
def _open(source, data, model, image_size, channels, images, temp):
    """Yields (DataConfig, Splits, a description) of `source`, valid inside the context."""
    if source == "shapes":
        data = data.replace(dataset="shapes", shapes_train=max(images, data.shapes_classes), shapes_val=8)
        yield data, load_splits(data, image_size, channels), f"shapes, {image_size}x{image_size} in memory"
    elif source == "folder":
        height, width = write_jpeg_folder(temp / "images", images, image_size, channels)
        data = data.replace(dataset=str(temp / "images"), cache=False, cache_dir=str(temp / "cache"))
        yield data, load_splits(data, image_size, channels), f"folder of {images} JPEGs of {width}x{height}"
    elif source == "tfds":
        import tensorflow_datasets as tfds  # only for this source (a quarter of a second to import)

        data = data.replace(dataset=paper_dataset(model), data_dir=str(temp), cache=False)
        with tfds.testing.mock_data(num_examples=images):
            yield data, load_splits(data, image_size, channels), f"tfds {data.dataset} (mock data)"
    else:
        raise ValueError(f"Unknown source {source!r}: one of {', '.join(SOURCES)}.")


def write_jpeg_folder(root, count, image_size, channels, classes=2):
    """Writes `count` JPEGs (quality 90) of shapes in `classes` class folders under `root`, each the size of a
    typical photo for a model of `image_size` pixels; returns their (height, width)."""
    height, width = (max(image_size, round(image_size * scale)) for scale in PHOTO)
    pictures = generate_shapes(count, image_size=width, channels=channels, seed=1)[0][:, :height]
    for index, picture in enumerate(pictures):
        folder = Path(root) / f"class{index % classes}"
        folder.mkdir(parents=True, exist_ok=True)
        image = Image.fromarray(picture[..., 0] if channels == 1 else picture)
        image.save(folder / f"{index:05d}.jpg", quality=90)
    return height, width
