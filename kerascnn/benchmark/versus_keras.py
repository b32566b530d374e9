"""A small model's training epoch through kerascnn's pipeline against plain Keras on the same arrays.

kerascnn's side is what `pipelines.train` runs: the run's resolved config, the example gen's splits, the training
stream of `make_datasets` and the model compiled by the trainer (`training.models.compile_model`: its loss,
metrics and weight decay). The plain side is what a Keras tutorial does: the same network from the registry,
SGD with the same rate and momentum, sparse categorical cross-entropy and accuracy, and
`model.fit(x, y, batch_size=...)` on the same images already transformed into a float32 array. The two fit in
alternation in one process, so that a slow second on a shared machine falls on both; the ratio is the median of
the repetitions' ratios.
"""

import time

import keras
import numpy as np

from kerascnn import registry
from kerascnn.benchmark.throughput import summarize
from kerascnn.data import load_splits, make_datasets
from kerascnn.data.pipeline import in_chunks
from kerascnn.data.transforms import eval_transform
from kerascnn.training import config as config_lib
from kerascnn.training.models import build_model, compile_model


def versus_keras(model="lenet5", dataset="fashion_mnist", *, steps=300, repeats=5, data_dir=None, log=print):
    """{"ours": images/s summary, "keras": images/s summary, "ratio": summary of ours / keras, ...}."""
    config = config_lib.resolve(model, dataset=dataset, sets=[f"data.data_dir={data_dir}"] if data_dir else ())
    spec = registry.model_spec(model)
    size, channels = config.image_size or spec.image_size, config.channels or spec.input_shape[2]
    splits = load_splits(config.data, size, channels, seed=config.seed)
    batch = config.batch_size
    steps = min(steps, splits.num_train // batch)
    train, _ = make_datasets(splits, image_size=size, channels=channels, batch_size=batch, config=config.data)
    x_uint8, y = (np.asarray(column) for column in splits.train_examples.items)
    x = in_chunks(lambda part: eval_transform(part, size, channels, config.data), x_uint8)
    x, y = x[: steps * batch], y[: steps * batch]
    rate = config.optimizer.learning_rate * batch / config.optimizer.reference_batch

    ours = build_model(config, num_classes=splits.num_classes, input_shape=(size, size, channels), precision="float32")
    compile_model(ours, config, num_classes=splits.num_classes, base_rate=rate, steps_per_epoch=steps)
    plain = registry.get_model(model, num_classes=splits.num_classes, input_shape=(size, size, channels))
    plain.compile(
        keras.optimizers.SGD(rate, momentum=config.optimizer.momentum),
        "sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    fits = {
        "ours": lambda: ours.fit(train, steps_per_epoch=steps, epochs=1, verbose=0),
        "keras": lambda: plain.fit(x, y, batch_size=batch, epochs=1, verbose=0),
    }
    for fit in fits.values():  # traces and warms up each side once, uncounted
        fit()
    seconds = {name: [] for name in fits}
    for repeat in range(repeats):
        for name, fit in fits.items():
            start = time.perf_counter()
            fit()
            seconds[name].append(time.perf_counter() - start)
        log(
            f"  repetition {repeat + 1}/{repeats}: ours {seconds['ours'][-1]:.2f} s, keras {seconds['keras'][-1]:.2f} s"
        )
    images = steps * batch
    return {
        "model": model,
        "dataset": splits.source,
        "steps": steps,
        "batch_size": batch,
        "ours": summarize([images / s for s in seconds["ours"]]),
        "keras": summarize([images / s for s in seconds["keras"]]),
        "ratio": summarize([k / o for o, k in zip(seconds["ours"], seconds["keras"])]),
    }


def markdown(result, command, machine):
    """The comparison as a short markdown report."""
    ours, plain, ratio = result["ours"], result["keras"], result["ratio"]
    return "\n".join(
        [
            f"# {result['model']}: a training epoch through kerascnn's pipeline against plain Keras",
            "",
            f"`{command}` on {machine}; {result['dataset']}; {result['steps']} steps of batch {result['batch_size']}, "
            "the two fits alternated in one process.",
            "",
            "| | images/s (median) | range |",
            "|---|---:|---|",
            f"| kerascnn (`pipelines.train`'s stream and step) | {ours['median']:.0f} | "
            f"{ours['min']:.0f}-{ours['max']:.0f} |",
            f"| plain Keras `fit(x, y, batch_size={result['batch_size']})` | {plain['median']:.0f} | "
            f"{plain['min']:.0f}-{plain['max']:.0f} |",
            f"| ratio, kerascnn / Keras | {ratio['median']:.2f} | {ratio['min']:.2f}-{ratio['max']:.2f} |",
            "",
        ]
    )
