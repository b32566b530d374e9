"""Fine-tuning pretrained weights on a tiny image folder (weights generated here, as keras.applications would save
them): the head phase leaves the backbone as loaded, the whole-network phase changes it, resuming picks the right
phase, and the pushed SavedModel applies the weights' own preprocessing (BGR, mean subtraction) in its graph."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

import kerascnn
from kerascnn.data import load_splits
from kerascnn.training import config as config_lib
from kerascnn.training import runs, trainer
from kerascnn.training.push import deliver

SIZE = 32
CAFFE_MEAN_BGR = np.array([103.939, 116.779, 123.68], np.float32)  # keras.applications' imagenet_utils


@pytest.fixture(scope="module")
def weights_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("weights")
    keras.utils.set_random_seed(0)
    reference = keras.applications.ResNet50(weights=None, include_top=False, input_shape=(SIZE, SIZE, 3))
    path = folder / "resnet50_notop.weights.h5"
    reference.save_weights(path)
    return path, reference


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """Two classes of eight 32x32 photos: bright and dark."""
    root = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(0)
    for label, level in (("bright", 200), ("dark", 50)):
        (root / label).mkdir()
        for i in range(8):
            pixels = np.clip(rng.normal(level, 30, (SIZE, SIZE, 3)), 0, 255).astype("uint8")
            Image.fromarray(pixels).save(root / label / f"{i}.png")
    return root


def _config(weights, photos, tmp_path, epochs):
    overrides = {
        "weights": str(weights),
        "image_size": SIZE,
        "epochs": epochs,
        "batch_size": 4,
        "run_dir": str(tmp_path / "run"),
        "output_dir": str(tmp_path / "served"),
        "precision": "float32",
        "strategy": "default",
    }
    sets = [
        "fine_tune.head_epochs=1",
        "data.val_split=0.25",
        "data.eval_crop_fraction=1.0",  # a 32x32 image goes in as it is: the preprocessing alone is compared
        "histogram_freq=0",
    ]
    return config_lib.resolve("resnet50", dataset=str(photos), overrides=overrides, sets=sets)


def _backbone(model):
    return {w.path: np.array(w) for w in model.weights if "predictions" not in w.path}


@pytest.mark.slow  # ResNet-50 trained in two phases, evaluated and exported: about 2 minutes on 2 CPU cores
def test_head_phase_freezes_the_backbone_then_the_whole_network_trains(weights_file, photos, tmp_path):
    path, reference = weights_file
    config = _config(path, photos, tmp_path, epochs=1)
    assert config.data.normalization == "caffe" and config.fine_tune.rate_factor == 0.1
    run = runs.prepare(config)
    splits = load_splits(config.data, SIZE, 3, seed=0)
    model, _ = trainer.fit(run, splits, log=lambda *a: None)
    loaded = {layer.name: layer.get_weights() for layer in reference.layers if layer.weights}
    # Phase one: the backbone (convs, BN scales and moving statistics) is exactly as loaded.
    head_only = _backbone(model)
    conv = model.get_layer("conv2_block1").convs[0].get_weights()[0]
    np.testing.assert_array_equal(conv, loaded["conv2_block1_1_conv"][0])
    bn = model.get_layer("conv5_block3").norms[2].get_weights()
    np.testing.assert_allclose(bn[2], loaded["conv5_block3_3_bn"][2] - loaded["conv5_block3_3_conv"][1], atol=1e-6)
    np.testing.assert_allclose(bn[3], loaded["conv5_block3_3_bn"][3] + 1e-8, rtol=1e-6)

    # Phase two, resumed from phase one's checkpoint: the whole network trains.
    config = _config(path, photos, tmp_path, epochs=2)
    run = runs.prepare(config)
    model, history = trainer.fit(run, splits, log=lambda *a: None)
    assert [h["epoch"] for h in history] == [1, 2]
    changed = [k for k, v in _backbone(model).items() if not np.array_equal(v, head_only[k])]
    assert any("conv1_conv" in k for k in changed) and any("moving" in k for k in changed), changed[:5]
    state = json.loads(sorted((run.run_dir / "checkpoints").glob("epoch-0002-*"))[0].joinpath("state.json").read_text())
    assert state["phase"] == "full"

    # The export: raw uint8 images in, the weights' preprocessing applied in the graph.
    from kerascnn.training.evaluate import evaluate_model

    metrics = evaluate_model(run, model, splits)
    run.config.push = "force"
    pushed, _ = deliver(run, model, splits, metrics, log=lambda *a: None)
    recorded = json.loads((pushed / "assets.extra" / "metrics.json").read_text())
    assert recorded["weights"] == str(path)
    image = np.random.default_rng(1).integers(0, 256, (2, SIZE, SIZE, 3), dtype=np.uint8)
    served = tf.saved_model.load(str(pushed)).signatures["serving_default"](images=tf.constant(image))
    by_hand = image[..., ::-1].astype(np.float32) - CAFFE_MEAN_BGR  # RGB -> BGR, the ImageNet mean off
    np.testing.assert_allclose(served["probabilities"].numpy(), model.predict(by_hand, verbose=0), atol=1e-6)


def test_weights_bring_the_fine_tuning_recipe_and_their_preprocessing(tmp_path):
    (tmp_path / "w.weights.h5").write_bytes(b"")
    (tmp_path / "bvlcalexnet.onnx").write_bytes(b"")
    config = config_lib.resolve("resnet50", dataset="photos", overrides={"weights": str(tmp_path / "w.weights.h5")})
    assert (config.epochs, config.fine_tune.head_epochs, config.fine_tune.rate_factor) == (10, 3, 0.1)
    assert config.data.normalization == "caffe" and config.data.bgr
    assert config_lib.resolve("resnet50", dataset="photos").data.normalization == "imagenet"  # from scratch
    alexnet = config_lib.resolve("alexnet", overrides={"weights": str(tmp_path / "bvlcalexnet.onnx")})
    assert alexnet.data.normalization == "bvlc_alexnet"
    mine = config_lib.resolve(
        "resnet50", overrides={"weights": "imagenet", "epochs": 4}, sets=["fine_tune.head_epochs=1"]
    )
    assert (mine.epochs, mine.fine_tune.head_epochs) == (4, 1)


def test_show_config_prints_the_recipe_and_its_reasons(tmp_path, capsys):
    from pipelines import train
    from pipelines.cli import run

    with pytest.raises(SystemExit) as exit_:
        run(train.main, ["resnet50", "--weights", "imagenet", "--show-config"])
    assert exit_.value.code == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["weights"] == "imagenet" and json.loads(out)["data"]["normalization"] == "caffe"
    assert "fine_tune.rate_factor = 0.1: the whole network then at 1/10 of the rate" in err
    with pytest.raises(SystemExit) as exit_:
        run(train.main, ["lenet5", "--weights", "imagenet", "--show-config"])
    assert exit_.value.code == 2
    line = capsys.readouterr().err.strip()
    assert "\n" not in line and "lenet5 has no published ImageNet weights" in line


def _explained(argv, capsys):
    from pipelines import train
    from pipelines.cli import run

    with pytest.raises(SystemExit) as exit_:
        run(train.main, [*argv, "--show-config"])
    assert exit_.value.code == 0
    out, err = capsys.readouterr()
    return json.loads(out), err


def test_each_reason_printed_explains_the_value_printed(photos, capsys):
    """On the shapes demo the fine-tuning recipe's 10 epochs, SGD at 0.01 and weight decay 1e-4 give way to the
    demo's 5, Adam and 0: their reasons are not printed, where the values came from is."""
    config, err = _explained(["resnet50", "--weights", "imagenet"], capsys)
    assert (config["epochs"], config["optimizer"]["name"], config["optimizer"]["weight_decay"]) == (5, "adam", 0.0)
    assert "ten passes" not in err and "0.01 for the head" not in err and "1e-4, ResNet's" not in err
    assert "epochs = 5: the shapes demo's" in err and "optimizer.name = adam: the shapes demo's" in err
    assert "data.normalization = caffe: the pretrained weights' own preprocessing" in err
    config, err = _explained(["resnet50", "--weights", "imagenet", "--dataset", str(photos)], capsys)
    assert config["epochs"] == 10 and "epochs = 10: a few hundred images: ten passes" in err
    assert "optimizer.learning_rate = 0.01: 0.01 for the head (SGD" in err
    config, err = _explained(["resnet50", "--weights", "imagenet", "--dataset", str(photos), "--epochs", "2"], capsys)
    assert "epochs = 2: as given" in err and "ten passes" not in err


def test_a_fine_tuning_shorter_than_its_head_phase_says_so_in_one_line(photos, capsys):
    _, err = _explained(["resnet50", "--weights", "imagenet", "--dataset", str(photos), "--epochs", "1"], capsys)
    (line,) = [line for line in err.splitlines() if line.startswith("Fine-tuning:")]
    assert "all 1 epoch(s) train the new head alone" in line and "never trains" in line and "--epochs 10" in line
    _, err = _explained(["resnet50", "--weights", "imagenet", "--dataset", str(photos), "--epochs", "4"], capsys)
    assert "Fine-tuning:" not in err


def test_a_dense_model_starts_its_papers_recipe_from_the_imagenet_backbone(photos, capsys):
    config, err = _explained(["fcn8s", "--weights", "imagenet", "--dataset", str(photos)], capsys)
    assert (config["epochs"], config["batch_size"], config["optimizer"]["learning_rate"]) == (35, 1, 1e-10)
    assert (config["fine_tune"]["head_epochs"], config["fine_tune"]["rate_factor"]) == (0, 1.0)
    assert config["data"]["normalization"] == "caffe" and "will not learn" not in err
    assert "epochs = 35: the paper's (fcn recipe), which starts from the ImageNet-trained vgg16" in err
    # From random weights the same recipe is refused nothing, but told in one line what will learn.
    _, err = _explained(["fcn8s", "--dataset", str(photos)], capsys)
    (line,) = [line for line in err.splitlines() if "will not learn" in line]
    assert "--weights imagenet" in line and "model_options.width_multiplier=0.125" in line
    _, err = _explained(["deeplab_v2", "--dataset", str(photos)], capsys)
    (line,) = [line for line in err.splitlines() if "will not learn" in line]
    assert "ImageNet-trained resnet101) will not learn" in line and "width_multiplier" not in line  # no such switch
    _, err = _explained(["fcn8s"], capsys)  # the shapes demo learns from scratch
    assert "will not learn" not in err


def test_the_backbone_phase_leaves_a_fixed_upsampling_fixed():
    from kerascnn.training.models import freeze_backbone

    model = kerascnn.get_model("fcn32s", input_shape=(32, 32, 3), num_classes=3, width_multiplier=0.125)
    model.new_layers = ("score_fr", "upscore")
    freeze_backbone(model, frozen=True)
    assert model.get_layer("score_fr").trainable and not model.get_layer("block1_conv1").trainable
    freeze_backbone(model, frozen=False)
    assert model.get_layer("block1_conv1").trainable and not model.get_layer("upscore").trainable
