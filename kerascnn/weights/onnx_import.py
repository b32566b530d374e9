"""ONNX graphs copied into the zoo's models, their topology read from the graph and checked against ours first.

The ONNX model zoo's BVLC AlexNet and BVLC GoogLeNet are Caffe's networks: AlexNet with its two towers (grouped
convs) and LRN, GoogLeNet with LRN and Caffe's round-up pooling. Any ONNX graph of a plain chain of convs, pools,
LRNs and fully connected layers (the zoo's VGG graphs without batch normalisation, for example) maps the same way
onto a zoo model of the same topology.

ResNets are graphs, not chains: onnx_resnet.py walks them.

What is compared, layer by layer in graph order: each Conv's kernel size, strides, pads, groups and dilations;
each LRN's size and constants; each pool's windows at the model's input size (kernel, stride, the first window's
offset and the number of windows, so that Caffe's ceil-mode pooling matches our "same" pools where they agree);
each fully connected layer's shape. The first difference is a one-line error naming both sides.

What the file fixes in the model (`options`): Caffe's LRN, y = x / (k + alpha/n * sum x^2)^beta with the window
crossing the towers (n=5, alpha=1e-4, k=1, beta=0.75 in the BVLC files) is LocalResponseNormalization(
depth_radius=2, bias=1, alpha=2e-5, beta=0.75, groups=1) here, where the papers' k=2 and alpha=1e-4 per tower are
the defaults.

Layouts: ONNX convs are (out, in/groups, h, w) and ours (h, w, in/groups, out); the graph flattens NCHW maps
(channel-major) and Keras NHWC ones (channel-minor), so the first fully connected layer's rows are permuted.
The loaded model takes NHWC images in the graph's channel order (BGR for the Caffe models, RGB for ResNets).
"""

from typing import NamedTuple

import keras
import numpy as np

from kerascnn.errors import UserError
from kerascnn.layers import AuxiliaryClassifier, DilatedConv2D, InceptionModule, LocalResponseNormalization

INSTALL = "pip install 'kerascnn[onnx]' (or pip install onnx)"


# Nodes that carry no weights and whose effect our models have by construction: a ReLU after every conv and hidden
# fully connected layer, dropout (inactive in inference), the flatten before the first fully connected layer, the
# concatenation of an inception module's branches, the final softmax. Any other node is refused.
PASSIVE = {"Relu", "Dropout", "Reshape", "Flatten", "Concat", "Softmax", "Identity", "Constant"}


# Our layers that a graph's Conv maps onto: they have Conv2D's kernel layout, kernel_size, strides, padding,
# dilation_rate and filters.
CONVOLUTIONS = (keras.layers.Conv2D, DilatedConv2D)


class Step(NamedTuple):
    kind: str  # conv | lrn | maxpool | avgpool | dense
    name: str
    attrs: dict
    weights: tuple = ()


def load_graph(path):
    """The ONNX graph of the file at `path`; a one-line error when onnx is missing or the file is not ONNX. The
    caller keeps it for as long as it needs it (get_model reads it once, for the options it fixes and the weights)."""
    try:
        import onnx
    except ImportError:
        raise UserError(f"Reading ONNX weights needs the onnx package: {INSTALL}.") from None
    try:
        return onnx.load(str(path)).graph
    except Exception as error:  # protobuf's DecodeError and friends
        raise UserError(f"{path} is not an ONNX model ({type(error).__name__}).") from None


def attributes(node):
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


class Tensors:
    """The graph's initialisers as arrays, converted when first asked for (a 60M-parameter file is read once)."""

    def __init__(self, graph):
        self.protos = {t.name: t for t in graph.initializer}
        self.arrays = {}

    def __getitem__(self, name):
        from onnx import numpy_helper

        if name not in self.arrays:
            self.arrays[name] = numpy_helper.to_array(self.protos[name])
        return self.arrays[name]

    def shape(self, name):
        return tuple(self.protos[name].dims)


def conv_node(node, a, tensors):
    """A graph's Conv as a step; its weights as thunks (kernel, bias or None)."""
    name = node.name or node.output[0]
    shape = tensors.shape(node.input[1])
    kernel = lambda: tensors[node.input[1]]
    bias = lambda: tensors[node.input[2]] if len(node.input) > 2 and node.input[2] else None
    if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        raise UserError(f"ONNX node {name}: auto_pad is not supported; export with explicit pads.")
    attrs = {
        "kernel": shape[2:],
        "strides": tuple(a.get("strides", (1, 1))),
        "pads": tuple(a.get("pads", (0, 0, 0, 0))),
        "groups": a.get("group", 1),
        "dilations": tuple(a.get("dilations", (1, 1))),
        "filters": shape[0],
    }
    return Step("conv", name, attrs, (kernel, bias))


def pool_node(node):
    a = attributes(node)
    attrs = {
        "kernel": tuple(a["kernel_shape"]),
        "strides": tuple(a.get("strides", (1, 1))),
        "pads": tuple(a.get("pads", (0, 0, 0, 0))),
        "ceil": bool(a.get("ceil_mode", 0)),
    }
    return Step("maxpool" if node.op_type == "MaxPool" else "avgpool", node.name or node.output[0], attrs)


def graph_steps(graph, tensors=None):
    """The graph's convs, LRNs, pools and fully connected layers, in node order, with their attributes; weights as
    thunks that read the arrays from `tensors` (a Tensors) when called."""
    tensors = tensors or Tensors(graph)
    steps = []
    for node in graph.node:
        a = attributes(node)
        name = node.name or node.output[0]
        if node.op_type == "Conv":
            steps.append(conv_node(node, a, tensors))
        elif node.op_type == "LRN":
            attrs = {"size": a["size"], "alpha": a.get("alpha", 1e-4), "beta": a.get("beta", 0.75)}
            steps.append(Step("lrn", name, {**attrs, "bias": a.get("bias", 1.0)}))
        elif node.op_type in ("MaxPool", "AveragePool"):
            steps.append(pool_node(node))
        elif node.op_type == "GlobalAveragePool":
            steps.append(Step("avgpool", name, {"global": True}))
        elif node.op_type == "Gemm":
            shape = tensors.shape(node.input[1])
            transposed = bool(a.get("transB", 0))

            def kernel(node=node, a=a, transposed=transposed):
                weight = tensors[node.input[1]]
                return (weight.T if transposed else weight) * np.float32(a.get("alpha", 1.0))

            def bias(node=node, a=a):
                return tensors[node.input[2]] * np.float32(a.get("beta", 1.0)) if len(node.input) > 2 else None

            steps.append(Step("dense", name, {"units": shape[0] if transposed else shape[1]}, (kernel, bias)))
        elif node.op_type == "BatchNormalization":
            raise UserError(
                f"ONNX node {name}: a graph with batch normalisation maps only onto the ResNet family "
                "(resnet18/34/50/101/152), not onto this model."
            )
        elif node.op_type not in PASSIVE:
            raise UserError(f"ONNX node {name}: a {node.op_type} has no counterpart in the zoo's chain models.")
    return steps


def options(graph):
    """The model options the graph fixes: its LRN constants, in LocalResponseNormalization's convention."""
    if not any(node.op_type == "LRN" for node in graph.node):
        return {}  # (a ResNet's graph, with its BNs, is not a chain: graph_steps would refuse it)
    lrn_steps = [s for s in graph_steps(graph) if s.kind == "lrn"]
    if not lrn_steps:
        return {}
    constants = {(s.attrs["size"], s.attrs["alpha"], s.attrs["beta"], s.attrs["bias"]) for s in lrn_steps}
    if len(constants) > 1:
        raise UserError(f"The graph's LRNs have different constants {sorted(constants)}; one set is supported.")
    size, alpha, beta, bias = constants.pop()
    if size % 2 == 0:
        raise UserError(f"ONNX node {lrn_steps[0].name}: an LRN of even size {size} has no centred window.")
    lrn = {"depth_radius": (size - 1) // 2, "bias": float(bias), "alpha": float(alpha) / size, "beta": float(beta)}
    return {"lrn_options": {**lrn, "groups": 1}}


def _onnx_pool(step, size):
    """(kernel, stride, padding before, number of windows) along each spatial axis, at input side `size`."""
    a = step.attrs
    result = []
    for axis in range(2):
        k, s = a["kernel"][axis], a["strides"][axis]
        begin, end = a["pads"][axis], a["pads"][axis + 2]
        span = size[axis] + begin + end - k
        out = (-(-span // s) if a["ceil"] else span // s) + 1
        if a["ceil"] and (out - 1) * s >= size[axis] + begin:  # ONNX drops a last window that starts in the padding
            out -= 1
        result.append((k, s, begin, out))
    return tuple(result)


def keras_pool(layer, size, pad=((0, 0), (0, 0))):
    """Like `_onnx_pool`, for a Keras pool on inputs of `size` (after a ZeroPadding2D of `pad`), and the unpadded
    input side."""
    result = []
    for axis in range(2):
        k, s = layer.pool_size[axis], layer.strides[axis]
        m = size[axis]
        if layer.padding == "same":
            out = -(-m // s)
            begin = max((out - 1) * s + k - m, 0) // 2 + pad[axis][0]
        else:
            out, begin = (m - k) // s + 1, pad[axis][0]
        result.append((k, s, begin, out))
    return tuple(result), tuple(size[axis] - sum(pad[axis]) for axis in range(2))


def conv_step(layer, pad=((0, 0), (0, 0))):
    """Our conv layer (after a ZeroPadding2D of `pad`) as a step comparable with a graph's Conv."""
    k, s = tuple(layer.kernel_size), tuple(layer.strides)
    if layer.padding == "same":
        d = tuple(layer.dilation_rate)
        p = [d[0] * (k[0] - 1) // 2, d[1] * (k[1] - 1) // 2]
        pads = (p[0] + pad[0][0], p[1] + pad[1][0], p[0] + pad[0][1], p[1] + pad[1][1])
    elif layer.padding == "valid":
        pads = (pad[0][0], pad[1][0], pad[0][1], pad[1][1])
    else:
        pads = (layer.padding[0] + pad[0][0], layer.padding[1] + pad[1][0]) * 2
    attrs = {
        "kernel": k,
        "strides": s,
        "pads": pads,
        "groups": getattr(layer, "groups", 1),
        "dilations": tuple(layer.dilation_rate),
        "filters": layer.filters,
    }
    return Step("conv", layer.name, attrs, (layer,))


def model_steps(model):
    """Our model's steps, comparable with `graph_steps`, each with the layer that holds its weights."""
    steps, pad, flatten = [], ((0, 0), (0, 0)), None

    for layer in model.layers:
        if isinstance(layer, AuxiliaryClassifier):  # GoogLeNet's training heads: not in the published graphs, left new
            continue
        if isinstance(layer, keras.layers.ZeroPadding2D):
            pad = tuple(tuple(p) for p in layer.padding)
            continue
        if isinstance(layer, InceptionModule):  # its branches in order, the pool's windows at its size
            for branch in layer.branches:
                for sub in branch:
                    if isinstance(sub, keras.layers.MaxPooling2D):
                        windows, size = keras_pool(sub, layer.input.shape[1:3])
                        steps.append(Step("maxpool", f"{layer.name}/{sub.name}", {"windows": windows, "size": size}))
                    else:
                        steps.append(conv_step(sub)._replace(name=f"{layer.name}/{sub.name}"))
        elif isinstance(layer, CONVOLUTIONS):
            steps.append(conv_step(layer, pad))
        elif isinstance(layer, LocalResponseNormalization):
            attrs = {"depth_radius": layer.depth_radius, "bias": layer.bias, "alpha": layer.alpha, "beta": layer.beta}
            steps.append(Step("lrn", layer.name, {**attrs, "groups": layer.groups}))
        elif isinstance(layer, keras.layers.MaxPooling2D):
            windows, size = keras_pool(layer, layer.input.shape[1:3], pad)
            steps.append(Step("maxpool", layer.name, {"windows": windows, "size": size}))
        elif isinstance(layer, keras.layers.GlobalAveragePooling2D):
            steps.append(Step("avgpool", layer.name, {"size": tuple(layer.input.shape[1:3])}))
        elif isinstance(layer, keras.layers.Flatten):
            flatten = tuple(layer.input.shape[1:])
        elif isinstance(layer, keras.layers.Dense):
            steps.append(Step("dense", layer.name, {"units": layer.units, "flatten": flatten}, (layer,)))
            flatten = None
        elif isinstance(layer, keras.layers.AveragePooling2D) or layer.weights:
            raise UserError(f"Layer {layer.name} ({type(layer).__name__}) has no ONNX counterpart in this importer.")
        pad = ((0, 0), (0, 0))
    return steps


def differ(ours, theirs):
    """What differs between our step and the graph's, or None."""
    a, b = ours.attrs, theirs.attrs
    if ours.kind == "conv":
        for key in ("kernel", "strides", "pads", "groups", "dilations", "filters"):
            if tuple(np.atleast_1d(a[key])) != tuple(np.atleast_1d(b[key])):
                return f"{key} {b[key]} in the graph, {a[key]} in the model"
    elif ours.kind == "lrn":
        size = 2 * a["depth_radius"] + 1
        theirs_ = (b["size"], b["alpha"] / b["size"], b["beta"], b["bias"], 1)
        ours_ = (size, a["alpha"], a["beta"], a["bias"], a["groups"])
        if theirs_[0] != ours_[0] or theirs_[4] != ours_[4] or not np.allclose(theirs_[1:4], ours_[1:4], rtol=1e-6):
            return f"LRN (size, alpha/size, beta, bias, groups) {theirs_} in the graph, {ours_} in the model"
    elif ours.kind == "maxpool":
        windows = _onnx_pool(theirs, a["size"])
        if windows != a["windows"]:
            return f"(kernel, stride, offset, windows) {windows} in the graph, {a['windows']} in the model"
    elif ours.kind == "avgpool":
        if not b.get("global") and (b["kernel"] != a["size"] or any(b["pads"]) or b["ceil"]):
            return f"an average pool of {b['kernel']} in the graph, a global one over {a['size']} in the model"
    elif ours.kind == "dense" and a["units"] != b["units"]:
        return f"{b['units']} units in the graph, {a['units']} in the model"
    return None


def check_topology(model, graph, *, load_head=True):
    """Pairs our steps with the graph's, raising a one-line UserError at the first that differs."""
    ours, theirs = model_steps(model), graph_steps(graph)
    for i, (mine, other) in enumerate(zip(ours, theirs)):
        if mine.kind != other.kind:
            raise UserError(
                f"The ONNX graph does not match {model.name}: node {other.name} ({other.kind}) where the model has "
                f"{mine.name} ({mine.kind}), step {i + 1}."
            )
        if mine.kind == "dense" and mine.name == "predictions" and not load_head:
            continue  # a new classifier: its size is the user's
        problem = differ(mine, other)
        if problem:
            raise UserError(
                f"The ONNX graph does not match {model.name} at {mine.name} (node {other.name}): {problem}."
            )
    if len(ours) != len(theirs):
        longer, extra = ("graph", theirs[len(ours)]) if len(theirs) > len(ours) else ("model", ours[len(theirs)])
        raise UserError(
            f"The ONNX graph does not match {model.name}: the {longer} goes on with {extra.name} ({extra.kind})."
        )
    return list(zip(ours, theirs))


def copy_weights(model, graph, *, load_head):
    """Checks the topology, then copies the graph's convs and fully connected layers into `model`. Returns the
    names of our layers left as initialised (the classifier, where `load_head` is False)."""
    left = [layer.name for layer in model.layers if isinstance(layer, AuxiliaryClassifier)]
    for mine, other in check_topology(model, graph, load_head=load_head):
        if mine.kind not in ("conv", "dense"):
            continue
        layer = mine.weights[0]
        if mine.kind == "dense" and layer.name == "predictions" and not load_head:
            left.append(layer.name)
            continue
        kernel, bias = (read() for read in other.weights)
        if mine.kind == "conv":
            kernel = kernel.transpose(2, 3, 1, 0)  # (out, in/g, h, w) -> (h, w, in/g, out)
        elif mine.attrs["flatten"] is not None and len(mine.attrs["flatten"]) == 3:
            h, w, c = mine.attrs["flatten"]
            if kernel.shape[0] == h * w * c:  # rows in NCHW order -> NHWC order
                kernel = kernel.reshape(c, h, w, -1).transpose(1, 2, 0, 3).reshape(h * w * c, -1)
        ours = layer.get_weights()
        theirs = [kernel] + ([bias] if bias is not None else [])
        if len(ours) != len(theirs) or any(o.shape != t.shape for o, t in zip(ours, theirs)):
            have = ", ".join(str(t.shape) for t in theirs)
            want = ", ".join(str(o.shape) for o in ours)
            raise UserError(f"Layer {layer.name}: the graph's {other.name} has {have}, the model needs {want}.")
        layer.set_weights([t.astype(o.dtype) for o, t in zip(ours, theirs)])
    return left


# ResNets: a graph, not a chain. The graph is walked from its input in our model's layer order: each conv of ours
# takes the Conv that consumes the current tensor (with the BatchNormalization and Relu after it), each residual
# block the convs on the paths from its input to the Add that ends it.
