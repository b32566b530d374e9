"""ONNX graphs copied into the zoo's models, their topology read from the graph and checked against ours first.

The ONNX model zoo's BVLC AlexNet and BVLC GoogLeNet are Caffe's networks: AlexNet with its two towers (grouped
convs) and LRN, GoogLeNet with LRN and Caffe's round-up pooling. Any ONNX graph of a plain chain of convs, pools,
LRNs and fully connected layers (the zoo's VGG graphs without batch normalisation, for example) maps the same way
onto a zoo model of the same topology.

ResNets (resnet18/34/50/101/152: the paper's v1, a bottleneck's stride on its first 1x1 unless the model is built
with stride_in_3x3=True, option B projections) are graphs, not chains: the graph is walked from its input along our
layers, each conv taking the Conv that consumes the current tensor, each residual block the Convs on the paths
from its input to the Add that ends it (in any node order), the classifier the Gemm (or MatMul + Add) after
GlobalAveragePool and Flatten. Before anything is copied, every conv's kernel, strides, pads, groups, dilations and
width, the max-pool's windows, the ReLUs' places and each block's shortcut (a projection where ours has one, the
identity elsewhere) are compared. Each Conv may come in one of three forms:
- Conv (no bias) + BatchNormalization: torchvision's and MXNet's export; scale, B, mean and var copied into our BN.
- Conv with a bias b + BatchNormalization (keras.applications' layout): b is folded into the moving mean, m - b.
- Conv with a bias and no BatchNormalization (torch.onnx.export in eval mode folds BN into the conv): our BN
  becomes the identity plus b (gamma 1, beta b, mean 0, variance 1 - our epsilon): the same function, to float32
  rounding. A graph that mixes forms is taken conv by conv.
The graph's BN epsilon (default 1e-5) is folded into the moving variance where it differs from ours (BN divides by
var + eps); one smaller than ours by more than a variance is refused. A graph with BN is refused for any other model.

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

import os
from typing import NamedTuple

import numpy as np

from kerascnn.errors import UserError

INSTALL = "pip install 'kerascnn[onnx]' (or pip install onnx)"


# Nodes that carry no weights and whose effect our models have by construction: a ReLU after every conv and hidden
# fully connected layer, dropout (inactive in inference), the flatten before the first fully connected layer, the
# concatenation of an inception module's branches, the final softmax. Any other node is refused.
PASSIVE = {"Relu", "Dropout", "Reshape", "Flatten", "Concat", "Softmax", "Identity", "Constant"}


class Step(NamedTuple):
    kind: str  # conv | lrn | maxpool | avgpool | dense
    name: str
    attrs: dict
    weights: tuple = ()


def load_graph(path):
    """The ONNX graph of the file at `path`; a one-line error when onnx is missing or the file is not ONNX. The
    last file read is kept: get_model reads it once for the options it fixes and once for the weights."""
    key = (str(path), os.stat(path).st_mtime_ns, os.stat(path).st_size)
    if _LAST[0] != key:
        _LAST[:] = [None, _load(path)]
        _LAST[0] = key
    return _LAST[1]


_LAST = [None, None]


def forget():
    """Drops the kept graph (its weights are in the model now)."""
    _LAST[:] = [None, None]


def _load(path):
    try:
        import onnx
    except ImportError:
        raise UserError(f"Reading ONNX weights needs the onnx package: {INSTALL}.") from None
    try:
        return onnx.load(str(path)).graph
    except Exception as error:  # protobuf's DecodeError and friends
        raise UserError(f"{path} is not an ONNX model ({type(error).__name__}).") from None


def _attributes(node):
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


class _Tensors:
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


def _conv_node(node, a, tensors):
    """A graph's Conv as a step; its weights as thunks (kernel, bias or None)."""
    name = node.name or node.output[0]
    shape = tensors.shape(node.input[1])
    kernel = lambda: tensors[node.input[1]]  # noqa: E731
    bias = lambda: tensors[node.input[2]] if len(node.input) > 2 and node.input[2] else None  # noqa: E731
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


def _pool_node(node):
    a = _attributes(node)
    attrs = {
        "kernel": tuple(a["kernel_shape"]),
        "strides": tuple(a.get("strides", (1, 1))),
        "pads": tuple(a.get("pads", (0, 0, 0, 0))),
        "ceil": bool(a.get("ceil_mode", 0)),
    }
    return Step("maxpool" if node.op_type == "MaxPool" else "avgpool", node.name or node.output[0], attrs)


def graph_steps(graph, tensors=None):
    """The graph's convs, LRNs, pools and fully connected layers, in node order, with their attributes; weights as
    thunks that read the arrays from `tensors` (a _Tensors) when called."""
    tensors = tensors or _Tensors(graph)
    steps = []
    for node in graph.node:
        a = _attributes(node)
        name = node.name or node.output[0]
        if node.op_type == "Conv":
            steps.append(_conv_node(node, a, tensors))
        elif node.op_type == "LRN":
            attrs = {"size": a["size"], "alpha": a.get("alpha", 1e-4), "beta": a.get("beta", 0.75)}
            steps.append(Step("lrn", name, {**attrs, "bias": a.get("bias", 1.0)}))
        elif node.op_type in ("MaxPool", "AveragePool"):
            steps.append(_pool_node(node))
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


def _keras_pool(layer, size, pad=((0, 0), (0, 0))):
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


def _conv_step(layer, pad=((0, 0), (0, 0))):
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
        cls = type(layer).__name__
        if cls == "AuxiliaryClassifier":  # GoogLeNet's training heads: not in the published graphs, left new
            continue
        if cls == "ZeroPadding2D":
            pad = tuple(tuple(p) for p in layer.padding)
            continue
        if hasattr(layer, "branches"):  # an InceptionModule: its branches in order, the pool's windows at its size
            for branch in layer.branches:
                for sub in branch:
                    if hasattr(sub, "pool_size"):
                        windows, size = _keras_pool(sub, layer.input.shape[1:3])
                        steps.append(Step("maxpool", f"{layer.name}/{sub.name}", {"windows": windows, "size": size}))
                    else:
                        steps.append(_conv_step(sub)._replace(name=f"{layer.name}/{sub.name}"))
        elif hasattr(layer, "kernel_size") and hasattr(layer, "filters"):
            steps.append(_conv_step(layer, pad))
        elif cls == "LocalResponseNormalization":
            attrs = {"depth_radius": layer.depth_radius, "bias": layer.bias, "alpha": layer.alpha, "beta": layer.beta}
            steps.append(Step("lrn", layer.name, {**attrs, "groups": layer.groups}))
        elif cls == "MaxPooling2D":
            windows, size = _keras_pool(layer, layer.input.shape[1:3], pad)
            steps.append(Step("maxpool", layer.name, {"windows": windows, "size": size}))
        elif cls == "GlobalAveragePooling2D":
            steps.append(Step("avgpool", layer.name, {"size": tuple(layer.input.shape[1:3])}))
        elif cls == "Flatten":
            flatten = tuple(layer.input.shape[1:])
        elif cls == "Dense":
            steps.append(Step("dense", layer.name, {"units": layer.units, "flatten": flatten}, (layer,)))
            flatten = None
        elif cls in ("AveragePooling2D",) or (layer.weights and not hasattr(layer, "branches")):
            raise UserError(f"Layer {layer.name} ({cls}) has no ONNX counterpart in this importer.")
        pad = ((0, 0), (0, 0))
    return steps


def _differ(ours, theirs):
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
        problem = _differ(mine, other)
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
    if any(hasattr(layer, "convs") and hasattr(layer, "norms") for layer in model.layers):
        return copy_resnet(model, graph, load_head=load_head)
    left = [layer.name for layer in model.layers if type(layer).__name__ == "AuxiliaryClassifier"]
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


class _Unit(NamedTuple):
    conv: Step  # the graph's Conv
    norm: object  # its BatchNormalization node, or None (a conv with BN folded in)
    relu: bool  # whether a Relu follows
    output: str  # the unit's output tensor


class _Walk:
    def __init__(self, model, graph):
        self.model, self.graph, self.tensors = model, graph, _Tensors(graph)
        self.producer = {out: node for node in graph.node for out in node.output}
        self.consumers = {}
        for node in graph.node:
            for name in node.input:
                self.consumers.setdefault(name, []).append(node)

    def fail(self, ours, node, problem):
        node_name = node.name or node.output[0] if node is not None else "(none)"
        raise UserError(f"The ONNX graph does not match {self.model.name} at {ours} (node {node_name}): {problem}.")

    def next(self, x, ours, *, skip=("Flatten", "Reshape", "Identity", "Dropout")):
        """The one node that consumes tensor x, past nodes without weights in `skip`."""
        while True:
            users = self.consumers.get(x, [])
            if len(users) != 1:
                what = ", ".join(f"{n.name or n.output[0]} ({n.op_type})" for n in users) or "nothing"
                self.fail(ours, users[0] if users else None, f"{x} goes to {what}, the model has one layer there")
            if users[0].op_type not in skip:
                return users[0]
            x = users[0].output[0]

    def single(self, x):
        users = self.consumers.get(x, [])
        return users[0] if len(users) == 1 else None

    def unit(self, node, ours, conv_layer, pad=((0, 0), (0, 0))):
        """The unit at Conv `node`, its topology checked against our `conv_layer`."""
        if node.op_type != "Conv":
            self.fail(ours, node, f"a {node.op_type} in the graph, a conv in the model")
        step = _conv_node(node, _attributes(node), self.tensors)
        problem = _differ(_conv_step(conv_layer, pad), step)
        if problem:
            self.fail(ours, node, problem)
        out, norm, relu = node.output[0], None, False
        after = self.single(out)
        if after is not None and after.op_type == "BatchNormalization":
            norm, out = after, after.output[0]
            after = self.single(out)
        if after is not None and after.op_type == "Relu":
            relu, out = True, after.output[0]
        return _Unit(step, norm, relu, out)

    def chain(self, node, ours, convs):
        """The units from Conv `node` to the Add that ends a block, matched with our `convs`; and that Add."""
        units = []
        for i, conv in enumerate(convs):
            units.append(self.unit(node, f"{ours}/{conv.name}", conv))
            node = self.single(units[-1].output)
            if node is None:
                self.fail(f"{ours}/{conv.name}", None, f"{units[-1].output} does not go to one node")
            if i < len(convs) - 1 and not units[-1].relu:
                self.fail(f"{ours}/{conv.name}", units[-1].conv, "no Relu after it in the graph")
            if i == len(convs) - 1 and units[-1].relu:
                self.fail(f"{ours}/{conv.name}", units[-1].conv, "a Relu before the addition in the graph")
            if i < len(convs) - 1 and node.op_type == "Add":
                self.fail(f"{ours}/{convs[i + 1].name}", node, "the graph's branch ends here")
        if node.op_type != "Add":
            self.fail(ours, node, f"a {node.op_type} where the model adds the shortcut")
        return units, node

    def block(self, x, layer):
        """Our ResidualBlock from tensor x: its convs, BNs and projection; returns the copy jobs and the output."""
        users = self.consumers.get(x, [])
        convs = [n for n in users if n.op_type == "Conv"]
        if not convs:
            self.fail(layer.name, users[0] if users else None, "no Conv takes the block's input in the graph")
        # The main path is the one that reaches the Add through more than one conv.
        main = max(convs, key=self._depth)
        units, add = self.chain(main, layer.name, layer.convs)
        jobs = [(c, n, u) for c, n, u in zip(layer.convs, layer.norms, units)]
        shortcut = [n for n in convs if n is not main]
        identity = x in add.input
        if layer.projection is not None:
            if identity or not shortcut:
                self.fail(layer.name, add, "an identity shortcut in the graph, a projection in the model")
            proj, proj_add = self.chain(shortcut[0], layer.name, [layer.projection])
            if proj_add is not add:
                self.fail(f"{layer.name}/{layer.projection.name}", proj_add, "the projection adds elsewhere")
            jobs.append((layer.projection, layer.projection_norm, proj[0]))
        elif not identity or shortcut:
            self.fail(layer.name, add, "a projection shortcut in the graph, an identity in the model")
        if not layer.residual:
            self.fail(layer.name, add, "a residual addition in the graph, a plain block in the model")
        after = self.single(add.output[0])
        if after is None or after.op_type != "Relu":
            self.fail(layer.name, add, "no Relu after the addition in the graph")
        return jobs, after.output[0]

    def _depth(self, node):
        depth = 0
        while node is not None and node.op_type != "Add":
            depth += node.op_type == "Conv"
            node = self.single(node.output[0])
        return depth


def _norm_weights(walk, unit, norm):
    """Our BN's (gamma, beta, moving mean, moving variance) for the graph's conv (+ BN): its conv bias b folded
    into the mean (BN(y + b) with mean m is BN(y) with mean m - b), its epsilon into the variance (BN divides by
    var + eps); a conv without BN (folded) becomes its bias through an identity BN."""
    bias = unit.conv.weights[1]()
    if unit.norm is None:
        filters = unit.conv.attrs["filters"]
        beta = np.zeros(filters) if bias is None else np.asarray(bias, np.float64)
        return [np.ones(filters), beta, np.zeros(filters), np.full(filters, 1.0 - norm.epsilon)]
    gamma, beta, mean, variance = (np.asarray(walk.tensors[name], np.float64) for name in unit.norm.input[1:5])
    if bias is not None:
        mean = mean - bias
    variance = variance + (_attributes(unit.norm).get("epsilon", 1e-5) - norm.epsilon)
    if (variance < 0).any():
        walk.fail(norm.name, unit.norm, "its epsilon is smaller than ours by more than a moving variance")
    return [gamma, beta, mean, variance]


def _set(layer, theirs, node):
    ours = layer.get_weights()
    if len(ours) != len(theirs) or any(o.shape != t.shape for o, t in zip(ours, theirs)):
        have = ", ".join(str(t.shape) for t in theirs)
        want = ", ".join(str(o.shape) for o in ours)
        raise UserError(f"Layer {layer.name}: the graph's {node} has {have}, the model needs {want}.")
    layer.set_weights([np.asarray(t).astype(o.dtype) for o, t in zip(ours, theirs)])


def copy_resnet(model, graph, *, load_head):
    """Walks the graph along our ResNet, checking every conv, pool, shortcut and the classifier before anything
    is copied; then copies. Returns the names of our layers left as initialised."""
    walk = _Walk(model, graph)
    initialisers = set(walk.tensors.protos)
    inputs = [i.name for i in graph.input if i.name not in initialisers]
    if len(inputs) != 1:
        raise UserError(f"The ONNX graph has {len(inputs)} inputs; a ResNet takes one.")
    x, pad, jobs, dense, left = inputs[0], ((0, 0), (0, 0)), [], None, []
    pending = None  # our top-level conv, waiting for its BN layer
    for layer in model.layers:
        cls = type(layer).__name__
        if cls == "InputLayer" or (not layer.weights and cls in ("ReLU", "Activation", "Dropout", "Flatten")):
            continue
        if cls == "ZeroPadding2D":
            pad = tuple(tuple(p) for p in layer.padding)
            continue
        if hasattr(layer, "convs") and hasattr(layer, "norms"):
            if layer.norms[0] is None:
                raise UserError(f"Layer {layer.name} is folded (no BN); import into the model before folding.")
            block_jobs, x = walk.block(x, layer)
            jobs.extend(block_jobs)
        elif hasattr(layer, "kernel_size") and hasattr(layer, "filters"):
            unit = walk.unit(walk.next(x, layer.name), layer.name, layer, pad)
            if not unit.relu:
                walk.fail(layer.name, walk.single(unit.output), "no Relu after the conv in the graph")
            pending, x = (layer, unit), unit.output
        elif cls == "BatchNormalization":
            if pending is None:
                raise UserError(f"Layer {layer.name}: a BN without a conv before it has no ONNX counterpart here.")
            jobs.append((pending[0], layer, pending[1]))
            pending = None
        elif cls == "MaxPooling2D":
            node = walk.next(x, layer.name)
            if node.op_type != "MaxPool":
                walk.fail(layer.name, node, f"a {node.op_type} in the graph, a max-pool in the model")
            windows, size = _keras_pool(layer, layer.input.shape[1:3], pad)
            problem = _differ(Step("maxpool", layer.name, {"windows": windows, "size": size}), _pool_node(node))
            if problem:
                walk.fail(layer.name, node, problem)
            x = node.output[0]
        elif cls == "GlobalAveragePooling2D":
            node = walk.next(x, layer.name)
            if node.op_type != "GlobalAveragePool":
                walk.fail(layer.name, node, f"a {node.op_type} in the graph, a global average pool in the model")
            x = node.output[0]
        elif cls == "Dense":
            node = walk.next(x, layer.name)
            dense = _dense(walk, node, layer)
            if layer.name == "predictions" and not load_head:
                left.append(layer.name)
                dense = None
            elif dense[0].shape[1] != layer.units:
                walk.fail(layer.name, node, f"{dense[0].shape[1]} units in the graph, {layer.units} in the model")
            else:
                dense = (layer, dense, node)
        elif layer.weights:
            raise UserError(f"Layer {layer.name} ({cls}) has no ONNX counterpart in this importer.")
        pad = ((0, 0), (0, 0))
    # Everything matched: copy.
    for conv, norm, unit in jobs:
        _set(conv, [unit.conv.weights[0]().transpose(2, 3, 1, 0)], unit.conv.name)  # (o, i, h, w) -> (h, w, i, o)
        _set(norm, _norm_weights(walk, unit, norm), unit.norm.name if unit.norm is not None else unit.conv.name)
    if dense:
        layer, weights, node = dense
        _set(layer, weights, node.name or node.output[0])
    return left


def _dense(walk, node, layer):
    """The classifier's (kernel (in, out), bias) from a Gemm, or a MatMul and the Add of its bias."""
    name = node.name or node.output[0]
    if node.op_type == "Gemm":
        a = _attributes(node)
        if a.get("transA", 0):
            walk.fail(layer.name, node, "a Gemm with transA")
        weight = walk.tensors[node.input[1]]
        kernel = (weight.T if a.get("transB", 0) else weight) * np.float32(a.get("alpha", 1.0))
        bias = walk.tensors[node.input[2]] * np.float32(a.get("beta", 1.0)) if len(node.input) > 2 else None
    elif node.op_type == "MatMul":
        kernel, bias = walk.tensors[node.input[1]], None
        add = walk.single(node.output[0])
        if add is not None and add.op_type == "Add":
            other = [i for i in add.input if i != node.output[0]]
            bias = walk.tensors[other[0]]
    else:
        walk.fail(layer.name, node, f"a {node.op_type} in the graph, a fully connected layer in the model")
    if bias is None:
        bias = np.zeros(kernel.shape[1], np.float32)
    if kernel.ndim != 2 or bias.shape != (kernel.shape[1],):
        raise UserError(f"ONNX node {name}: a classifier of {kernel.shape} and bias {bias.shape} is not dense.")
    return kernel, bias
