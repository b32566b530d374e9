"""Several steps an execution (Keras' steps_per_execution): every execution stays inside its epoch, and the
callbacks that count steps count each one."""

import types

import keras
import numpy as np

from kerascnn.training import callbacks as callbacks_lib
from kerascnn.training import config as config_lib
from kerascnn.training import runs, stages
from kerascnn.training.trainer import execution_steps, fit


def test_an_execution_never_crosses_an_epoch():
    # 1,687 = 7 x 241: Fashion-MNIST's epoch of LeNet-5 at batch 32.
    chosen = [execution_steps(16, 1687), execution_steps(4, 12), execution_steps(4, 10), execution_steps(16, 17)]
    assert chosen + [execution_steps(16, 3), execution_steps(1, 1687)] == [7, 4, 2, 1, 3, 1]


def _train(tmp_path, name, steps_per_execution):
    keras.utils.clear_session()
    sets = ["data.shapes_train=96", "data.shapes_val=32", "batch_size=16", "epochs=2", "checkpoint_every=0"]
    sets += [f"run_dir={tmp_path / name}", f"output_dir={tmp_path / 'out'}"]
    config = config_lib.resolve("lenet5", sets=[*sets, f"steps_per_execution={steps_per_execution}"])
    run = runs.prepare(config)
    lines = []
    model, history = fit(run, stages.example_gen(run), log=lines.append)
    return model, history, lines


def test_executions_train_what_single_steps_train(tmp_path):
    # 96 images in batches of 16: 6 steps an epoch, so 4 steps an execution become 3.
    single, single_history, _ = _train(tmp_path, "single", 1)
    grouped, grouped_history, lines = _train(tmp_path, "grouped", 4)
    assert "6 steps an epoch: 3 steps an execution (the largest divisor not above 4)." in lines
    assert int(grouped.optimizer.iterations) == int(single.optimizer.iterations) == 12  # Keras' own would be 16
    for a, b in zip(single.get_weights(), grouped.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    losses = [[round(epoch["loss"], 5) for epoch in h] for h in (single_history, grouped_history)]
    assert losses[0] == losses[1]


class _Store:
    def __init__(self):
        self.saved = []

    def save(self, model, *, epoch, step, **state):
        self.saved.append((epoch, step))


def test_a_checkpoint_every_n_steps_is_taken_when_an_execution_passes_it():
    inputs = keras.Input((2,))
    model = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    store, stop = _Store(), types.SimpleNamespace(requested=None)
    callback = callbacks_lib.Checkpointing(
        store, stop=stop, state=dict, steps_per_epoch=12, first_step=0, every_steps=5
    )
    callback.set_model(model)
    callback.on_epoch_begin(0)
    for last_batch in (3, 7, 11):  # executions of 4 steps: steps 4, 8 and 12 end them
        callback.on_train_batch_end(last_batch, {"loss": 1.0})
    callback.on_epoch_end(0, {"loss": 1.0})
    # Step 5 and step 10 fall inside the executions that end at 8 and 12; 12 is the epoch's own checkpoint.
    assert store.saved == [(0, 8), (1, 0)]


def test_images_per_second_counts_every_step_of_an_execution(monkeypatch):
    clock = iter([100.0, 102.0])
    monkeypatch.setattr(callbacks_lib.time, "perf_counter", lambda: next(clock))
    inputs = keras.Input((2,))
    model = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    model.compile(optimizer="sgd", loss="mse")
    monitor = callbacks_lib.TrainingMonitor(global_batch=32)
    monitor.set_model(model)
    monitor.on_epoch_begin(0)
    for last_batch in (6, 13):  # two executions of 7 steps
        monitor.on_train_batch_end(last_batch)
    logs = {}
    monitor.on_epoch_end(0, logs)
    assert logs["images_per_second"] == 14 * 32 / 2.0


def test_lenet_on_the_mnist_family_runs_several_steps_an_execution():
    lenet = config_lib.resolve("lenet5", dataset="fashion_mnist")
    assert lenet.steps_per_execution == 16
    assert "Keras' per-step loop" in config_lib.data_reasons(lenet)["steps_per_execution"]
    assert config_lib.resolve("resnet20", dataset="fashion_mnist").steps_per_execution == 1
    assert config_lib.resolve("lenet5").steps_per_execution == 1  # the shapes demo keeps one step a call
    assert config_lib.resolve("lenet5", dataset="mnist", sets=["steps_per_execution=2"]).steps_per_execution == 2
