"""Hostile requests to a pushed version, as a client nobody vets would send them: each is sent to the SavedModel
loaded with plain TensorFlow (no kerascnn) in a subprocess whose address space is capped a little above what the
loaded and warmed-up model uses, so that decoding any of the bombs would fail there. Each must end in its expected
InvalidArgument (or its answer), with the process alive and under its limit. The same process then decodes one of
the bombs and the many-frame GIF without the guard, to show the cap is tight enough that the test can fail."""

import json
import pickle

import keras
import numpy as np
import pytest
from harness import environment, record
from hostile import at_limit, bmp, encode, gif, jpeg, png, png_text_bomb, small, webp_extended, webp_lossless
from serving_helpers import run_without_kerascnn

from kerascnn.data import DataConfig
from kerascnn.serving import serving_limits, serving_transform, serving_transform_bytes
from kerascnn.serving.export import write_saved_model

LIMIT = serving_limits(DataConfig())[0]  # the default a push exports with (kerascnn.serving.SERVING_MAX_PIXELS)
MARGIN = 256 * 2**20  # the cap above the loaded model's address space: under the 400 MB of the PNG bomb decoded
# What a request may cost. Half the cap, because TensorFlow can survive running into the cap (giflib drops the
# frames it cannot allocate and the answer still comes): reaching it is a failure of the guard all the same.
BUDGET = MARGIN // 2

# Run where kerascnn cannot be imported (serving_helpers.run_without_kerascnn), as the two scripts below.
SERVER = """
import json, pickle, resource, time
import numpy as np, tensorflow as tf

def status(key):  # kB in /proc/self/status
    return int(next(l for l in open("/proc/self/status") if l.startswith(key + ":")).split()[1]) * 1024

model = tf.saved_model.load(sys.argv[1])
cases, margin = pickle.load(open(sys.argv[2], "rb")), int(sys.argv[3])
calls = {"bytes": lambda x: model.signatures["serving_bytes"](image_bytes=tf.constant(x, tf.string)),
         "images": lambda x: model.signatures["serving_default"](images=tf.constant(x, tf.uint8))}
# Warm-up: every path a request takes runs once (kernels, thread pools, allocator arenas exist) before the cap.
for name, signature, payload, _ in cases:
    if name.startswith("valid"):
        calls[signature](payload)
# TensorFlow reserves far more address space than it touches (thread stacks, arenas), so the cap is relative to the
# size measured now, not absolute: a decode that needs more than `margin` new bytes fails with ResourceExhausted.
base = status("VmSize")
resource.setrlimit(resource.RLIMIT_AS, (base + margin, base + margin))
print(json.dumps({"base_vm": base, "base_rss": status("VmRSS"), "startup_s": time.process_time()}), flush=True)
for name, signature, payload, _ in cases:
    start = time.monotonic()
    try:
        out = calls[signature](payload)["probabilities"].numpy()
        result = {"outcome": "ok", "shape": list(out.shape)}
    except tf.errors.OpError as error:
        result = {"outcome": type(error).__name__, "message": error.message[-400:]}
    seconds = round(time.monotonic() - start, 2)
    print(json.dumps({"case": name, **result, "seconds": seconds, "vm_peak": status("VmPeak")}), flush=True)
print(json.dumps({"done": True, "vm_peak": status("VmPeak"), "rss_peak": status("VmHWM")}), flush=True)
# Unguarded, the same bombs: each must fail under the same cap (the process may also die of it: that too is failing).
unguarded = {"decode_png": lambda: tf.io.decode_png(bomb),
             "decode_image_first_frame": lambda: tf.io.decode_image(frames, expand_animations=False)}
bomb, frames = (next(p[0] for n, _, p, _ in cases if n == key) for key in ("bomb PNG", "animated GIF 1500 frames"))
for name, run in unguarded.items():
    start = time.monotonic()
    try:
        outcome = str(run().shape)
    except (tf.errors.OpError, MemoryError) as error:
        outcome = type(error).__name__
    seconds = round(time.monotonic() - start, 2)
    print(json.dumps({"unguarded": name, "outcome": outcome, "vm_peak": status("VmPeak"), "seconds": seconds}))
"""


def _refused(*words):
    return ("InvalidArgumentError", words)


OK = ("ok", ())


def cases():
    """(name, fault-table group, signature, payload, (outcome, words the message must hold))."""
    over = f"over the serving limit of {LIMIT} pixels"
    table = [
        ("valid JPEG", "valid", "bytes", [small("JPEG")], OK),
        ("valid PNG", "valid", "bytes", [small("PNG")], OK),
        ("valid GIF", "valid", "bytes", [small("GIF")], OK),
        ("valid BMP", "valid", "bytes", [small("BMP")], OK),
        ("valid WebP", "valid", "bytes", [small("WEBP")], OK),
        ("valid images", "valid", "images", np.zeros((2, 40, 30, 3), np.uint8), OK),
        ("bomb PNG", "bomb", "bytes", [png(20_000, 20_000, bit_depth=1)], _refused("20000x20000", over)),
        ("bomb JPEG", "bomb", "bytes", [jpeg(60_000, 60_000)], _refused("60000x60000", over)),
        ("bomb GIF screen", "bomb", "bytes", [gif((65_535, 65_535), side=8)], _refused("65535x65535", over)),
        ("bomb GIF frame", "bomb", "bytes", [gif((8, 8), frame=(65_535, 65_535), side=8)], _refused("65535x65535")),
        ("bomb WebP VP8L", "bomb", "bytes", [webp_lossless(16_384, 16_384)], _refused("16384x16384", over)),
        ("bomb WebP VP8X", "bomb", "bytes", [webp_extended(20_000, 20_000)], _refused("20000x20000", over)),
        ("bomb BMP top-down", "bomb", "bytes", [bmp(30_000, -30_000)], _refused("30000x30000", over)),
        ("PNG with a 512 MB zTXt chunk", "text", "bytes", [png_text_bomb(512)], OK),
        ("animated GIF 1500 frames", "animation", "bytes", [gif((1000, 1000), frames=1500)], OK),
        ("animated WebP", "animation", "bytes", [webp_extended(64, 64, animated=True)], _refused("animated WebP")),
        ("batch over its total", "batch", "bytes", [png(3000, 3000, bit_depth=1)] * 12, _refused("batch of 12")),
        ("empty batch of bytes", "empty", "bytes", [], OK),
        ("empty batch of images", "empty", "images", np.zeros((0, 8, 8, 3), np.uint8), OK),
        ("empty string", "unsupported", "bytes", [b""], _refused("not a JPEG, PNG, GIF, BMP or WebP")),
        ("garbage bytes", "unsupported", "bytes", [bytes(range(256)) * 4], _refused("not a JPEG")),
        ("TIFF", "unsupported", "bytes", [encode(np.zeros((8, 8), np.uint8), "TIFF")], _refused("not a JPEG")),
        (
            "BMP with an OS/2 header",
            "unsupported",
            "bytes",
            [b"BM" + bytes(12) + b"\x0c" + bytes(40)],
            _refused("OS/2"),
        ),
        ("zero-sized PNG", "zero", "bytes", [png(0, 10)], _refused("0x10", "zero width or height")),
        ("zero-sized GIF", "zero", "bytes", [gif((0, 10), frame=(4, 4), side=4)], _refused("zero width or height")),
        ("zero-sized BMP", "zero", "bytes", [bmp(0, 10)], _refused("0x10", "zero width or height")),
        ("zero-sized JPEG", "zero", "bytes", [jpeg(0, 10)], _refused()),
        ("zero-sized images", "zero", "images", np.zeros((1, 0, 8, 3), np.uint8), _refused("8x0", "zero width")),
        ("5-channel images", "channels", "images", np.zeros((1, 8, 8, 5), np.uint8), _refused("5 channels")),
        ("0-channel images", "channels", "images", np.zeros((1, 8, 8, 0), np.uint8), _refused("0 channels")),
    ]
    rng = np.random.default_rng(0)
    for fmt in ("JPEG", "PNG", "GIF", "BMP", "WEBP"):
        data = small(fmt)
        noise = rng.integers(0, 256, len(data), dtype=np.uint8).tobytes()
        table += [
            (f"truncated {fmt} header", "truncated", "bytes", [data[:10]], _refused()),
            (f"truncated {fmt} data", "truncated", "bytes", [data[: len(data) // 2]], _refused()),
            (f"corrupt {fmt}", "corrupt", "bytes", [data[:12] + noise], _refused()),
        ]
    return table


GROUPS = {
    "valid": "served model, valid JPEG/PNG/GIF/BMP/WebP and arrays: answered",
    "bomb": "served model, decompression bombs (PNG, JPEG, GIF, WebP, BMP): refused",
    "text": "served model, PNG whose zTXt chunk inflates to 512 MB: answered, libpng caps it",
    "animation": "served model, 1500-frame GIF (first frame only), animated WebP (refused)",
    "batch": "served model, batch of images under the limit, over it in all: refused",
    "empty": "served model, empty batches: empty answer",
    "unsupported": "served model, empty string, garbage, TIFF, OS/2 BMP: refused",
    "zero": "served model, zero width or height (bytes and arrays): refused",
    "channels": "served model, arrays of 0 or 5 channels: refused",
    "truncated": "served model, truncated files of each format: refused",
    "corrupt": "served model, corrupt files of each format: refused",
}


@pytest.fixture(scope="module")
def version(tmp_path_factory):
    """A LeNet-5 version exported as a push does, with the default limits."""
    folder = tmp_path_factory.mktemp("served") / "1"
    layers = [keras.layers.Conv2D(2, 5), keras.layers.Flatten(), keras.layers.Dense(3, activation="softmax")]
    model = keras.Sequential([keras.Input((32, 32, 1)), *layers])  # smaller than LeNet-5: the graph is the point
    config = DataConfig()
    max_pixels, max_batch_pixels = serving_limits(config)
    write_saved_model(
        model,
        folder,
        class_names=["a", "b", "c"],
        model_name="lenet5",
        limits={"max_image_pixels": max_pixels, "max_batch_pixels": max_batch_pixels},
        preprocess_images=lambda images: serving_transform(images, 32, 1, config),
        preprocess_bytes=lambda encoded: serving_transform_bytes(encoded, 32, 1, config),
    )
    return folder


def test_hostile_requests_are_refused_without_taking_the_server_down(version, tmp_path):
    table = cases()
    with open(tmp_path / "cases.pkl", "wb") as f:
        pickle.dump([(name, signature, payload, None) for name, _, signature, payload, _ in table], f)
    env = environment(MALLOC_ARENA_MAX="2")  # glibc's per-thread arenas would reserve 64 MB each under the cap
    result = run_without_kerascnn(SERVER, version, tmp_path / "cases.pkl", MARGIN, env=env, timeout=300)
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    print(*lines, sep="\n")  # the measurements, shown with -s
    assert lines and "base_vm" in lines[0], result.stderr[-3000:]
    outcomes = {line["case"]: line for line in lines if "case" in line}
    finished = any(line.get("done") for line in lines)
    failures = []
    for name, group, _, payload, (outcome, words) in table:
        got = outcomes.get(name, {"outcome": "process died"})
        survived = got["outcome"] == outcome and all(w in got.get("message", "") for w in words)
        survived &= finished and got.get("vm_peak", 2**62) <= lines[0]["base_vm"] + BUDGET
        if outcome == "ok":
            expected_rows = 0 if name.startswith("empty") else len(payload)
            survived &= got.get("shape") == [expected_rows, 3]
        record(GROUPS[group], survived)
        if not survived:
            failures.append((name, got))
    assert not failures, failures
    done = next(line for line in lines if line.get("done"))
    assert done["vm_peak"] <= lines[0]["base_vm"] + BUDGET
    # The cap is tight enough: without the guard, the PNG bomb fails under it; the many-frame GIF, even asked for
    # its first frame alone (tf.io.decode_image(expand_animations=False) decompresses every frame), runs into it
    # (giflib gives up on the frames it cannot allocate). Dying of either would be failing too.
    unguarded = {line["unguarded"]: line for line in lines if "unguarded" in line}
    assert unguarded.get("decode_png", {}).get("outcome", "died") == "ResourceExhaustedError", unguarded
    frames = unguarded.get("decode_image_first_frame", {"vm_peak": 2**62})
    assert frames["vm_peak"] > lines[0]["base_vm"] + MARGIN - 32 * 2**20, (unguarded, lines[0])


# What one request within the limits may add to the server's peak resident memory.
REQUEST_BUDGET = 300 * 2**20
FORMATS_AT_LIMIT = ("PNG", "GIF", "BMP", "WEBP")

MEASURE = """
import json, pickle
import tensorflow as tf

def status(key):  # kB in /proc/self/status
    return int(next(l for l in open("/proc/self/status") if l.startswith(key + ":")).split()[1]) * 1024

model = tf.saved_model.load(sys.argv[1])
# Each request is a tensor before it is measured, as a server holds it once parsed: what is measured is what the
# graph adds (tf.constant of Python bytes alone peaks at four times their size).
cases = [(name, tf.constant(payload, tf.string)) for name, payload in pickle.load(open(sys.argv[2], "rb"))]
serve = lambda x: model.signatures["serving_bytes"](image_bytes=x)["probabilities"].numpy()
for _, payload in cases[:1]:  # warm-up: the graph's kernels and thread pools exist before anything is measured
    serve(payload)
for name, payload in cases:
    before = status("VmRSS")
    open("/proc/self/clear_refs", "w").write("5")  # the peak (VmHWM) starts again from the present size
    shape = serve(payload).shape
    print(json.dumps({"case": name, "shape": list(shape), "rise": status("VmHWM") - before}), flush=True)
"""


@pytest.mark.slow
@pytest.mark.parametrize("channels", [1, 3])
def test_a_request_at_the_limit_costs_what_the_model_needs_not_the_image(tmp_path, channels):
    """Each format at the default serving limit, in the mode that decodes to the most bytes, sent alone to the
    served graph loaded with plain TensorFlow: the process's peak resident memory (VmHWM, reset before each
    request) rises by at most REQUEST_BUDGET. A model of 1 channel converts the image to gray first, of 3 to RGB."""
    limit = serving_limits(DataConfig())[0]
    folder = tmp_path / "1"
    model = keras.Sequential([keras.Input((32, 32, channels)), keras.layers.Flatten(), keras.layers.Dense(3)])
    config = DataConfig()
    write_saved_model(
        model,
        folder,
        class_names=["a", "b", "c"],
        model_name="tiny",
        limits={"max_image_pixels": limit, "max_batch_pixels": limit},
        preprocess_images=lambda images: serving_transform(images, 32, channels, config),
        preprocess_bytes=lambda encoded: serving_transform_bytes(encoded, 32, channels, config),
    )
    table = [("small PNG", [small("PNG")])] + [(f"{f} at the limit", [at_limit(f, limit)]) for f in FORMATS_AT_LIMIT]
    with open(tmp_path / "cases.pkl", "wb") as f:
        pickle.dump(table, f)
    result = run_without_kerascnn(MEASURE, folder, tmp_path / "cases.pkl", env=environment())
    lines = {line["case"]: line for line in map(json.loads, filter(None, result.stdout.splitlines()))}
    print(*lines.values(), sep="\n")  # the measurements, shown with -s
    assert len(lines) == len(table), result.stderr[-3000:]
    for name, line in lines.items():
        assert line["shape"] == [1, 3], line
        assert line["rise"] <= REQUEST_BUDGET, f"{name}: {line['rise'] / 2**20:.0f} MB"


@pytest.mark.slow
def test_a_segmentation_request_at_the_limit_costs_what_the_model_needs_not_the_image(tmp_path):
    """The same for a segmentation version (kerascnn.serving.dense_export), which answers each pixel's class and
    score at the request's size: the mask of a request at the limit is 4096 x 4096, and the class probabilities it
    comes from ([4096, 4096, 21] float32, 1.4 GB) are never held whole (kerascnn.serving.masks), so the rise is the
    answer's own int32 classes and float32 scores (64 MB each), its bands gathered once (5 bytes a pixel, held twice
    for a moment), and, on the first large request, glibc's heap growing by about 100 MB that it keeps for the
    next: within REQUEST_BUDGET (measured on 2 Zen 2 cores: about 255 MB first, 150 to 160 MB after)."""
    from kerascnn.serving.dense_export import write_segmentation_saved_model

    limit = serving_limits(DataConfig())[0]
    folder = tmp_path / "1"
    model = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Conv2D(21, 1, activation="softmax")])
    write_segmentation_saved_model(
        model, folder, class_names=[f"c{i}" for i in range(21)], data_config=DataConfig(), model_name="tiny"
    )
    table = [("small PNG", [small("PNG")])] + [(f"{f} at the limit", [at_limit(f, limit)]) for f in FORMATS_AT_LIMIT]
    with open(tmp_path / "cases.pkl", "wb") as f:
        pickle.dump(table, f)
    measure = MEASURE.replace('["probabilities"]', '["classes"]')
    result = run_without_kerascnn(measure, folder, tmp_path / "cases.pkl", env=environment())
    lines = {line["case"]: line for line in map(json.loads, filter(None, result.stdout.splitlines()))}
    print(*lines.values(), sep="\n")  # the measurements, shown with -s
    assert len(lines) == len(table), result.stderr[-3000:]
    side = int(limit**0.5)
    for name, line in lines.items():
        assert line["shape"] == ([1, side, side] if "limit" in name else line["shape"]), line
        assert line["rise"] <= REQUEST_BUDGET, f"{name}: {line['rise'] / 2**20:.0f} MB"
