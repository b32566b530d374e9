"""One measurement point (a model, a batch size, an image size) in a fresh Python process.

A fresh process shows what a user waits for: the time from `python` starting to the end of the first training
step, and what it goes to (starting Python, importing TensorFlow, importing Keras and kerascnn, building the
data pipeline and its first batch, building and compiling the model, and the first step, which traces the
graph, optimises it, and with XLA compiles it). Its peak resident memory holds only what this point made. Then
each candidate (candidates.py) is built in the same process and their steps timed in alternation
(throughput.py).

Memory is the resident set of the whole process (TensorFlow's runtime, the data, the models). A candidate's rise
is its peak above what the process held before it was built; for the second and later candidates of a point it
can understate their needs, as they reuse memory that the earlier ones freed.
"""

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from kerascnn import registry
from kerascnn.benchmark import throughput
from kerascnn.benchmark.candidates import Candidate, build, paper_config
from kerascnn.benchmark.machine import peak_resident_mib, reset_peak, resident_mib
from kerascnn.data import load_splits, make_dataset

# A line of TensorFlow's (absl's) C++ logging: severity letter, MMDD, time, thread, file:line].
CPP_LOG = re.compile(r"^[IWEF]\d{4} [\d:.]+ +\d+ \S+:\d+\]|^WARNING: All log messages before absl")

# Run by `python -c`: the clock starts before TensorFlow is imported, so the imports are timed too.
_BOOT = """
import json, sys, time
started = time.time()
import tensorflow
tensorflow_imported = time.time()
import keras, kerascnn
kerascnn_imported = time.time()
from kerascnn.benchmark.probe import child
child(json.loads(sys.argv[1]), sys.argv[2], (started, tensorflow_imported, kerascnn_imported))
"""


def measure_point(point, *, timeout=None):
    """Runs `point` in a fresh process and returns its results, or {"error": "what went wrong"}.

    `point` is a dict: model, batch_size, image_size, num_classes, candidates (dicts of Candidate's fields),
    steps, warmup, repeats."""
    root = str(Path(__file__).resolve().parents[2])  # this checkout, not another installed copy
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with tempfile.TemporaryDirectory(prefix="kerascnn-benchmark-") as temp:
        out = Path(temp) / "result.json"
        launched = time.time()
        try:
            process = subprocess.run(
                [sys.executable, "-c", _BOOT, json.dumps(point), str(out)],
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            return {"error": f"stopped after {timeout} s"}
        if process.returncode != 0 or not out.exists():
            return {"error": failure(process)}
        result = json.loads(out.read_text())
    result["startup"]["python_start"] = result.pop("started") - launched
    return result


def failure(process):
    """One line for a child process that failed: the signal that killed it (the kernel's OOM killer sends
    SIGKILL), or the last line of its stderr that is not one of TensorFlow's C++ log lines (which
    TF_CPP_MIN_LOG_LEVEL does not silence at the error level: "E0000 00:00:... failed call to cuInit")."""
    if process.returncode < 0:
        name = signal.Signals(-process.returncode).name
        hint = " (out of memory?)" if name == "SIGKILL" else ""
        return f"the process died of {name}{hint}"
    lines = [line for line in process.stderr.splitlines() if line.strip() and not CPP_LOG.match(line)]
    return lines[-1] if lines else f"exit code {process.returncode}"


def child(point, out_path, marks):
    """The fresh process's side of `measure_point`; writes the results as JSON to `out_path`."""
    started, tensorflow_imported, kerascnn_imported = marks
    startup = {
        "import_tensorflow": tensorflow_imported - started,
        "import_keras_kerascnn": kerascnn_imported - tensorflow_imported,
    }
    size, batch_size, num_classes = point["image_size"], point["batch_size"], point["num_classes"]

    # The data pipeline as `python -m pipelines.train MODEL` builds it: the embedded shapes, the model's recipe.
    start = time.time()
    config = paper_config(point["model"], batch_size=batch_size, image_size=size)
    data = config.data.replace(dataset="shapes")
    input_shape = (size, size, registry.model_spec(point["model"]).input_shape[2])
    splits = load_splits(data, size, input_shape[2])
    stream = iter(
        make_dataset(
            splits.train,
            training=True,
            image_size=size,
            channels=input_shape[2],
            batch_size=batch_size,
            config=data,
            num_examples=splits.num_train,
            in_memory=splits.in_memory,
        )
    )
    next(stream)
    startup["data"] = time.time() - start

    timers, results = {}, []
    for index, fields in enumerate(point["candidates"]):
        candidate = Candidate(**fields)
        exact = reset_peak() and index == 0
        before = resident_mib()
        start = time.time()
        model, precision = build(candidate, config, num_classes=num_classes, input_shape=input_shape)
        built = time.time()
        timer = throughput.Timer(model, *throughput.fixed_batch(model, batch_size, num_classes))
        timer.train_steps(1, stream)  # the first step: traces, optimises (compiles) and runs
        first_step = time.time()
        timer.warm_up(point["warmup"])
        peak = peak_resident_mib()
        timers[index] = timer
        results.append(
            {
                **fields,
                "resolved_precision": precision,
                "resolved_jit_compile": bool(model.jit_compile),
                "build_s": built - start,
                "first_step_s": first_step - built,
                "peak_mib": peak,
                "rise_mib": peak - before,
                "memory_exact": exact,
            }
        )
    del stream  # no background data work while the steps are timed

    samples = throughput.alternate(timers, steps=point["steps"], repeats=point["repeats"])
    for index, result in enumerate(results):
        result.update(samples[index])
    startup.update(build=results[0]["build_s"], first_step=results[0]["first_step_s"])
    Path(out_path).write_text(json.dumps({"started": started, "startup": startup, "candidates": results}))
