"""What the benchmark derives from its samples, the settings it refuses, and how a fresh process that failed is
reported."""

import re
import subprocess
import sys

import pytest

from kerascnn.benchmark import loading, probe, suite
from kerascnn.benchmark.candidates import OURS, THEIRS
from kerascnn.benchmark.throughput import summarize
from kerascnn.errors import UserError
from pipelines import flags


def _row(implementation, precision, jit, resolved, train, inference=(1.0, 1.0, 1.0)):
    return suite._summarized(
        {
            "implementation": implementation,
            "precision": precision,
            "jit_compile": jit,
            "resolved_precision": resolved[0],
            "resolved_jit_compile": resolved[1],
            "train": list(train),
            "inference": list(inference),
        }
    )


def test_comparison_is_the_median_of_per_repetition_ratios_per_setting():
    rows = [
        _row(OURS, "auto", "auto", ("float32", False), [10, 12, 9], [30, 33, 36]),
        _row(THEIRS, "auto", "auto", ("float32", False), [5, 12, 10], [30, 30, 30]),
        _row(OURS, "auto", True, ("float32", True), [4, 4, 4]),
    ]
    (only,) = suite._comparison(rows)  # the XLA setting has no keras.applications row
    assert only["train"]["samples"] == [2.0, 1.0, 0.9] and only["train"]["median"] == 1.0
    assert only["inference"]["median"] == pytest.approx(1.1)
    assert (only["resolved_precision"], only["resolved_jit_compile"]) == ("float32", False)


def test_auto_check_compares_with_what_resolves_to_something_else():
    rows = [
        _row(OURS, "auto", "auto", ("float32", False), [10, 10, 10]),
        _row(OURS, "float32", False, ("float32", False), [20, 20, 20]),  # the same as auto: not a rival
        _row(OURS, "mixed_bfloat16", "auto", ("mixed_bfloat16", False), [12, 12, 12]),
        _row(THEIRS, "mixed_bfloat16", "auto", ("mixed_bfloat16", False), [30, 30, 30]),  # not ours
    ]
    check = suite._auto_check(rows)
    assert check["auto_is_fastest"] is False
    assert check["fastest_other"] == {"precision": "mixed_bfloat16", "jit_compile": False}
    assert check["speedup_over_fastest_other"] == pytest.approx(10 / 12)
    assert suite._auto_check(rows[:2]) is None  # nothing different was timed


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"model": "resnet5O"}, "Unknown model 'resnet5O'"),
        ({"model": "lenet5", "compare": True}, "keras.applications has no lenet5"),
        ({"model": "vgg16", "image_sizes": (224, 16)}, "--image-size 16 is below vgg16's minimum of 32"),
        ({"model": "lenet5", "precisions": ("float64",)}, "--precision 'float64'"),
        ({"model": "lenet5", "serving_precisions": ("float16",)}, "--serving-precision 'float16' is not float32 or"),
        ({"model": "lenet5", "repeats": 0}, "--repeats must be at least 1"),
    ],
)
def test_bad_settings_are_one_line_user_errors(changes, message):
    """The library names the setting; the command line (pipelines.flags) says it as the flag typed."""
    with pytest.raises(UserError) as error:
        suite.validate(suite.Settings(**{"model": "lenet5", **changes}))
    assert "\n" not in str(error.value) and "--" not in str(error.value)
    assert re.search(message, flags.speak(error.value, flags.BENCHMARK))


def test_defaults_are_the_papers_size_and_dataset_classes():
    assert suite.validate(suite.Settings("VGG-16")).image_sizes == (224,)
    assert suite.validate(suite.Settings("vgg16")).num_classes == 1000
    assert suite.validate(suite.Settings("resnet20")).num_classes == 10
    # The segmentation models' papers' (PASCAL VOC's 21; U-Net's cells and background), not ImageNet's 1000.
    assert suite.validate(suite.Settings("fcn8s")).num_classes == 21
    assert suite.validate(suite.Settings("unet")).num_classes == 2
    assert summarize([1.0])["spread"] == 0.0


def _python(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)


def test_a_failed_process_is_its_error_not_tensorflows_log_after_it():
    # TensorFlow's C++ logs reach stderr at the error level whatever TF_CPP_MIN_LOG_LEVEL says, after the error.
    log = "E0000 00:00:1796649976.352192   30041 cuda_platform.cc:52] failed call to cuInit: UNKNOWN ERROR (303)"
    process = _python(f"import sys; sys.stderr.write('ValueError: no such signature\\n{log}\\n'); sys.exit(1)")
    assert probe.failure(process) == "ValueError: no such signature"


def test_a_process_the_kernel_killed_says_so():
    process = _python("import os, signal; os.kill(os.getpid(), signal.SIGKILL)")
    assert probe.failure(process) == "the process died of SIGKILL (out of memory?)"


def test_a_loading_process_killed_after_its_first_answer_keeps_what_it_measured(monkeypatch, tmp_path):
    # FCN-8s's served version at 500x500 answered one image, then its steady batch of 8 took the memory.
    first = '{"load_s": 12.5, "first_answer_s": 3.25, "resident_mib": 900, "peak_mib": 950}'
    child = f"import os, signal, sys; print({first!r}, flush=True); os.kill(os.getpid(), signal.SIGKILL)"
    monkeypatch.setattr(loading, "_CHILD", child)
    run = loading._child(tmp_path, ours=True, image_size=8, channels=3, batch_size=8, calls=1, steps=1, timeout=60)
    assert run == {
        "error": "the process died of SIGKILL (out of memory?), after load 12.5 s and a first answer in 3.25 s"
    }
