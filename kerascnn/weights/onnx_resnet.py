"""ONNX graphs of the ResNet family copied into the zoo's ResNets (the chains, AlexNet, GoogLeNet and VGG, are
onnx_import.py's).

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
"""

from typing import NamedTuple

import keras
import numpy as np

from kerascnn.errors import UserError
from kerascnn.layers import ResidualBlock
from kerascnn.weights.onnx_import import (
    CONVOLUTIONS,
    Step,
    Tensors,
    attributes,
    conv_node,
    conv_step,
    differ,
    keras_pool,
    pool_node,
)


def is_resnet(model):
    """Whether `model` is built of residual blocks: its graph is walked here."""
    return any(isinstance(layer, ResidualBlock) for layer in model.layers)


# Layers without weights that the graph has as no node of their own or skips past (see _Walk.next).
WEIGHTLESS = (keras.layers.ReLU, keras.layers.Activation, keras.layers.Dropout, keras.layers.Flatten)


class _Unit(NamedTuple):
    conv: Step  # the graph's Conv
    norm: object  # its BatchNormalization node, or None (a conv with BN folded in)
    relu: bool  # whether a Relu follows
    output: str  # the unit's output tensor


class _Walk:
    def __init__(self, model, graph):
        self.model, self.graph, self.tensors = model, graph, Tensors(graph)
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
        step = conv_node(node, attributes(node), self.tensors)
        problem = differ(conv_step(conv_layer, pad), step)
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
    variance = variance + (attributes(unit.norm).get("epsilon", 1e-5) - norm.epsilon)
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
        if isinstance(layer, keras.layers.InputLayer) or (not layer.weights and isinstance(layer, WEIGHTLESS)):
            continue
        if isinstance(layer, keras.layers.ZeroPadding2D):
            pad = tuple(tuple(p) for p in layer.padding)
            continue
        if isinstance(layer, ResidualBlock):
            if layer.norms[0] is None:
                raise UserError(f"Layer {layer.name} is folded (no BN); import into the model before folding.")
            block_jobs, x = walk.block(x, layer)
            jobs.extend(block_jobs)
        elif isinstance(layer, CONVOLUTIONS):
            unit = walk.unit(walk.next(x, layer.name), layer.name, layer, pad)
            if not unit.relu:
                walk.fail(layer.name, walk.single(unit.output), "no Relu after the conv in the graph")
            pending, x = (layer, unit), unit.output
        elif isinstance(layer, keras.layers.BatchNormalization):
            if pending is None:
                raise UserError(f"Layer {layer.name}: a BN without a conv before it has no ONNX counterpart here.")
            jobs.append((pending[0], layer, pending[1]))
            pending = None
        elif isinstance(layer, keras.layers.MaxPooling2D):
            node = walk.next(x, layer.name)
            if node.op_type != "MaxPool":
                walk.fail(layer.name, node, f"a {node.op_type} in the graph, a max-pool in the model")
            windows, size = keras_pool(layer, layer.input.shape[1:3], pad)
            problem = differ(Step("maxpool", layer.name, {"windows": windows, "size": size}), pool_node(node))
            if problem:
                walk.fail(layer.name, node, problem)
            x = node.output[0]
        elif isinstance(layer, keras.layers.GlobalAveragePooling2D):
            node = walk.next(x, layer.name)
            if node.op_type != "GlobalAveragePool":
                walk.fail(layer.name, node, f"a {node.op_type} in the graph, a global average pool in the model")
            x = node.output[0]
        elif isinstance(layer, keras.layers.Dense):
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
            raise UserError(f"Layer {layer.name} ({type(layer).__name__}) has no ONNX counterpart in this importer.")
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
        a = attributes(node)
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
