"""The machine description and the memory readings of the benchmark."""

import os
import sys

import numpy as np
import pytest

from kerascnn.benchmark import machine


def test_description_names_the_hardware_and_the_versions():
    import keras
    import tensorflow as tf

    described = machine.describe_machine()
    assert described["cores"] == os.cpu_count() and described["cpu"]
    assert described["tensorflow"] == tf.__version__ and described["keras"] == keras.__version__
    # One name for each GPU TensorFlow sees (none on a CPU machine), and the summary says which.
    assert len(described["gpus"]) == len(tf.config.list_physical_devices("GPU"))
    assert all(isinstance(g, str) and g for g in described["gpus"])
    assert set(described["cpu_features"]) <= set(machine.FEATURES)
    if sys.platform.startswith("linux"):
        with open("/proc/cpuinfo") as f:
            assert ("avx512_bf16" in f.read()) == ("avx512_bf16" in described["cpu_features"])
    line = machine.summary_line(described)
    assert f"{described['cores']} cores" in line and f"TensorFlow {tf.__version__}" in line
    assert all(g in line for g in described["gpus"]) and ("no GPU" in line) == (not described["gpus"])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="resident memory is read from /proc")
def test_peak_rises_by_what_was_touched_and_resets():
    assert machine.reset_peak()
    before = machine.resident_mib()
    block = np.ones(200 * 2**20 // 8)  # 200 MiB, every page written
    peak = machine.peak_resident_mib()
    assert peak - before >= 190
    del block
    assert machine.reset_peak()
    assert machine.peak_resident_mib() < peak - 150  # the peak now starts from what is resident
