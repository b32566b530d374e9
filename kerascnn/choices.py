"""The allowed values of the run's settings that the command line offers before any of the library loads.

Each list is written here once: the library validates against it and pipelines/flags.py offers it as a flag's
choices. This module imports nothing, so that `--help` does not wait for TensorFlow.
"""

# Keras' dtype policies a run trains in; "auto" picks by device (kerascnn.training.devices.choose_precision).
PRECISIONS = ("auto", "float32", "mixed_float16", "mixed_bfloat16")
# What an exported model computes in.
SERVING_PRECISIONS = ("float32", "bfloat16")
# tf.distribute strategies; "auto" picks by what the machine has (kerascnn.training.devices.make_strategy).
STRATEGIES = ("auto", "default", "mirrored", "multi_worker", "tpu")
# The strategies a search's trials may train with: each trial trains on this machine's devices.
TRIAL_STRATEGIES = ("auto", "default", "mirrored")
# keras-tuner's tuners (kerascnn.tuning.tuners.TUNERS) and the metrics a search may optimise.
TUNERS = ("random", "bayesian", "hyperband")
OBJECTIVES = ("val_accuracy", "val_loss", "val_top5_accuracy", "accuracy", "loss", "top5_accuracy")
