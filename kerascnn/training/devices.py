"""Where a run computes: the tf.distribute strategy and the mixed precision policy for the hardware at hand."""

import json
import os

import tensorflow as tf

from kerascnn.choices import PRECISIONS, STRATEGIES
from kerascnn.errors import Mention, UserError


def split_cpu(count):
    """Splits the CPU into `count` logical devices, so MirroredStrategy can be tried on a machine without GPUs.

    Must run before TensorFlow initialises its devices (before any op runs)."""
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)


def make_strategy(name="auto"):
    """The tf.distribute strategy for `name`.

    auto: a TPU if one is reachable, several workers if TF_CONFIG names a cluster, every GPU of this machine if it
    has more than one, else the default (one-device) strategy. mirrored: every GPU, or every logical CPU device
    where there is no GPU. multi_worker: MultiWorkerMirroredStrategy from TF_CONFIG (run the same command on each
    worker). tpu: TPUStrategy over the TPU the environment names.
    """
    if name not in STRATEGIES:
        raise UserError(
            Mention("strategy"), f" must be one of {', '.join(STRATEGIES)}, got {name!r}.", field="strategy"
        )
    if name == "auto":
        name = _auto_strategy()
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in gpus or tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices)
    if name == "multi_worker":
        if "TF_CONFIG" not in os.environ:
            raise UserError(
                Mention("strategy", "multi_worker"),
                " needs TF_CONFIG naming the cluster and this worker's task.",
                field="strategy",
            )
        return tf.distribute.MultiWorkerMirroredStrategy()
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, tf.errors.NotFoundError) as error:
        raise UserError(Mention("strategy", "tpu"), f": no TPU found ({error}).", field="strategy") from None
    return tf.distribute.TPUStrategy(resolver)


def _auto_strategy():
    if os.environ.get("TPU_NAME") or os.environ.get("COLAB_TPU_ADDR"):
        return "tpu"
    cluster = json.loads(os.environ.get("TF_CONFIG", "{}")).get("cluster", {})
    if sum(len(tasks) for tasks in cluster.values()) > 1:
        return "multi_worker"
    return "mirrored" if len(tf.config.list_physical_devices("GPU")) > 1 else "default"


def choose_precision(name="auto", strategy=None):
    """The Keras dtype policy name for `name`.

    auto: mixed_float16 on GPUs of compute capability 7.0 or more (tensor cores), mixed_bfloat16 on TPUs, float32
    otherwise. On a CPU, float32 is the fastest choice unless the CPU computes bfloat16 natively (AVX512_BF16 or
    AMX): measured with pipelines.benchmark, mixed_bfloat16 trains ResNet-50 2.2 times slower than float32 without
    those instructions, and AlexNet, ResNet-50 and VGG-16 1.3 to 1.9 times faster with them
    (benchmarks/cpu-2core.md). auto keeps float32 on every CPU so that a run's numerics do not depend on the CPU
    it, or its resumption, lands on; pass mixed_bfloat16 to take the speed.
    float16 has no fast CPU kernels at all.
    """
    if name not in PRECISIONS:
        raise UserError(
            Mention("precision"), f" must be one of {', '.join(PRECISIONS)}, got {name!r}.", field="precision"
        )
    if name != "auto":
        return name
    if isinstance(strategy, tf.distribute.TPUStrategy):
        return "mixed_bfloat16"
    gpus = tf.config.list_physical_devices("GPU")
    capabilities = [tf.config.experimental.get_device_details(g).get("compute_capability", (0, 0)) for g in gpus]
    if gpus and min(capabilities) >= (7, 0):
        return "mixed_float16"
    return "float32"


def is_chief(strategy):
    """Whether this process writes the run's files: always, except on the non-chief workers of a cluster."""
    return strategy.extended.should_checkpoint
