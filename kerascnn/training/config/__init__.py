"""One typed config per run: defaults with reasons, each family's paper recipe as a small override, the user's
fields (`key=value`) on top; the resolved config is written next to the run's outputs.

One job a module: schema.py (the dataclasses; each field's choices are its `Literal` type), coercion.py (a dotted
field set from the command line's text), resolution.py (`resolve`: defaults, recipes, the user's fields),
validation.py (choices derived from the types, then ranges), fingerprint.py (what makes two runs the same run).
"""

from kerascnn.choices import PRECISIONS, SERVING_PRECISIONS, STRATEGIES
from kerascnn.training.config.coercion import apply
from kerascnn.training.config.fingerprint import (
    FINGERPRINT_VERSION,
    RESUMABLE_CHANGES,
    changes,
    differences,
    fingerprint,
)
from kerascnn.training.config.resolution import data_reasons, is_mnist_family, resolve
from kerascnn.training.config.schema import (
    FineTuneConfig,
    OptimizerConfig,
    RunConfig,
    SegmentationConfig,
    get,
    to_dict,
)
from kerascnn.training.config.validation import check_augmentation, validate

__all__ = [
    "FINGERPRINT_VERSION",
    "PRECISIONS",
    "RESUMABLE_CHANGES",
    "SERVING_PRECISIONS",
    "STRATEGIES",
    "FineTuneConfig",
    "OptimizerConfig",
    "RunConfig",
    "SegmentationConfig",
    "apply",
    "changes",
    "check_augmentation",
    "differences",
    "data_reasons",
    "fingerprint",
    "get",
    "is_mnist_family",
    "resolve",
    "to_dict",
    "validate",
]
