"""The allowed values of the run's settings that the command line offers before any of the library loads.

Each list is written here once, as a `Literal` type: the config's fields are annotated with it, the library's
validation is derived from it (`allowed`, `wrong_choice`), and pipelines/flags.py offers its values (`get_args`) as a
flag's choices. This module imports only the standard library, so that `--help` does not wait for TensorFlow.
"""

import dataclasses
import types
import typing
from typing import Literal, get_args

# Keras' dtype policies a run trains in; "auto" picks by device (kerascnn.training.devices.choose_precision).
Precision = Literal["auto", "float32", "mixed_float16", "mixed_bfloat16"]
PRECISIONS = get_args(Precision)
# What an exported model computes in.
ServingPrecision = Literal["float32", "bfloat16"]
SERVING_PRECISIONS = get_args(ServingPrecision)
# tf.distribute strategies; "auto" picks by what the machine has (kerascnn.training.devices.make_strategy).
Strategy = Literal["auto", "default", "mirrored", "multi_worker", "tpu"]
STRATEGIES = get_args(Strategy)
# The strategies a search's trials may train with: each trial trains on this machine's devices.
TRIAL_STRATEGIES = ("auto", "default", "mirrored")
# An undecodable file in a folder: "fail" names it, "skip" leaves it out and reports it.
BadImagePolicy = Literal["fail", "skip"]
BAD_IMAGE_POLICIES = get_args(BadImagePolicy)
# keras-tuner's tuners (kerascnn.tuning.tuners.TUNERS) and the metrics a search may optimise.
TUNERS = ("random", "bayesian", "hyperband")
OBJECTIVES = ("val_accuracy", "val_loss", "val_top5_accuracy", "accuracy", "loss", "top5_accuracy")


def allowed(annotation):
    """The values a field of type `annotation` may take where the type lists them: a `Literal`, alone or in a
    union with bool (True, False) or None; else None (any value of the type)."""
    origin, args = typing.get_origin(annotation), get_args(annotation)
    if origin is Literal:
        return args
    if origin not in (typing.Union, types.UnionType) or not any(typing.get_origin(a) is Literal for a in args):
        return None
    values = []
    for option in args:
        if option is bool:
            values += [True, False]
        elif option is type(None):
            values.append(None)
        elif typing.get_origin(option) is Literal:
            values += get_args(option)
        else:
            return None
    return tuple(values)


def wrong_choice(instance):
    """(field name, allowed values) of the first field of the dataclass `instance` whose value its type does not
    allow, or None."""
    hints = typing.get_type_hints(type(instance))
    for field in dataclasses.fields(instance):
        choices = allowed(hints[field.name])
        value = getattr(instance, field.name)
        if choices is not None and not any(value is c or (type(value) is type(c) and value == c) for c in choices):
            return field.name, choices
    return None


def spoken(choices):
    """The allowed values as a message names them: "one of auto, true, false"."""
    return "one of " + ", ".join(str(c).lower() if isinstance(c, bool) or c is None else str(c) for c in choices)
