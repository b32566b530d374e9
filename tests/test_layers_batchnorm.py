"""kerascnn.layers.BatchNormalization (TensorFlow's fused kernel) against keras.layers.BatchNormalization, the second
modes, gradients, the moving statistics after several steps, under mixed precision and MirroredStrategy."""

import json
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from layer_checks import check_layer
from pipeline_helpers import ROOT

from kerascnn.layers import BatchNormalization as FusedBatchNormalization  # Keras' name, TensorFlow's kernel

# Output tolerance per policy: float32 rounding, then one rounding to the 16-bit type.
TOLERANCE = {"float32": 1e-5, "mixed_float16": 2e-3, "mixed_bfloat16": 2e-2}
OPTIONS = {"momentum": 0.9, "epsilon": 1e-5}


def pair(policy="float32", shape=(None, 5, 7, 6), **options):
    """A Keras BN and a fused one with the same random gamma, beta and moving statistics."""
    channels = shape[-1]
    rng = np.random.default_rng(1)
    weights = [
        rng.uniform(0.5, 1.5, channels) if options.get("scale", True) else None,
        rng.normal(0, 0.5, channels) if options.get("center", True) else None,
        rng.normal(0, 0.5, channels),
        rng.uniform(0.5, 2.0, channels),
    ]
    layers = []
    for cls in (keras.layers.BatchNormalization, FusedBatchNormalization):
        layer = cls(**{**OPTIONS, **options}, dtype=policy)
        layer.build(shape)
        layer.set_weights([w.astype("float32") for w in weights if w is not None])
        layers.append(layer)
    return layers


def ops_of(layer, x, training):
    function = tf.function(lambda inputs: layer(inputs, training=training))
    return {op.type for op in function.get_concrete_function(tf.TensorSpec(x.shape, x.dtype)).graph.get_operations()}


def test_layer_contract():
    check_layer(FusedBatchNormalization, OPTIONS, (2, 5, 5, 4))


@pytest.mark.parametrize("policy", TOLERANCE)
def test_forward_gradients_and_moving_statistics_match_keras(policy):
    tol = TOLERANCE[policy]
    keras_bn, fused = pair(policy)
    rng = np.random.default_rng(0)
    for _ in range(3):  # three SGD steps in training mode, each on a new batch
        x = tf.constant(rng.normal(1.0, 3.0, (4, 5, 7, 6)).astype("float32"))
        upstream = tf.constant(rng.standard_normal((4, 5, 7, 6)).astype("float32"))
        results = []
        for layer in (keras_bn, fused):
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = layer(x, training=True)
                loss = tf.reduce_sum(tf.cast(y, tf.float32) * upstream)
            grads = tape.gradient(loss, [x, layer.gamma, layer.beta])
            for variable, grad in zip((layer.gamma, layer.beta), grads[1:]):
                variable.assign_sub(0.01 * grad)
            results.append((y, grads))
        (y_keras, g_keras), (y_fused, g_fused) = results
        assert y_fused.dtype == y_keras.dtype == keras.mixed_precision.Policy(policy).compute_dtype
        np.testing.assert_allclose(np.float32(y_fused), np.float32(y_keras), atol=tol * 10, rtol=tol)
        for a, b in zip(g_fused, g_keras):  # input, gamma, beta
            scale = np.abs(np.float32(b)).max()
            np.testing.assert_allclose(np.float32(a), np.float32(b), atol=tol * scale * 10)
    # The moving statistics (float32 under every policy) and the trained gamma and beta after the three steps.
    for name in ("moving_mean", "moving_variance", "gamma", "beta"):
        a, b = getattr(fused, name), getattr(keras_bn, name)
        assert a.dtype == "float32"
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=max(tol, 1e-5), atol=1e-6, err_msg=name)
    # Inference mode reads the moving statistics.
    x = rng.normal(1.0, 3.0, (2, 5, 7, 6)).astype("float32")
    expected = np.float32(keras_bn(x, training=False))
    np.testing.assert_allclose(np.float32(fused(x, training=False)), expected, atol=tol * 10, rtol=tol)


def test_moving_variance_is_the_biased_batch_variance_as_in_keras():
    """By hand: after one step from mean 0 and variance 1, moving_variance = 0.9 + 0.1 * var(x) with var's
    divisor n, not n - 1 (the fused kernel's own running variance)."""
    x = np.random.default_rng(2).standard_normal((2, 3, 3, 2)).astype("float32")
    layer = FusedBatchNormalization(**OPTIONS)
    layer(x, training=True)
    np.testing.assert_allclose(layer.moving_variance, 0.9 + 0.1 * x.var(axis=(0, 1, 2)), rtol=1e-6)
    np.testing.assert_allclose(layer.moving_mean, 0.1 * x.mean(axis=(0, 1, 2)), rtol=1e-5, atol=1e-7)


def test_fused_kernel_runs_where_it_applies_and_keras_elsewhere():
    keras_bn, fused = pair()
    x = tf.zeros((2, 5, 7, 6))
    for training in (True, False):
        assert "FusedBatchNormV3" in ops_of(fused, x, training)
        assert "FusedBatchNormV3" not in ops_of(keras_bn, x, training)
    # Not 4-D, or synchronized, or renormalised: Keras' ops, with Keras' result.
    for options, shape in (({}, (8, 6)), ({"synchronized": True}, (2, 5, 7, 6)), ({"center": False}, (2, 3, 6))):
        keras_bn, fused = pair(shape=shape, **options)
        x = tf.constant(np.random.default_rng(3).standard_normal(shape).astype("float32"))
        if len(shape) != 4 or options.get("synchronized"):
            assert "FusedBatchNormV3" not in ops_of(fused, x, True)
        np.testing.assert_allclose(fused(x, training=True), keras_bn(x, training=True), atol=1e-5)


def test_scale_and_center_off_match_keras():
    keras_bn, fused = pair(center=False, scale=False)
    x = np.random.default_rng(4).standard_normal((2, 5, 7, 6)).astype("float32")
    for training in (True, False):
        np.testing.assert_allclose(fused(x, training=training), keras_bn(x, training=training), atol=1e-5)
    assert [w.path.split("/")[-1] for w in fused.weights] == ["moving_mean", "moving_variance"]


def test_a_zoo_file_saved_with_keras_batch_normalization_still_loads(tmp_path, monkeypatch):
    """A ResNet saved before this layer existed (every BN Keras' own, inside the blocks too) loads, and its weights
    load into today's model, which computes the same function."""
    import kerascnn.layers.residual
    import kerascnn.models.resnet

    monkeypatch.setattr(kerascnn.layers.residual, "BatchNormalization", keras.layers.BatchNormalization)
    monkeypatch.setattr(kerascnn.models.resnet, "BatchNormalization", keras.layers.BatchNormalization)
    old = kerascnn.get_model("resnet20", input_shape=(16, 16, 3))
    monkeypatch.undo()
    assert type(old.get_layer("conv1_bn")) is keras.layers.BatchNormalization
    assert type(old.get_layer("conv2_block1").norms[0]) is keras.layers.BatchNormalization
    rng = np.random.default_rng(5)
    for weight in old.weights:
        if weight.path.endswith(("moving_mean", "beta")):
            weight.assign(rng.normal(0, 0.3, weight.shape).astype("float32"))
    old.save(tmp_path / "old.keras")
    old.save_weights(tmp_path / "old.weights.h5")
    x = rng.uniform(0, 1, (2, 16, 16, 3)).astype("float32")
    expected = np.asarray(old(x, training=False))

    loaded = keras.saving.load_model(tmp_path / "old.keras")
    assert isinstance(loaded.get_layer("conv2_block1").norms[0], FusedBatchNormalization)
    np.testing.assert_allclose(loaded(x, training=False), expected, atol=1e-6)
    new = kerascnn.get_model("resnet20", input_shape=(16, 16, 3))
    assert isinstance(new.get_layer("conv1_bn"), FusedBatchNormalization)
    new.load_weights(tmp_path / "old.weights.h5")
    np.testing.assert_allclose(new(x, training=False), expected, atol=1e-6)


MIRRORED = """
import json, sys
import numpy as np, tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras
from kerascnn.layers import BatchNormalization as FusedBatchNormalization  # Keras' name, TensorFlow's kernel

def train(cls, synchronized):
    keras.utils.set_random_seed(0)
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        inputs = keras.Input((6, 6, 3))
        x = keras.layers.Conv2D(4, 3, name="conv")(inputs)
        x = cls(momentum=0.9, epsilon=1e-5, synchronized=synchronized, name="bn")(x)
        outputs = keras.layers.Dense(2)(keras.layers.GlobalAveragePooling2D()(x))
        model = keras.Model(inputs, outputs)
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    rng = np.random.default_rng(0)
    x, y = rng.normal(1, 2, (16, 6, 6, 3)).astype("float32"), rng.standard_normal((16, 2)).astype("float32")
    model.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    return [np.asarray(w) for w in model.get_layer("bn").weights], strategy.num_replicas_in_sync

synchronized = sys.argv[1] == "synchronized"
(ours, replicas), (theirs, _) = (
    train(cls, synchronized) for cls in (FusedBatchNormalization, keras.layers.BatchNormalization)
)
report = {
    "replicas": replicas,
    "diff": max(float(np.abs(a - b).max()) for a, b in zip(ours, theirs)),
    "moved": float(np.abs(theirs[2]).max()),
    "variance": theirs[3].tolist(),
}
print(json.dumps(report))
"""


@pytest.mark.slow
def test_under_mirrored_strategy_on_two_cpus_it_trains_as_keras_does():
    """Each replica normalises by its own batch, or with `synchronized=True` by the global batch's moments (Keras'
    own code), and updates the mirrored moving statistics as Keras' layer does."""
    env = {"PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    report = {}
    # One process each: in one process, a synchronised run after a per-replica one fails in TensorFlow's collective
    # ops (CollectiveReduceV2: "shape mismatch in the collective instance"), with Keras' own synchronised layer.
    for mode in ("per_replica", "synchronized"):
        result = subprocess.run(
            [sys.executable, "-c", MIRRORED, mode], capture_output=True, text=True, cwd=ROOT, env=env, timeout=600
        )
        assert result.returncode == 0, result.stderr[-3000:]
        report[mode] = out = json.loads(result.stdout.splitlines()[-1])
        assert out["replicas"] == 2
        assert out["moved"] > 1e-3  # the moving mean left its zeros
        assert out["diff"] < 1e-5, (mode, out)
    # Synchronised moments are the global batch's, not each replica's: the moving variances differ.
    assert not np.allclose(report["synchronized"]["variance"], report["per_replica"]["variance"], rtol=1e-4)
