"""A Keras model's graph flattened into the layers that compute it.

A functional model is a graph of nodes (one per layer call), but a node may hide a whole network: a nested
functional or Sequential model, or a block layer such as `ResidualBlock` that builds its output from sublayers.
`flatten_graph` walks the graph from the outputs back and expands both kinds, the nested models by their own graph
and the blocks by their `sublayer_graph()` (see kerascnn.layers.sublayers), into leaf layers named by their path
(`conv2_block1/conv1`), each after the layers it reads.

Keras has no public API for a model's nodes; this module reads the graph as Keras' own `summary()` and
`Functional` do, through each tensor's `_keras_history` and each layer's `_inbound_nodes`.
"""

from collections.abc import Hashable
from typing import NamedTuple

import keras

from kerascnn.compat import inbound_nodes, keras_history
from kerascnn.layers.sublayers import BLOCK_INPUT

_ELEMENTWISE_MERGES = (
    keras.layers.Add,
    keras.layers.Subtract,
    keras.layers.Multiply,
    keras.layers.Average,
    keras.layers.Maximum,
    keras.layers.Minimum,
)


class GraphNode(NamedTuple):
    """One call of a leaf layer: what it reads and writes, by tensor key, and the shapes (batch axis included)."""

    name: str
    layer: keras.layers.Layer
    inputs: tuple[Hashable, ...]
    outputs: tuple[Hashable, ...]
    input_shapes: tuple[tuple, ...]
    output_shapes: tuple[tuple, ...]
    first_call: bool  # False when a shared layer is called again: its weights are already counted


def flatten_graph(model):
    """(input keys, nodes): the model's leaf layer calls, each after the calls whose outputs it reads.

    Input layers come first, as nodes without inputs. Raises ValueError for a model without a graph (a subclassed
    model that was never called on a `keras.Input`).
    """
    if not _has_graph(model):
        raise ValueError(f"{model.name} has no graph to inspect: build it as a functional or Sequential model.")
    flattener = _Flattener()
    input_keys = tuple(_key("", t) for t in model.inputs)
    for t, key in zip(model.inputs, input_keys):
        layer = keras_history(t).operation
        flattener.emit(layer.name, layer, (), (), (key,), (tuple(t.shape),))
    flattener.expand_model(model, "", input_keys)
    return input_keys, flattener.nodes


def _key(prefix, tensor):
    """A tensor's key: a nested model called twice runs the same graph, whose tensors the prefix tells apart."""
    return prefix, id(tensor)


def _has_graph(layer):
    return isinstance(layer, keras.Model) and bool(getattr(layer, "outputs", None))


class _Flattener:
    def __init__(self):
        self.nodes = []
        self.shapes = {}  # tensor key -> shape
        self.aliases = {}  # key of a nested model's input or output -> key of the tensor it stands for
        self.seen_layers = set()

    def key(self, key):
        while key in self.aliases:
            key = self.aliases[key]
        return key

    def emit(self, name, layer, inputs, input_shapes, outputs, output_shapes):
        first_call = id(layer) not in self.seen_layers
        self.seen_layers.add(id(layer))
        self.nodes.append(GraphNode(name, layer, inputs, outputs, input_shapes, output_shapes, first_call))
        self.shapes.update(zip(outputs, output_shapes))

    def call(self, name, layer, inputs, outputs, output_shapes=None):
        """Emits one call of `layer`, expanding it if it is a nested model or a block with a sublayer graph."""
        inputs = tuple(self.key(k) for k in inputs)
        if _has_graph(layer):
            self.aliases.update(zip(outputs, self.expand_model(layer, f"{name}/", inputs)))
        elif callable(getattr(layer, "sublayer_graph", None)):
            self.aliases[outputs[0]] = self.expand_block(layer, f"{name}/", inputs[0])
        else:
            input_shapes = tuple(self.shapes[k] for k in inputs)
            output_shapes = output_shapes or (_output_shape(layer, input_shapes),)
            self.emit(name, layer, inputs, input_shapes, outputs, output_shapes)

    def expand_model(self, model, prefix, input_keys):
        """Walks a functional model's graph with its inputs standing for `input_keys`; returns its output keys."""
        self.aliases.update((_key(prefix, t), k) for t, k in zip(model.inputs, input_keys) if _key(prefix, t) != k)
        for node in _nodes_in_order(model):
            layer = node.operation
            if not node.input_tensors:  # an input layer: already stands for input_keys
                continue
            call = inbound_nodes(layer).index(node)
            suffix = "" if call == 0 else f"#{call + 1}"
            self.call(
                f"{prefix}{layer.name}{suffix}",
                layer,
                tuple(_key(prefix, t) for t in node.input_tensors),
                tuple(_key(prefix, t) for t in node.output_tensors),
                tuple(tuple(t.shape) for t in node.output_tensors),
            )
        return tuple(self.key(_key(prefix, t)) for t in model.outputs)

    def expand_block(self, block, prefix, input_key):
        """Emits a block's sublayer graph reading `input_key`; returns the key of its output."""
        names = {BLOCK_INPUT: input_key}
        for sublayer in block.sublayer_graph():
            layer = sublayer.layer
            key = (prefix, layer.name)  # a name, where nested models' keys hold an id
            self.call(f"{prefix}{layer.name}", layer, tuple(names[n] for n in sublayer.inputs), (key,))
            names[layer.name] = self.key(key)
        return names[layer.name]


def _nodes_in_order(model):
    """The nodes of a functional model, each after the nodes it reads: a depth-first walk from the outputs.

    Depth first, rather than Keras' depth-by-depth order, keeps each branch of a block together.
    """
    stop = {id(t) for t in model.inputs}
    order, done, opened = [], set(), set()
    stack = [_producer(t) for t in reversed(model.outputs)]
    while stack:
        node = stack[-1]
        if id(node) in done:
            stack.pop()
        elif id(node) in opened:
            stack.pop()
            done.add(id(node))
            order.append(node)
        else:
            opened.add(id(node))
            parents = [_producer(t) for t in node.input_tensors if id(t) not in stop]
            stack.extend(p for p in reversed(parents) if id(p) not in done)
    return order


def _producer(tensor):
    history = keras_history(tensor)
    return inbound_nodes(history.operation)[history.node_index]


def _output_shape(layer, input_shapes):
    """The output shape of a block's sublayer, which no graph records."""
    if isinstance(layer, _ELEMENTWISE_MERGES):
        # Broadcast, and let a narrower input count as zero-padded (ResidualBlock's option A shortcut).
        return tuple(None if None in dims else max(dims) for dims in zip(*input_shapes))
    shape = layer.compute_output_shape(list(input_shapes) if len(input_shapes) > 1 else input_shapes[0])
    return tuple(shape)
