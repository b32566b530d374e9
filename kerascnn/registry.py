"""One registry behind `kerascnn.get_model` and `kerascnn.list_models`.

Each family module registers its variants from its own table (into kerascnn/models/spec.py's; importing this
module imports the zoo); the CLI, the tuner, the benchmark and the tests
all build models through `get_model`, so a model added here is available everywhere.
"""

import difflib
import fnmatch

import kerascnn.models  # noqa: F401  (the family modules register the zoo)
from kerascnn import weights as weights_lib
from kerascnn.errors import Mention, UserError
from kerascnn.models.spec import ALIASES, MODELS, TASKS, ModelSpec, register_model  # noqa: F401  (the table)


def list_models(pattern="*", *, aliases=False):
    """Sorted names of the registered models that match an fnmatch `pattern` (e.g. "resnet*")."""
    names = list(MODELS) + (list(ALIASES) if aliases else [])
    return sorted(n for n in names if fnmatch.fnmatchcase(n, pattern.lower()))


def model_spec(name):
    """The `ModelSpec` of a model or alias; an unknown name raises ValueError naming the closest ones."""
    # "VGG-16", "vgg-16" and "vgg16_c" all name what they look like.
    for key in (name.lower(), name.lower().replace("-", ""), name.lower().replace("-", "_")):
        key = ALIASES.get(key, key)
        if key in MODELS:
            return MODELS[key]
    close = difflib.get_close_matches(name.lower(), list(MODELS) + list(ALIASES), n=3, cutoff=0.5)
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
                Mention("image_size"),
                f" {size} is below {spec.name}'s minimum of {spec.min_image_size} pixels; use "
                f"{spec.min_image_size} or more.",
                field="image_size",
            )
        nearest = spec.image_sizes(size) if size is not None else ()
        if nearest and nearest != (size,):
            padded = f" (mirror-padded by {spec.output_margin} a side)" if spec.output_margin else ""
            raise UserError(
                Mention("image_size"),
                f" {size} does not suit {spec.name}{padded}: use {' or '.join(map(str, nearest))}.",
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
            model,
            spec.name,
            weights,
            head=include_top and num_classes == weights_lib.IMAGENET_CLASSES,
            options=options,
            graph=graph,
        )
    except UserError as error:
        error.field = error.field or "weights"  # every mistake here is about the weights given
        raise
    return model
