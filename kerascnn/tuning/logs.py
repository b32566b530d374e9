"""A search's TensorBoard logs: each trial's in <tune-dir>/logs/<trial id>/execution0/, with its hyperparameters
for TensorBoard's HParams view.

One TensorBoard callback serves the whole search: keras-tuner gives each trial a copy whose log folder it moves
into the trial's own, and adds the callback that logs the trial's hyperparameters (on the TensorFlow backend).
"""

from pathlib import Path

import keras


def log_dir(tune_dir):
    """The folder of a search's TensorBoard logs (`tensorboard --logdir` it)."""
    return Path(tune_dir) / "logs"


def callbacks(tune_dir):
    """The callbacks every trial of the search in `tune_dir` gets: TensorBoard's epoch scalars, without weight
    histograms or the graph, which would cost each of many short trials time and space (pipelines.train writes
    them for the run it trains)."""
    return [keras.callbacks.TensorBoard(log_dir=str(log_dir(tune_dir)), histogram_freq=0, write_graph=False)]
