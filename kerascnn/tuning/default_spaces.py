"""Each family's default search space: what one tunes of a classic CNN before a long run.

Every model gets the optimizer (the recipe's and one other, SGD or Adam), its learning rate log-uniform over a
decade either side of the recipe's rate (or of a conventional one for the other optimizer: their good rates lie
two decades apart, so each has its own range), momentum where the optimizer has one, and weight decay
log-uniform over 1e-5 to 1e-2 (the papers used 1e-4 to 5e-4). Then the family's own switches, read from its
builder's signature: dropout (AlexNet, VGG, GoogLeNet: the papers' 0.4-0.5 inside 0-0.7), LRN on or off (AlexNet,
VGG: both papers weighed it), LeNet-5's activation and pooling, the CIFAR ResNets' width multiplier, GoogLeNet's
auxiliary loss weight, and the depth of a ResNet among its family's.
"""

import inspect

from kerascnn import registry
from kerascnn.layers import LocalResponseNormalization
from kerascnn.tuning.search_space import Hyperparameter

# The centre of the learning-rate range of an optimizer the recipe does not use (per `reference_batch` images).
CONVENTIONAL_RATES = {"sgd": 0.01, "adam": 1e-3, "adamw": 1e-3, "rmsprop": 1e-3}
MOMENTUM_OPTIMIZERS = ("sgd", "rmsprop")
# Depths searched by family: the CIFAR nets of the paper's Table 6 up to 56 layers (110 costs twice as much and
# needs its warm-up), the ImageNet ones up to the first bottleneck net.
DEPTHS = {"resnet_cifar": (20, 32, 44, 56), "resnet": (18, 34, 50)}


def _clip(value, low, high):
    return min(max(value, low), high)


def optimizer_space(config):
    o = config.optimizer
    names = tuple(dict.fromkeys((o.name, "adam" if o.name == "sgd" else "sgd")))
    space = [Hyperparameter("optimizer.name", "choice", values=names, default=o.name)]
    for name in names:
        rate = o.learning_rate if name == o.name else CONVENTIONAL_RATES[name]
        space.append(
            Hyperparameter(
                f"optimizer.learning_rate@{name}",
                "float",
                rate / 10,
                rate * 10,
                sampling="log",
                default=rate,
                when=("optimizer.name", (name,)),
            )
        )
    with_momentum = tuple(name for name in names if name in MOMENTUM_OPTIMIZERS)
    if with_momentum:
        space.append(
            Hyperparameter(
                "optimizer.momentum",
                "float",
                0.8,
                0.99,
                default=_clip(o.momentum, 0.8, 0.99),
                when=("optimizer.name", with_momentum),
            )
        )
    space.append(
        Hyperparameter(
            "optimizer.weight_decay",
            "float",
            1e-5,
            1e-2,
            sampling="log",
            default=_clip(o.weight_decay or 1e-4, 1e-5, 1e-2),
        )
    )
    return space


def model_space(config):
    spec = registry.model_spec(config.model)
    parameters = inspect.signature(spec.builder).parameters

    def current(option):
        return config.model_options.get(option, spec.defaults.get(option, parameters[option].default))

    space = []
    if "dropout" in parameters:
        space.append(
            Hyperparameter("model_options.dropout", "float", 0.0, 0.7, step=0.1, default=round(current("dropout"), 1))
        )
    if "lrn" in parameters and _has_lrn_to_switch(spec):
        space.append(Hyperparameter("model_options.lrn", "bool", default=bool(current("lrn"))))
    if "activation" in parameters:
        values = tuple(dict.fromkeys((current("activation"), "relu", "tanh")))
        space.append(Hyperparameter("model_options.activation", "choice", values=values, default=values[0]))
    if "pool" in parameters:
        values = tuple(dict.fromkeys((current("pool"), "max", "avg")))
        space.append(Hyperparameter("model_options.pool", "choice", values=values, default=values[0]))
    if "width_multiplier" in parameters:
        values = tuple(sorted({0.5, 1.0, 2.0, float(current("width_multiplier"))}))
        space.append(
            Hyperparameter(
                "model_options.width_multiplier", "choice", values=values, default=float(current("width_multiplier"))
            )
        )
    if "aux_classifiers" in parameters and current("aux_classifiers"):
        space.append(
            Hyperparameter("aux_loss_weight", "float", 0.1, 1.0, default=_clip(config.aux_loss_weight, 0.1, 1.0))
        )
    depths = _depth_choices(spec)
    if len(depths) > 1:
        space.append(Hyperparameter("model", "choice", values=depths, default=spec.name))
    return space


def _has_lrn_to_switch(spec):
    """Whether the `lrn` switch changes the model (alexnet_single's table, for one, has no LRN to switch off)."""
    size = max(spec.min_size, 32)
    backbone = spec.builder(input_shape=(size, size, 3), include_top=False, **{**spec.defaults, "lrn": True})
    return any(isinstance(layer, LocalResponseNormalization) for layer in backbone.layers)


def _depth_choices(spec):
    """`spec`'s model and those of its family and kind (ResNet or plain net) at the depths of DEPTHS, shallowest
    first; none for a family without depths."""
    prefix = spec.name.rstrip("0123456789")
    names = {f"{prefix}{depth}" for depth in DEPTHS.get(spec.family, ())} & set(registry.list_models())
    names = {name for name in names if registry.model_spec(name).family == spec.family}
    return tuple(sorted(names | {spec.name}, key=lambda name: int(name[len(prefix) :]))) if names else ()


def default_space(config):
    """The default hyperparameters for `config`'s model (a resolved RunConfig), optimizer's first."""
    return [*optimizer_space(config), *model_space(config)]
