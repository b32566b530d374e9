"""kerascnn.layers.sublayers: each block's sublayer_graph() computes what the block computes, from its own weights."""

import keras
import numpy as np
import pytest

from kerascnn.layers import BLOCK_INPUT, AuxiliaryClassifier, InceptionModule, ResidualBlock


def _run_graph(graph, x):
    """Evaluates a sublayer graph eagerly: each layer on the outputs it names."""
    outputs = {BLOCK_INPUT: x}
    for node in graph:
        inputs = [outputs[name] for name in node.inputs]
        outputs[node.layer.name] = node.layer(inputs if len(inputs) > 1 else inputs[0])
    return outputs[graph[-1].layer.name]


BLOCKS = {
    "basic, option A": lambda: ResidualBlock(8, strides=2, shortcut="A"),
    "basic, option B": lambda: ResidualBlock(16, strides=2, shortcut="B"),
    "bottleneck, option C": lambda: ResidualBlock(4, bottleneck=True, shortcut="C"),
    "bottleneck, stride in 3x3": lambda: ResidualBlock(4, bottleneck=True, strides=2, stride_in_3x3=True),
    "plain": lambda: ResidualBlock(8, strides=2, residual=False),
    "inception": lambda: InceptionModule(4, 3, 5, 2, 3, 2),
    "auxiliary": lambda: AuxiliaryClassifier(5),
}


@pytest.mark.parametrize("make", BLOCKS.values(), ids=BLOCKS.keys())
def test_graph_computes_the_block(make):
    block = make()
    x = np.random.default_rng(0).normal(size=(2, 14, 14, 8)).astype("float32")
    expected = keras.ops.convert_to_numpy(block(x, training=False))
    graph = block.sublayer_graph()
    np.testing.assert_allclose(keras.ops.convert_to_numpy(_run_graph(graph, x)), expected, rtol=1e-5, atol=1e-5)
    # The graph holds all of the block's weights, each once, and names each node once.
    weights = [id(w) for node in graph for w in node.layer.weights if node.layer.built]
    assert sorted(weights) == sorted(id(w) for w in block.weights)
    names = [node.layer.name for node in graph]
    assert len(set(names)) == len(names) and BLOCK_INPUT not in names
    assert all(name in names[:i] or name == BLOCK_INPUT for i, node in enumerate(graph) for name in node.inputs)
