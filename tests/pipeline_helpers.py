"""Running the pipelines as a user does: in a subprocess, with small sizes."""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# A small, fast run of the embedded dataset: LeNet-5 on 32x32 shapes.
TINY = ["--set", "data.shapes_train=96", "--set", "data.shapes_val=32", "--batch-size", "16"]

# For the tests' processes on Keras' JAX backend: eager JAX compiles every op at every new shape, and at the tests'
# tiny inputs LLVM's optimisation of each costs far more than running it (measured on 2 Zen 2 cores: 185 against
# 100 CPU seconds for five models' build, forward pass and training step, the same losses). Not for timings.
QUICK_XLA = {"XLA_FLAGS": "--xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true"}


def environment(**extra):
    """A test's subprocess environment: this one's, with the checkout importable, TensorFlow's C++ logs quiet, and
    `extra`."""
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT), **extra}


def run_pipeline(name, *args, env=None, cwd=None, timeout=600):
    """Runs `python -m pipelines.<name> *args` and returns the CompletedProcess (text output)."""
    return subprocess.run(
        [sys.executable, "-m", f"pipelines.{name}", *map(str, args)],
        capture_output=True,
        text=True,
        env=environment(**(env or {})),
        cwd=cwd or ROOT,
        timeout=timeout,
    )


def run_pipelines(name, *argvs, timeout=600):
    """`run_pipeline(name, *argv)` for each argv, one after another in one process (tests/cli_batch.py): TensorFlow
    starts once, not once a command. For commands that stop early (a mistake on the command line); what each
    printed and its exit status are what a process of its own would give."""
    with tempfile.TemporaryDirectory() as folder:
        results = Path(folder) / "results.jsonl"
        argvs = [json.dumps([str(arg) for arg in argv]) for argv in argvs]
        batch = subprocess.run(
            [sys.executable, str(ROOT / "tests" / "cli_batch.py"), str(results), name, *argvs],
            capture_output=True,
            text=True,
            env=environment(),
            cwd=ROOT,
            timeout=timeout,
        )
        lines = results.read_text().splitlines() if results.exists() else []
    assert batch.returncode == 0 and len(lines) == len(argvs), batch.stderr[-3000:]
    return [subprocess.CompletedProcess(json.loads(argv), **json.loads(line)) for argv, line in zip(argvs, lines)]


def run_commands(name, commands, *, extra=lambda index: ()):
    """{tuple(args): its run} for each args of `commands`, `extra(index)` appended to the command line, all in one
    process (`run_pipelines`): for tests parametrized by the commands."""
    runs = run_pipelines(name, *([*args, *extra(index)] for index, args in enumerate(commands)))
    return dict(zip(map(tuple, commands), runs))


def assert_one_line_error(result, *fragments):
    """The process failed with a single line on stderr that contains each fragment, and no traceback."""
    assert result.returncode != 0, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip() and not _is_log(line)]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def _is_log(line):
    # TensorFlow's and absl's C++ logs that escape TF_CPP_MIN_LOG_LEVEL (they start with a severity and a date).
    return (line[:1] in "IWE" and line[1:5].isdigit()) or line.startswith("WARNING: All log messages before absl")
