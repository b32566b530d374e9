"""Each model's training recipe from its paper, as overrides of RunConfig's fields by dotted name (see config.py
for the fields and their defaults, kerascnn/data/recipes.py for the augmentations)."""

# Each family's recipe from its paper (ImageNet sizes); see kerascnn/data/recipes.py for the augmentations.
FAMILY_RECIPES = {
    # LeCun et al. 1998 trained for 20 passes with a decreasing rate and a diagonal Levenberg-Marquardt step size;
    # plain SGD with momentum replaces the latter.
    "lenet": {
        "epochs": 20,
        "batch_size": 32,
        "optimizer.learning_rate": 0.01,
        "optimizer.reference_batch": 32,
        "optimizer.weight_decay": 0.0,
        "optimizer.milestones": (0.5, 0.75),
        "data.augmentation": "none",
        "data.normalization": "unit",
    },
    # Krizhevsky et al. 2012, Fig. 1's four-layer CIFAR-10 network: "the learning rates for each network were chosen
    # independently to make training as fast as possible. No regularization of any kind was employed." So plain SGD
    # with momentum 0.9 on batches of 128 (cuda-convnet's), no weight decay, no augmentation, a constant rate; the
    # rate (0.01, for both activations: the figure's were tuned apart, which pipelines.tune can redo) and the length
    # (40 epochs, past the figure's 35) are ours. cuda-convnet subtracts the mean image; the CIFAR-10 mean and std
    # here.
    "convnet4": {
        "epochs": 40,
        "batch_size": 128,
        "optimizer.name": "sgd",
        "optimizer.learning_rate": 0.01,
        "optimizer.reference_batch": 128,
        "optimizer.momentum": 0.9,
        "optimizer.weight_decay": 0.0,
        "optimizer.schedule": "constant",
        "data.augmentation": "none",
        "data.normalization": "cifar10",
    },
    # Krizhevsky et al. 2012, Sec. 3.3's four-layer CIFAR-10 networks, as cuda-convnet's layer-params-conv-local-
    # 11pct.cfg trains them: batch 128, momentum 0.9, rate 0.001 on the batch's mean gradient (epsW, divided by the
    # batch in cuda-convnet's update), weight decay 0.004 (on local3, local4 and fc10 there: here on every layer),
    # no augmentation; about 450 epochs, then 10 at a tenth of the rate and 10 at a hundredth. (cuda-convnet's 11%
    # also averages the predictions of translated crops at test time, not done here.)
    "convlocal": {
        "epochs": 470,
        "batch_size": 128,
        "optimizer.name": "sgd",
        "optimizer.learning_rate": 0.001,
        "optimizer.reference_batch": 128,
        "optimizer.momentum": 0.9,
        "optimizer.weight_decay": 0.004,
        "optimizer.schedule": "step",
        "optimizer.milestones": (450 / 470, 460 / 470),
        "data.augmentation": "none",
        "data.normalization": "cifar10",
    },
    # Krizhevsky et al. 2012, Sec. 5: batch 128, momentum 0.9, weight decay 5e-4, rate 0.01 divided by 10 when the
    # validation error stopped improving; about 90 epochs.
    "alexnet": {
        "epochs": 90,
        "batch_size": 128,
        "optimizer.learning_rate": 0.01,
        "optimizer.reference_batch": 128,
        "optimizer.weight_decay": 5e-4,
        "optimizer.schedule": "plateau",
        "data.augmentation": "alexnet",
        "data.normalization": "imagenet",
    },
    # Simonyan & Zisserman 2015, Sec. 3.1: batch 256, momentum 0.9, weight decay 5e-4, dropout 0.5, rate 0.01
    # divided by 10 on plateaus (three times), 74 epochs.
    "vgg": {
        "epochs": 74,
        "batch_size": 256,
        "optimizer.learning_rate": 0.01,
        "optimizer.reference_batch": 256,
        "optimizer.weight_decay": 5e-4,
        "optimizer.schedule": "plateau",
        "data.augmentation": "vgg",
        "data.normalization": "imagenet",
    },
    # Szegedy et al. 2015, Sec. 6: momentum 0.9, the rate decreased by 4% every 8 epochs; Caffe's bvlc_googlenet
    # adds batch 32, rate 0.01 and weight decay 2e-4.
    "googlenet": {
        "epochs": 60,
        "batch_size": 32,
        "optimizer.learning_rate": 0.01,
        "optimizer.reference_batch": 32,
        "optimizer.weight_decay": 2e-4,
        "optimizer.schedule": "exponential",
        "optimizer.gamma": 0.96,
        "optimizer.decay_epochs": 8.0,
        "model_options.aux_classifiers": True,
        "data.augmentation": "inception",
        "data.normalization": "imagenet",
    },
    # He et al. 2016, Sec. 3.4: batch 256, rate 0.1 divided by 10 on plateaus, weight decay 1e-4, momentum 0.9;
    # torchvision's reference fixes the plateaus at epochs 30 and 60 of 90.
    "resnet": {
        "epochs": 90,
        "batch_size": 256,
        "optimizer.learning_rate": 0.1,
        "optimizer.reference_batch": 256,
        "optimizer.weight_decay": 1e-4,
        "optimizer.milestones": (1 / 3, 2 / 3),
        "data.augmentation": "resnet",
        "data.normalization": "imagenet",
    },
    # He et al. 2016, Sec. 4.2: batch 128, rate 0.1 divided by 10 at 32k and 48k of 64k iterations (182 epochs of
    # 45k images), weight decay 1e-4, momentum 0.9, pad-and-crop and flips.
    "resnet_cifar": {
        "epochs": 182,
        "batch_size": 128,
        "optimizer.learning_rate": 0.1,
        "optimizer.reference_batch": 128,
        "optimizer.weight_decay": 1e-4,
        "optimizer.milestones": (0.5, 0.75),
        "data.augmentation": "cifar",
        "data.normalization": "cifar10",
    },
    # Springenberg et al. 2015, Sec. 3.2.1 (the All-CNN family, kerascnn/models/allcnn.py): SGD with momentum 0.9,
    # weight decay 0.001, 350 epochs with the rate divided by 10 at epochs 200, 250 and 300; no augmentation (Table
    # 3's rows without it, those the pooling comparison reads). The paper picks each model's rate from {0.25, 0.1,
    # 0.05, 0.01} and gives neither the pick nor the batch: 0.01, the grid's smallest, and batch 128 are ours.
    "allcnn": {
        "epochs": 350,
        "batch_size": 128,
        "optimizer.name": "sgd",
        "optimizer.learning_rate": 0.01,
        "optimizer.reference_batch": 128,
        "optimizer.momentum": 0.9,
        "optimizer.weight_decay": 0.001,
        "optimizer.schedule": "step",
        "optimizer.milestones": (200 / 350, 250 / 350, 300 / 350),
        "data.augmentation": "none",
        "data.normalization": "cifar10",
    },
    # Segmentation. Long et al. 2015 / Shelhamer et al. 2017 (Sec. 4.1, and the voc-fcn8s-atonce solver of
    # fcn.berkeleyvision.org): batch 1 with the loss summed over the pixels, SGD with momentum 0.99 at a fixed rate
    # of 1e-10 per pixel, weight decay 5e-4, no augmentation; about 300k iterations (35 epochs of SBD's 8,498).
    "fcn": {
        "epochs": 35,
        "batch_size": 1,
        "optimizer.learning_rate": 1e-10,
        "optimizer.reference_batch": 1,
        "optimizer.momentum": 0.99,
        "optimizer.weight_decay": 5e-4,
        "optimizer.schedule": "constant",
        "segmentation.pixel_loss": "sum",
        "data.augmentation": "fcn",
        "data.normalization": "imagenet",
    },
    # Chen et al. 2017 (DeepLab v2), Sec. 4.1: batch 10, SGD momentum 0.9, weight decay 5e-4, base rate 1e-3 with
    # the "poly" schedule (power 0.9), 20k iterations (about 19 epochs of the 10,582 augmented VOC images);
    # random scaling of 0.5 to 1.5, 321x321 crops and flips.
    "deeplab": {
        "epochs": 19,
        "batch_size": 10,
        "optimizer.learning_rate": 1e-3,
        "optimizer.reference_batch": 10,
        "optimizer.momentum": 0.9,
        "optimizer.weight_decay": 5e-4,
        "optimizer.schedule": "poly",
        "data.augmentation": "deeplab",
        "data.normalization": "imagenet",
    },
    # Ronneberger et al. 2015, Sec. 3: batch 1 (one large tile), SGD with momentum 0.99, elastic deformations and
    # shifts. The paper gives no rate or length: 0.01 on the pixel-averaged loss and 50 epochs are ours; its
    # border weight map (Eq. 2) is left out (segmentation.class_weights can balance the classes).
    "unet": {
        "epochs": 50,
        "batch_size": 1,
        "optimizer.learning_rate": 0.01,
        "optimizer.reference_batch": 1,
        "optimizer.momentum": 0.99,
        "optimizer.weight_decay": 0.0,
        "optimizer.schedule": "constant",
        "data.augmentation": "unet",
        "data.normalization": "unit",
    },
}

# The lecture's dense network (kerascnn/models/dense.py) gives no recipe: LeNet-5's, the zoo's other network on
# 32x32 grey images, so that a comparison of the two differs in the network alone.
FAMILY_RECIPES["dense"] = FAMILY_RECIPES["lenet"]

MODEL_RECIPES = {
    # The paper's inputs: background -0.1, ink 1.175; and its first learning rate, 0.0005 (Sec. III-C; it lowers it
    # to 0.00001 over 20 passes). The RBF output's logits are minus squared distances to the class codes, tens
    # apart at the start: at the family's 0.01, F6's tanh units saturate and the network stays at chance (loss 28
    # to 29 for three epochs on Fashion-MNIST); at 0.0005 it reaches 0.85 in two (measured).
    "lenet5_original": {"data.normalization": "lenet", "optimizer.learning_rate": 0.0005},
    # He et al. 2016: "we use 0.01 to warm up the training until the training error is below 80% (about 400
    # iterations), and then go back to 0.1".
    "resnet110": {"optimizer.warmup_epochs": 1.0},
}

# Fine-tuning pretrained weights (`weights`) on one's own images, after Keras' transfer-learning guide
# (keras.io/guides/transfer_learning) and torchvision's fine-tuning tutorial: a new head, trained first alone with
# the backbone frozen (its BN in inference mode: a few hundred images would wreck its ImageNet statistics), then
# the whole network at a tenth of the rate (fine_tune.rate_factor), which adapts the features without erasing
# them. Each reason is in FINE_TUNE_REASONS, which --show-config prints.
FINE_TUNE = {
    "epochs": 10,
    "fine_tune.head_epochs": 3,
    "fine_tune.rate_factor": 0.1,
    "batch_size": 32,
    "optimizer.name": "sgd",
    "optimizer.learning_rate": 0.01,
    "optimizer.reference_batch": 32,
    "optimizer.weight_decay": 1e-4,
    "optimizer.schedule": "constant",
    "optimizer.warmup_epochs": 0.0,
}
FINE_TUNE_REASONS = {
    "epochs": "a few hundred images: ten passes converge, more overfit",
    "fine_tune.head_epochs": "the new head first, alone: its random gradients would disturb the pretrained features",
    "fine_tune.rate_factor": "the whole network then at 1/10 of the rate: adapt the features, do not erase them",
    "batch_size": "32 fits a 224x224 ResNet-50 on a small GPU and gives enough steps on a small dataset",
    "optimizer.name": "SGD with momentum 0.9, as torchvision's fine-tuning tutorial",
    "optimizer.learning_rate": "0.01 for the head (SGD, momentum 0.9), as torchvision's fine-tuning tutorial",
    "optimizer.weight_decay": "1e-4, ResNet's: light, the pretrained weights are already regular",
    "optimizer.schedule": "constant within each phase: the phase change is the decay",
    "data.normalization": "the pretrained weights' own preprocessing (e.g. BGR and mean subtraction), not a choice",
}

# The FCN and DeepLab papers train from an ImageNet-trained backbone (VGG-16, ResNet-101), all layers at once
# ("we fine-tune all layers by backpropagation through the whole net", Long et al. Sec. 4.1; Chen et al. Sec.
# 4.1): with `weights` their own recipe applies as it is, without the classifiers' head-first phase.
DENSE_PRETRAINED = {"fine_tune.head_epochs": 0, "fine_tune.rate_factor": 1.0}
DENSE_PRETRAINED_REASONS = {
    "fine_tune.head_epochs": "the paper trains every layer at once, from the ImageNet backbone",
    "fine_tune.rate_factor": "the paper's rate is already the rate for the pretrained backbone",
}

# The MNIST family (28x28 grey images, kerascnn.data.idx): every model takes them on one channel, at its
# recipe's input size. `mnist_family` says which of these apply to a model, and why (--show-config prints it).
GREY_SIDE = 28


# LeNet's step on a batch of 32 small images costs less than Keras' loop around it on a CPU: on Fashion-MNIST an
# epoch took 27.5 s at one step an execution and 21.5 s at 16 (2 Zen 2 cores, measured). The trainer lowers it to a
# divisor of the epoch's steps, so that no execution crosses an epoch.
# The dense network is smaller still per step (a 1,024-512-256 MLP): the same bound, by the same reasoning (not
# measured on its own).
OVERHEAD_BOUND = {"lenet": 16, "dense": 16}


AUGMENTATION_REASONS = {
    "none": "the recipe's: the images as they are, as LeNet-5 was trained",
    "cifar": "the recipe's: 4-pixel shifts and left-right flips (He et al. 2016, Sec. 4.2); a garment or a "
    "digit stays itself when shifted, and clothing when flipped",
}


def mnist_family(spec, dataset, recipe):
    """(overrides, reasons) for a classifier `spec` on an MNIST-family dataset (28x28 grey images), given the
    model's resolved recipe (dotted field -> value)."""
    recipe_normalization = recipe.get("data.normalization", "unit")
    augmentation = recipe.get("data.augmentation", "none")
    overrides = {"channels": 1}
    reasons = {"channels": "the images are grey: one channel in, as LeNet-5 takes MNIST"}
    reasons["data.augmentation"] = AUGMENTATION_REASONS.get(
        augmentation, "the recipe's, on the 28x28 images resized to the recipe's input"
    )
    if spec.family in OVERHEAD_BOUND and recipe.get("steps_per_execution", 1) == 1:
        overrides["steps_per_execution"] = OVERHEAD_BOUND[spec.family]
        reasons["steps_per_execution"] = (
            "a small network on small images: Keras' per-step loop costs more than the step, so several steps run "
            "in one call (the trainer picks a divisor of the epoch's steps)"
        )
    if spec.input_shape[0] == GREY_SIDE + 4:
        overrides["data.pad"] = 2
        reasons["data.pad"] = (
            "the 28x28 image centred in the 32x32 input, as LeCun et al. 1998 (Sec. III-A) fed MNIST to LeNet-5: "
            "the strokes stay as drawn, where resizing would blur them (and a first 5x5 convolution sees the edges)"
        )
    elif spec.input_shape[0] != GREY_SIDE:
        reasons["image_size"] = f"the recipe's {spec.input_shape[0]}: the 28x28 images are resized to it"
    if recipe_normalization in ("unit", "lenet"):
        reasons["data.normalization"] = "the recipe's own (LeNet's inputs)"
    else:
        stats = "fashion_mnist" if "fashion" in str(dataset).lower() else "mnist"
        overrides["data.normalization"] = stats
        reasons["data.normalization"] = (
            f"the training set's own mean and std: the recipe's ({recipe_normalization}) are those of another "
            "dataset's colour images"
        )
    return overrides, reasons


# The embedded shapes dataset is a demo, sized so that `python -m pipelines.train alexnet` finishes in about ten
# minutes on two CPU cores and still learns (README). In its 200 steps the papers' SGD does not get going (AlexNet
# stays at chance: measured, 5 epochs at rate 0.01); Adam at 1e-4 does. On any other dataset the recipe applies.
SHAPES_DEMO = {
    "epochs": 5,
    "batch_size": 32,
    "optimizer.name": "adam",
    "optimizer.learning_rate": 1e-4,
    "optimizer.reference_batch": 32,
    "optimizer.weight_decay": 0.0,
    "optimizer.schedule": "constant",
    "optimizer.warmup_epochs": 0.0,
}

# The segmentation demo, `python -m pipelines.train fcn8s` on shapes with masks: sized like the classification
# demo to finish in under ten minutes on two CPU cores (README "Segmentation"): 64x64 inputs, the backbone at an
# eighth of its filters, two shapes a picture, Adam. Measured (README): at a constant 1e-3 the mean IoU was still
# rising at 0.57 after 16 epochs of batch 16, 3e-3 diverged and 3e-4 stayed at chance; batches of 8 give twice the
# steps for the same CPU, a one-epoch warm-up and a cosine decay to 0 over 18 epochs settle it.
# On any other dataset the paper's network and recipe apply.
SEGMENTATION_SHAPES_DEMO = {
    "image_size": 64,
    "model_options.width_multiplier": 0.125,
    "epochs": 18,
    "batch_size": 8,
    "optimizer.name": "adam",
    "optimizer.learning_rate": 1e-3,
    "optimizer.reference_batch": 8,
    "optimizer.weight_decay": 0.0,
    "optimizer.schedule": "cosine",
    "optimizer.warmup_epochs": 1.0,
    "segmentation.pixel_loss": "mean",
    "data.augmentation": "none",
    "data.normalization": "unit",
    "data.shapes_per_image": 2,
}

SHAPES_DEMOS = {"classification": SHAPES_DEMO, "segmentation": SEGMENTATION_SHAPES_DEMO}
