"""The pusher: versioned SavedModels in `<output-dir>/<model>/<version>/`, as TensorFlow Serving polls them.

A version is pushed only when blessed (TFX's evaluator blessing): its validation accuracy is not below that of
the latest pushed version of the same model, unless forced. It is exported into a hidden temporary folder beside
the versions and renamed into place (kerascnn/io.py), so a polling server never sees half a version; when two runs
push the same model at once, the second rename finds its number taken and moves to the next one. Each version
carries its metrics in `assets.extra/metrics.json`, and `<output-dir>/models.config` lists every model for
`tensorflow_model_server --model_config_file`.
"""

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import tensorflow as tf
from tqdm import tqdm

from kerascnn import registry
from kerascnn import weights as weights_lib
from kerascnn.errors import Mention, Message, write_error
from kerascnn.io import atomic_folder, publish, remove_stale_temporaries, write_atomic
from kerascnn.registry import checked_model
from kerascnn.serving.export import write_metrics
from kerascnn.serving.version import write_version
from kerascnn.training.callbacks import weights_are_finite
from kerascnn.training.failpoints import failpoint
from kerascnn.training.models import serving_model

BLESSING_METRIC = "val_accuracy"


def versions(model_dir):
    """The integer versions present in `model_dir`, ascending."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        return []
    return sorted(int(p.name) for p in model_dir.iterdir() if p.is_dir() and re.fullmatch(r"\d+", p.name))


def version_metrics(model_dir, version):
    path = Path(model_dir) / str(version) / "assets.extra" / "metrics.json"
    return json.loads(path.read_text()) if path.exists() else {}


def weights_digest(model):
    """A SHA-256 of the model's weights, stored with each version: a rerun that trained nothing new has the same."""
    digest = hashlib.sha256()
    for weights in model.get_weights():
        digest.update(np.ascontiguousarray(weights).tobytes())
    return digest.hexdigest()


def blessing(model_dir, metrics, metric=BLESSING_METRIC):
    """(blessed, reason): whether `metrics` are at least as good as the latest pushed version's, by `metric`
    (val_accuracy; val_mean_iou for segmentation)."""
    existing = versions(model_dir)
    if not existing:
        return True, "first version of this model"
    previous = version_metrics(model_dir, existing[-1]).get(metric)
    current = metrics.get(metric)
    if previous is None:
        return True, f"version {existing[-1]} has no {metric} to compare with"
    if current is None:
        return False, f"this run has no {metric}"
    if current >= previous:
        return True, f"{metric} {current:.4f} >= {previous:.4f} of version {existing[-1]}"
    return False, f"{metric} {current:.4f} < {previous:.4f} of version {existing[-1]}"


def push(output_dir, model_name, write, metrics):
    """Writes a new version with `write(folder)` and publishes it; returns its path.

    `write` fills a temporary folder (the SavedModel); the metrics go beside it, then the folder is renamed to the
    next free version number."""
    model_dir = Path(output_dir) / model_name
    try:
        remove_stale_temporaries(model_dir)
        with atomic_folder(model_dir) as temp:
            write(temp)
            write_metrics(temp, metrics)
            failpoint("export")
            while True:
                version = (versions(model_dir) or [0])[-1] + 1
                try:
                    publish(temp, model_dir / str(version))
                    break
                except FileExistsError:
                    continue  # a concurrent push took this number
        write_models_config(output_dir)
    except (OSError, tf.errors.OpError) as error:
        raise write_error(error, "the new version", model_dir, "the versions pushed before") from None
    return model_dir / str(version)


def write_models_config(output_dir):
    """`<output-dir>/models.config`: every model folder with a version, in TF Serving's ModelServerConfig text
    format, with absolute base paths (mount the folder at the same path in a container)."""
    output_dir = Path(output_dir).resolve()
    entries = []
    for model_dir in sorted(p for p in output_dir.iterdir() if p.is_dir() and versions(p)):
        entries.append(
            "  config {\n"
            f"    name: '{model_dir.name}'\n"
            f"    base_path: '{model_dir}'\n"
            "    model_platform: 'tensorflow'\n"
            "  }\n"
        )
    text = "model_config_list {\n" + "".join(entries) + "}\n"
    write_atomic(output_dir / "models.config", text)


def deliver(run, model, splits, metrics, *, log=print):
    """The pusher's stage: exports `model` and pushes it as the next version if it is blessed (or pushing is
    forced). Returns (path of the new version or None, the reason)."""
    config = run.config
    model_dir = Path(config.output_dir) / config.model
    dense = run.task == "segmentation"
    blessed, reason = blessing(model_dir, metrics, "val_mean_iou" if dense else BLESSING_METRIC)
    if config.push == "never":
        return None, Message("pushing is off (", Mention("push", "never"), ")")
    digest, latest, precision = weights_digest(model), versions(model_dir)[-1:], config.serving_precision
    served = version_metrics(model_dir, latest[0]) if latest else {}
    same = served.get("weights_sha256") == digest and served.get("serving_precision", "float32") == precision
    if config.push == "blessed" and same:
        # A finished run rerun: its weights, served as they are, are a version already pushed: no new version.
        # (Rerun with another --serving-precision, it is a new export of them.)
        return None, f"the weights are those of version {latest[0]}, already pushed"
    if not blessed and config.push != "force":
        return None, Message(f"not blessed: {reason} (", Mention("push", "force"), " pushes it anyway)")
    if not weights_are_finite(model):
        return None, "not pushed: the weights are not finite"
    warmup = next(iter(splits.val.take(1)))[0].numpy()
    progress = tqdm(total=3, desc=f"Exporting {config.model}", unit="stage", disable=None)

    def write(folder):
        serving = serving_model(model, config, num_classes=splits.num_classes, input_shape=run.input_shape)
        progress.update()  # the inference copy
        write_version(serving, folder, config, class_names=splits.class_names, warmup_image=warmup)
        progress.update()  # the traced signatures and the SavedModel

    about = {
        "model": config.model,
        "input_shape": list(run.input_shape),
        "dataset": config.data.dataset,
        "data_dir": config.data.data_dir,
        "seed": config.seed,  # with the dataset, it draws a validation split held out of train
        "precision_trained": run.precision,
        "serving_precision": precision,
        "weights_sha256": digest,
        "weights": config.weights,  # the pretrained weights it started from (None: trained from scratch)
        **({"task": run.task} if dense else {}),
        # the shapes' generator setting, which pipelines.evaluate regenerates them with: a folder has none
        **({"shapes_per_image": config.data.shapes_per_image} if dense and config.data.dataset == "shapes" else {}),
    }
    with progress:
        pushed = push(config.output_dir, config.model, write, {**metrics, **about})
        progress.update()  # published
    return pushed, reason if blessed else f"forced: {reason}"


def push_pretrained(config, *, log=print):
    """Pushes `config.model` with its pretrained `config.weights`, untrained, as the next version under
    `config.output_dir`: the 1000 ImageNet classes in labels.txt, the weights' own preprocessing (the config's
    data.normalization, which kerascnn.training.config.resolve takes from the weights) in the graph, everything
    else as the trainer's export. Returns the new version's path."""
    spec = checked_model(config.model, [config.image_size])
    size = config.image_size or spec.input_shape[0]
    input_shape = (size, size, config.channels or spec.input_shape[2])
    options = {**config.model_options, "aux_classifiers": False} if spec.family == "googlenet" else config.model_options
    pretrained = registry.get_model(config.model, weights=config.weights, input_shape=input_shape, **options)
    log(f"{config.model} with {config.weights} weights ({config.data.normalization} preprocessing).")
    model = serving_model(pretrained, config, num_classes=pretrained.output_shape[-1], input_shape=input_shape)

    def write(folder):
        write_version(model, folder, config, class_names=weights_lib.imagenet_classes())

    about = {
        "model": config.model,
        "input_shape": list(input_shape),
        "weights": config.weights,
        "normalization": config.data.normalization,
        "serving_precision": config.serving_precision,
        "dataset": "imagenet (the published weights, served untrained)",
    }
    return push(config.output_dir, config.model, write, about)
