"""kerascnn's custom layers: each registered serializable under the package "kerascnn"."""

from kerascnn.layers.batchnorm import BatchNormalization, FoldedBatchNormalization
from kerascnn.layers.conv import DilatedConv2D, GroupedConv2D, LocallyConnected2D, conv_output_size
from kerascnn.layers.inception import AuxiliaryClassifier, InceptionModule
from kerascnn.layers.lenet import (
    LENET5_C3_TABLE,
    ConnectionTableConv2D,
    EuclideanRBF,
    Subsampling2D,
    lecun_tanh,
)
from kerascnn.layers.lrn import LocalResponseNormalization
from kerascnn.layers.residual import ResidualBlock
from kerascnn.layers.sublayers import BLOCK_INPUT, Sublayer
from kerascnn.layers.upsampling import (
    BilinearKernel,
    BilinearUpsampling2D,
    Crop2D,
    MaxPoolingWithArgmax2D,
    MaxUnpooling2D,
    TransposedConv2D,
    bilinear_filter,
    bilinear_upsampling,
    transposed_conv_output_size,
)

__all__ = [
    "AuxiliaryClassifier",
    "BLOCK_INPUT",
    "BatchNormalization",
    "BilinearKernel",
    "BilinearUpsampling2D",
    "Crop2D",
    "ConnectionTableConv2D",
    "DilatedConv2D",
    "EuclideanRBF",
    "FoldedBatchNormalization",
    "GroupedConv2D",
    "InceptionModule",
    "LENET5_C3_TABLE",
    "LocalResponseNormalization",
    "LocallyConnected2D",
    "MaxPoolingWithArgmax2D",
    "MaxUnpooling2D",
    "ResidualBlock",
    "Sublayer",
    "Subsampling2D",
    "TransposedConv2D",
    "bilinear_filter",
    "bilinear_upsampling",
    "conv_output_size",
    "lecun_tanh",
    "transposed_conv_output_size",
]
