"""The residual block of ResNet (He, Zhang, Ren & Sun, "Deep Residual Learning for Image Recognition", CVPR 2016)."""

import keras
from keras import layers, ops

from kerascnn.layers.batchnorm import BatchNormalization
from kerascnn.layers.conv import DilatedConv2D, subsample
from kerascnn.layers.sublayers import BLOCK_INPUT, Sublayer

SHORTCUTS = ("A", "B", "C")


@keras.saving.register_keras_serializable(package="kerascnn")
class ResidualBlock(keras.layers.Layer):
    """y = relu(F(x) + shortcut(x)), with F a basic or a bottleneck stack of conv-BN(-ReLU) layers (paper, Fig. 5).

    - basic: 3x3 `filters`, 3x3 `filters` (ResNet-18/34 and the CIFAR nets).
    - bottleneck: 1x1 `filters`, 3x3 `filters`, 1x1 4*`filters` (ResNet-50/101/152).

    Shortcut options (paper, Sec. 3.3 and Table 3): "A" is the identity, subsampled by the stride and padded with
    zero channels where the width grows (no parameters); "B" projects with a strided 1x1 conv and BN only where
    the shape changes; "C" projects in every block. `residual=False` drops the shortcut: the paper's plain nets.

    The paper and its Caffe models put a bottleneck's stride on the first 1x1 conv; `stride_in_3x3=True` moves it
    to the 3x3, as torchvision and most later code do ("ResNet v1.5": same parameters, more compute, better
    accuracy). Convs carry no bias since BN follows each; BN uses momentum 0.9 and epsilon 1e-5, the Caffe and
    PyTorch settings (Keras' defaults are 0.99 and 1e-3), computed by TensorFlow's fused kernel
    (BatchNormalization).

    `folded=True` is the block for inference after its BNs were folded into the convs before them
    (kerascnn.analysis.fold_batch_norms): every conv carries a bias and no BN follows, the same function in fewer
    ops.

    Args:
        filters: the block's width (the output has 4x this for a bottleneck).
        bottleneck: bottleneck (True) or basic (False) block.
        strides: the block's downsampling factor.
        shortcut: "A", "B" or "C".
        residual: False for a plain block without a shortcut.
        stride_in_3x3: put a bottleneck's stride on its 3x3 conv instead of the first 1x1.
        dilation_rate: dilation of the 3x3 convs (DeepLab-style dense features instead of striding).
        kernel_initializer, kernel_regularizer: of every conv.
        folded: convs with biases and no BNs (the served form of a trained block).
    """

    def __init__(
        self,
        filters,
        bottleneck=False,
        strides=1,
        shortcut="B",
        residual=True,
        stride_in_3x3=False,
        dilation_rate=1,
        kernel_initializer="he_normal",
        kernel_regularizer=None,
        folded=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if shortcut not in SHORTCUTS:
            raise ValueError(f"shortcut must be one of {SHORTCUTS}, got {shortcut!r}.")
        self.filters = filters
        self.bottleneck = bottleneck
        self.strides = strides
        self.shortcut = shortcut
        self.residual = residual
        self.stride_in_3x3 = stride_in_3x3
        self.dilation_rate = dilation_rate
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.folded = folded

        if bottleneck:
            first_stride, mid_stride = (1, strides) if stride_in_3x3 else (strides, 1)
            specs = [(filters, 1, first_stride, 1), (filters, 3, mid_stride, dilation_rate), (4 * filters, 1, 1, 1)]
        else:
            specs = [(filters, 3, strides, dilation_rate), (filters, 3, 1, dilation_rate)]
        self.convs = [self._conv(f, k, s, d, name=f"conv{i}") for i, (f, k, s, d) in enumerate(specs, start=1)]
        self.norms = [self._norm(f"bn{i}") for i in range(1, len(specs) + 1)]  # None where folded
        self.output_filters = specs[-1][0]
        self.projection = None  # created in build(), where the input's width tells whether the shape changes

    def _conv(self, filters, kernel_size, strides, dilation, name):
        options = dict(
            use_bias=self.folded,
            kernel_initializer=self.kernel_initializer,
            kernel_regularizer=self.kernel_regularizer,
            dtype=self.dtype_policy,
            name=name,
        )
        if strides > 1:
            # Caffe and PyTorch pad a strided 3x3 by one pixel on every side; Keras' "same" would pad only the
            # bottom and right of an even input and shift every window by a pixel. (DilatedConv2D also computes a
            # strided 1x1 as a subsample, a 1x1 average pool of that stride, then a stride-1 1x1, away from a
            # TensorFlow CPU bug; see kerascnn/compat.py.)
            padding = dilation * (kernel_size - 1) // 2
            return DilatedConv2D(filters, kernel_size, strides, dilation, padding=padding, **options)
        return layers.Conv2D(filters, kernel_size, strides, padding="same", dilation_rate=dilation, **options)

    def _norm(self, name):
        if self.folded:
            return None
        return BatchNormalization(momentum=0.9, epsilon=1e-5, dtype=self.dtype_policy, name=name)

    def build(self, input_shape):
        shape = input_shape
        for conv, norm in zip(self.convs, self.norms):
            conv.build(shape)
            shape = conv.compute_output_shape(shape)
            if norm is not None:
                norm.build(shape)
        reshapes = self.strides != 1 or input_shape[-1] != self.output_filters
        if self.residual and (self.shortcut == "C" or (self.shortcut == "B" and reshapes)):
            self.projection = self._conv(self.output_filters, 1, self.strides, 1, name="shortcut_conv")
            self.projection_norm = self._norm("shortcut_bn")
            self.projection.build(input_shape)
            if self.projection_norm is not None:
                self.projection_norm.build(self.projection.compute_output_shape(input_shape))

    def call(self, inputs, training=None):
        x = inputs
        for i, (conv, norm) in enumerate(zip(self.convs, self.norms)):
            x = conv(x) if norm is None else norm(conv(x), training=training)
            if i < len(self.convs) - 1:
                x = ops.relu(x)
        if self.residual:
            x = x + self._shortcut(inputs, training)
        return ops.relu(x)

    def _shortcut(self, inputs, training):
        if self.projection is not None:
            x = self.projection(inputs)
            return x if self.projection_norm is None else self.projection_norm(x, training=training)
        x = subsample(inputs, (self.strides, self.strides))
        extra = self.output_filters - inputs.shape[-1]
        return ops.pad(x, [(0, 0), (0, 0), (0, 0), (0, extra)]) if extra > 0 else x

    def sublayer_graph(self):
        """The block's `call` as a graph of `Sublayer`s (see kerascnn.layers.sublayers), for tools that look inside.

        The ReLUs and the addition stand in for `call`'s ops; option A's strided identity is the 1x1 average pool
        of that stride that `call` computes (it picks x[::s, ::s]), and the zero channels it pads on join in the
        addition.
        """
        graph, x = [], BLOCK_INPUT
        for i, (conv, norm) in enumerate(zip(self.convs, self.norms), start=1):
            graph.append(Sublayer(conv, (x,)))
            x = conv.name
            if norm is not None:
                graph.append(Sublayer(norm, (x,)))
                x = norm.name
            if i < len(self.convs):
                graph.append(Sublayer(layers.ReLU(name=f"relu{i}"), (x,)))
                x = f"relu{i}"
        if self.residual:
            shortcut = BLOCK_INPUT
            if self.projection is not None:
                graph.append(Sublayer(self.projection))
                shortcut = self.projection.name
                if self.projection_norm is not None:
                    graph.append(Sublayer(self.projection_norm, (shortcut,)))
                    shortcut = self.projection_norm.name
            elif self.strides > 1:
                graph.append(Sublayer(layers.AveragePooling2D(1, self.strides, name="shortcut_subsample")))
                shortcut = "shortcut_subsample"
            graph.append(Sublayer(layers.Add(name="add"), (x, shortcut)))
            x = "add"
        graph.append(Sublayer(layers.ReLU(name="out"), (x,)))
        return graph

    def compute_output_shape(self, input_shape):
        shape = input_shape
        for conv in self.convs:
            shape = conv.compute_output_shape(shape)
        return shape

    def get_config(self):
        config = super().get_config()
        config.update(
            filters=self.filters,
            bottleneck=self.bottleneck,
            strides=self.strides,
            shortcut=self.shortcut,
            residual=self.residual,
            stride_in_3x3=self.stride_in_3x3,
            dilation_rate=self.dilation_rate,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
            kernel_regularizer=keras.regularizers.serialize(self.kernel_regularizer),
            folded=self.folded,
        )
        return config
