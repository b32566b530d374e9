"""ONNX graphs with the structure of the ONNX model zoo's BVLC AlexNet and BVLC GoogLeNet (node types, attributes
and initialiser names as in bvlcalexnet-12.onnx and googlenet-12.onnx, converted from Caffe), its VGGs and
torchvision's ResNets (as torch.onnx.export writes them), with random initialisers: the references for
tests/test_weights_onnx.py, run in onnxruntime."""

import numpy as np
from onnx import TensorProto, helper, numpy_helper

# (name, filters, kernel, stride, pad, group) of Caffe's bvlc_alexnet; LRN and a 3x3/2 pool after conv1, conv2.
ALEXNET_CONVS = [
    ("conv1", 96, 11, 4, 0, 1),
    ("conv2", 256, 5, 1, 2, 2),
    ("conv3", 384, 3, 1, 1, 1),
    ("conv4", 384, 3, 1, 1, 2),
    ("conv5", 256, 3, 1, 1, 2),
]
# GoogLeNet's inception modules: (name, 1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool proj); "pool" between stages.
GOOGLENET_MODULES = [
    ("3a", 64, 96, 128, 16, 32, 32),
    ("3b", 128, 128, 192, 32, 96, 64),
    "pool3",
    ("4a", 192, 96, 208, 16, 48, 64),
    ("4b", 160, 112, 224, 24, 64, 64),
    ("4c", 128, 128, 256, 24, 64, 64),
    ("4d", 112, 144, 288, 32, 64, 64),
    ("4e", 256, 160, 320, 32, 128, 128),
    "pool4",
    ("5a", 256, 160, 320, 32, 128, 128),
    ("5b", 384, 192, 384, 48, 128, 128),
]
LRN = dict(size=5, alpha=1e-4, beta=0.75, bias=1.0)


class _Graph:
    def __init__(self, rng):
        self.rng, self.nodes, self.inits = rng, [], []

    def normal(self, std, shape):
        return self.rng.standard_normal(shape, dtype=np.float32) * np.float32(std)

    def tensor(self, name, array):
        self.inits.append(numpy_helper.from_array(np.asarray(array, np.float32), name))
        return name

    def conv(self, x, name, channels, filters, kernel, stride=1, pad=0, group=1, **changes):
        fan_in = channels // group * kernel * kernel
        w = self.normal(np.sqrt(2 / fan_in), (filters, channels // group, kernel, kernel))
        b = self.normal(0.05, filters)
        attrs = dict(kernel_shape=[kernel, kernel], strides=[stride, stride], pads=[pad] * 4, group=group)
        attrs.update(changes)
        inputs = [x, self.tensor(f"{name}_w_0", w), self.tensor(f"{name}_b_0", b)]
        self.nodes.append(helper.make_node("Conv", inputs, [f"{name}_1"], name=name, **attrs))
        self.nodes.append(helper.make_node("Relu", [f"{name}_1"], [f"{name}_2"], name=f"{name}_relu"))
        return f"{name}_2"

    def pool(self, x, name, kernel, stride, pads=(0, 0, 0, 0), op="MaxPool", **extra):
        attrs = dict(kernel_shape=[kernel, kernel], strides=[stride, stride], pads=list(pads), **extra)
        self.nodes.append(helper.make_node(op, [x], [f"{name}_1"], name=name, **attrs))
        return f"{name}_1"

    def lrn(self, x, name, **constants):
        self.nodes.append(helper.make_node("LRN", [x], [f"{name}_1"], name=name, **{**LRN, **constants}))
        return f"{name}_1"

    def fc(self, x, name, inputs, units, scale=1.0):
        w = self.normal(scale * np.sqrt(2 / inputs), (units, inputs))  # Caffe's (out, in), Gemm transB=1
        b = self.normal(0.05, units)
        node_inputs = [x, self.tensor(f"{name}_w_0", w), self.tensor(f"{name}_b_0", b)]
        self.nodes.append(helper.make_node("Gemm", node_inputs, [f"{name}_1"], name=name, transB=1))
        return f"{name}_1"

    def flatten(self, x, features):
        shape = self.tensor("OC2_DUMMY_1", [1, features])
        self.inits[-1] = numpy_helper.from_array(np.array([-1, features], np.int64), "OC2_DUMMY_1")
        self.nodes.append(helper.make_node("Reshape", [x, shape], ["OC2_DUMMY_0"], name="OC2_DUMMY"))
        return "OC2_DUMMY_0"

    def model(self, x, size, name):
        self.nodes.append(helper.make_node("Softmax", [x], ["prob_1"], name="prob", axis=1))
        graph = helper.make_graph(
            self.nodes,
            name,
            [helper.make_tensor_value_info("data_0", TensorProto.FLOAT, [None, 3, size, size])],
            [helper.make_tensor_value_info("prob_1", TensorProto.FLOAT, [None, 1000])],
            self.inits,
        )
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 12)], ir_version=7)


def bvlc_alexnet(rng, *, size=227, conv_changes=None, lrn=True, lrn_constants=None):
    """Caffe's bvlc_alexnet as an ONNX graph; `conv_changes` {conv name: attributes} and `lrn=False` break it."""
    g, x, channels = _Graph(rng), "data_0", 3
    for name, filters, kernel, stride, pad, group in ALEXNET_CONVS:
        x = g.conv(x, name, channels, filters, kernel, stride, pad, group, **(conv_changes or {}).get(name, {}))
        channels = filters
        if name in ("conv1", "conv2") and lrn:
            x = g.lrn(x, f"norm{name[-1]}", **(lrn_constants or {}))
        if name in ("conv1", "conv2", "conv5"):
            x = g.pool(x, f"pool{name[-1]}", 3, 2)
    x = g.flatten(x, 256 * 6 * 6)
    for name, inputs, units in (("fc6", 9216, 4096), ("fc7", 4096, 4096)):
        x = g.fc(x, name, inputs, units)
        g.nodes.append(helper.make_node("Relu", [x], [f"{name}_2"], name=f"{name}_relu"))
        x = f"{name}_2"
    return g.model(g.fc(x, "fc8", 4096, 1000), size, "bvlc_alexnet")


def bvlc_googlenet(rng, *, ceil_mode=False):
    """Caffe's bvlc_googlenet (without its auxiliary heads, as in the zoo's file) as an ONNX graph. Caffe's
    round-up pooling is written as an extra pad at the end (pads 0,0,1,1), or with `ceil_mode` as ONNX's flag."""
    g, x = _Graph(rng), "data_0"
    down = dict(pads=(0, 0, 0, 0), ceil_mode=1) if ceil_mode else dict(pads=(0, 0, 1, 1))
    x = g.conv(x, "conv1/7x7_s2", 3, 64, 7, 2, 3)
    x = g.lrn(g.pool(x, "pool1/3x3_s2", 3, 2, **down), "pool1/norm1")
    x = g.conv(x, "conv2/3x3_reduce", 64, 64, 1)
    x = g.lrn(g.conv(x, "conv2/3x3", 64, 192, 3, pad=1), "conv2/norm2")
    x, channels = g.pool(x, "pool2/3x3_s2", 3, 2, **down), 192
    for module in GOOGLENET_MODULES:
        if isinstance(module, str):
            x = g.pool(x, f"{module}/3x3_s2", 3, 2, **down)
            continue
        m, c1, r3, c3, r5, c5, proj = module
        p = f"inception_{m}"
        b1 = g.conv(x, f"{p}/1x1", channels, c1, 1)
        b3 = g.conv(g.conv(x, f"{p}/3x3_reduce", channels, r3, 1), f"{p}/3x3", r3, c3, 3, pad=1)
        b5 = g.conv(g.conv(x, f"{p}/5x5_reduce", channels, r5, 1), f"{p}/5x5", r5, c5, 5, pad=2)
        bp = g.conv(g.pool(x, f"{p}/pool", 3, 1, pads=(1, 1, 1, 1)), f"{p}/pool_proj", channels, proj, 1)
        g.nodes.append(helper.make_node("Concat", [b1, b3, b5, bp], [f"{p}/output_1"], name=f"{p}/output", axis=1))
        x, channels = f"{p}/output_1", c1 + c3 + c5 + proj
    x = g.pool(x, "pool5/7x7_s1", 7, 1, op="AveragePool")
    x = g.flatten(x, 1024)
    return g.model(g.fc(x, "loss3/classifier", 1024, 1000), 224, "bvlc_googlenet")


def vgg(rng, stages, *, size=32):
    """A graph of the ONNX model zoo's VGG family (vgg16-7.onnx and its siblings, converted from MXNet Gluon: 3x3
    convs padded by 1, 2x2/2 max-pools, Flatten of NCHW maps, three Gemm layers), for `stages` of conv widths."""
    g, x, channels, n = _Graph(rng), "data", 3, 0
    for widths in stages:
        for filters in widths:
            x = g.conv(x, f"vgg0_conv{n}", channels, filters, 3, pad=1)
            channels, n = filters, n + 1
        x = g.pool(x, f"vgg0_pool{n}", 2, 2)
    g.nodes.append(helper.make_node("Flatten", [x], ["flatten_1"], name="flatten", axis=1))
    x, features = "flatten_1", channels * (size // 32) ** 2
    for i, (inputs, units) in enumerate(((features, 4096), (4096, 4096))):
        x = g.fc(x, f"vgg0_dense{i}", inputs, units)
        g.nodes.append(helper.make_node("Relu", [x], [f"vgg0_dense{i}_2"], name=f"vgg0_dense{i}_relu"))
        x = f"vgg0_dense{i}_2"
    x = g.fc(x, "vgg0_dense2", 4096, 1000)
    g.nodes.append(helper.make_node("Softmax", [x], ["prob_1"], name="prob", axis=1))
    graph = helper.make_graph(
        g.nodes,
        "vgg",
        [helper.make_tensor_value_info("data", TensorProto.FLOAT, [None, 3, size, size])],
        [helper.make_tensor_value_info("prob_1", TensorProto.FLOAT, [None, 1000])],
        g.inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 12)], ir_version=7)


# depth: (bottleneck blocks, blocks per stage), as kerascnn/models/resnet.py (the paper's Table 1).
RESNET_SPECS = {18: (False, (2, 2, 2, 2)), 34: (False, (3, 4, 6, 3)), 50: (True, (3, 4, 6, 3))}


class _ResNetGraph(_Graph):
    """Conv (no bias) + BatchNormalization units as torchvision exports them (torch.onnx.export, training mode
    kept), or with `form` "bias" (a conv bias before each BN, keras.applications' layout) or "folded" (BN folded
    into a conv bias: torch.onnx.export in eval mode)."""

    def __init__(self, rng, form, epsilon):
        super().__init__(rng)
        self.form, self.epsilon = form, epsilon

    def unit(self, x, name, channels, filters, kernel, stride=1, pad=0, relu=True, gain=1.0, **changes):
        w = self.normal(gain * np.sqrt(2 / (channels * kernel * kernel)), (filters, channels, kernel, kernel))
        inputs = [x, self.tensor(f"{name}.weight", w)]
        if self.form in ("bias", "folded"):
            inputs.append(self.tensor(f"{name}.bias", self.normal(0.1, filters)))
        attrs = dict(kernel_shape=[kernel, kernel], strides=[stride, stride], pads=[pad] * 4, **changes)
        self.nodes.append(helper.make_node("Conv", inputs, [f"{name}_out"], name=name, **attrs))
        x = f"{name}_out"
        if self.form != "folded":
            bn = name.replace("conv", "bn").replace("downsample.0", "downsample.1")
            stats = [
                self.rng.uniform(0.5, 1.5, filters) * gain,  # scale
                self.normal(0.1, filters),  # B
                self.normal(0.1, filters),  # mean
                self.rng.uniform(0.5, 1.5, filters),  # var
            ]
            names = [
                self.tensor(f"{bn}.{k}", v) for k, v in zip(("weight", "bias", "running_mean", "running_var"), stats)
            ]
            self.nodes.append(
                helper.make_node("BatchNormalization", [x, *names], [f"{bn}_out"], name=bn, epsilon=self.epsilon)
            )
            x = f"{bn}_out"
        if relu:
            self.nodes.append(helper.make_node("Relu", [x], [f"{name}_relu"], name=f"{name}_relu"))
            x = f"{name}_relu"
        return x


def resnet(
    rng,
    depth,
    *,
    size=64,
    form="bn",
    epsilon=1e-5,
    conv_changes=None,
    shortcut_first=False,
    fc_scale=4.0,
    stride_in_3x3=False,
):
    """A ResNet of `depth` as torchvision's graph (names like layer1.0.conv1, v1: a bottleneck's stride on its first
    1x1 conv unless `stride_in_3x3`, option B projections), with random weights and BN statistics; `conv_changes`
    {node: attributes} break it. `shortcut_first` puts the projection's nodes before the main path's
    (keras.applications' order)."""
    bottleneck, blocks = RESNET_SPECS[depth]
    g, changes = _ResNetGraph(rng, form, epsilon), conv_changes or {}
    x = g.unit("input", "conv1", 3, 64, 7, 2, 3, **changes.get("conv1", {}))
    x = g.pool(x, "maxpool", 3, 2, pads=(1, 1, 1, 1))
    channels = 64
    for stage, (width, count) in enumerate(zip((64, 128, 256, 512), blocks), start=1):
        for i in range(count):
            p, stride = f"layer{stage}.{i}", (2 if stage > 1 and i == 0 else 1)
            out = 4 * width if bottleneck else width
            if bottleneck:
                first, mid = (1, stride) if stride_in_3x3 else (stride, 1)  # torchvision's v1.5, or the paper's
                specs = [(width, 1, first, 0), (width, 3, mid, 1), (out, 1, 1, 0)]
            else:
                specs = [(width, 3, stride, 1), (width, 3, 1, 1)]
            shortcut = x
            if stride != 1 or channels != out:
                if shortcut_first:
                    shortcut = g.unit(x, f"{p}.downsample.0", channels, out, 1, stride, relu=False, gain=0.5)
            y, c = x, channels
            for k, (f, kernel, s, pad) in enumerate(specs, start=1):
                last = k == len(specs)
                name = f"{p}.conv{k}"
                y = g.unit(
                    y, name, c, f, kernel, s, pad, relu=not last, gain=0.5 if last else 1.0, **changes.get(name, {})
                )
                c = f
            if (stride != 1 or channels != out) and not shortcut_first:
                shortcut = g.unit(x, f"{p}.downsample.0", channels, out, 1, stride, relu=False, gain=0.5)
            g.nodes.append(helper.make_node("Add", [y, shortcut], [f"{p}_add"], name=f"{p}.add"))
            g.nodes.append(helper.make_node("Relu", [f"{p}_add"], [f"{p}_out"], name=f"{p}.relu"))
            x, channels = f"{p}_out", out
    g.nodes.append(helper.make_node("GlobalAveragePool", [x], ["pooled"], name="avgpool"))
    g.nodes.append(helper.make_node("Flatten", ["pooled"], ["flat"], name="flatten", axis=1))
    x = g.fc("flat", "fc", channels, 1000, scale=fc_scale)
    g.nodes.append(helper.make_node("Softmax", [x], ["prob"], name="prob", axis=1))
    graph = helper.make_graph(
        g.nodes,
        f"resnet{depth}",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [None, 3, size, size])],
        [helper.make_tensor_value_info("prob", TensorProto.FLOAT, [None, 1000])],
        g.inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 12)], ir_version=7)
