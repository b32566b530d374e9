"""One registry behind `kerascnn.get_model` and `kerascnn.list_models`.

Each family module registers its variants from its own table; the CLI, the tuner, the benchmark and the tests
all build models through `get_model`, so a model added here is available everywhere.
"""

import difflib
import fnmatch
from collections.abc import Callable
from dataclasses import dataclass, field

import keras

from kerascnn import weights as weights_lib
from kerascnn.errors import UserError


@dataclass(frozen=True)
class ModelSpec:
    """What the registry knows of a model before building it."""

    name: str
    builder: Callable[..., keras.Model]
    input_shape: tuple[int, int, int]  # the paper's input
    min_size: int  # the smallest input side at which the model builds, with any of its switches
    family: str
    aliases: tuple[str, ...] = ()
    defaults: dict = field(default_factory=dict)  # the variant's own switches, passed to the builder
    # "classification": [batch, num_classes] probabilities; "segmentation": [batch, height, width, num_classes]
    # probabilities at the input's size. The pipelines pick their data, losses and metrics by this field.
    task: str = "classification"
    # Input pixels between neighbouring units of the coarsest feature map a prediction depends on: shifting the
    # input by a multiple of it shifts a dense model's output by the same amount (away from the borders). None
    # where the registry does not state it.
    output_stride: int | None = None
    # Pixels a segmentation model's output loses on each side of its input (U-Net's valid convolutions: 92, so
    # 572 -> 388); 0 where the output has the input's size. The output's pixel y is the input's y + output_margin.
    output_margin: int = 0
    num_classes: int = 1000  # what get_model builds without num_classes: the paper's, for the dense models
    # input side -> the valid input sides nearest it (only itself when valid), for a model that takes only some
    # sizes (U-Net: 16n + 60); None where every side from min_size on is valid.
    valid_sizes: Callable[[int], tuple[int, ...]] | None = (
        None  # what get_model builds without num_classes: the paper's, for the dense models
    )

    def output_size(self, size):
        """The height (or width) of a segmentation model's output for an input of that height (or width)."""
        return None if size is None else size - 2 * self.output_margin

    @property
    def image_size(self):
        """The pipelines' default image side: the paper's input, less the margin a model with one gets back by
        mirror-padding (U-Net: 388, padded to the paper's 572 tile)."""
        return self.output_size(self.input_shape[0])

    def image_sizes(self, size):
        """The image sides nearest `size` that the pipelines can feed (only `size` where it is one): mirror-padded
        by output_margin a side, a valid input."""
        padded = size + 2 * self.output_margin
        nearest = self.valid_sizes(padded) if self.valid_sizes else ((padded,) if size >= self.min_image_size else ())
        return tuple(v - 2 * self.output_margin for v in nearest if v - 2 * self.output_margin >= 1)

    @property
    def min_image_size(self):
        """The smallest image side the pipelines can feed (before any mirror padding)."""
        return max(1, self.min_size - 2 * self.output_margin)


_MODELS: dict[str, ModelSpec] = {}
_ALIASES: dict[str, str] = {}


TASKS = ("classification", "segmentation")


def register_model(
    name,
    builder,
    *,
    input_shape,
    min_size,
    family,
    aliases=(),
    task="classification",
    output_stride=None,
    output_margin=0,
    num_classes=1000,
    valid_sizes=None,
    **defaults,
):
    """Registers `builder(**defaults, **kwargs)` under `name` (and its aliases), for a task in TASKS."""
    for key in (name, *aliases):
        if key in _MODELS or key in _ALIASES:
            raise ValueError(f"Model name {key!r} is registered twice.")
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}.")
    _MODELS[name] = ModelSpec(
        name,
        builder,
        tuple(input_shape),
        min_size,
        family,
        tuple(aliases),
        defaults,
        task=task,
        output_stride=output_stride,
        output_margin=output_margin,
        num_classes=num_classes,
        valid_sizes=valid_sizes,
    )
    _ALIASES.update({alias: name for alias in aliases})


def list_models(pattern="*", *, aliases=False):
    """Sorted names of the registered models that match an fnmatch `pattern` (e.g. "resnet*")."""
    names = list(_MODELS) + (list(_ALIASES) if aliases else [])
    return sorted(n for n in names if fnmatch.fnmatchcase(n, pattern.lower()))


def model_spec(name):
    """The `ModelSpec` of a model or alias; an unknown name raises ValueError naming the closest ones."""
    # "VGG-16", "vgg-16" and "vgg16_c" all name what they look like.
    for key in (name.lower(), name.lower().replace("-", ""), name.lower().replace("-", "_")):
        key = _ALIASES.get(key, key)
        if key in _MODELS:
            return _MODELS[key]
    close = difflib.get_close_matches(name.lower(), list(_MODELS) + list(_ALIASES), n=3, cutoff=0.5)
    hint = f"did you mean {', '.join(close)}?" if close else "see kerascnn.list_models()."
    raise ValueError(f"Unknown model {name!r}: {hint}")


def checked_model(name, image_sizes=()):
    """The `ModelSpec` of `name` for a run's config: UserError (field "model") for an unknown name, naming the
    closest ones, or (field "image_size") a size in `image_sizes` below the model's minimum; None in
    `image_sizes` stands for the paper's size."""
    try:
        spec = model_spec(name)
    except ValueError as error:
        raise UserError(str(error), field="model") from None
    for size in image_sizes:
        if size is not None and size < spec.min_image_size:
            raise UserError(
                f"image_size {size} is below {spec.name}'s minimum of {spec.min_image_size} pixels; use "
                f"{spec.min_image_size} or more.",
                field="image_size",
            )
        nearest = spec.image_sizes(size) if size is not None else ()
        if nearest and nearest != (size,):
            padded = f" (mirror-padded by {spec.output_margin} a side)" if spec.output_margin else ""
            raise UserError(
                f"image_size {size} does not suit {spec.name}{padded}: use {' or '.join(map(str, nearest))}.",
                field="image_size",
            )
    return spec


def get_model(name, *, weights=None, num_classes=None, input_shape=None, include_top=True, **kwargs):
    """Builds a registered model as a functional `keras.Model`.

    Args:
        name: a name from `list_models()` or an alias (e.g. "vgg_d" for "vgg16").
        weights: None (initialised), "imagenet" (the published weights, downloaded once) or a weights file; see
            kerascnn.weights. With another num_classes than 1000, or include_top=False, the backbone is loaded and
            the head left new. The model then says in `model.preprocessing` what input the weights expect.
        num_classes: size of the classifier's output; None means the spec's (1000 for the classifiers, the
            paper's for the dense models: 21 PASCAL VOC classes for FCN and DeepLab, 2 for U-Net).
        input_shape: (height, width, channels); None means the paper's input. A segmentation model takes None
            for the height and width (any size it can take, fixed when it is called).
        include_top: whether to add the classifier head; without it the model ends in the backbone's features
            (reduce them with `pooling="avg"` or `"max"`).
        **kwargs: the family's own switches (e.g. `aux_classifiers` for GoogLeNet, `output_stride` for ResNet,
            `classifier_activation`, `pooling`, `name`).
    """
    spec = model_spec(name)
    input_shape = tuple(input_shape) if input_shape is not None else spec.input_shape
    if len(input_shape) != 3:
        raise ValueError(f"input_shape must be (height, width, channels), got {input_shape}.")
    if any(side is not None and side < spec.min_size for side in input_shape[:2]):
        raise ValueError(
            f"{spec.name} needs inputs of at least {spec.min_size}x{spec.min_size} pixels, got "
            f"{input_shape[0]}x{input_shape[1]}."
        )
    options = {"name": spec.name, **spec.defaults, **kwargs}
    num_classes = spec.num_classes if num_classes is None else num_classes
    if weights is None:
        return spec.builder(num_classes=num_classes, input_shape=input_shape, include_top=include_top, **options)
    try:
        graph = weights_lib.onnx_graph(spec.name, weights)  # read once: for the options it fixes and its weights
        options = {**weights_lib.build_options(graph), **options}
        model = spec.builder(num_classes=num_classes, input_shape=input_shape, include_top=include_top, **options)
        weights_lib.load_weights(
            model, spec.name, weights, head=include_top and num_classes == weights_lib.IMAGENET_CLASSES, graph=graph
        )
    except UserError as error:
        error.field = error.field or "weights"  # every mistake here is about the weights given
        raise
    return model
