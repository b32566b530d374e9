"""The zoo on JAX: every registered model builds, runs and takes one training step on Keras' JAX backend (CPU),
in a process where TensorFlow cannot be imported (tests/backend_zoo.py), as the zoo claims for any Keras 3
backend. New models are covered as they are registered; the heaviest run in the slow suite."""

import numpy as np
import pytest
from zoo_helpers import plan, run_zoo_script

import kerascnn

# The slow suite's: on JAX (CPU) each new kind of op compiles once per process, and GoogLeNet's modules and the
# ImageNet ResNets bring the most (measured: GoogLeNet 86 CPU seconds, the first basic-block and bottleneck ResNets
# 35 and 30, against 1-6 s for a model whose ops came before). Every other family, new ones included, runs by default.
HEAVY = {name for name in kerascnn.list_models() if kerascnn.model_spec(name).family in ("googlenet", "resnet")}
HEAVY.add("deeplab_v2")  # a ResNet backbone


def run_zoo(names, backend="jax"):
    """{model: the JSON line tests/backend_zoo.py printed for it} for `names`, on `backend`."""
    return run_zoo_script("backend_zoo.py", [plan(name) for name in names], backend, timeout=1200)


def check_reports(reports):
    problems = []
    for name, report in reports.items():
        if "error" in report:
            problems.append(f"{name}: {report['error']}")
            continue
        shape = report["output_shape"]
        ok = report["backend"] == "jax" and shape[0] == 2 and shape[-1] == 5  # a batch of 2, 5 classes
        ok &= report["finite"] and report["sums_to_one"] and np.isfinite(report["loss"])
        # The step updated every trainable weight; FCN's score layers start at zero (Long et al.), so its first
        # step moves only them and the layers after.
        ok &= report["moved"] == report["weights"] > 0 if report["task"] == "classification" else report["moved"] > 0
        if not ok:
            problems.append(f"{name}: {report}")
    assert not problems, "\n".join(problems)


def test_every_model_builds_runs_and_trains_a_step_on_jax():
    names = [name for name in kerascnn.list_models() if name not in HEAVY]
    check_reports(run_zoo(names))


@pytest.mark.slow
def test_the_heaviest_models_train_a_step_on_jax():
    assert {"googlenet", "resnet18", "resnet152"} <= HEAVY
    check_reports(run_zoo(sorted(HEAVY)))
