"""The checks every custom layer must pass (after keras-hub's TestCase.run_layer_test)."""

import keras
import numpy as np


def check_layer(layer_cls, init_kwargs, input_shape, expected_output_shape=None, seed=0, any_size=True):
    """Builds the layer, runs it, and checks its config round trip, serialization, output shape and its
    forward pass under the mixed_float16 and mixed_bfloat16 policies, with the symbolic output's dtype equal to
    the real one's; that a layer without weights is built once instantiated (Keras' convention for stateless
    layers); and, with `any_size`, that an image layer traces in a graph of unknown height and width (as
    `model.export` of an any-size signature does). Returns the float32 layer and output."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(input_shape).astype("float32")

    fresh = layer_cls(**init_kwargs)
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

    # Stateless: built after instantiation, so that Keras never calls a build that has nothing to create.
    if not layer.weights:
        assert fresh.built, f"{layer_cls.__name__} has no weights but is not built after instantiation"

    for policy in ("mixed_float16", "mixed_bfloat16"):
        mixed = layer_cls(**init_kwargs, dtype=policy)
        mixed.build(input_shape)
        mixed.set_weights(layer.get_weights())
        out = mixed(x)
        assert np.isfinite(np.asarray(keras.ops.cast(out, "float32"))).all(), policy
        # A functional model's output spec must carry the dtype the layer really returns.
        symbolic = mixed(keras.Input(input_shape[1:], batch_size=input_shape[0]))
        assert symbolic.dtype == keras.backend.standardize_dtype(out.dtype), (policy, symbolic.dtype, out.dtype)

    if any_size and len(input_shape) == 4:
        check_traces_at_any_size(layer, input_shape, y)
    return layer, y


def check_traces_at_any_size(layer, input_shape, expected):
    """The layer in a model whose input has unknown height and width traces into one graph for every size, and
    that graph computes the same output as the eager layer."""
    import tensorflow as tf

    inputs = keras.Input((None, None, input_shape[-1]))
    model = keras.Model(inputs, layer(inputs))
    traced = tf.function(model).get_concrete_function(tf.TensorSpec((None, None, None, input_shape[-1]), "float32"))
    x = np.random.default_rng(0).standard_normal(input_shape).astype("float32")
    np.testing.assert_allclose(traced(tf.constant(x)).numpy(), np.asarray(layer(x)), rtol=1e-5, atol=1e-5)
    assert expected.shape == tuple(traced(tf.constant(x)).shape)
