"""pipelines.benchmark_backend: the zoo and its layers timed on any Keras backend, TensorFlow not needed
(it runs and reports every workload; never a speed)."""

import subprocess
import sys

import keras
import numpy as np
import pytest
from pipeline_helpers import QUICK_XLA, ROOT, assert_one_line_error, environment, run_commands, run_pipeline

from kerascnn.benchmark import backends

TINY = ["--batch-size", 2, "--steps", 1, "--warmup", 0, "--repeats", 2]
PRECISIONS = ("float32", "mixed_bfloat16")


def table_rows(markdown):
    rows = [line.strip("|").split("|") for line in markdown.splitlines() if line.startswith("| ")]
    return [[cell.strip() for cell in row] for row in rows[1:]]  # without the header


def test_report_has_a_row_for_each_workload_and_precision(tmp_path):
    result = run_pipeline(
        "benchmark_backend", "lenet5", "--layers", "--precision", *PRECISIONS, *TINY, "--markdown", tmp_path / "out.md"
    )
    assert result.returncode == 0, result.stderr
    markdown = (tmp_path / "out.md").read_text()
    assert markdown.strip() in result.stdout
    assert "# kerascnn on the tensorflow backend" in markdown and "median of 2 repetitions of 1 steps" in markdown
    rows = table_rows(markdown)
    workloads = ["lenet5", *backends.LAYER_WORKLOADS]
    assert [(row[0], row[1]) for row in rows] == [(w, p) for w in workloads for p in PRECISIONS]
    for row in rows:
        for cell in row[2:]:  # "median (lowest-highest)"
            median, low, high = (float(x) for x in cell.replace("(", "").replace(")", "").replace("-", " ").split())
            assert 0 < low <= median <= high


@pytest.mark.parametrize("precision, compute", [("float32", "float32"), ("mixed_bfloat16", "bfloat16")])
def test_a_step_builds_under_the_policy_and_trains(precision, compute):
    build, shape = backends.LAYER_WORKLOADS["ConnectionTableConv2D (LeNet-5 C3)"]
    step = backends.Step(build, shape, precision=precision, batch_size=2, num_classes=10)
    layer = step.model.layers[1]
    assert layer.compute_dtype == compute and layer.variable_dtype == "float32"
    assert step.model.output_shape == (None, 10, 10, 16)  # 14 - 5 + 1, LeNet-5's C3 maps
    assert keras.config.dtype_policy().name == "float32"  # the global policy is restored
    before = [np.array(w) for w in step.model.weights]
    assert step.train_steps(1) > 0 and step.predict_steps(1) > 0
    assert any(not np.array_equal(a, np.array(b)) for a, b in zip(before, step.model.weights))  # an update ran


def test_a_model_step_uses_the_paper_input_and_the_classes():
    build, shape = backends.model_workload("lenet5", num_classes=7)
    assert shape == (32, 32, 1)
    step = backends.Step(build, shape, precision="float32", batch_size=3, num_classes=7)
    assert step.model.output_shape == (None, 7) and tuple(step.targets.shape) == (3,)
    assert backends.model_workload("resnet20", num_classes=10, image_size=40)[1] == (40, 40, 3)


MISTAKES = [
    (["lenet_5x"], "Unknown model"),
    (["vgg16", "--image-size", "8"], "below vgg16's minimum"),
    ([], "at least one model, or --layers"),
    (["lenet5", "--steps", "0"], "--steps must be at least 1"),
]


@pytest.fixture(scope="module")
def mistakes():
    """Each command of MISTAKES, run in one process (TensorFlow starts once)."""
    return run_commands("benchmark_backend", [args for args, _ in MISTAKES])


@pytest.mark.parametrize("args, fragment", MISTAKES)
def test_mistakes_are_one_line(args, fragment, mistakes):
    assert_one_line_error(mistakes[tuple(args)], fragment)


def run_without_tensorflow(backend, *args):
    """`python -m pipelines.benchmark_backend *args` in a process where importing TensorFlow fails."""
    code = (
        "import runpy, sys; sys.modules['tensorflow'] = None; sys.argv[0] = 'benchmark_backend'; "
        "runpy.run_module('pipelines.benchmark_backend', run_name='__main__')"
    )
    env = environment(KERAS_BACKEND=backend, **QUICK_XLA)
    return subprocess.run(
        [sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, env=env, cwd=ROOT, timeout=600
    )


def test_runs_where_tensorflow_is_not_installed():
    # Keras' numpy backend cannot train, but it loads every module the command needs, and a mistake still ends
    # in one line: nothing on the way may import TensorFlow.
    assert_one_line_error(run_without_tensorflow("numpy", "lenet_5x"), "Unknown model")
    help_text = run_without_tensorflow("numpy", "--help")
    assert help_text.returncode == 0 and "--layers" in help_text.stdout, help_text.stderr


def test_times_on_jax_without_tensorflow():  # JAX is in the test extra: never skipped
    result = run_without_tensorflow("jax", "lenet5", "--precision", "float32", *TINY)
    assert result.returncode == 0, result.stderr
    assert "# kerascnn on the jax backend" in result.stdout
    assert [(row[0], row[1]) for row in table_rows(result.stdout)] == [("lenet5", "float32")]
