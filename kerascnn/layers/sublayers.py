"""How a block layer shows what is inside it.

A Keras layer built from sublayers (our ResidualBlock, InceptionModule and AuxiliaryClassifier) is one opaque node
in a functional model's graph. Such a layer can describe its `call` as a small graph through a method
`sublayer_graph()` returning `Sublayer`s in call order; tools that look inside models (`kerascnn.analysis`: per-layer
parameters, multiply-accumulates and receptive fields) then expand it into its parts. Any Keras layer, yours too,
can offer the same method to be expanded likewise.
"""

from typing import NamedTuple

import keras

BLOCK_INPUT = "inputs"  # the name by which a Sublayer reads the block's own input


class Sublayer(NamedTuple):
    """One node of a block's graph: `layer` applied to the outputs of `inputs`.

    `inputs` names earlier sublayers (by their layer's name) or BLOCK_INPUT; the last Sublayer of a graph is the
    block's output. Arithmetic the block's `call` does with `keras.ops` appears as the standard Keras layer that
    computes the same thing (`ReLU`, `Add`, ...): such stand-ins are created to be described, never called.
    """

    layer: keras.layers.Layer
    inputs: tuple[str, ...] = (BLOCK_INPUT,)


def chain(layers, start=BLOCK_INPUT):
    """Sublayers applied one after the other, the first to the output named `start`."""
    graph = []
    for layer in layers:
        graph.append(Sublayer(layer, (start,)))
        start = layer.name
    return graph
