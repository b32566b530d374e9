"""The lecture's claims as experiments: one row each, with the claim and its citation, the arms, the budget, the
measures and the comparisons that decide whether the measurement agrees with the paper.

An arm is (label, model, config overrides); every arm of an experiment gets the same data, budget and seeds, and
differs from the others only in its model (and overrides the row names). The budget is the default one, sized to
fit on two CPU cores (30 minutes an experiment, 60 for depth, all arms x 3 seeds); `full` is the paper's schedule
where the paper gives one. Each budget's estimate says what it rests on (a measured timing: EXPERIMENTS' comments).

The papers' facts (docs/reference.md, "The lecture's claims"):
- Krizhevsky et al. 2012 (NIPS), Fig. 1: a four-layer convolutional network with ReLUs reaches 25% training error
  on CIFAR-10 six times faster than the same network with tanh. Sec. 3.3: LRN reduces top-1 / top-5 error by 1.4% /
  1.2% (on CIFAR-10 a four-layer CNN: 13% test error without, 11% with).
- Simonyan & Zisserman 2015, Table 3: VGG A 29.6 / 10.4 and A-LRN 29.7 / 10.5 top-1 / top-5 validation error: LRN
  brings no gain, and costs memory and time.
- He et al. 2016, Fig. 6 (CIFAR-10): plain-56 ends at a higher training error than plain-20; ResNet-56 at a lower
  one than ResNet-20 (test error 8.75% ResNet-20, 6.97% ResNet-56, Table 6).
- Springenberg et al. 2015 (arXiv 1412.6806), Table 3: replacing each max-pool by a stride-2 convolution
  (All-CNN-C) matches or beats the pooled model (ConvPool-CNN-C) and the model without the pool's layer
  (Strided-CNN-C) on CIFAR-10.
- The lecture: a dense first layer on 224x224x3 inputs needs 150,528 x n weights (154,140,672 for n = 1,024); its
  own experiment fed 32x32 grey images as 1,024-vectors to a first layer of 512 nodes.
"""

import dataclasses


@dataclasses.dataclass(frozen=True)
class Arm:
    label: str
    model: str
    overrides: dict = dataclasses.field(default_factory=dict)  # config fields this arm sets (what it varies)


@dataclasses.dataclass(frozen=True)
class Budget:
    """What every arm trains on: epochs, a stratified training subset (0: all), the evaluation images (0: all),
    the input side (None: the model's recipe), and the images the shift measures use."""

    epochs: int | None  # None: the model's recipe's
    train_subset: int = 0
    eval_subset: int = 0
    image_size: int | None = None
    shift_images: int = 500
    extra: dict = dataclasses.field(default_factory=dict)  # other config fields, the same for every arm

    def overrides(self):
        fields = {"data.train_subset": self.train_subset, "data.eval_subset": self.eval_subset}
        if self.epochs is not None:
            fields["epochs"] = self.epochs
        if self.image_size is not None:
            # The 28x28 grey images at the model's input: resized, not padded (a pad would shrink them further).
            fields.update({"image_size": self.image_size, "data.pad": 0})
        return {**fields, **self.extra}


@dataclasses.dataclass(frozen=True)
class Comparison:
    """The paper's claim about one measure: `a` against `b` is expected "higher", "lower", "same" (no difference
    beyond the spread) or "not_higher" (lower, or no difference)."""

    measure: str
    a: str
    b: str
    expect: str
    claim: str


@dataclasses.dataclass(frozen=True)
class Experiment:
    name: str
    claim: str  # the paper's claim, with its citation
    arms: tuple[Arm, ...]
    budget: Budget
    measures: tuple[str, ...]  # of measures.MEASURES
    comparisons: tuple[Comparison, ...]
    figure: str  # "bars" (the measures of each arm) or "curves" (training error against epochs)
    estimate: str  # the default budget's time on two CPU cores, and what the estimate rests on
    full: Budget | None = None  # the paper's schedule (--full), where the paper gives one
    target_error: float | None = None  # the training error whose epochs and steps are counted


# Common to every arm of every experiment: nothing pushed, no per-epoch pictures (they cost time, not results).
QUIET = {"push": "never", "histogram_freq": 0, "image_summaries": False}

SHIFTS = (1, 2, 3, 4)

# Budgets of a few thousand images take batches of 32 (every arm alike; the recipe's rate scaled linearly from its
# reference batch, as always): at the recipes' 128 or 256 an epoch would be a handful of steps.
SMALL_BATCH = {"batch_size": 32}

LENET_RECIPE = {
    "batch_size": 32,
    "optimizer.name": "sgd",
    "optimizer.learning_rate": 0.01,
    "optimizer.reference_batch": 32,
    "optimizer.weight_decay": 0.0,
    "optimizer.schedule": "step",
    "optimizer.milestones": (0.5, 0.75),
    "data.augmentation": "none",
    "data.normalization": "unit",
}

# The four-layer CIFAR-10 pair of lrn (kerascnn/models/convlocal.py) learns in more steps than VGG A's budget
# gives, and costs a tenth of VGG A's time an image: its own budget, the same for both arms. Its recipe's rate,
# cuda-convnet's 0.001 at batch 128, is ten times lower than convnet4's 0.01, the rate of the zoo's other
# four-layer network, which learns within relu_vs_tanh's budget: that one, for both arms.
CONVLOCAL_BUDGET = {"epochs": 8, "data.train_subset": 3_000, "optimizer.learning_rate": 0.01}

EXPERIMENTS = {
    e.name: e
    for e in (
        Experiment(
            name="dense_vs_conv",
            claim="The lecture: a dense first layer on a 224x224x3 image needs 150,528 x n weights (154,140,672 for "
            "n = 1,024); convolution shares its weights, so it needs far fewer, and its shared weights are "
            "equivariant: the conv net should lose far less accuracy on images shifted by 1 to 4 pixels.",
            arms=(Arm("dense", "dense"), Arm("LeNet-5", "lenet5")),
            # The dense network has no paper's recipe: both arms train with LeNet-5's (training/recipes.py), so
            # that they differ only in the network.
            budget=Budget(epochs=10, train_subset=20_000, eval_subset=5_000, shift_images=2_000, extra=LENET_RECIPE),
            measures=("parameters", "test_accuracy", "shifted_accuracy", "shift_drop"),
            comparisons=(
                Comparison("parameters", "dense", "LeNet-5", "higher", "the dense network has more weights"),
                Comparison("shift_drop", "dense", "LeNet-5", "higher", "the dense network loses more under shifts"),
            ),
            figure="bars",
            estimate="About 15 minutes: LeNet-5 trains at about 0.56 ms an image on 2 quiet cores (30 s an epoch of "
            "54,000 Fashion-MNIST images), the dense network assumed the same (its 1,024 x 512 layer is about "
            "LeNet-5's multiply-adds); 6 runs of 10 epochs of 20,000 images, 5,000 evaluation images an epoch, "
            "2,000 images x 17 shifted copies. Its one full run took 852 CPU-seconds (about 7 minutes of both "
            "cores), measured beside the test suites.",
        ),
        Experiment(
            name="relu_vs_tanh",
            claim="Krizhevsky et al. 2012, Fig. 1: a four-layer convolutional network with ReLUs reaches 25% "
            "training error on CIFAR-10 six times faster than the same network with tanh.",
            arms=(Arm("ReLU", "convnet4_relu"), Arm("tanh", "convnet4_tanh")),
            budget=Budget(epochs=15, train_subset=6_000, eval_subset=2_000),
            measures=("epochs_to_target", "steps_to_target", "final_train_error", "test_accuracy"),
            comparisons=(
                Comparison(
                    "steps_to_target", "tanh", "ReLU", "higher", "tanh needs more steps to the target (6x, paper)"
                ),
            ),
            figure="curves",
            target_error=0.25,
            estimate="About 22 minutes, measured: the default run took 21 min 42 s on 2 otherwise idle Zen 2 cores "
            "(2,208 CPU-seconds); 6 runs of 15 epochs of 6,000 images, 2,000 evaluation images an epoch.",
        ),
        Experiment(
            name="lrn",
            claim="Krizhevsky et al. 2012, Sec. 3.3: LRN reduces AlexNet's top-1 error by 1.4%, and a four-layer "
            "CNN's CIFAR-10 test error from 13% to 11%; Simonyan & Zisserman 2015, Table 3: VGG A-LRN gains nothing "
            "over A (29.7% against 29.6% top-1) and costs memory and time.",
            arms=(
                Arm("4-layer CNN", "convlocal", CONVLOCAL_BUDGET),
                Arm("4-layer CNN with LRN", "convlocal_lrn", CONVLOCAL_BUDGET),
                Arm("VGG A", "vgg11", {"image_size": 32}),
                Arm("VGG A-LRN", "vgg11_lrn", {"image_size": 32}),
            ),
            # Each pair is compared within itself. The paper's own CIFAR-10 evidence stands for AlexNet's: AlexNet
            # at its smallest input (67) stayed at chance through 2 epochs of 1,200 images (measured: test error
            # 0.906 after 75 steps), and a budget in which it learns costs hours. VGG A at its smallest (32), where
            # at 67 one arm would cost 4 minutes an epoch of 1,200 images. VGG A and A-LRN stayed at chance through
            # 2 epochs of 1,200 images too (measured: test error 0.87 and 0.88), so the pair gets the least budget
            # that still times a whole epoch after the first (ms_per_image leaves the first out): 2 epochs of 480.
            budget=Budget(epochs=2, train_subset=480, eval_subset=500, extra=SMALL_BATCH),
            measures=("test_error", "ms_per_image"),
            comparisons=(
                Comparison(
                    "test_error",
                    "4-layer CNN with LRN",
                    "4-layer CNN",
                    "lower",
                    "LRN lowers the four-layer CNN's error",
                ),
                Comparison("test_error", "VGG A-LRN", "VGG A", "same", "LRN changes nothing for VGG A"),
                Comparison("ms_per_image", "VGG A-LRN", "VGG A", "higher", "LRN costs VGG A time"),
            ),
            figure="bars",
            estimate="About 28 minutes, measured: the default run took 28 min 15 s on 2 otherwise idle Zen 2 cores "
            "(the four-layer pair 3.2 to 3.6 minutes a run, 7.5 and 8.1 ms an image, 8 epochs of 3,000; VGG A and "
            "A-LRN 1.1 to 1.6, 56 to 60 ms an image, 2 epochs of 480), start-up and evaluation included.",
        ),
        Experiment(
            name="depth",
            claim="He et al. 2016, Fig. 6 (CIFAR-10): plain-56 trains to a higher training error than plain-20, "
            "and ResNet-56 to a lower one than ResNet-20.",
            arms=(
                Arm("plain-20", "plain20"),
                Arm("plain-56", "plain56"),
                Arm("ResNet-20", "resnet20"),
                Arm("ResNet-56", "resnet56"),
            ),
            # 8 epochs of 2,500 took 68 min 50 s on idle cores, over the 60 this experiment may take: 6 epochs of the
            # same images (468 steps, the rate dropping after epochs 3 and 4.5) took 50 min 20 s.
            budget=Budget(epochs=6, train_subset=2_500, eval_subset=1_000, image_size=28, extra=SMALL_BATCH),
            measures=("final_train_error", "test_error"),
            comparisons=(
                Comparison("final_train_error", "plain-56", "plain-20", "higher", "plain-56 ends above plain-20"),
                Comparison("final_train_error", "ResNet-56", "ResNet-20", "lower", "ResNet-56 ends below ResNet-20"),
            ),
            figure="curves",
            estimate="About 50 minutes, measured: the default run took 50 min 20 s on 2 otherwise idle Zen 2 cores "
            "(the training of plain-20 and ResNet-20 about 2 minutes a run, plain-56 and ResNet-56 5 to 6.5); 12 "
            "runs of 6 epochs of 2,500 images with 1,000 validation images an epoch, start-up and evaluation included.",
            # He et al. 2016, Sec. 4.2: the ResNet-CIFAR recipe (training/recipes.py: 182 epochs of batch 128, rate
            # 0.1 divided by 10 at half and three quarters), on the whole training split.
            full=Budget(epochs=None, image_size=28),
        ),
        Experiment(
            name="pooling",
            claim="Springenberg et al. 2015, Table 3 (CIFAR-10): replacing each max-pool by a stride-2 convolution "
            "(All-CNN-C) does as well as max pooling (ConvPool-CNN-C) or a stride in the layer before "
            "(Strided-CNN-C).",
            arms=(
                Arm("ConvPool-CNN-C", "convpool_cnn_c"),
                Arm("Strided-CNN-C", "strided_cnn_c"),
                Arm("All-CNN-C", "allcnn_c"),
            ),
            budget=Budget(
                epochs=3, train_subset=1_500, eval_subset=500, image_size=28, shift_images=200, extra=SMALL_BATCH
            ),
            measures=("test_error", "shift_agreement"),
            comparisons=(
                Comparison("test_error", "All-CNN-C", "ConvPool-CNN-C", "not_higher", "All-CNN-C does as well"),
                Comparison("test_error", "All-CNN-C", "Strided-CNN-C", "not_higher", "All-CNN-C does as well"),
            ),
            figure="bars",
            estimate="About 25 minutes: training steps measured as for lrn, scaled to a quiet machine: All-CNN-C at "
            "28x28 about 25 ms an image (ConvPool-CNN-C assumed 1.3 times that, Strided-CNN-C 0.6 times); 9 runs of "
            "3 epochs of 1,500 images, 500 evaluation images, 200 images x 17 shifted copies.",
            # Springenberg et al. 2015, Sec. 3.2.1: the All-CNN recipe (training/recipes.py: 350 epochs, the rate
            # divided by 10 at epochs 200, 250 and 300), on the whole training split.
            full=Budget(epochs=None, image_size=28),
        ),
    )
}


def arm_overrides(experiment, arm, budget, *, epochs=None):
    """The config fields one arm's runs set: the common ones, the budget's, then the arm's own."""
    fields = {**QUIET, **budget.overrides(), **arm.overrides}
    if epochs is not None:
        fields["epochs"] = epochs
    return fields
