"""Local response normalization, as in AlexNet (Krizhevsky et al., NIPS 2012, Sec. 3.3)."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="kerascnn")
class LocalResponseNormalization(keras.layers.Layer):
    """b[c] = a[c] / (k + alpha * sum(a[c']^2 for c' in c-r..c+r)) ** beta, over the channel axis.

    This is the AlexNet paper's convention: `alpha` multiplies the plain sum of the 2r+1 squares. Caffe and
    PyTorch divide alpha by the window size n = 2r+1 (and default k to 1), so Caffe's `bvlc_alexnet` settings
    (local_size 5, alpha 1e-4, k 1) are `LocalResponseNormalization(2, bias=1.0, alpha=2e-5, beta=0.75)` here.
    Channels past the edges count as zero, as in the paper and in `tf.nn.local_response_normalization`.

    Under a mixed precision policy the normalisation is computed in float32 and the result cast back: the sum of
    squares overflows float16 for activations above ~100, and TensorFlow has no bfloat16 LRN kernel on CPU.

    Args:
        depth_radius: r, half the window; the window spans 2r+1 channels (the paper's n = 5 is r = 2).
        bias: k, the paper's 2.
        alpha: the paper's 1e-4.
        beta: the paper's 0.75.
        groups: normalises each of this many equal slices of the channels on its own. AlexNet's two GPUs each
            normalised their own half of the maps, so a window never crosses from one tower to the other.
    """

    def __init__(self, depth_radius=2, bias=2.0, alpha=1e-4, beta=0.75, groups=1, **kwargs):
        super().__init__(**kwargs)
        if depth_radius < 0:
            raise ValueError(f"depth_radius must be >= 0, got {depth_radius}.")
        self.depth_radius = depth_radius
        self.bias = bias
        self.alpha = alpha
        self.beta = beta
        self.groups = groups
        self.built = True  # no weights: Keras' convention for stateless layers (build has nothing to create)

    def call(self, inputs):
        if inputs.shape[-1] is not None and inputs.shape[-1] % self.groups:
            raise ValueError(f"Input channels ({inputs.shape[-1]}) must be divisible by groups ({self.groups}).")
        x = ops.cast(inputs, "float32")
        slices = ops.split(x, self.groups, axis=-1) if self.groups > 1 else [x]
        y = [self._normalize(s) for s in slices]
        return ops.cast(y[0] if self.groups == 1 else ops.concatenate(y, axis=-1), self.compute_dtype)

    def _normalize(self, x):
        if keras.backend.backend() == "tensorflow" and len(x.shape) == 4:
            # TensorFlow's fused LRN kernel is the point here: forward and backward run 3-4x faster on CPU than
            # the portable expression below (AlexNet's conv1 maps, batch 8), and it computes the same formula.
            import tensorflow as tf  # here: the layers run on every backend, without TensorFlow

            return tf.nn.local_response_normalization(x, self.depth_radius, self.bias, self.alpha, self.beta)
        return self.normalize_portably(x)

    def normalize_portably(self, x):
        """The formula in keras.ops, for every backend (and for TensorFlow when the rank is not 4)."""
        r = self.depth_radius
        squares = ops.pad(ops.square(x), [[0, 0]] * (len(x.shape) - 1) + [[r, r]])
        channels = ops.shape(x)[-1]
        # 2r+1 shifted slices summed: exact, and cheaper than a convolution for the small windows LRN uses.
        window_sum = sum(squares[..., i : i + channels] for i in range(2 * r + 1))
        return x * ops.power(self.bias + self.alpha * window_sum, -self.beta)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            depth_radius=self.depth_radius, bias=self.bias, alpha=self.alpha, beta=self.beta, groups=self.groups
        )
        return config
