"""A run: what it computes on (strategy, precision, replicas), where it writes, and the config it keeps.

`prepare(config)` sets up devices, precision and seeds and the run folder; a rerun of the same command finds the
same folder and resumes there, and a rerun with another config is refused rather than mixed in.
"""

import dataclasses
import json
import os
from pathlib import Path

import keras
import tensorflow as tf

from kerascnn.errors import Mention, UserError
from kerascnn.io import write_atomic
from kerascnn.registry import checked_model
from kerascnn.training import config as config_lib
from kerascnn.training.checkpoints import CheckpointStore
from kerascnn.training.devices import choose_precision, is_chief, make_strategy


@dataclasses.dataclass
class Run:
    """What a run computes on and where it writes; see `prepare`."""

    config: config_lib.RunConfig
    strategy: tf.distribute.Strategy
    precision: str
    chief: bool
    run_dir: Path
    input_shape: tuple[int, int, int]
    task: str = "classification"  # the registry's (ModelSpec.task): what the run trains, evaluates and exports

    @property
    def replicas(self):
        return self.strategy.num_replicas_in_sync

    @property
    def global_batch(self):
        return self.config.global_batch_size or self.config.batch_size * self.replicas

    @property
    def base_rate(self):
        """The recipe's learning rate, scaled linearly from its reference batch to the global batch."""
        optimizer = self.config.optimizer
        return optimizer.learning_rate * self.global_batch / optimizer.reference_batch

    @property
    def checkpoint_dir(self):
        # On a cluster each worker keeps its own checkpoints (workers need not share a file system); the
        # chief's are the run's.
        if self.chief:
            return self.run_dir / "checkpoints"
        task = self.strategy.cluster_resolver
        return self.run_dir / f"worker-{task.task_type}-{task.task_id}" / "checkpoints"


# Folder names that say which split a folder is, not what it holds: a run on DATA/train is named after DATA.
SPLIT_NAMES = ("train", "training", "val", "valid", "validation", "test", "images")


def default_run_dir(config):
    """runs/<model>-<dataset>: the dataset's name, or its folder's (with its parent's where the folder is named
    for a split, "fashion-train")."""
    dataset = config.data.dataset
    if os.sep in dataset or Path(dataset).is_dir():
        path = Path(dataset).resolve()
        dataset = f"{path.parent.name}-{path.name}" if path.name.lower() in SPLIT_NAMES else path.name
    slug = "".join(c if c.isalnum() or c in "-_." else "_" for c in dataset)
    return Path("runs") / f"{config.model}-{slug}"


def prepare(config, *, record=True):
    """Sets up devices, precision and seeds, and the run folder; refuses to resume a run of another config.

    With `record=False` (a stage that trains nothing: the evaluator, the pusher), the run folder is neither
    written nor checked."""
    if config.deterministic:
        tf.config.experimental.enable_op_determinism()
    keras.utils.set_random_seed(config.seed)
    strategy = make_strategy(config.strategy)
    spec = checked_model(config.model, [config.image_size])
    size = config.image_size or spec.image_size  # a model with an output margin sees it mirror-padded
    input_shape = (size, size, config.channels or spec.input_shape[2])
    for name, folder in (("output_dir", config.output_dir), ("run_dir", config.run_dir)):
        if folder and Path(folder).exists() and not Path(folder).is_dir():
            raise UserError(
                Mention(name),
                f" {folder} is a file, not a folder: give a folder (it is created if missing).",
                field=name,
            )
    run = Run(
        config=config,
        strategy=strategy,
        precision=choose_precision(config.precision, strategy),
        chief=is_chief(strategy),
        run_dir=Path(config.run_dir or default_run_dir(config)),
        input_shape=input_shape,
        task=spec.task,
    )
    if config.global_batch_size and config.global_batch_size % run.replicas:
        raise UserError(
            Mention("global_batch_size"),
            f" {config.global_batch_size} does not divide among {run.replicas} replicas; use a multiple of "
            f"{run.replicas}, or ",
            Mention("batch_size"),
            " for the batch of each replica.",
            field="global_batch_size",
        )
    if record:
        _record_config(run)
    return run


def _record_config(run):
    """Writes the resolved config to <run-dir>/config.json, or checks a resumed run's matches it."""
    path = run.run_dir / "config.json"
    fingerprint = config_lib.fingerprint(run.config)
    # A folder without a checkpoint holds nothing to protect (a run that failed before its first step): its
    # config is replaced. A fingerprint that differs only in fields a resumption may change is not another run,
    # nor one made before a field was added (fingerprint.changes compares the record field by field).
    if path.exists() and CheckpointStore(run.checkpoint_dir).checkpoints():
        recorded = json.loads(path.read_text())
        if recorded.get("fingerprint_version", 1) != config_lib.FINGERPRINT_VERSION:
            raise UserError(
                f"{run.run_dir} holds a run made by an older kerascnn, whose settings train another way; give another ",
                Mention("run_dir"),
                " to start a new run, or remove that folder.",
                field="run_dir",
            )
        changed = config_lib.changes(recorded.get("config", {}), run.config)
        if recorded.get("fingerprint") != fingerprint and changed:
            raise UserError(
                f"{run.run_dir} holds a run with another config ({', '.join(changed[:3])}); "
                "rerun with its settings to resume it, or give another ",
                Mention("run_dir"),
                " to start a new run.",
                field="run_dir",
            )
    if not run.chief:
        return
    run.run_dir.mkdir(parents=True, exist_ok=True)
    resolved = {
        "fingerprint": fingerprint,
        "fingerprint_version": config_lib.FINGERPRINT_VERSION,
        "precision": run.precision,
        "replicas": run.replicas,
        "global_batch": run.global_batch,
        "learning_rate": run.base_rate,
        "input_shape": list(run.input_shape),
        "config": config_lib.to_dict(run.config),
    }
    write_atomic(path, json.dumps(resolved, indent=2, default=str))


def describe(run):
    """One line on what the run computes with."""
    device = (
        "TPU"
        if isinstance(run.strategy, tf.distribute.TPUStrategy)
        else (f"{len(tf.config.list_physical_devices('GPU'))} GPU" if tf.config.list_physical_devices("GPU") else "CPU")
    )
    return (
        f"{run.config.model} on {device}: {run.replicas} replica(s), {run.precision}, global batch "
        f"{run.global_batch}, learning rate {run.base_rate:g}"
    )
