"""The checks every custom layer must pass (after keras-hub's TestCase.run_layer_test)."""

import keras
import numpy as np


def check_layer(layer_cls, init_kwargs, input_shape, expected_output_shape=None, seed=0):
    """Builds the layer, runs it, and checks its config round trip, serialization, output shape and its
    forward pass under the mixed_float16 and mixed_bfloat16 policies. Returns the float32 layer and output."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(input_shape).astype("float32")

    layer = layer_cls(**init_kwargs)
    y = np.asarray(layer(x))
    assert np.isfinite(y).all()

    # Config round trip: from_config(get_config()) rebuilds a layer with the same config.
    config = layer.get_config()
    clone = layer_cls.from_config(config)
    assert clone.get_config() == config

    # Registered under "kerascnn": serialize and deserialize by name, and compute the same function.
    serialized = keras.saving.serialize_keras_object(layer)
    assert serialized["registered_name"] == f"kerascnn>{layer_cls.__name__}"
    restored = keras.saving.deserialize_keras_object(serialized)
    assert restored.built  # from the serialized build config
    restored.set_weights(layer.get_weights())
    np.testing.assert_allclose(np.asarray(restored(x)), y, rtol=1e-5, atol=1e-5)

    # compute_output_shape agrees with the output, and both with the expectation.
    assert tuple(layer.compute_output_shape(input_shape)) == y.shape
    if expected_output_shape is not None:
        assert y.shape == tuple(expected_output_shape)

    for policy in ("mixed_float16", "mixed_bfloat16"):
        mixed = layer_cls(**init_kwargs, dtype=policy)
        mixed.build(input_shape)
        mixed.set_weights(layer.get_weights())
        out = mixed(x)
        assert np.isfinite(np.asarray(keras.ops.cast(out, "float32"))).all(), policy
    return layer, y
