"""FCN: Long, Shelhamer & Darrell, "Fully Convolutional Networks for Semantic Segmentation", CVPR 2015.

VGG-16 made fully convolutional (fc6 a 7x7 conv of 4096, fc7 a 1x1 conv of 4096, each with dropout 0.5), a 1x1
conv scoring the classes at stride 32 (score_fr), and upsampling back to the input by transposed convolutions
initialized to bilinear interpolation. FCN-32s upsamples the stride-32 scores by 32 in one step; FCN-16s first
upsamples them by 2 and adds the scores of pool4 (a 1x1 conv), then upsamples by 16; FCN-8s adds pool3's scores
after one more 2x step and upsamples by 8 (the paper's Fig. 3, "skip" architecture).

As in the reference code (shelhamer/fcn.berkeleyvision.org, voc-fcn*/net.py): conv1_1 pads its input by 100 pixels
so that any input of 32 pixels or more reaches fc6 with at least a 7x7 map; the max-pools are 2x2/2 in Caffe's
ceil mode (Keras' "same" 2x2/2 pooling is the same function); every transposed conv has no bias and is fixed
bilinear (`lr_mult: 0`); the score layers start at zero (the paper's Sec. 4.1); the maps are aligned by crops
whose offsets follow from the layers' coordinate maps (caffe.coord_map): a pixel y of a layer's output sits at
image coordinate a * y + b, with

    pool3: 8y - 95.5   pool4: 16y - 91.5   score_fr: 32y + 12.5   (conv1_1's pad 100, the pools' 0.5, fc6's 3)

and a transposed conv of kernel 2f and stride f mapping y to (y - (2f - 1) / 2) / f. Hence FCN-32s' upscore
(64/32) sits at y - 19 and is cropped by 19; upscore2 (4/2) of score_fr sits at 16y - 11.5, which is pool4's
16(y + 5) - 91.5: score_pool4 is cropped by 5, and FCN-16s' upscore16 (32/16) by 27; FCN-8s' upscore_pool4 sits at
8y - 23.5 = pool3's 8(y + 9) - 95.5 (crop 9) and its upscore8 (16/8) at y - 31 (crop 31).

Parameters (21 classes, counted by hand: k*k*c_in*c_out + c_out per conv, k*k*c*c per transposed conv): VGG-16's
convs 14,714,688, fc6 102,764,544, fc7 16,781,312, score_fr 86,037: 134,346,581 for FCN-32s; score_pool4 10,773
more for FCN-16s (134,357,354); score_pool3 5,397 more for FCN-8s (134,362,751). The fixed transposed convs add
1,806,336 (64*64*21*21), 458,640 (32*32*21*21 + 4*4*21*21) and 127,008 (16*16*21*21 + 2 * 4*4*21*21)
non-trainable parameters. `learn_upsampling=True` lets the 2x layers learn, as the paper allows.

`weights="imagenet"` starts from ImageNet VGG-16 as the paper does (fc6 and fc7 its fc1 and fc2 as convolutions,
the score layers new, the upsampling fixed bilinear: kerascnn.weights).

Departures: without weights, Glorot-uniform (the paper's recipe does not learn from there); the staged training of
the paper (FCN-32s, then 16s from it, then 8s) is left to the training code; `width_multiplier` (default 1.0, the
paper) scales every conv's filters, fc6 and fc7 included, to shrink the network for a demo.
"""

import functools
from typing import NamedTuple

import keras
from keras import layers

from kerascnn.layers import Crop2D, bilinear_upsampling
from kerascnn.models.heads import segmentation_head
from kerascnn.models.spec import register_model
from kerascnn.models.vgg import VGG_CONFIGS, scaled, vgg_features


class Fcn(NamedTuple):
    skips: tuple[tuple[int, int], ...]  # (pool block, crop offset of its scores), coarse to fine
    upscore: tuple[str, int, int]  # the last upsampling: (layer name, factor, crop offset to the image)


FCN_VARIANTS = {
    "fcn32s": Fcn(skips=(), upscore=("upscore", 32, 19)),
    "fcn16s": Fcn(skips=((4, 5),), upscore=("upscore16", 16, 27)),
    "fcn8s": Fcn(skips=((4, 5), (3, 9)), upscore=("upscore8", 8, 31)),
}
OUTPUT_STRIDE = 32  # of score_fr, the coarsest map every variant's output depends on


def _ceil_mode_pool(x, block, name):
    # Caffe's ceil-mode 2x2/2 max-pool: an odd map's last row and column pooled alone, as "same" pads them.
    return layers.MaxPooling2D(2, padding="same", name=name)(x)


def fcn(
    variant,
    *,
    input_shape=(500, 500, 3),
    num_classes=21,
    include_top=True,
    dropout=0.5,
    learn_upsampling=False,
    width_multiplier=1.0,
    classifier_activation="softmax",
    name="fcn",
):
    """An FCN variant of FCN_VARIANTS on VGG-16; see the module docstring. Returns [batch, height, width,
    num_classes] probabilities at the input's size (logits with `classifier_activation=None`); without the top,
    the fc7 features at stride 32."""
    inputs = layers.Input(input_shape, name="images")
    pools = vgg_features(
        inputs,
        VGG_CONFIGS["vgg16"],
        conv1_padding=100,
        pool=_ceil_mode_pool,
        width_multiplier=width_multiplier,
    )
    x = layers.Conv2D(scaled(4096, width_multiplier), 7, activation="relu", name="fc6")(pools[4])
    x = layers.Dropout(dropout, name="fc6_dropout")(x)
    x = layers.Conv2D(scaled(4096, width_multiplier), 1, activation="relu", name="fc7")(x)
    x = layers.Dropout(dropout, name="fc7_dropout")(x)
    if not include_top:
        return keras.Model(inputs, x, name=name)

    score = layers.Conv2D(num_classes, 1, kernel_initializer="zeros", name="score_fr")(x)
    for i, (block, offset) in enumerate(variant.skips):
        up = bilinear_upsampling(
            num_classes, 2, trainable=learn_upsampling, name="upscore2" if i == 0 else f"upscore_pool{block + 1}"
        )(score)
        skip = layers.Conv2D(num_classes, 1, kernel_initializer="zeros", name=f"score_pool{block}")(pools[block - 1])
        skip = Crop2D(offset, name=f"score_pool{block}c")([skip, up])
        score = layers.Add(name=f"fuse_pool{block}")([up, skip])
    upscore, factor, offset = variant.upscore
    x = bilinear_upsampling(num_classes, factor, name=upscore)(score)
    x = Crop2D(offset, name="score")([x, inputs])
    return keras.Model(inputs, segmentation_head(x, classifier_activation), name=name)


for _name, _variant in FCN_VARIANTS.items():
    register_model(
        _name,
        functools.partial(fcn, _variant),
        input_shape=(500, 500, 3),  # PASCAL VOC's largest images; the network takes any size from 32
        min_size=32,
        family="fcn",
        task="segmentation",
        num_classes=21,
        output_stride=OUTPUT_STRIDE,
    )
