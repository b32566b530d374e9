"""DeepLab: dilated ("atrous") convolutions for dense features, logits upsampled bilinearly to the image.

DeepLab-LargeFOV: Chen, Papandreou, Kokkinos, Murphy & Yuille, "Semantic Image Segmentation with Deep
Convolutional Nets and Fully Connected CRFs", ICLR 2015. VGG-16 whose 3x3 max-pools are 3x3 windows with padding
1 (Caffe's ceil mode), stride 2 in pool1 to pool3 and stride 1 in pool4 and pool5, so the features stay at output
stride 8; conv5's 3x3 convs dilated 2 to keep their field; fc6 a 3x3 conv of 1024 dilated 12 (the "large field of
view"), fc7 a 1x1 conv of 1024, each with dropout 0.5, fc8 the 1x1 class scores. A 321x321 input gives 41x41
logits, upsampled x8 with "align corners" bilinear interpolation (Caffe's Interp: 8 * 40 + 1 = 321) and cropped to
the input. Parameters (21 classes, by hand): VGG-16's convs 14,714,688 + fc6 4,719,616 + fc7 1,049,600 + fc8
21,525 = 20,505,429, the paper's "20.5M"; the upsampling has no weights.

DeepLab v2: Chen, Papandreou, Kokkinos, Murphy & Yuille, "DeepLab: Semantic Image Segmentation with Deep
Convolutional Nets, Atrous Convolution, and Fully Connected CRFs", TPAMI 2018. The zoo's ResNet-101 at output
stride 8 (conv4 dilated 2, conv5 dilated 4) and the ASPP-L head: four 3x3 convs to the classes dilated 6, 12, 18,
24, summed (`depth` picks another of the zoo's ImageNet ResNets, `rates` the paper's ASPP-S). Parameters:
the backbone's 42,500,160 + 4 * (9 * 2048 * 21 + 21) = 44,048,532 (21 classes).

`weights="imagenet"` loads the ImageNet VGG-16 (LargeFOV: its 13 convs; fc6, fc7, fc8 new) or ResNet-101 (v2: the
backbone; the ASPP new) as the papers start (kerascnn.weights).

Departures, both: no fully connected CRF (a post-processing step, not a layer); without weights, Glorot-uniform;
LargeFOV's fc6 and fc7 start new (the paper subsamples VGG's fc6 and fc7 into them); the pools pad with zeros, which
is the papers' padding with -inf because they follow a ReLU. DeepLab v2: no multi-scale input fusion (MSC);
BatchNormalization trains (the paper keeps ImageNet's statistics fixed); at input sizes other than 8n + 1 the zoo's
ResNet gives ceil(size / 8) logits, and the last pixels past the last logit fade towards zero (the paper pads test
images to 513 = 8 * 64 + 1 instead). DeepLab-LargeFOV: `width_multiplier` (default 1.0, the paper) scales every
conv's filters.
"""

import keras
from keras import layers

from kerascnn.layers import BilinearUpsampling2D, Crop2D
from kerascnn.models.heads import segmentation_head
from kerascnn.models.resnet import resnet
from kerascnn.models.spec import register_model
from kerascnn.models.vgg import VGG_CONFIGS, scaled, vgg_features

OUTPUT_STRIDE = 8
LARGEFOV = {"pool_strides": (2, 2, 2, 1, 1), "block_dilations": (1, 1, 1, 1, 2), "fc6_dilation": 12}
ASPP_RATES = {"deeplab_v2": (6, 12, 18, 24)}  # ASPP-L; the paper's ASPP-S is (2, 4, 8, 12)


def _largefov_pool(x, block, name):
    if LARGEFOV["pool_strides"][block - 1] == 1:
        return layers.MaxPooling2D(3, strides=1, padding="same", name=name)(x)
    # Caffe's 3x3/2 pad-1 ceil-mode pool gives floor(m / 2) + 1 outputs, windows starting one pixel before the map:
    # pad 1 before and 2 after (the second only ever completes the last window of an even map).
    x = layers.ZeroPadding2D(((1, 2), (1, 2)), name=f"{name}_pad")(x)
    return layers.MaxPooling2D(3, strides=2, name=name)(x)


def _upsample_to_input(logits, inputs, classifier_activation):
    x = BilinearUpsampling2D(OUTPUT_STRIDE, name="upsample")(logits)
    x = Crop2D(0, name="crop")([x, inputs])  # logit j sits on pixel 8j, so the crop starts at 0
    return segmentation_head(x, classifier_activation)


def deeplab_largefov(
    *,
    input_shape=(321, 321, 3),
    num_classes=21,
    include_top=True,
    dropout=0.5,
    width_multiplier=1.0,
    classifier_activation="softmax",
    name="deeplab_largefov",
):
    """DeepLab-LargeFOV on VGG-16; see the module docstring. Without the top: fc7's features at stride 8."""
    inputs = layers.Input(input_shape, name="images")
    x = vgg_features(
        inputs,
        VGG_CONFIGS["vgg16"],
        pool=_largefov_pool,
        dilations=LARGEFOV["block_dilations"],
        width_multiplier=width_multiplier,
    )[-1]  # 321 -> 161 -> 81 -> 41 -> 41 -> 41
    x = layers.Conv2D(
        scaled(1024, width_multiplier),
        3,
        padding="same",
        dilation_rate=LARGEFOV["fc6_dilation"],
        activation="relu",
        name="fc6",
    )(x)
    x = layers.Dropout(dropout, name="fc6_dropout")(x)
    x = layers.Conv2D(scaled(1024, width_multiplier), 1, activation="relu", name="fc7")(x)
    x = layers.Dropout(dropout, name="fc7_dropout")(x)
    if not include_top:
        return keras.Model(inputs, x, name=name)
    x = layers.Conv2D(num_classes, 1, name="fc8")(x)
    return keras.Model(inputs, _upsample_to_input(x, inputs, classifier_activation), name=name)


def deeplab_v2(
    *,
    input_shape=(321, 321, 3),
    num_classes=21,
    include_top=True,
    depth=101,
    rates=ASPP_RATES["deeplab_v2"],
    classifier_activation="softmax",
    name="deeplab_v2",
):
    """DeepLab v2: the zoo's ResNet-101 (or another `depth` of it) at output stride 8 with the ASPP head; see the
    module docstring."""
    backbone = resnet(depth, input_shape=input_shape, include_top=False, output_stride=OUTPUT_STRIDE)
    inputs, x = backbone.input, backbone.output  # the backbone's layers become this model's, names unchanged
    if not include_top:
        return keras.Model(inputs, x, name=name)
    branches = [
        layers.Conv2D(num_classes, 3, padding="same", dilation_rate=rate, name=f"aspp_rate{rate}")(x) for rate in rates
    ]
    x = layers.Add(name="aspp_sum")(branches)
    return keras.Model(inputs, _upsample_to_input(x, inputs, classifier_activation), name=name)


for _name, _builder in (("deeplab_largefov", deeplab_largefov), ("deeplab_v2", deeplab_v2)):
    register_model(
        _name,
        _builder,
        input_shape=(321, 321, 3),  # the papers' crops
        min_size=8,
        family="deeplab",
        task="segmentation",
        num_classes=21,  # PASCAL VOC's 20 classes and the background
        output_stride=OUTPUT_STRIDE,
    )
