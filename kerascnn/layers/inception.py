"""The inception module and auxiliary classifier of GoogLeNet (Szegedy et al., "Going Deeper with Convolutions",
CVPR 2015)."""

import keras
from keras import layers, ops

from kerascnn.layers.sublayers import Sublayer, chain


@keras.saving.register_keras_serializable(package="kerascnn")
class InceptionModule(keras.layers.Layer):
    """Four parallel branches concatenated on the channel axis (paper, Fig. 2b):

    1x1 | 1x1 reduce -> 3x3 | 1x1 reduce -> 5x5 | 3x3/1 max-pool -> 1x1 projection.

    Every conv has a bias and a ReLU, as in the paper (no BN: it came a year later). The widths are the columns of
    the paper's Table 1; the output has c1x1 + c3x3 + c5x5 + pool_proj channels. torchvision's GoogLeNet puts a
    3x3 conv in the "5x5" branch (a bug kept for its weights, pytorch/vision#906); this one is 5x5.
    """

    def __init__(
        self,
        c1x1,
        c3x3_reduce,
        c3x3,
        c5x5_reduce,
        c5x5,
        pool_proj,
        kernel_initializer="glorot_uniform",
        kernel_regularizer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.c1x1, self.c3x3_reduce, self.c3x3 = c1x1, c3x3_reduce, c3x3
        self.c5x5_reduce, self.c5x5, self.pool_proj = c5x5_reduce, c5x5, pool_proj
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)

        conv = self._conv
        self.branches = [
            [conv(c1x1, 1, "1x1")],
            [conv(c3x3_reduce, 1, "3x3_reduce"), conv(c3x3, 3, "3x3")],
            [conv(c5x5_reduce, 1, "5x5_reduce"), conv(c5x5, 5, "5x5")],
            [
                layers.MaxPooling2D(3, strides=1, padding="same", dtype=self.dtype_policy, name="pool"),
                conv(pool_proj, 1, "pool_proj"),
            ],
        ]

    def _conv(self, filters, kernel_size, name):
        return layers.Conv2D(
            filters,
            kernel_size,
            padding="same",
            activation="relu",
            kernel_initializer=self.kernel_initializer,
            kernel_regularizer=self.kernel_regularizer,
            dtype=self.dtype_policy,
            name=name,
        )

    def build(self, input_shape):
        for branch in self.branches:
            shape = input_shape
            for layer in branch:
                layer.build(shape)
                shape = layer.compute_output_shape(shape)

    def call(self, inputs):
        outputs = []
        for branch in self.branches:
            x = inputs
            for layer in branch:
                x = layer(x)
            outputs.append(x)
        return ops.concatenate(outputs, axis=-1)

    def sublayer_graph(self):
        """The four branches and their concatenation as `Sublayer`s (see kerascnn.layers.sublayers)."""
        graph = [node for branch in self.branches for node in chain(branch)]
        ends = tuple(branch[-1].name for branch in self.branches)
        return graph + [Sublayer(layers.Concatenate(name="concat"), ends)]

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.c1x1 + self.c3x3 + self.c5x5 + self.pool_proj)

    def get_config(self):
        config = super().get_config()
        config.update(
            c1x1=self.c1x1,
            c3x3_reduce=self.c3x3_reduce,
            c3x3=self.c3x3,
            c5x5_reduce=self.c5x5_reduce,
            c5x5=self.c5x5,
            pool_proj=self.pool_proj,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
            kernel_regularizer=keras.regularizers.serialize(self.kernel_regularizer),
        )
        return config


@keras.saving.register_keras_serializable(package="kerascnn")
class AuxiliaryClassifier(keras.layers.Layer):
    """GoogLeNet's auxiliary head on 4a and 4d (paper, Sec. 5): 5x5/3 average pool, 1x1 conv 128 + ReLU,
    FC 1024 + ReLU, dropout 0.7, FC `num_classes` + softmax.

    During training its loss is added with weight 0.3; at inference the head is discarded. The last Dense and the
    softmax run in float32 under a mixed precision policy, as the main head does.
    """

    def __init__(
        self,
        num_classes,
        dropout=0.7,
        classifier_activation="softmax",
        kernel_regularizer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_classes = num_classes
        self.dropout = dropout
        self.classifier_activation = keras.activations.get(classifier_activation)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        policy, regularizer = self.dtype_policy, self.kernel_regularizer
        self.stack = [
            layers.AveragePooling2D(5, strides=3, dtype=policy, name="pool"),
            layers.Conv2D(128, 1, activation="relu", kernel_regularizer=regularizer, dtype=policy, name="conv"),
            layers.Flatten(dtype=policy, name="flatten"),
            layers.Dense(1024, activation="relu", kernel_regularizer=regularizer, dtype=policy, name="fc"),
            layers.Dropout(dropout, dtype=policy, name="dropout"),
            layers.Dense(num_classes, kernel_regularizer=regularizer, dtype="float32", name="logits"),
            layers.Activation(self.classifier_activation, dtype="float32", name="predictions"),
        ]

    def build(self, input_shape):
        shape = input_shape
        for layer in self.stack:
            layer.build(shape)
            shape = layer.compute_output_shape(shape)

    def call(self, inputs, training=None):
        x = inputs
        for layer in self.stack:
            x = layer(x, training=training) if isinstance(layer, layers.Dropout) else layer(x)
        return x

    def sublayer_graph(self):
        """The head's layers in order, as `Sublayer`s (see kerascnn.layers.sublayers)."""
        return chain(self.stack)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_classes)

    def compute_output_spec(self, inputs, training=None):
        # Keras' default declares the layer's compute dtype (float16 under mixed_float16); the output is the
        # float32 of the last two layers, and a functional model's output spec must say so.
        shape = self.compute_output_shape(inputs.shape)
        return keras.KerasTensor(shape, dtype=self.stack[-1].compute_dtype)

    def get_config(self):
        config = super().get_config()
        config.update(
            num_classes=self.num_classes,
            dropout=self.dropout,
            classifier_activation=keras.activations.serialize(self.classifier_activation),
            kernel_regularizer=keras.regularizers.serialize(self.kernel_regularizer),
        )
        return config
