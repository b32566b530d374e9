"""Timing helpers of the benchmark: the statistics, the steps they run, and the alternation."""

import keras
import numpy as np
import pytest

from kerascnn.benchmark import throughput


def test_summary_is_median_range_and_relative_spread():
    summary = throughput.summarize([4.0, 1.0, 3.0, 2.0, 10.0])
    assert summary["median"] == 3.0 and (summary["min"], summary["max"]) == (1.0, 10.0)
    assert summary["spread"] == pytest.approx(9.0 / 3.0)
    assert summary["samples"] == [4.0, 1.0, 3.0, 2.0, 10.0]
    assert throughput.summarize([]) is None


def test_ratios_pair_the_repetitions():
    # Per repetition 2/1, 6/2, 4/4 -> 2, 3, 1: median 2, whereas median(ours) / median(theirs) would be 4/2 = 2
    # only by chance; a drift shared by both cancels in each pair.
    summary = throughput.ratios([2.0, 6.0, 4.0], [1.0, 2.0, 4.0])
    assert summary["samples"] == [2.0, 3.0, 1.0] and summary["median"] == 2.0


def _tiny_model():
    inputs = keras.Input((4, 4, 1))
    x = keras.layers.Flatten()(inputs)
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(x))
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    return model


def test_timer_runs_exactly_the_optimizer_steps_it_is_asked_for():
    model = _tiny_model()
    timer = throughput.Timer(model, *throughput.fixed_batch(model, batch_size=5, num_classes=3))
    assert timer.batch_size == 5
    timer.warm_up(2)
    assert int(model.optimizer.iterations) == 2
    assert timer.train_steps(3) > 0
    assert int(model.optimizer.iterations) == 5
    assert timer.predict_steps(2) > 0
    assert int(model.optimizer.iterations) == 5  # inference does not train


def test_fixed_batch_matches_the_input_and_the_classes():
    model = _tiny_model()
    images, labels = throughput.fixed_batch(model, batch_size=7, num_classes=3)
    assert images.shape == (7, 4, 4, 1) and images.dtype == "float32"
    assert labels.shape == (7,) and set(np.asarray(labels)) <= {0, 1, 2}


class _Recorder:
    """Stands in for a Timer: records the order it is called in; a training step takes 0.5 s, inference 0.25 s."""

    def __init__(self, name, calls, batch_size=4):
        self.name, self.calls, self.batch_size = name, calls, batch_size

    def train_steps(self, steps):
        self.calls.append(f"{self.name} train")
        return 0.5 * steps

    def predict_steps(self, steps):
        self.calls.append(f"{self.name} inference")
        return 0.25 * steps


def test_alternation_pairs_the_models_and_reverses_their_order_every_repetition():
    calls = []
    samples = throughput.alternate({"a": _Recorder("a", calls), "b": _Recorder("b", calls)}, steps=2, repeats=2)
    assert calls == [
        "a train",
        "b train",
        "a inference",
        "b inference",
        "b train",
        "a train",
        "b inference",
        "a inference",
    ]
    assert samples["a"]["train"] == [8.0] * 2  # 4 images x 2 steps / 1 s
    assert samples["b"]["inference"] == [16.0] * 2
