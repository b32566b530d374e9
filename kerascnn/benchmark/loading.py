"""What a server pays for a version before and while it answers: the time to load the SavedModel, the time to
its first answer, its resident memory once loaded, and its steady throughput and latency, ours (what the pusher
writes) against keras.applications' `model.export` of the same architecture where it has one.

Each SavedModel is loaded in a fresh Python process with plain TensorFlow (`tf.saved_model.load`, no kerascnn),
as TF Serving loads it, and the processes alternate (ours, theirs, theirs, ours, ...) so that a machine busy with
other work slows both alike. Load: `tf.saved_model.load`; first answer: one 224x224 (the model's size) uint8
image through `serving_default` right after (TF Serving's warm-up requests pay it at load); resident: the
process's resident memory after that answer, its peak so far, and both less what the process held after importing
TensorFlow (the model's own share); then `calls` single-image calls (latency, median) and `steps` batches of
`batch_size` (throughput, images per second). keras.applications' signature takes float32 images at the input
size, so its images are cast and nothing more (it is timed doing less than ours). Random weights in both:
loading and speed do not depend on them.
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from kerascnn.benchmark.candidates import COUNTERPARTS, OURS, THEIRS
from kerascnn.benchmark.probe import failure

# Run by `python -c` with the folder, the implementation and the sizes: plain TensorFlow, no kerascnn.
_CHILD = """
import json, sys, time
started = time.perf_counter()
folder, ours, size, channels, batch_size, calls, steps = json.loads(sys.argv[1])
def memory():
    fields = dict(line.split(":", 1) for line in open("/proc/self/status"))
    return {key: int(fields[key].split()[0]) / 1024 for key in ("VmRSS", "VmHWM")}
import numpy as np
import tensorflow as tf
imported = time.perf_counter()
base = memory()
loaded = tf.saved_model.load(folder)
signature = loaded.signatures["serving_default"]
load_s = time.perf_counter() - imported
rng = np.random.default_rng(0)
batch = rng.integers(0, 256, (batch_size, size, size, channels), dtype=np.uint8)
(name,) = signature.structured_input_signature[1]
dtype = signature.structured_input_signature[1][name].dtype
call = lambda images: signature(**{name: tf.cast(images, dtype)})
start = time.perf_counter()
call(batch[:1])
first_s = time.perf_counter() - start
after = memory()
print(json.dumps({
    "load_s": load_s, "first_answer_s": first_s, "resident_mib": after["VmRSS"], "peak_mib": after["VmHWM"],
    "model_resident_mib": after["VmRSS"] - base["VmRSS"], "import_s": imported - started,
}), flush=True)
call(batch[:1]); call(batch)
latencies = []
for _ in range(calls):
    start = time.perf_counter()
    call(batch[:1])
    latencies.append(time.perf_counter() - start)
start = time.perf_counter()
for _ in range(steps):
    call(batch)
rate = batch_size * steps / (time.perf_counter() - start)
print(json.dumps({"latency_ms": 1000 * float(np.median(latencies)), "throughput": rate}), flush=True)
"""


def export_theirs(model, folder, *, image_size, num_classes):
    """keras.applications' build of the same architecture (random weights), exported with `model.export`."""
    import keras

    builder = getattr(keras.applications, COUNTERPARTS[model])
    builder(weights=None, input_shape=(image_size, image_size, 3), classes=num_classes).export(folder, verbose=False)


def export_ours(model, folder, *, image_size, num_classes):
    """What the pusher writes for `model` (random weights, its paper recipe's evaluation transform)."""
    from kerascnn.benchmark.candidates import paper_config
    from kerascnn.registry import model_spec
    from kerascnn.serving.version import write_version
    from kerascnn.training.models import build_model, serving_model

    config = paper_config(model, batch_size=1, image_size=image_size)
    input_shape = (image_size, image_size, config.channels or model_spec(model).input_shape[2])
    trained = build_model(config, num_classes=num_classes, input_shape=input_shape, precision="float32")
    served = serving_model(trained, config, num_classes=num_classes, input_shape=input_shape)
    write_version(served, folder, config, class_names=[f"class{i}" for i in range(num_classes)])


def _child(folder, *, ours, image_size, channels, batch_size, calls, steps, timeout):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    arguments = json.dumps([str(folder), ours, image_size, channels, batch_size, calls, steps])
    try:
        process = subprocess.run(
            [sys.executable, "-c", _CHILD, arguments], env=env, capture_output=True, text=True, timeout=timeout
        )
        stdout, failed = process.stdout, process.returncode and failure(process)
    except subprocess.TimeoutExpired as expired:  # what it measured before the steady calls ran out of time
        stdout, failed = expired.stdout or "", None
        stdout = stdout.decode() if isinstance(stdout, bytes) else stdout
    parts = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    if failed and parts:  # what it measured before it failed (FCN-8s: the first answer, then its steady batch)
        first = parts[0]
        failed += f", after load {first['load_s']:.3g} s and a first answer in {first['first_answer_s']:.3g} s"
    if failed or not parts:
        return {"error": failed or f"no answer within {timeout} s"}
    # The steady latency and throughput are None where the time ran out before them.
    return {"latency_ms": None, "throughput": None, **parts[0], **(parts[1] if len(parts) > 1 else {})}


def measure_loading(
    model, *, image_size, num_classes, channels=3, repeats=2, batch_size=8, calls=10, steps=2, timeout=900, log=print
):
    """Load, first answer, resident memory and steady speed of our pushed version of `model` and (where it has
    one) keras.applications' export, each in `repeats` fresh processes alternating; a dict of plain values: per
    implementation, each measure's list over the repeats."""
    names = [OURS] + ([THEIRS] if model in COUNTERPARTS else [])
    runs = {name: [] for name in names}
    with tempfile.TemporaryDirectory(prefix="kerascnn-loading-") as temp:
        folders = {name: Path(temp) / name.replace(".", "_") for name in names}
        export_ours(model, folders[OURS], image_size=image_size, num_classes=num_classes)
        if THEIRS in names:
            export_theirs(model, str(folders[THEIRS]), image_size=image_size, num_classes=num_classes)
        sizes = {name: _folder_mib(folder) for name, folder in folders.items()}
        for repeat in range(repeats):
            for name in names if repeat % 2 == 0 else names[::-1]:
                log(f"{model}: loading {name} in a fresh process ({repeat + 1}/{repeats})")
                runs[name].append(
                    _child(
                        folders[name],
                        ours=name == OURS,
                        image_size=image_size,
                        channels=channels if name == OURS else 3,
                        batch_size=batch_size,
                        calls=calls,
                        steps=steps,
                        timeout=timeout,
                    )
                )
    result = {"model": model, "image_size": image_size, "batch_size": batch_size, "folder_mib": sizes}
    for name, measured in runs.items():
        errors = [run["error"] for run in measured if "error" in run]
        if errors:
            result[name] = {"error": errors[0]}
            continue
        result[name] = {key: [run[key] for run in measured] for key in measured[0]}
    return result


def _folder_mib(folder):
    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file()) / 2**20


def median(values):
    return float(np.median(values))
