"""Gradients of a model's output with respect to its input or an inner feature map, on any Keras backend, and the
modified ReLU backward rules of guided backpropagation and the deconvnet.

Keras 3 computes gradients only inside `fit`; an explanation needs them outside, so `gradient` asks the backend
itself: TensorFlow's GradientTape, `jax.value_and_grad`, torch's autograd. Each backend is imported only when it is
the one Keras runs on.
"""

import contextlib

import keras
from keras import ops

from kerascnn.compat import relu_replaced


def gradient(fn, args, wrt):
    """(fn(*args), d sum(fn(*args)) / d args[wrt]) on Keras' backend.

    `fn` returns one score per image; the images of a batch are independent (inference mode), so the gradient of
    the sum holds each image's own gradient.
    """
    args = [ops.convert_to_tensor(a) for a in args]
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            tape.watch(args[wrt])
            value = fn(*args)
            total = tf.reduce_sum(tf.cast(value, "float32"))
        return value, tape.gradient(total, args[wrt])
    if backend == "jax":
        import jax

        def total(x):
            value = fn(*args[:wrt], x, *args[wrt + 1 :])
            return ops.sum(ops.cast(value, "float32")), value

        (_, value), grad = jax.value_and_grad(total, has_aux=True)(args[wrt])
        return value, grad
    if backend == "torch":
        import torch

        args[wrt] = args[wrt].detach().requires_grad_(True)
        value = fn(*args)
        (grad,) = torch.autograd.grad(value.float().sum(), args[wrt])
        return value.detach(), grad
    raise ValueError(f"Explanations need gradients, which Keras' {backend} backend does not compute.")


def _guided(x):
    """Springenberg et al. 2015, Sec. 3.4: backward, pass only where the forward input and the signal are positive."""

    @ops.custom_gradient
    def relu(x):
        def backward(*args, upstream=None):
            upstream = args[0] if upstream is None else upstream
            return upstream * ops.cast((x > 0) & (upstream > 0), upstream.dtype)

        return ops.maximum(x, ops.zeros_like(x)), backward

    return relu(x)


def _deconvnet(x):
    """Zeiler & Fergus 2014, Sec. 2.1: backward, rectify the signal, whatever the forward input was."""

    @ops.custom_gradient
    def relu(x):
        def backward(*args, upstream=None):
            upstream = args[0] if upstream is None else upstream
            return ops.maximum(upstream, ops.zeros_like(upstream))

        return ops.maximum(x, ops.zeros_like(x)), backward

    return relu(x)


RULES = {"guided": _guided, "deconvnet": _deconvnet}


@contextlib.contextmanager
def relu_rule(rule):
    """Within the block every ReLU of every model (block layers' included) passes its signal backward by `rule`
    ("guided" or "deconvnet"); None leaves ReLUs alone."""
    if rule is None:
        yield
        return
    with relu_replaced(RULES[rule]):
        yield
