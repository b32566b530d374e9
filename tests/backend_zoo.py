"""Builds, runs and trains one step of each named model on the backend of KERAS_BACKEND, in a process where importing
TensorFlow fails: `python tests/backend_zoo.py MODEL...` prints one JSON line per model (tests/test_backend_zoo.py);
a MODEL is a name or a JSON object {"model": name, "size": side, "options": get_model keywords}.

Each model is built at a small input (its registry minimum, at least 32), so VGG's and AlexNet's FC layers stay
small; the checks are the backend's own: the forward pass, one SGD step on the cross-entropy, the weights moved.
"""

import json
import sys
import time

sys.modules["tensorflow"] = None  # the zoo must not need TensorFlow on another backend

import keras  # noqa: E402
import numpy as np  # noqa: E402

import kerascnn  # noqa: E402

NUM_CLASSES = 5
JIT = "--jit" in sys.argv  # XLA-compiling a deep net's train step takes far longer than one eager step on a CPU


def check(name, size=None, options=None):
    started, cpu = time.monotonic(), time.process_time()
    spec = kerascnn.model_spec(name)
    size = size or max(spec.min_size, 32)
    shape = (size, size, spec.input_shape[2])
    # Seeded: an unseeded init made the check flaky. lenet5_original's softmax over RBF penalties can start
    # saturated, and on JAX Keras' cross-entropy of probabilities clips them, so no gradient flows (TensorFlow's
    # backend takes the softmax's logits instead); some initialisations moved no weight in one step.
    keras.utils.set_random_seed(0)
    model = kerascnn.get_model(name, num_classes=NUM_CLASSES, input_shape=shape, **(options or {}))
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (2, *shape)).astype("float32")
    y_pred = np.asarray(model(x, training=False))
    y = rng.integers(0, NUM_CLASSES, y_pred.shape[:-1])  # a label per prediction: per image or per pixel
    model.compile(
        optimizer=keras.optimizers.SGD(0.01, momentum=0.9), loss="sparse_categorical_crossentropy", jit_compile=JIT
    )
    before = [keras.ops.convert_to_numpy(w).copy() for w in model.trainable_weights]
    loss = float(model.train_on_batch(x, y))
    moved = sum(not np.array_equal(a, keras.ops.convert_to_numpy(w)) for a, w in zip(before, model.trainable_weights))
    return {
        "model": name,
        "backend": keras.backend.backend(),
        "task": getattr(spec, "task", "classification"),
        "output_shape": list(y_pred.shape),
        "finite": bool(np.isfinite(y_pred).all()),
        "sums_to_one": bool(np.allclose(y_pred.sum(-1), 1.0, atol=1e-4)),
        "loss": loss,
        "weights": len(before),
        "moved": moved,
        "seconds": round(time.monotonic() - started, 1),
        "cpu_seconds": round(time.process_time() - cpu, 1),
    }


if __name__ == "__main__":
    for arg in [a for a in sys.argv[1:] if a != "--jit"]:
        item = json.loads(arg) if arg.startswith("{") else {"model": arg}
        name = item["model"]
        try:
            print(json.dumps(check(name, item.get("size"), item.get("options"))), flush=True)
        except Exception as error:  # reported per model, so one failure does not hide the others
            print(json.dumps({"model": name, "error": f"{type(error).__name__}: {error}"}), flush=True)
