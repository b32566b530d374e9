"""Resolving a run's config: RunConfig's defaults -> the family's recipe -> the model's own -> the shapes demo
sizing (only when the dataset is "shapes" and the user did not say otherwise) -> the user's fields (the command
line's flags and --set items; pipelines.flags maps the one to the other), then validated.
"""

import dataclasses
from pathlib import Path

from kerascnn import weights as weights_lib
from kerascnn.data import idx
from kerascnn.errors import UserError
from kerascnn.registry import checked_model
from kerascnn.training.config.coercion import apply
from kerascnn.training.config.schema import RunConfig
from kerascnn.training.config.validation import check_augmentation, validate
from kerascnn.training.recipes import (
    DENSE_PRETRAINED,
    FAMILY_RECIPES,
    FINE_TUNE,
    MODEL_RECIPES,
    SHAPES_DEMO,
    SHAPES_DEMOS,
    mnist_family,
)


def resolve(model, *, dataset=None, overrides=(), sets=()):
    """The run's config: defaults, recipes, then `overrides` ((field, value) pairs) and `sets` ("key=value"
    strings, parsed by the field's type).

    Raises UserError (DataError for a data.* field) naming the field: an unknown model or field, a value of the
    wrong type or out of range."""
    spec = checked_model(model)
    config = RunConfig(model=spec.name)
    steps = [FAMILY_RECIPES.get(spec.family, {}), MODEL_RECIPES.get(spec.name, {})]
    demo = SHAPES_DEMOS.get(spec.task, SHAPES_DEMO)
    if "image_size" in demo and spec.image_sizes(demo["image_size"]) != (demo["image_size"],):
        # U-Net takes only some sizes: the demo's nearest valid one at least as large (64 -> 68, padded 252).
        demo = {**demo, "image_size": max(spec.image_sizes(demo["image_size"]))}
    user = dict(overrides)
    for item in sets:
        key, sep, value = item.partition("=")
        if not sep:
            raise UserError(f"A config item is key=value, got {item!r}.")
        user[key.strip()] = value.strip()
    if dataset is not None:
        user["data.dataset"] = dataset
    weights = user.get("weights")
    pretrained = weights is not None and str(weights).lower() not in ("none", "null")
    if pretrained:
        # The weights' preprocessing is part of them: it goes in after the recipes, and only --set overrides it.
        try:
            normalization = weights_lib.preprocessing(spec.name, weights)
        except UserError as error:
            raise UserError(error.message, field="weights") from None
        # A dense model keeps its paper's recipe, which starts from these weights; a classifier is fine-tuned.
        fine_tune = DENSE_PRETRAINED if spec.task == "segmentation" else FINE_TUNE
        steps.append({**fine_tune, "data.normalization": normalization})
        # The demo's narrow network would not fit the weights, its normalisation not be theirs.
        demo = {k: v for k, v in demo.items() if k not in ("model_options.width_multiplier", "data.normalization")}
    dataset_name = user.get("data.dataset", config.data.dataset)
    if dataset_name == "shapes":
        steps.append({k: v for k, v in demo.items() if k not in user})
    elif spec.task == "classification" and not pretrained and is_mnist_family(dataset_name):
        steps.append(mnist_family(spec, dataset_name, {**steps[0], **steps[1]})[0])
    steps.append(user)
    for step in steps:
        for key, value in step.items():
            apply(config, key, value)
    if "optimizer.warmup_epochs" not in user and config.optimizer.warmup_epochs >= config.epochs:
        # A recipe's warm-up is sized for the recipe's length: a run cut shorter (--epochs 1) goes without it.
        config.optimizer.warmup_epochs = 0.0
    config.data = dataclasses.replace(config.data)  # re-runs DataConfig's checks on the final values
    validate(config)
    check_augmentation(config, spec.task)
    return config


def is_mnist_family(dataset):
    """Whether `dataset` is 28x28 grey IDX data: a known MNIST-family name or a folder holding IDX files."""
    dataset = str(dataset)
    if idx.is_idx_name(dataset):
        return True
    return Path(dataset).expanduser().is_dir() and idx.find_files(dataset) is not None


def data_reasons(config):
    """{field: why} for the values the dataset chose in `config` (the MNIST family's), for --show-config."""
    if config.weights or not is_mnist_family(config.data.dataset):
        return {}
    spec = checked_model(config.model)
    recipe = {**FAMILY_RECIPES.get(spec.family, {}), **MODEL_RECIPES.get(spec.name, {})}
    return mnist_family(spec, config.data.dataset, recipe)[1]
