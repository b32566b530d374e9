"""What a measurement ran on: the CPU, its cores and memory, any GPU, and the software versions.

Numbers mean little without the machine beside them, and a loaded machine (another process using the cores) gives
slower numbers than an idle one: the load average at the start is recorded for that reason.
"""

import os
import platform
import resource
import sys

import keras


def describe_machine():
    """A dict of plain values describing this machine and its TensorFlow and Keras."""
    import tensorflow as tf  # here, not above: backends.py takes `cpu_model` on machines without TensorFlow

    gpus = tf.config.list_physical_devices("GPU")
    return {
        "cpu": cpu_model(),
        "cpu_features": cpu_features(),
        "cores": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "gpus": [tf.config.experimental.get_device_details(g).get("device_name", g.name) for g in gpus],
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "os": platform.platform(),
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "keras_backend": keras.backend.backend(),
        "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default (on)"),
        "onednn_max_cpu_isa": os.environ.get("ONEDNN_MAX_CPU_ISA", "default (all)"),
    }


def cpu_model():
    """The CPU's marketing name, from /proc/cpuinfo on Linux, else what `platform` knows."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


# The instruction sets that decide which precision is fastest: bfloat16 is native only with AVX512_BF16 or AMX.
FEATURES = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_bf16", "amx_tile")


def cpu_features():
    """Which of FEATURES the CPU has (Linux's /proc/cpuinfo flags; empty elsewhere)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return [feature for feature in FEATURES if feature in flags]
    except OSError:
        pass
    return []


def summary_line(machine):
    """One line for a report's header."""
    gpus = ", ".join(machine["gpus"]) or "no GPU"
    features = " ".join(machine.get("cpu_features", ())) or "unknown"
    if not machine.get("onednn_max_cpu_isa", "default").startswith("default"):
        features += f"; oneDNN limited to {machine['onednn_max_cpu_isa']}"
    return (
        f"{machine['cpu']} ({features}), {machine['cores']} cores, {machine['memory_gib']} GiB, {gpus}; TensorFlow "
        f"{machine['tensorflow']}, Keras {machine['keras']} ({machine['keras_backend']}), Python "
        f"{machine['python']}; load average {machine['load_average'][0]} at the start"
    )


# Memory: what the process holds (resident set size), and the most it has held.


def resident_mib():
    """This process's resident memory now, in MiB (Linux; 0 where /proc is missing)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return 0.0


def peak_resident_mib():
    """The most resident memory this process has held since it started (or since `reset_peak`), in MiB."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB elsewhere


def reset_peak():
    """Lowers the recorded peak to the present resident memory, where Linux allows it; returns whether it did.

    Writing 5 to /proc/self/clear_refs resets VmHWM (Linux 4.0+); elsewhere the peak stays the process's own."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False
