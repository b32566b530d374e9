"""The dtype policy a model is built under, set for the build and restored after: Keras alone (no TensorFlow), so
that the JAX benchmark path builds under it too."""

import contextlib

import keras


@contextlib.contextmanager
def dtype_policy(name):
    """Builds layers under the global dtype policy `name` (e.g. "mixed_float16"), and restores the previous one."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)
