"""What the registry knows of a model before building it (`ModelSpec`), and the table each family module adds its
variants to (`register_model`). The lookups (`kerascnn.get_model`, `list_models`, `model_spec`) are in
kerascnn/registry.py, which imports the zoo.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

import keras


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
    valid_sizes: Callable[[int], tuple[int, ...]] | None = None

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


MODELS: dict[str, ModelSpec] = {}
ALIASES: dict[str, str] = {}


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
        if key in MODELS or key in ALIASES:
            raise ValueError(f"Model name {key!r} is registered twice.")
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}.")
    MODELS[name] = ModelSpec(
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
    ALIASES.update({alias: name for alias in aliases})
