"""ResNet: He, Zhang, Ren & Sun, "Deep Residual Learning for Image Recognition", CVPR 2016.

ImageNet networks (Table 1): a 7x7/2 conv and a 3x3/2 max-pool, four stages of basic (18, 34) or bottleneck
(50, 101, 152) blocks at 64-128-256-512 widths, global average pooling and the classifier; 224x224 input. As in the
paper, BN follows every conv (so no conv has a bias), the stride of a stage's first bottleneck is on its first
1x1 conv (`stride_in_3x3=True` gives torchvision's "v1.5"), and shortcuts are option B: projections only where
the shape changes. `output_stride=16` or `8` replaces the strides of the last stage or two by dilation, for
dense features (Chen et al., DeepLab, 2017), through `DilatedConv2D`'s rates.

CIFAR-10 networks (Sec. 4.2): a 3x3 conv with 16 filters, three stages of n basic blocks at 16-32-64 widths on
32x32, 16x16 and 8x8 maps, global average pooling and the classifier: 6n+2 layers, option A shortcuts (zero-padded
identities, no parameters). The plain nets are the same stacks without shortcuts. `width_multiplier` scales the
16-32-64 widths of the three stages, as the wide ResNets of Zagoruyko & Komodakis (BMVC 2016) do with their factor
k, and, unlike them, the first 3x3 conv's 16 as well: a WRN's conv1 keeps 16 filters at any k (and its first block
projects 16 to 16k), here conv1 has 16k and the first stage needs no projection, so option A stays free of
parameters. Nor does it take their pre-activation blocks or dropout: it is a wider He et al. net, not a WRN.

Departures: BN momentum 0.9 and epsilon 1e-5 (Caffe's and PyTorch's); keras.applications' ResNets keep a bias in
every conv (hence their larger parameter counts) and use epsilon 1.001e-5.
"""

import functools

from keras import layers

from kerascnn.layers import BatchNormalization, ResidualBlock
from kerascnn.models.heads import classifier_head, finish
from kerascnn.models.spec import register_model

# depth: (bottleneck blocks, blocks per stage)
IMAGENET_SPECS = {
    18: (False, (2, 2, 2, 2)),
    34: (False, (3, 4, 6, 3)),
    50: (True, (3, 4, 6, 3)),
    101: (True, (3, 4, 23, 3)),
    152: (True, (3, 8, 36, 3)),
}
# depth: blocks per stage (n in 6n+2)
CIFAR_SPECS = {20: 3, 32: 5, 44: 7, 56: 9, 110: 18}


def _batch_norm(name):
    return BatchNormalization(momentum=0.9, epsilon=1e-5, name=name)


def _stages(x, widths, blocks, strides, dilations, **block_options):
    """Stacks the blocks of each stage, named conv{stage}_block{i} from stage 2, as keras.applications does."""
    previous_dilation = 1
    for stage, (width, count, stride, dilation) in enumerate(zip(widths, blocks, strides, dilations), start=2):
        for i in range(1, count + 1):
            x = ResidualBlock(
                width,
                strides=stride if i == 1 else 1,
                # The first block keeps the previous rate so that its receptive field grows as the stride would
                # have grown it; the later ones take the stage's rate (torchvision's replace_stride_with_dilation).
                dilation_rate=previous_dilation if i == 1 else dilation,
                name=f"conv{stage}_block{i}",
                **block_options,
            )(x)
        previous_dilation = dilation
    return x


def _network(
    stem,
    widths,
    blocks,
    strides,
    dilations,
    *,
    input_shape,
    include_top,
    num_classes,
    pooling,
    classifier_activation,
    name,
    **block_options,
):
    """What every ResNet is: the input, the `stem`'s first layers, the stages of residual blocks, the head."""
    inputs = layers.Input(input_shape, name="images")
    x = _stages(stem(inputs), widths, blocks, strides, dilations, **block_options)
    top = functools.partial(
        classifier_head, num_classes=num_classes, pooling="avg", classifier_activation=classifier_activation
    )
    return finish(inputs, x, top, include_top=include_top, pooling=pooling, name=name)


def _conv1(x, filters, kernel_size, strides=1, padding="valid"):
    """The first conv (no bias: BN follows), its BN and its ReLU."""
    x = layers.Conv2D(
        filters,
        kernel_size,
        strides=strides,
        padding=padding,
        use_bias=False,
        kernel_initializer="he_normal",
        name="conv1_conv",
    )(x)
    return layers.ReLU(name="conv1_relu")(_batch_norm("conv1_bn")(x))


def _imagenet_stem(inputs):
    x = _conv1(layers.ZeroPadding2D(3, name="conv1_pad")(inputs), 64, 7, strides=2)  # 224 -> 112
    # Zeros pad like -inf here: the input is non-negative after the ReLU.
    x = layers.ZeroPadding2D(1, name="pool1_pad")(x)
    return layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)  # -> 56


def resnet(
    depth,
    *,
    input_shape=(224, 224, 3),
    num_classes=1000,
    include_top=True,
    pooling=None,
    shortcut="B",
    residual=True,
    stride_in_3x3=False,
    output_stride=32,
    classifier_activation="softmax",
    name="resnet",
):
    """An ImageNet ResNet (or, with residual=False, plain net) of a depth in IMAGENET_SPECS."""
    bottleneck, blocks = IMAGENET_SPECS[depth]
    if output_stride not in (8, 16, 32):
        raise ValueError(f"output_stride must be 8, 16 or 32, got {output_stride}.")
    dilated = {32: 0, 16: 1, 8: 2}[output_stride]  # how many of the last stages trade their stride for dilation
    strides = [1, 2, 2, 2][: 4 - dilated] + [1] * dilated
    dilations = [1] * (4 - dilated) + [2**i for i in range(1, dilated + 1)]
    return _network(
        _imagenet_stem,
        (64, 128, 256, 512),
        blocks,
        strides,
        dilations,  # -> 56, 28, 14, 7 at output_stride 32
        input_shape=input_shape,
        include_top=include_top,
        num_classes=num_classes,
        pooling=pooling,
        classifier_activation=classifier_activation,
        name=name,
        bottleneck=bottleneck,
        shortcut=shortcut,
        residual=residual,
        stride_in_3x3=stride_in_3x3,
    )


def cifar_resnet(
    depth,
    *,
    input_shape=(32, 32, 3),
    num_classes=10,
    include_top=True,
    pooling=None,
    shortcut="A",
    residual=True,
    width_multiplier=1,
    classifier_activation="softmax",
    name="resnet",
):
    """A CIFAR-10 ResNet (or plain net) of depth 6n+2, n from CIFAR_SPECS."""
    n = CIFAR_SPECS[depth]
    if width_multiplier <= 0:
        raise ValueError(f"width_multiplier must be positive, got {width_multiplier}.")
    widths = tuple(max(1, round(16 * width_multiplier)) * 2**i for i in range(3))  # 16, 32, 64 at 1
    return _network(
        lambda inputs: _conv1(inputs, widths[0], 3, padding="same"),
        widths,
        (n, n, n),
        (1, 2, 2),
        (1, 1, 1),  # 32, 16, 8
        input_shape=input_shape,
        include_top=include_top,
        num_classes=num_classes,
        pooling=pooling,
        classifier_activation=classifier_activation,
        name=name,
        shortcut=shortcut,
        residual=residual,
    )


for _depth in IMAGENET_SPECS:
    register_model(
        f"resnet{_depth}", functools.partial(resnet, _depth), input_shape=(224, 224, 3), min_size=1, family="resnet"
    )
for _depth in (18, 34):
    register_model(
        f"plain{_depth}",
        functools.partial(resnet, _depth),
        input_shape=(224, 224, 3),
        min_size=1,
        family="resnet",
        residual=False,
    )
for _depth in CIFAR_SPECS:
    register_model(
        f"resnet{_depth}",
        functools.partial(cifar_resnet, _depth),
        input_shape=(32, 32, 3),
        min_size=1,
        family="resnet_cifar",
    )
    if _depth <= 56:
        register_model(
            f"plain{_depth}",
            functools.partial(cifar_resnet, _depth),
            input_shape=(32, 32, 3),
            min_size=1,
            family="resnet_cifar",
            residual=False,
        )
