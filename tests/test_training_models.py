"""kerascnn.training.models: the loss a run trains on. Weight decay, coupled (the papers') and decoupled (Keras'),
over two SGD-with-momentum steps worked by hand in NumPy; GoogLeNet's auxiliary losses weighted 0.3."""

import keras
import numpy as np
import pytest

import kerascnn
from kerascnn.training.config import OptimizerConfig, RunConfig, resolve
from kerascnn.training.models import TrainingModel, build_model, compile_model

LR, MOMENTUM, WD = 0.1, 0.9, 0.05
RNG = np.random.default_rng(0)
X = RNG.standard_normal((4, 3)).astype("float32")
Y = np.array([0, 2, 1, 2])
W0 = RNG.standard_normal((3, 3)).astype("float32") * 0.5
B0 = np.array([0.1, -0.2, 0.3], "float32")


def gradients(w, b):
    """Of the mean cross-entropy of softmax(x w + b): d/dlogits = (p - onehot) / N."""
    logits = X @ w + b
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    d = (p - np.eye(3)[Y]) / len(X)
    return X.T @ d, d.sum(0)


def by_hand(mode, steps=2):
    """Keras' SGD: v <- m v - lr g; w <- w + v. Coupled decay adds wd w to the kernel's gradient g before the
    momentum update (Caffe, Torch); decoupled shrinks the kernel by lr wd w first, outside the momentum."""
    w, b = W0.astype("float64"), B0.astype("float64")
    vw, vb = np.zeros_like(w), np.zeros_like(b)
    for _ in range(steps):
        gw, gb = gradients(w, b)
        if mode == "coupled":
            gw = gw + WD * w
        else:
            w = w - LR * WD * w
        vw, vb = MOMENTUM * vw - LR * gw, MOMENTUM * vb - LR * gb
        w, b = w + vw, b + vb
    return w, b


def trained(mode, steps=2):
    inputs = keras.Input((3,))
    outputs = keras.layers.Dense(3, activation="softmax", name="fc")(inputs)
    model = TrainingModel(inputs, outputs)
    model.get_layer("fc").set_weights([W0, B0])
    config = RunConfig(model="lenet5", epochs=1, jit_compile=False)
    config.optimizer = OptimizerConfig(
        name="sgd", momentum=MOMENTUM, weight_decay=WD, weight_decay_mode=mode, schedule="constant"
    )
    compile_model(model, config, num_classes=3, base_rate=LR, steps_per_epoch=1)
    for _ in range(steps):
        model.train_on_batch(X, Y)
    return model.get_layer("fc").get_weights()


@pytest.mark.parametrize("mode", ["coupled", "decoupled"])
def test_two_sgd_momentum_steps_match_the_hand_computation(mode):
    w, b = trained(mode)
    expected_w, expected_b = by_hand(mode)
    np.testing.assert_allclose(w, expected_w, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(b, expected_b, rtol=1e-5, atol=1e-6)  # biases are not decayed in either mode
    other_w, _ = by_hand("decoupled" if mode == "coupled" else "coupled")
    assert not np.allclose(w, other_w, rtol=1e-5, atol=1e-6)  # the two modes differ by more than the tolerance


def test_the_recipes_default_to_coupled_decay_and_decoupled_is_an_option():
    for name, wd in (("resnet20", 1e-4), ("alexnet", 5e-4), ("googlenet", 2e-4), ("vgg16", 5e-4)):
        config = resolve(name, dataset="cifar10")
        assert (config.optimizer.weight_decay, config.optimizer.weight_decay_mode) == (wd, "coupled")
    config = resolve("resnet20", dataset="cifar10", sets=["optimizer.weight_decay_mode=decoupled"])
    model = build_model(config, num_classes=10, input_shape=(32, 32, 3), precision="float32")
    compile_model(model, config, num_classes=10, base_rate=0.1, steps_per_epoch=1)
    assert model.weight_decay == 0.0 and model.optimizer.weight_decay == pytest.approx(1e-4)
    config = resolve("resnet20", dataset="cifar10")
    compile_model(model, config, num_classes=10, base_rate=0.1, steps_per_epoch=1)
    assert model.weight_decay == pytest.approx(1e-4) and model.optimizer.weight_decay is None


def cross_entropy(probabilities, labels):
    p = np.asarray(probabilities, "float64")[np.arange(len(labels)), labels]
    return float(np.mean(-np.log(p)))


def test_googlenet_training_loss_is_main_plus_0_3_times_the_auxiliary_losses():
    config = resolve("googlenet", dataset="cifar10", sets=["optimizer.weight_decay=0", "jit_compile=false"])
    size = kerascnn.model_spec("googlenet").min_size
    model = build_model(config, num_classes=4, input_shape=(size, size, 3), precision="float32")
    compile_model(model, config, num_classes=4, base_rate=0.01, steps_per_epoch=1)
    assert len(model.outputs) == 3  # the recipe's auxiliary heads
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, (3, size, size, 3)).astype("float32")
    y = np.array([0, 3, 1])
    main, aux1, aux2 = (np.asarray(p) for p in model(x, training=False))  # dropout off
    expected = cross_entropy(main, y) + 0.3 * (cross_entropy(aux1, y) + cross_entropy(aux2, y))
    assert cross_entropy(aux1, y) > 0.5 and cross_entropy(aux2, y) > 0.5  # each weight moves the sum visibly
    loss = float(model.compute_loss(x, y, model(x, training=False), training=True))
    assert loss == pytest.approx(expected, rel=1e-5)
    assert model.evaluate(x, y, verbose=0, return_dict=True)["loss"] == pytest.approx(expected, rel=1e-5)
