"""What is timed: our model, or keras.applications' build of the same architecture, in a precision, with or
without XLA, compiled as `pipelines.train` compiles it (the recipe's optimizer, cross-entropy, top-1 and top-5).

keras.applications has VGG16, VGG19, ResNet50, ResNet101 and ResNet152 of the same architectures. Known
differences, which the comparison keeps because they are what a user gets: keras.applications' VGGs have no
dropout in the head (ours has the paper's two, 0.5), and its ResNets give every conv a bias before the batch
normalisation (ours, as the paper, none) and use Keras' built-in layers where ours use `ResidualBlock`. Its
softmax is moved into a layer of its own that computes in float32, as our heads' does, so that it runs under a
mixed precision policy (the top-5 metric refuses 16-bit predictions).
"""

import dataclasses

import keras

from kerascnn import registry
from kerascnn.policy import dtype_policy
from kerascnn.training.config import resolve
from kerascnn.training.devices import choose_precision
from kerascnn.training.models import build_model, compile_model

OURS = "kerascnn"
THEIRS = "keras.applications"
# Our model name: the keras.applications builder of the same architecture.
COUNTERPARTS = {
    "vgg16": "VGG16",
    "vgg19": "VGG19",
    "resnet50": "ResNet50",
    "resnet101": "ResNet101",
    "resnet152": "ResNet152",
}

# The dataset each family's paper trained on (the lecture's dense network: grey CIFAR-10); any other model's is
# ImageNet.
PAPER_DATASETS = {
    "lenet": "mnist",
    "resnet_cifar": "cifar10",
    "convnet4": "cifar10",
    "convlocal": "cifar10",
    "dense": "cifar10",
}


def paper_dataset(model):
    return PAPER_DATASETS.get(registry.model_spec(model).family, "imagenet2012")


def paper_config(model, *, batch_size, image_size):
    """The run config of `model`'s paper recipe (optimizer, augmentation, normalisation) as `pipelines.train`
    resolves it for the paper's dataset, at this batch and image size."""
    return resolve(model, dataset=paper_dataset(model), overrides={"batch_size": batch_size, "image_size": image_size})


@dataclasses.dataclass(frozen=True)
class Candidate:
    """One of the models a measurement times."""

    implementation: str  # OURS or THEIRS
    precision: str  # "auto" or a Keras dtype policy name (devices.PRECISIONS)
    jit_compile: bool | str  # True, False or "auto" (Keras' rule: XLA on accelerators, not on CPUs)

    @property
    def is_auto(self):
        """Whether this is what `pipelines.train` picks by default."""
        return self.precision == "auto" and self.jit_compile == "auto"


def candidates(*, precisions, jit_compile, compare):
    """Every combination of precision and XLA setting, for our model and (with `compare`) keras.applications'."""
    implementations = (OURS, THEIRS) if compare else (OURS,)
    combinations = [(p, j, i) for p in precisions for j in jit_compile for i in implementations]
    return [Candidate(i, p, j) for p, j, i in dict.fromkeys(combinations)]


def build(candidate, config, *, num_classes, input_shape):
    """The compiled keras.Model of `candidate`, for the run config `config` (config.resolve's), and the dtype
    policy it computes in. `model.jit_compile` says whether Keras resolved XLA on."""
    config = dataclasses.replace(config, jit_compile=candidate.jit_compile)
    precision = choose_precision(candidate.precision)
    if candidate.implementation == OURS:
        model = build_model(config, num_classes=num_classes, input_shape=input_shape, precision=precision)
    else:
        with dtype_policy(precision):
            builder = getattr(keras.applications, COUNTERPARTS[config.model])
            model = builder(weights=None, input_shape=input_shape, classes=num_classes, classifier_activation=None)
        # Its softmax would compute in the policy's 16-bit type, which the top-5 metric refuses; Keras' mixed
        # precision guide puts it in float32, as our heads do.
        probabilities = keras.layers.Activation("softmax", dtype="float32", name="probabilities")(model.output)
        model = keras.Model(model.input, probabilities, name=model.name)
    # The schedule's milestones need an epoch length; any will do for a few hundred steps.
    compile_model(
        model, config, num_classes=num_classes, base_rate=config.optimizer.learning_rate, steps_per_epoch=1000
    )
    return model, precision
