"""The models the benchmark times: every combination asked for, and keras.applications' same architecture."""

import keras
import numpy as np

from kerascnn.benchmark.candidates import OURS, THEIRS, Candidate, build, candidates, paper_config


def test_every_combination_once_ours_next_to_theirs():
    got = candidates(precisions=("auto", "mixed_bfloat16"), jit_compile=("auto", True), compare=True)
    assert [(c.implementation, c.precision, c.jit_compile) for c in got] == [
        (OURS, "auto", "auto"),
        (THEIRS, "auto", "auto"),
        (OURS, "auto", True),
        (THEIRS, "auto", True),
        (OURS, "mixed_bfloat16", "auto"),
        (THEIRS, "mixed_bfloat16", "auto"),
        (OURS, "mixed_bfloat16", True),
        (THEIRS, "mixed_bfloat16", True),
    ]
    assert got[0].is_auto and not got[2].is_auto
    once = candidates(precisions=("auto", "auto"), jit_compile=(False,), compare=False)
    assert once == [Candidate(OURS, "auto", False)]


def _trainable(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def test_counterpart_differs_by_the_conv_biases_alone_and_predicts_in_float32():
    config = paper_config("resnet50", batch_size=2, image_size=32)
    ours, _ = build(Candidate(OURS, "float32", False), config, num_classes=10, input_shape=(32, 32, 3))
    theirs, precision = build(
        Candidate(THEIRS, "mixed_bfloat16", False), config, num_classes=10, input_shape=(32, 32, 3)
    )
    assert precision == "mixed_bfloat16" and theirs.output.dtype == "float32"
    assert theirs.compute_dtype == "float32" or any(layer.compute_dtype == "bfloat16" for layer in theirs.layers)
    convs = [layer for layer in theirs.layers if isinstance(layer, keras.layers.Conv2D)]
    assert len(convs) == 53  # 1 + 3 x 16 bottleneck convs + 4 projections
    assert _trainable(theirs) - _trainable(ours) == sum(conv.filters for conv in convs)
    assert ours.optimizer.__class__ is theirs.optimizer.__class__  # one recipe for both
    assert ours.jit_compile is False and theirs.jit_compile is False
