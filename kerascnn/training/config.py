"""One typed config per run: defaults with reasons, each family's paper recipe as a small override, the user's
fields (`key=value`) on top; the resolved config is written next to the run's outputs.

Resolution order: RunConfig defaults -> the family's recipe -> the model's own -> the shapes demo sizing (only
when the dataset is "shapes" and the user did not say otherwise) -> the user's fields (the command line's flags
and --set items; pipelines.flags maps the one to the other).
"""

import dataclasses
import difflib
import hashlib
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

from kerascnn import weights as weights_lib

# The choices of `precision`, `strategy` (kerascnn.training.devices says what each does) and `serving_precision`
# (kerascnn.training.export.serving_model), written once in kerascnn/choices.py for the command line too.
from kerascnn.choices import PRECISIONS, SERVING_PRECISIONS, STRATEGIES  # noqa: F401
from kerascnn.data import idx
from kerascnn.data.config import DataConfig
from kerascnn.data.recipes import MASK_RECIPES, RECIPES
from kerascnn.errors import UserError
from kerascnn.registry import checked_model, list_models
from kerascnn.training.recipes import (
    DENSE_PRETRAINED,
    FAMILY_RECIPES,
    FINE_TUNE,
    MODEL_RECIPES,
    SHAPES_DEMO,
    SHAPES_DEMOS,
    mnist_family,
)


@dataclass
class OptimizerConfig:
    name: str = "sgd"  # sgd | adam | adamw | rmsprop: every paper here used SGD with momentum
    learning_rate: float = 0.01  # for `reference_batch` images a step; scaled linearly to the global batch
    reference_batch: int = 256  # the batch the learning rate is given for (Goyal et al. 2017's linear rule)
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 5e-4  # on conv and dense kernels, not on biases or BN (schedules.NO_DECAY)
    # coupled: the papers' L2 (Caffe's and Torch's SGD added wd x w to the gradient before the momentum update),
    # as an L2 term of wd / 2 in the loss | decoupled: Keras' w -= lr x wd x w at each step, which with momentum
    # 0.9 regularises about 1 / (1 - 0.9) = 10 times less at the same wd. AdamW always decouples.
    weight_decay_mode: str = "coupled"
    # constant | step (x gamma at each of `milestones`, fractions of the run) | plateau (x gamma when val loss
    # stops falling for `patience` epochs: AlexNet and VGG) | exponential (x gamma every `decay_epochs`) | cosine
    # | poly ((1 - step / steps) ** power: DeepLab)
    schedule: str = "step"
    milestones: tuple[float, ...] = (1 / 3, 2 / 3)
    gamma: float = 0.1
    patience: int = 5
    decay_epochs: float = 8.0
    power: float = 0.9  # of the poly schedule (Chen et al. 2017, Sec. 4.1)
    warmup_epochs: float = 0.0  # linear warm-up from 1/10 of the rate (ResNet-110, Goyal et al.)
    clipnorm: float | None = None


@dataclass
class FineTuneConfig:
    """The two phases of fine-tuning pretrained `weights` (recipes.FINE_TUNE says why)."""

    # the first epochs (at most all) train the new head alone, the backbone frozen (BN in inference mode)
    head_epochs: int = 3
    rate_factor: float = 0.1  # then the whole network, at this times the learning rate


@dataclass
class SegmentationConfig:
    """The per-pixel loss of segmentation models (kerascnn/training/segmentation.py); unused by classifiers."""

    pixel_loss: str = "mean"  # mean: over the labelled pixels | sum: over each image's pixels (FCN's batch 1)
    class_weights: tuple[float, ...] | None = None  # one per class, background included; None: all 1


@dataclass
class RunConfig:
    model: str = "alexnet"
    # Pretrained weights to start from: None (from scratch), "imagenet" or a file (see kerascnn.weights); they
    # bring the fine-tuning recipe and their own preprocessing.
    weights: str | None = None
    model_options: dict = field(default_factory=dict)  # the family's switches, passed to kerascnn.get_model
    image_size: int | None = None  # None: the paper's input size
    channels: int | None = None  # None: the paper's
    epochs: int = 90
    batch_size: int = 128  # per replica; the global batch is this times the replicas
    global_batch_size: int | None = None  # instead of batch_size: the global batch, divided among the replicas
    seed: int = 0
    precision: str = "auto"  # one of PRECISIONS
    strategy: str = "auto"  # one of STRATEGIES
    jit_compile: bool | str = "auto"  # Keras' rule: XLA on accelerators, not on CPUs (slower there, measured)
    steps_per_execution: int = 1
    deterministic: bool = False  # TensorFlow op determinism: reruns give bit-identical weights, a little slower
    aux_loss_weight: float = 0.3  # GoogLeNet's auxiliary heads (paper, Sec. 5)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    fine_tune: FineTuneConfig = field(default_factory=FineTuneConfig)
    data: DataConfig = field(default_factory=DataConfig)
    segmentation: SegmentationConfig = field(default_factory=SegmentationConfig)
    # Outputs and monitoring.
    run_dir: str | None = None  # logs and checkpoints; None: runs/<model>-<dataset>
    output_dir: str = "saved_models"
    push: str = "blessed"  # blessed | force | never
    ten_crop: bool = False  # evaluate with AlexNet's 10 crops as well as the centre crop
    checkpoint_every: int = 0  # also checkpoint every N steps (0: at the end of each epoch only)
    keep_checkpoints: int = 2
    histogram_freq: int = 1  # weight histograms every N epochs (0: none)
    profile_batches: str = ""  # e.g. "10,20": trace those steps for TensorBoard's profiler
    image_summaries: bool = True  # a grid of augmented inputs in TensorBoard
    filter_images: bool = False  # first-layer filters and feature maps in TensorBoard each epoch
    explain_images: bool = False  # Grad-CAM of a fixed validation batch in TensorBoard each epoch
    # A NaN loss, or one above loss_upper_bound (Model Garden's guard against blow-ups): "stop" ends the run with
    # its checkpoints intact; "recover" restores the last checkpoint with the learning rate x recover_factor.
    on_nan: str = "stop"
    loss_upper_bound: float | None = None
    recover_factor: float = 0.5
    max_recoveries: int = 3
    export_weights: str = "final"  # final | best: the weights pushed (best: the epoch of best val_accuracy,
    # val_mean_iou for segmentation)
    # What the served model accepts (kerascnn.serving.guard), in declared pixels; recorded in the version's
    # assets.extra/serving.json. 0: kerascnn.serving.SERVING_MAX_PIXELS (or data.max_image_pixels where lower) for
    # an image, and the image limit for a whole batch.
    serving_max_pixels: int = 0
    serving_max_batch_pixels: int = 0
    # What the served model computes in: float32 (equal to the trained model to float rounding) or bfloat16
    # (about twice as fast on CPUs with AVX512_BF16 or AMX and on GPUs, probabilities within about 0.02).
    serving_precision: str = "float32"


def _fields(cls):
    return {f.name: f for f in dataclasses.fields(cls)}


def _coerce(text, annotation, key):
    """Parses `text` (from the command line) as a value of `annotation`, or raises UserError naming `key`."""
    if not isinstance(text, str):
        return text
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        if text.lower() in ("none", "null") and type(None) in args:
            return None
        for option in (a for a in args if a is not type(None)):
            try:
                return _coerce(text, option, key)
            except UserError:
                continue
        raise UserError(f"{key}={text}: expected {_describe(annotation)}.", field=key)
    try:
        if annotation is bool:
            if text.lower() in ("true", "1", "yes", "on"):
                return True
            if text.lower() in ("false", "0", "no", "off"):
                return False
            raise ValueError
        if annotation in (int, float):
            return annotation(text)
        if origin is tuple:
            items = [item for item in text.strip("()[] ").split(",") if item.strip()]
            return tuple(_coerce(item.strip(), args[0], key) for item in items)
        if origin is dict or annotation is dict:
            return json.loads(text)
        return text
    except (ValueError, json.JSONDecodeError):
        raise UserError(f"{key}={text}: expected {_describe(annotation)}.", field=key) from None


def _describe(annotation):
    return getattr(annotation, "__name__", str(annotation)).replace("typing.", "")


def apply(config, key, value):
    """Sets the dotted `key` of `config` (e.g. "optimizer.learning_rate", "model_options.output_stride") to
    `value`, parsing strings by the field's type."""
    *parents, name = key.split(".")
    target, path = config, []
    for part in parents:
        path.append(part)
        if isinstance(target, dict):
            target = target.setdefault(part, {})
        elif dataclasses.is_dataclass(target) and part in _fields(type(target)):
            target = getattr(target, part)
        else:
            raise UserError(
                f"{key}: unknown config section {'.'.join(path)!r}; see the resolved config.json.", field=key
            )
    if isinstance(target, dict):
        target[name] = _coerce_literal(value)
        return
    fields = _fields(type(target))
    if name not in fields:
        close = difflib.get_close_matches(name, fields, n=1)
        hint = f" (did you mean {'.'.join([*parents, close[0]])}?)" if close else ""
        raise UserError(f"{key}: unknown config field{hint}.", field=key)
    hints = typing.get_type_hints(type(target))
    setattr(target, name, _coerce(value, hints[name], key))


def _coerce_literal(text):
    """A model option from the command line: JSON (numbers, true/false, lists) or else a string."""
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text.lower() if text.lower() in ("true", "false", "null") else text)
    except json.JSONDecodeError:
        return text


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
            raise UserError(str(error), field="weights") from None
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


def validate(config):
    """Raises UserError naming the first field that is out of range or conflicts with another."""
    o = config.optimizer
    checks = [
        ("epochs", config.epochs >= 1, "at least 1"),
        ("batch_size", config.batch_size >= 1, "at least 1"),
        ("global_batch_size", config.global_batch_size is None or config.global_batch_size >= 1, "at least 1"),
        ("image_size", config.image_size is None or config.image_size >= 1, "positive"),
        ("channels", config.channels is None or config.channels >= 1, "positive"),
        ("steps_per_execution", config.steps_per_execution >= 1, "at least 1"),
        ("precision", config.precision in PRECISIONS, f"one of {', '.join(PRECISIONS)}"),
        ("strategy", config.strategy in STRATEGIES, f"one of {', '.join(STRATEGIES)}"),
        ("push", config.push in ("blessed", "force", "never"), "blessed, force or never"),
        ("on_nan", config.on_nan in ("stop", "recover"), "stop or recover"),
        ("export_weights", config.export_weights in ("final", "best"), "final or best"),
        ("serving_max_pixels", config.serving_max_pixels >= 0, "0 (the serving default) or more"),
        ("serving_max_batch_pixels", config.serving_max_batch_pixels >= 0, "0 (serving_max_pixels) or more"),
        ("serving_precision", config.serving_precision in SERVING_PRECISIONS, " or ".join(SERVING_PRECISIONS)),
        ("jit_compile", config.jit_compile in (True, False, "auto"), "auto, true or false"),
        ("checkpoint_every", config.checkpoint_every >= 0, "0 or more"),
        ("keep_checkpoints", config.keep_checkpoints >= 1, "at least 1"),
        ("aux_loss_weight", config.aux_loss_weight >= 0, "0 or more"),
        ("fine_tune.head_epochs", config.fine_tune.head_epochs >= 0, "0 or more"),
        ("fine_tune.rate_factor", 0 < config.fine_tune.rate_factor <= 1, "in (0, 1]"),
        ("optimizer.name", o.name in ("sgd", "adam", "adamw", "rmsprop"), "sgd, adam, adamw or rmsprop"),
        ("optimizer.learning_rate", o.learning_rate > 0, "positive"),
        ("optimizer.reference_batch", o.reference_batch >= 1, "at least 1"),
        ("optimizer.momentum", 0 <= o.momentum < 1, "in [0, 1)"),
        ("optimizer.weight_decay", o.weight_decay >= 0, "0 or more"),
        ("optimizer.weight_decay_mode", o.weight_decay_mode in ("coupled", "decoupled"), "coupled or decoupled"),
        (
            "optimizer.schedule",
            o.schedule in ("constant", "step", "plateau", "exponential", "cosine", "poly"),
            "constant, step, plateau, exponential, cosine or poly",
        ),
        ("optimizer.milestones", all(0 < m < 1 for m in o.milestones), "fractions of the run in (0, 1)"),
        ("optimizer.gamma", 0 < o.gamma <= 1, "in (0, 1]"),
        ("optimizer.warmup_epochs", 0 <= o.warmup_epochs < config.epochs, "in [0, epochs)"),
        (
            "optimizer.warmup_epochs",
            not (o.warmup_epochs and o.schedule == "plateau"),
            "0 with the plateau schedule (it lowers a constant rate)",
        ),
        ("segmentation.pixel_loss", config.segmentation.pixel_loss in ("mean", "sum"), "mean or sum"),
        ("loss_upper_bound", config.loss_upper_bound is None or config.loss_upper_bound > 0, "positive"),
        ("recover_factor", 0 < config.recover_factor < 1, "in (0, 1)"),
        ("max_recoveries", config.max_recoveries >= 0, "0 or more"),
        ("histogram_freq", config.histogram_freq >= 0, "0 or more"),
        ("profile_batches", _profile_range(config.profile_batches), "empty, a step N or a range N,M of steps"),
        ("model", config.model in list_models(), "a model of kerascnn.list_models()"),
    ]
    for name, ok, expected in checks:
        if not ok:
            raise UserError(f"{name} must be {expected}, got {_get(config, name)!r}.", field=name)


def _profile_range(text):
    parts = [p.strip() for p in str(text or "").split(",") if p.strip()]
    return len(parts) <= 2 and all(p.isdigit() and int(p) > 0 for p in parts) and parts == sorted(parts, key=int)


def _get(config, dotted):
    for part in dotted.split("."):
        config = getattr(config, part)
    return config


def to_dict(config):
    return dataclasses.asdict(config)


# Fields that may change between a run and its resumption: more epochs, other outputs, other monitoring.
RESUMABLE_CHANGES = {
    "epochs",
    "run_dir",
    "output_dir",
    "push",
    "ten_crop",
    "histogram_freq",
    "profile_batches",
    "image_summaries",
    "filter_images",
    "explain_images",
    "keep_checkpoints",
    "checkpoint_every",
    "strategy",
    "on_nan",
    "max_recoveries",
    "recover_factor",
    "loss_upper_bound",
    "export_weights",
    "serving_max_pixels",
    "serving_max_batch_pixels",
    "serving_precision",
    "deterministic",
    "jit_compile",
    "steps_per_execution",
    "data.on_bad_image",  # how undecodable files are reported; a run that skipped none trains the same
}


def fingerprint(config):
    """A digest of what determines the training itself, to refuse resuming a run with a different config."""
    essentials = {k: v for k, v in to_dict(config).items() if k not in RESUMABLE_CHANGES}
    for key in (k for k in RESUMABLE_CHANGES if "." in k):
        section, name = key.split(".", 1)
        essentials.get(section, {}).pop(name, None)
    # Fields added for segmentation count only when set, so that runs recorded before them still resume.
    if essentials["segmentation"] == dataclasses.asdict(SegmentationConfig()):
        del essentials["segmentation"]
    if essentials["data"]["pad"] == 0:
        essentials["data"] = {k: v for k, v in essentials["data"].items() if k != "pad"}
    for name in ("train_subset", "eval_subset"):  # added later: a run on whole splits keeps its fingerprint
        if essentials["data"][name] == 0:
            essentials["data"] = {k: v for k, v in essentials["data"].items() if k != name}
    if essentials["data"]["shapes_per_image"] == 1:
        essentials["data"] = {k: v for k, v in essentials["data"].items() if k != "shapes_per_image"}
    if essentials["optimizer"]["power"] == 0.9:
        essentials["optimizer"] = {k: v for k, v in essentials["optimizer"].items() if k != "power"}
    return hashlib.sha256(json.dumps(essentials, sort_keys=True, default=str).encode()).hexdigest()[:16]
