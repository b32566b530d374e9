"""Batch normalisation (Ioffe & Szegedy, ICML 2015) through TensorFlow's fused kernel.

Keras 3 computes `BatchNormalization` as separate reduce, subtract, multiply and add ops on every backend; on
ResNet-50 at batch 16 on a CPU they were about a quarter of the op time. TensorFlow has one kernel for the whole
normalisation and one for its gradient (`FusedBatchNormV3`: oneDNN on CPUs, cuDNN on GPUs), which
`kerascnn.layers.BatchNormalization` calls on the TensorFlow backend. Everything else is Keras' layer: the same
config, the same weights in the same order (gamma, beta, moving_mean, moving_variance).

The class keeps Keras' name on purpose: Keras' weight files address a block's sublayers by their class name
(`residual_block/norms/batch_normalization_1`), so under another name the weights and checkpoints of the zoo
saved before this layer existed would not load.
"""

import keras


def _tensorflow():
    """TensorFlow, imported only on its own backend: a JAX installation without TensorFlow runs Keras' layer."""
    if keras.backend.backend() != "tensorflow":
        return None
    import tensorflow as tf

    return tf


@keras.saving.register_keras_serializable(package="kerascnn")
class BatchNormalization(keras.layers.BatchNormalization):
    """`keras.layers.BatchNormalization`, computed by TensorFlow's fused kernel where it applies.

    The fused path runs on the TensorFlow backend for 4-D channels-last inputs without a mask, batch
    renormalisation or `synchronized=True` (cross-replica moments are Keras' own); everything else calls Keras'
    `call`. Semantics match Keras exactly: the batch is normalised by its biased variance, the moving statistics
    follow moving = momentum * moving + (1 - momentum) * batch with the biased variance (the kernel returns the
    unbiased one, n / (n - 1) times larger, which is scaled back), and under a mixed policy the statistics, gamma
    and beta stay float32 while the kernel reads and writes the compute dtype.

    Departure: the kernel's arithmetic differs from Keras' ops by float rounding (about 1e-6 relative in float32).
    """

    def _fused(self, inputs, mask):
        rank_ok = len(inputs.shape) == 4 and self.axis in (-1, 3)
        if mask is not None or self.renorm or self.synchronized or not rank_ok:
            return None
        return _tensorflow()

    def call(self, inputs, training=None, mask=None):
        tf = self._fused(inputs, mask)
        if tf is None:
            return super().call(inputs, training=training, mask=mask)
        # tf.* here on purpose: FusedBatchNormV3 is the point of this layer, and Keras has no public op for it.
        channels = inputs.shape[-1]
        gamma = self.gamma if self.scale else tf.ones([channels], tf.float32)
        beta = self.beta if self.center else tf.zeros([channels], tf.float32)
        gamma, beta = tf.cast(gamma, tf.float32), tf.cast(beta, tf.float32)
        x = tf.cast(inputs, self.compute_dtype)
        empty = tf.constant([], tf.float32)
        if training and self.trainable:
            # The raw op, not tf.compat.v1.nn.fused_batch_norm: that wrapper raises epsilon to 1.001e-5 (a cuDNN
            # limit of old), which would move the ResNets' 1e-5 away from Keras' result.
            y, mean, unbiased, _, _, _ = tf.raw_ops.FusedBatchNormV3(
                x=x, scale=gamma, offset=beta, mean=empty, variance=empty, epsilon=self.epsilon, is_training=True
            )
            n = tf.cast(tf.size(x) // channels, tf.float32)
            variance = unbiased * ((n - 1.0) / tf.maximum(n, 1.0))
            self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1.0 - self.momentum))
            self.moving_variance.assign(self.moving_variance * self.momentum + variance * (1.0 - self.momentum))
        else:
            y = tf.raw_ops.FusedBatchNormV3(
                x=x,
                scale=gamma,
                offset=beta,
                mean=tf.cast(self.moving_mean, tf.float32),
                variance=tf.cast(self.moving_variance, tf.float32),
                epsilon=self.epsilon,
                is_training=False,
            )[0]
        return tf.cast(y, self.compute_dtype)


@keras.saving.register_keras_serializable(package="kerascnn")
class FoldedBatchNormalization(keras.layers.Layer):
    """What stays of a batch normalisation folded into the convolution before it (kerascnn.analysis.
    fold_batch_norms): its name, in the graph, and the identity. It takes BN's call arguments, so a model's graph
    replays with it in BN's place."""

    def call(self, inputs, training=None, mask=None):
        return inputs
