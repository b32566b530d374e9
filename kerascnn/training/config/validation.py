"""Checking a resolved run config: each field's choices from its type (kerascnn.choices.wrong_choice), then the
ranges and the conflicts between fields, which a type cannot say."""

import dataclasses

from kerascnn.choices import spoken, wrong_choice
from kerascnn.data.recipes import MASK_RECIPES, RECIPES
from kerascnn.errors import Mention, UserError
from kerascnn.registry import list_models
from kerascnn.training.config.schema import get


def validate(config):
    """Raises UserError naming the first field that its type's choices, its range or another field do not allow.
    (data.* is DataConfig's own to check, as it is built.)"""
    for prefix, section in _sections(config):
        wrong = wrong_choice(section)
        if wrong:
            name, choices = wrong
            raise UserError(
                Mention(prefix + name),
                f" must be {spoken(choices)}, got {getattr(section, name)!r}.",
                field=prefix + name,
            )
    o = config.optimizer
    checks = [
        ("epochs", config.epochs >= 1, "at least 1"),
        ("batch_size", config.batch_size >= 1, "at least 1"),
        ("global_batch_size", config.global_batch_size is None or config.global_batch_size >= 1, "at least 1"),
        ("image_size", config.image_size is None or config.image_size >= 1, "positive"),
        ("channels", config.channels is None or config.channels >= 1, "positive"),
        ("steps_per_execution", config.steps_per_execution >= 1, "at least 1"),
        ("serving_max_pixels", config.serving_max_pixels >= 0, "0 (the serving default) or more"),
        ("serving_max_batch_pixels", config.serving_max_batch_pixels >= 0, "0 (serving_max_pixels) or more"),
        ("checkpoint_every", config.checkpoint_every >= 0, "0 or more"),
        ("keep_checkpoints", config.keep_checkpoints >= 1, "at least 1"),
        ("aux_loss_weight", config.aux_loss_weight >= 0, "0 or more"),
        ("fine_tune.head_epochs", config.fine_tune.head_epochs >= 0, "0 or more"),
        ("fine_tune.rate_factor", 0 < config.fine_tune.rate_factor <= 1, "in (0, 1]"),
        ("optimizer.learning_rate", o.learning_rate > 0, "positive"),
        ("optimizer.reference_batch", o.reference_batch >= 1, "at least 1"),
        ("optimizer.momentum", 0 <= o.momentum < 1, "in [0, 1)"),
        ("optimizer.weight_decay", o.weight_decay >= 0, "0 or more"),
        ("optimizer.milestones", all(0 < m < 1 for m in o.milestones), "fractions of the run in (0, 1)"),
        ("optimizer.gamma", 0 < o.gamma <= 1, "in (0, 1]"),
        ("optimizer.warmup_epochs", 0 <= o.warmup_epochs < config.epochs, "in [0, epochs)"),
        (
            "optimizer.warmup_epochs",
            not (o.warmup_epochs and o.schedule == "plateau"),
            "0 with the plateau schedule (it lowers a constant rate)",
        ),
        ("loss_upper_bound", config.loss_upper_bound is None or config.loss_upper_bound > 0, "positive"),
        ("recover_factor", 0 < config.recover_factor < 1, "in (0, 1)"),
        ("max_recoveries", config.max_recoveries >= 0, "0 or more"),
        ("histogram_freq", config.histogram_freq >= 0, "0 or more"),
        ("profile_batches", _profile_range(config.profile_batches), "empty, a step N or a range N,M of steps"),
        ("model", config.model in list_models(), "a model of kerascnn.list_models()"),
    ]
    for name, ok, expected in checks:
        if not ok:
            raise UserError(Mention(name), f" must be {expected}, got {get(config, name)!r}.", field=name)


def _sections(config, prefix=""):
    """(dotted prefix, dataclass) of `config` and each section nested in it, data.* left to DataConfig."""
    yield prefix, config
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        if dataclasses.is_dataclass(value) and field.name != "data":
            yield from _sections(value, f"{prefix}{field.name}.")


def check_augmentation(config, task):
    """UserError when data.augmentation is a recipe of the other task (a classifier's crop cannot move a mask)."""
    name = config.data.augmentation
    if task == "segmentation" and name != "none" and name not in MASK_RECIPES:
        raise UserError(
            f"data.augmentation={name} is a classification recipe; a segmentation model takes none, "
            f"{', '.join(MASK_RECIPES)}."
        )
    if task != "segmentation" and name not in RECIPES:
        raise UserError(f"data.augmentation={name} is a segmentation recipe; a classifier takes {', '.join(RECIPES)}.")


def _profile_range(text):
    parts = [p.strip() for p in str(text or "").split(",") if p.strip()]
    return len(parts) <= 2 and all(p.isdigit() and int(p) > 0 for p in parts) and parts == sorted(parts, key=int)
