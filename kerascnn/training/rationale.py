"""What a run says about its recipe before it trains: why each value of a pretrained start is what it is (each
reason printed beside the value it explains, never beside another), and the settings that cannot work (a
fine-tuning too short for its second phase, a dense paper recipe from random weights)."""

import inspect

from kerascnn import weights as weights_lib
from kerascnn.errors import Mention, Message
from kerascnn.registry import checked_model
from kerascnn.training.config import to_dict
from kerascnn.training.recipes import (
    DENSE_PRETRAINED,
    DENSE_PRETRAINED_REASONS,
    FAMILY_RECIPES,
    FINE_TUNE,
    FINE_TUNE_REASONS,
    SHAPES_DEMOS,
)

# A reason about a value that holds only with another field's value too ("0.01 for the head (SGD ...)").
DEPENDS = {"optimizer.learning_rate": ("optimizer.name",), "optimizer.weight_decay": ("optimizer.name",)}
# The families whose papers start from an ImageNet backbone that kerascnn.weights loads.
BACKBONE_FAMILIES = ("fcn", "deeplab")
# What a dense model from scratch trains with instead (the segmentation demo's, which learns: README).
DEMO_RECIPE = ("model_options.width_multiplier", "optimizer.name", "optimizer.learning_rate", "batch_size")


def value(config, key):
    """The value of the dotted field `key` of `config`."""
    target = to_dict(config)
    for part in key.split("."):
        target = target.get(part) if isinstance(target, dict) else None
    return target


def _source(config, key, found):
    demo = SHAPES_DEMOS.get(checked_model(config.model).task, {})
    if config.data.dataset == "shapes" and key in demo and demo[key] == found:
        return "the shapes demo's, sized to learn in minutes on a CPU (on your own images the recipe's applies)"
    return "as given"


def reasons(config):
    """("field = value", why) for each field a pretrained start sets (empty without `weights`): the recipe's
    reason where the value is the recipe's, else where the value came from (the shapes demo, the user)."""
    if not config.weights:
        return []
    spec = checked_model(config.model)
    if spec.task == "segmentation":
        backbone = weights_lib.backbone(spec.name, config.model_options)
        paper = f"the paper's ({spec.family} recipe), which starts from the ImageNet-trained {backbone}"
        recipe = {**DENSE_PRETRAINED, **FAMILY_RECIPES[spec.family]}
        keys = ("epochs", "batch_size", "optimizer.learning_rate")
        why = {**{key: paper for key in keys}, **DENSE_PRETRAINED_REASONS}
        why["data.normalization"] = FINE_TUNE_REASONS["data.normalization"]
    else:
        recipe, why = FINE_TUNE, FINE_TUNE_REASONS
    expected = {**recipe, "data.normalization": weights_lib.preprocessing(spec.name, config.weights)}
    lines = []
    for key, reason in why.items():
        found = value(config, key)
        holds = all(value(config, k) == expected[k] for k in (key, *DEPENDS.get(key, ())) if k in expected)
        lines.append((f"{key} = {found}", reason if holds else _source(config, key, found)))
    return lines


def notes(config):
    """A Message (kerascnn.errors) about each thing this config cannot do, to say before training; the fields it
    names are its mentions, so that the command line says them as flags."""
    out = []
    head = config.fine_tune.head_epochs
    if config.weights and head and config.epochs <= head:
        line = Message(
            f"Fine-tuning: all {config.epochs} epoch(s) train the new head alone (",
            Mention("fine_tune.head_epochs", head),
            "), so the whole network never trains: give more epochs (the recipe's ",
            Mention("epochs", FINE_TUNE["epochs"]),
            ") or fewer head epochs.",
        )
        out.append(line)
    spec = checked_model(config.model)
    recipe = FAMILY_RECIPES.get(spec.family, {})
    paper_rate = config.optimizer.name == "sgd" and config.optimizer.learning_rate == recipe.get(
        "optimizer.learning_rate"
    )
    if spec.family in BACKBONE_FAMILIES and not config.weights and config.data.dataset != "shapes" and paper_rate:
        backbone = weights_lib.backbone(spec.name, config.model_options)
        demo = SHAPES_DEMOS["segmentation"]
        # A narrower network where the family has the switch (DeepLab v2's ResNet-101 has none).
        narrow = "width_multiplier" in inspect.signature(spec.builder).parameters
        keys = [k for k in DEMO_RECIPE if narrow or k != "model_options.width_multiplier"]
        sets = [part for k in keys for part in (Mention(k, demo[k]), " ")]
        line = Message(
            f"{spec.name} from random weights with the paper's recipe (rate {config.optimizer.learning_rate:g}, made "
            f"for an ImageNet-trained {backbone}) will not learn: start from ",
            Mention("weights", "imagenet"),
            ", or train from scratch with the demo's recipe (",
            *sets,
            Mention("segmentation.pixel_loss", "mean"),
            ").",
        )
        out.append(line)
    return out
