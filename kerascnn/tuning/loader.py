"""The search's data: its dataset's splits, at the search's input size, for the processes that train trials."""

from kerascnn.data import load_splits
from kerascnn.tuning import roles


def load(run):
    """The splits of `run`'s dataset at its input size and channels, split by its seed, as pipelines.train loads
    them: every trial trains on these (a trial's own image size is applied by its input pipeline)."""
    return load_splits(run.config.data, run.input_shape[0], run.input_shape[2], seed=run.config.seed)


def initial_splits(run, role):
    """The splits a process of `role` starts the search with: None on a chief, which trains nothing (it loads them
    with `load` only to export the best trial)."""
    return load(run) if roles.trains(role) else None
