"""What the benchmark derives from its samples, and the settings it refuses."""

import re

import pytest

from kerascnn.benchmark import suite
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
    assert summarize([1.0])["spread"] == 0.0
