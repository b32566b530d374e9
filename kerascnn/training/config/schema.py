"""The run's typed config: each field's default with its reason, and the values a field may take as its type.

A field whose choices are few is a `Literal` (kerascnn.choices for those the command line offers before the library
loads): validation and the command line's choices are derived from the type, so each choice is written once. Adding
a field is one line here (a range check, if any, in validation.py); the fingerprint and the resumption check take
it up from the dataclass (fingerprint.py).
"""

import dataclasses
from dataclasses import dataclass, field
from typing import Literal

from kerascnn.choices import Precision, ServingPrecision, Strategy
from kerascnn.data.config import DataConfig


@dataclass
class OptimizerConfig:
    # every paper here used SGD with momentum
    name: Literal["sgd", "adam", "adamw", "rmsprop"] = "sgd"
    learning_rate: float = 0.01  # for `reference_batch` images a step; scaled linearly to the global batch
    reference_batch: int = 256  # the batch the learning rate is given for (Goyal et al. 2017's linear rule)
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 5e-4  # on conv and dense kernels, not on biases or BN (schedules.NO_DECAY)
    # coupled: the papers' L2 (Caffe's and Torch's SGD added wd x w to the gradient before the momentum update),
    # as an L2 term of wd / 2 in the loss | decoupled: Keras' w -= lr x wd x w at each step, which with momentum
    # 0.9 regularises about 1 / (1 - 0.9) = 10 times less at the same wd. AdamW always decouples.
    weight_decay_mode: Literal["coupled", "decoupled"] = "coupled"
    # constant | step (x gamma at each of `milestones`, fractions of the run) | plateau (x gamma when val loss
    # stops falling for `patience` epochs: AlexNet and VGG) | exponential (x gamma every `decay_epochs`) | cosine
    # | poly ((1 - step / steps) ** power: DeepLab)
    schedule: Literal["constant", "step", "plateau", "exponential", "cosine", "poly"] = "step"
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

    # mean: over the labelled pixels | sum: over each image's pixels (FCN's batch 1)
    pixel_loss: Literal["mean", "sum"] = "mean"
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
    precision: Precision = "auto"  # kerascnn.training.devices says what each does
    strategy: Strategy = "auto"
    jit_compile: bool | Literal["auto"] = "auto"  # Keras' rule: XLA on accelerators, not on CPUs (slower, measured)
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
    push: Literal["blessed", "force", "never"] = "blessed"
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
    on_nan: Literal["stop", "recover"] = "stop"
    loss_upper_bound: float | None = None
    recover_factor: float = 0.5
    max_recoveries: int = 3
    # The weights pushed: final, or best (the epoch of best val_accuracy, val_mean_iou for segmentation).
    export_weights: Literal["final", "best"] = "final"
    # What the served model accepts (kerascnn.serving.guard), in declared pixels; recorded in the version's
    # assets.extra/serving.json. 0: kerascnn.serving.SERVING_MAX_PIXELS (or data.max_image_pixels where lower) for
    # an image, and the image limit for a whole batch.
    serving_max_pixels: int = 0
    serving_max_batch_pixels: int = 0
    # What the served model computes in: float32 (equal to the trained model to float rounding) or bfloat16
    # (about twice as fast on CPUs with AVX512_BF16 or AMX and on GPUs, probabilities within about 0.02).
    serving_precision: ServingPrecision = "float32"


def to_dict(config):
    return dataclasses.asdict(config)


def get(config, dotted):
    """The value of the dotted field `dotted` ("optimizer.learning_rate") of `config`."""
    for part in dotted.split("."):
        config = getattr(config, part)
    return config
