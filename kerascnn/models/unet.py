"""U-Net: Ronneberger, Fischer & Brox, "U-Net: Convolutional Networks for Biomedical Image Segmentation", MICCAI
2015.

A contracting path of two unpadded 3x3 convs (+ ReLU) and a 2x2/2 max-pool per level, 64-128-256-512 filters, a
bottom level of 1024, and an expanding path that upsamples by a 2x2 up-convolution halving the channels,
concatenates the cropped feature map of the same level of the contracting path, and applies two 3x3 convs; a 1x1
conv scores the classes. The convs are unpadded, so a 572x572 tile gives 388x388 scores, the centre of the input
(92 pixels lost on each side); the crops of the skips are centred (4, 16, 40 and 88 pixels, the same at any
input). An input is valid when every map it pools has an even size: 16n + 60 pixels with n >= 8 (188, 204, ...,
572, ...). Weights start from He's Gaussian, as in the paper (Sec. 3); dropout 0.5 "at the end of the
contracting path" (after the bottom level's convs; the paper does not say where exactly).

Parameters (2 classes, by hand: k*k*c_in*c_out + c_out per conv and up-conv, the up-convs with bias):
contracting 18,842,048, expanding 12,188,480, score 130: 31,030,658 for the paper's one-channel input. (The
31,031,810 often quoted, and the issue's table, counts a three-channel input: 9 * 2 * 64 = 1,152 more in the
first conv.)
`width_multiplier` (default 1.0, the paper) scales every conv's filters, to shrink the network for a demo.
"""

import keras
from keras import layers

from kerascnn.errors import UserError
from kerascnn.layers import Crop2D, TransposedConv2D
from kerascnn.models.heads import segmentation_head
from kerascnn.models.spec import register_model
from kerascnn.models.vgg import scaled

UNET_WIDTHS = (64, 128, 256, 512, 1024)  # filters of each level, the last the bottom one
OUTPUT_MARGIN = 92  # pixels lost on each side: 572 -> 388
OUTPUT_STRIDE = 16


UNET_CROPS = {4: 4, 3: 16, 2: 40, 1: 88}  # level: pixels cropped from each side of its skip (572: 64 -> 56, ...)


def valid_unet_sizes(size):
    """The valid input sizes nearest `size` (only `size` if it is valid): 16n + 60 with n >= 8."""
    if size >= 188 and (size - 60) % 16 == 0:
        return (size,)
    n = (size - 60) // 16
    return ((16 * n + 60,) if n >= 8 else ()) + (16 * max(n + 1, 8) + 60,)


def _check_size(input_shape):
    for side in input_shape[:2]:
        nearest = valid_unet_sizes(side) if side is not None else None
        if nearest and nearest != (side,):
            raise UserError(
                f"U-Net cannot take an input side of {side} (its valid 3x3 convs need 16n + 60 pixels, n >= 8): "
                f"use {' or '.join(map(str, nearest))}.",
                field="input_shape",
            )


def _double_conv(x, filters, name):
    for i in (1, 2):
        x = layers.Conv2D(filters, 3, activation="relu", kernel_initializer="he_normal", name=f"{name}_conv{i}")(x)
    return x


def unet(
    *,
    input_shape=(572, 572, 1),
    num_classes=2,
    include_top=True,
    dropout=0.5,
    width_multiplier=1.0,
    classifier_activation="softmax",
    name="unet",
):
    """U-Net; see the module docstring. Returns [batch, size - 184, size - 184, num_classes]."""
    _check_size(input_shape)
    widths = [scaled(w, width_multiplier) for w in UNET_WIDTHS]
    inputs = layers.Input(input_shape, name="images")
    x, skips = inputs, []
    for level, filters in enumerate(widths[:-1], start=1):
        x = _double_conv(x, filters, f"down{level}")  # 572 -> 568, 284 -> 280, 140 -> 136, 68 -> 64
        skips.append(x)
        x = layers.MaxPooling2D(2, name=f"down{level}_pool")(x)
    x = _double_conv(x, widths[-1], "bottom")  # 32 -> 28
    x = layers.Dropout(dropout, name="bottom_dropout")(x)
    for level in range(len(skips), 0, -1):
        x = TransposedConv2D(widths[level - 1], 2, strides=2, kernel_initializer="he_normal", name=f"up{level}_upconv")(
            x
        )  # 28 -> 56, 52 -> 104, 100 -> 200, 196 -> 392
        skip = Crop2D(UNET_CROPS[level], name=f"up{level}_crop")([skips[level - 1], x])
        x = layers.Concatenate(name=f"up{level}_concat")([skip, x])
        x = _double_conv(x, widths[level - 1], f"up{level}")
    if not include_top:
        return keras.Model(inputs, x, name=name)
    x = layers.Conv2D(num_classes, 1, kernel_initializer="he_normal", name="score")(x)
    return keras.Model(inputs, segmentation_head(x, classifier_activation), name=name)


register_model(
    "unet",
    unet,
    input_shape=(572, 572, 1),
    min_size=188,
    family="unet",
    task="segmentation",
    num_classes=2,
    output_stride=OUTPUT_STRIDE,
    output_margin=OUTPUT_MARGIN,
    valid_sizes=valid_unet_sizes,
)
