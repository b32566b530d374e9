"""kerascnn.compat: the one module that touches Keras and keras-tuner internals; an upgrade that breaks one fails
here, with its name, before a run misbehaves."""

import keras
import pytest

from kerascnn import compat


def test_every_internal_is_still_there():
    compat.check()


def test_a_missing_internal_fails_loudly_naming_it(monkeypatch):
    # As a Keras that renamed the attribute would answer.
    monkeypatch.setattr(compat, "inbound_nodes", lambda layer: layer._inbound_nodes_renamed)
    with pytest.raises(RuntimeError, match=r"Layer._inbound_nodes \(analysis.graph\) is gone or changed .*against"):
        compat.check()


def test_the_internals_answer_what_the_library_asks():
    inputs = keras.Input((3,))
    shared = keras.layers.Dense(3, name="shared")
    first, second = shared(inputs), shared(shared(inputs))
    assert compat.keras_history(first).operation is shared and compat.keras_history(second).operation is shared
    assert len(compat.inbound_nodes(shared)) == 3  # one per call of the shared layer
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)
    assert compat.learning_rate_schedule(keras.optimizers.SGD(schedule)) is schedule
    assert compat.learning_rate_schedule(keras.optimizers.SGD(0.1)) is None
