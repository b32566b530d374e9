import json
import re

import pytest

from kerascnn.errors import UserError
from kerascnn.training import config as config_lib
from pipelines import flags


def test_recipes_are_the_papers():
    alexnet = config_lib.resolve("alexnet", dataset="imagenette/160px-v2")
    assert (alexnet.epochs, alexnet.batch_size, alexnet.optimizer.learning_rate) == (90, 128, 0.01)
    assert (alexnet.optimizer.momentum, alexnet.optimizer.weight_decay) == (0.9, 5e-4)
    assert alexnet.optimizer.schedule == "plateau" and alexnet.data.augmentation == "alexnet"
    resnet = config_lib.resolve("resnet50", dataset="imagenet2012")
    assert (resnet.batch_size, resnet.optimizer.learning_rate, resnet.optimizer.weight_decay) == (256, 0.1, 1e-4)
    cifar = config_lib.resolve("resnet110", dataset="cifar10")
    assert cifar.data.augmentation == "cifar" and cifar.optimizer.milestones == (0.5, 0.75)
    assert cifar.optimizer.warmup_epochs == 1.0  # the paper's warm-up for the 110-layer net
    googlenet = config_lib.resolve("googlenet", dataset="cifar10")
    assert googlenet.model_options == {"aux_classifiers": True} and googlenet.optimizer.gamma == 0.96


@pytest.mark.parametrize("model", ["convnet4_relu", "convnet4_tanh"])
def test_krizhevskys_fig1_networks_train_unregularised(model):
    # "No regularization of any kind was employed" (Krizhevsky et al. 2012, Fig. 1): no weight decay, no
    # augmentation, no dropout in the network; plain SGD with momentum at a constant rate; the same for both.
    config = config_lib.resolve(model, dataset="cifar10")
    assert (config.optimizer.name, config.optimizer.momentum, config.optimizer.schedule) == ("sgd", 0.9, "constant")
    assert config.optimizer.weight_decay == 0.0 and config.data.augmentation == "none"
    assert (config.batch_size, config.optimizer.learning_rate) == (128, 0.01)
    grey = config_lib.resolve(model, dataset="fashion_mnist")
    assert grey.channels == 1 and grey.data.pad == 2 and grey.data.normalization == "fashion_mnist"


def test_the_dense_network_takes_the_mnist_family_like_lenet():
    dense, lenet = (config_lib.resolve(name, dataset="fashion_mnist") for name in ("dense", "lenet5"))
    assert dense.channels == 1 and dense.data.pad == 2  # 28x28 centred in the 32x32 grey input
    same = ("optimizer", "data", "epochs", "batch_size", "steps_per_execution")
    assert [getattr(dense, field) for field in same] == [getattr(lenet, field) for field in same]
    assert config_lib.resolve("dense", dataset="cifar10").channels is None  # the model's own: grey


def test_shapes_demo_sizing_yields_to_the_user():
    demo = config_lib.resolve("alexnet")
    assert demo.data.dataset == "shapes" and (demo.epochs, demo.batch_size) == (5, 32)
    assert config_lib.resolve("alexnet", overrides={"epochs": 2}).epochs == 2
    fcn = config_lib.resolve("fcn8s")  # the segmentation demo: warm-up, then cosine decay over its 18 epochs
    assert (fcn.epochs, fcn.optimizer.schedule, fcn.optimizer.warmup_epochs) == (18, "cosine", 1.0)
    assert config_lib.resolve("fcn8s", dataset="oxford_iiit_pet").optimizer.schedule == "constant"  # the paper's


def test_a_recipes_warm_up_that_does_not_fit_a_shorter_run_is_left_out():
    assert config_lib.resolve("fcn8s", overrides={"epochs": 1}).optimizer.warmup_epochs == 0.0
    assert config_lib.resolve("fcn8s", overrides={"epochs": 2}).optimizer.warmup_epochs == 1.0
    assert config_lib.resolve("resnet110", dataset="cifar10", overrides={"epochs": 1}).optimizer.warmup_epochs == 0.0
    with pytest.raises(UserError, match="warmup_epochs"):  # the user's own warm-up is checked, not dropped
        config_lib.resolve("fcn8s", overrides={"epochs": 1}, sets=["optimizer.warmup_epochs=1"])


def test_set_parses_by_the_fields_type():
    config = config_lib.resolve(
        "resnet20",
        sets=[
            "optimizer.learning_rate=0.05",
            "optimizer.nesterov=true",
            "optimizer.milestones=0.3,0.6",
            "data.mean=(1,2,3)",
            "model_options.shortcut=B",
            "optimizer.clipnorm=none",
            "image_size=40",
        ],
    )
    assert config.optimizer.learning_rate == 0.05 and config.optimizer.nesterov is True
    assert config.optimizer.milestones == (0.3, 0.6) and config.data.mean == (1.0, 2.0, 3.0)
    assert config.model_options == {"shortcut": "B"} and config.optimizer.clipnorm is None
    assert config.image_size == 40


@pytest.mark.parametrize(
    "sets, field, message, spoken",
    [
        (
            ["optimizer.learning_rate=-0.1"],
            "optimizer.learning_rate",
            "optimizer.learning_rate must be positive, got -0.1",
            "--learning-rate (optimizer.learning_rate) must be positive, got -0.1",
        ),
        (
            ["batch_size=0"],
            "batch_size",
            "batch_size must be at least 1, got 0",
            "--batch-size must be at least 1, got 0",
        ),
        (["epochs=two"], "epochs", "epochs=two: expected int", "--epochs two: expected int"),
        (
            ["optimizer.momentum=x"],
            "optimizer.momentum",
            "optimizer.momentum=x: expected float",
            "--set optimizer.momentum=x: expected float",
        ),
        (
            ["data.val_split=1.5"],
            "data.val_split",
            "data.val_split must be a fraction in [0, 1)",
            "--val-split (data.val_split) must be a fraction in [0, 1)",
        ),
        (["optimizer.learnig_rate=0.1"], "optimizer.learnig_rate", "did you mean optimizer.learning_rate", None),
        (["nothing.here=1"], "nothing.here", "unknown config section 'nothing'", None),
        (["data.augmentation=mixup"], "data.augmentation", "data.augmentation must be one of", None),
        (
            ["optimizer.schedule=plateau", "optimizer.warmup_epochs=1"],
            "optimizer.warmup_epochs",
            "warmup_epochs must be 0 with the plateau",
            None,
        ),
        (["precision=float64"], "precision", "precision must be one of auto, float32", "--precision must be one of"),
        (["learning_rate"], None, "A config item is key=value, got 'learning_rate'", None),
    ],
)
def test_bad_values_name_the_field(sets, field, message, spoken):
    """The library names the config field (and carries it); the command line speaks of the flag typed."""
    with pytest.raises(UserError, match=re.escape(message)) as error:
        config_lib.resolve("alexnet", sets=sets)
    assert "\n" not in str(error.value)
    assert error.value.field == field
    assert "--" not in str(error.value)
    if spoken:
        assert spoken in flags.speak(error.value, flags.TRAIN)


def test_unknown_model():
    with pytest.raises(UserError, match="did you mean alexnet"):
        config_lib.resolve("alexnt")


def test_fingerprint_ignores_what_a_resumed_run_may_change():
    base = config_lib.resolve("lenet5")
    longer = config_lib.resolve("lenet5", overrides={"epochs": 50, "output_dir": "elsewhere"})
    other = config_lib.resolve("lenet5", sets=["optimizer.learning_rate=0.5"])
    assert config_lib.fingerprint(base) == config_lib.fingerprint(longer)
    assert config_lib.fingerprint(base) != config_lib.fingerprint(other)
    json.dumps(config_lib.to_dict(base))  # the resolved config is written as JSON


def test_the_fingerprint_counts_every_field_but_the_resumable_ones():
    """Derived from the dataclasses: each field that determines the training changes it (those a former version
    left out at their defaults included), each resumable one does not."""
    base = config_lib.resolve("lenet5")
    counted = [
        "optimizer.power=0.5",
        "data.pad=2",
        "data.shapes_per_image=2",
        "segmentation.pixel_loss=sum",
        "fine_tune.rate_factor=0.5",
        "model_options.width_multiplier=0.5",
        "seed=1",
    ]
    for item in counted:
        assert config_lib.fingerprint(config_lib.resolve("lenet5", sets=[item])) != config_lib.fingerprint(base), item
    for item in ["data.on_bad_image=skip", "jit_compile=false", "strategy=default", "serving_precision=bfloat16"]:
        assert config_lib.fingerprint(config_lib.resolve("lenet5", sets=[item])) == config_lib.fingerprint(base), item
        assert config_lib.changes(config_lib.to_dict(base), config_lib.resolve("lenet5", sets=[item])) == []


@pytest.mark.parametrize(
    "item, message",
    [
        ("push=sometimes", "push must be one of blessed, force, never, got 'sometimes'"),
        ("jit_compile=maybe", "jit_compile must be one of true, false, auto, got 'maybe'"),
        ("optimizer.name=lbfgs", "optimizer.name must be one of sgd, adam, adamw, rmsprop, got 'lbfgs'"),
        ("segmentation.pixel_loss=max", "segmentation.pixel_loss must be one of mean, sum, got 'max'"),
        ("data.on_bad_image=ignore", "data.on_bad_image must be one of fail, skip, got 'ignore'"),
        ("data.cache=sometimes", "data.cache must be one of true, false, auto, got 'sometimes'"),
        ("serving_precision=float16", "serving_precision must be one of float32, bfloat16, got 'float16'"),
    ],
)
def test_a_fields_choices_are_its_type(item, message):
    """Each choice list is the field's Literal type, written once; the check and its message come from it."""
    with pytest.raises(UserError, match=re.escape(message)) as error:
        config_lib.resolve("lenet5", sets=[item])
    assert error.value.field == item.partition("=")[0]
    assert config_lib.resolve("lenet5", sets=["jit_compile=true", "data.cache=auto"]).jit_compile is True


def test_the_mnist_family_goes_in_grey_and_lenet_gets_its_32x32_field(tmp_path):
    resolve, data_reasons = config_lib.resolve, config_lib.data_reasons
    lenet = resolve("lenet5", dataset="fashion_mnist")
    assert lenet.channels == 1 and lenet.data.pad == 2 and lenet.data.normalization == "unit"
    original = resolve("lenet5_original", dataset="mnist")
    assert original.data.pad == 2 and original.data.normalization == "lenet"  # the paper's -0.1 / 1.175
    resnet = resolve("resnet20", dataset="fashion_mnist")
    assert resnet.channels == 1 and resnet.data.pad == 2 and resnet.data.normalization == "fashion_mnist"
    assert resnet.data.augmentation == "cifar"
    alexnet = resolve("alexnet", dataset="kmnist")
    assert alexnet.channels == 1 and alexnet.data.pad == 0 and alexnet.data.normalization == "mnist"
    # The user's word is last, and pretrained weights keep their own input.
    assert resolve("lenet5", dataset="mnist", sets=["data.pad=0"]).data.pad == 0
    assert resolve("resnet20", dataset="cifar10").channels is None
    assert resolve("resnet50", dataset="fashion_mnist", overrides=[("weights", "imagenet")]).channels is None
    reasons = data_reasons(resnet)
    assert set(reasons) >= {"channels", "data.pad", "data.normalization", "data.augmentation"}
    assert "own mean and std" in reasons["data.normalization"] and "flips" in reasons["data.augmentation"]
    assert data_reasons(resolve("resnet20", dataset="cifar10")) == {}


def test_a_folder_of_idx_files_is_the_mnist_family(tmp_path):
    from test_data_idx import write_set

    resolve = config_lib.resolve
    write_set(tmp_path / "digits")
    assert resolve("lenet5", dataset=str(tmp_path / "digits")).data.pad == 2
    (tmp_path / "photos" / "cat").mkdir(parents=True)
    assert resolve("lenet5", dataset=str(tmp_path / "photos")).data.pad == 0
