"""The trainer: Keras `fit` under a tf.distribute strategy, resumable from the run's last checkpoint.

Running the same command again after an interruption (Ctrl-C, SIGTERM, a killed process, a lost machine)
continues from the last checkpoint with the optimizer state, the random-number state and the data stream where
they were, so the result equals that of an uninterrupted run (exactly so with `deterministic`).
"""

import dataclasses
import json
import sys
import warnings

import keras

from kerascnn.analysis.callbacks import FilterImagesCallback, GradCamImagesCallback
from kerascnn.data import eval_transform, make_datasets, steps_per_epoch
from kerascnn.errors import Mention, UserError
from kerascnn.io import write_atomic
from kerascnn.training.callbacks import (
    BestWeights,
    Checkpointing,
    NonFiniteLoss,
    StopSignals,
    TrainingMonitor,
    WeightHistograms,
    write_input_grid,
    write_model_graph,
)
from kerascnn.training.checkpoints import CheckpointStore, pointed
from kerascnn.training.models import build_model, compile_model, freeze_backbone
from kerascnn.training.schedules import current_learning_rate, uses_schedule
from kerascnn.training.segmentation import BLESSING_METRIC, MaskImages, compile_segmentation


def fit(run, splits, *, log=print):
    """Builds, compiles and trains the model on `splits`, resuming from the run's last checkpoint.

    With pretrained `weights`, in two phases (config.fine_tune): the new head alone for `head_epochs` with the
    backbone frozen, then the whole network at `rate_factor` times the rate, each with its own optimizer (as
    Keras' transfer-learning guide recompiles); a checkpoint records its phase, so resuming picks the right one.

    Returns the trained model (compiled, in the run's precision) and the history of its epochs."""
    run = batch_for_data(run, splits.num_train, log)
    steps = steps_per_epoch(splits.num_train, run.global_batch)
    run = executions_within_epochs(run, steps, log)
    config = run.config
    store = CheckpointStore(run.checkpoint_dir, keep=config.keep_checkpoints, best_dir=run.run_dir / "best")
    head_epochs = min(config.fine_tune.head_epochs, config.epochs) if config.weights else 0
    recovering = 0
    while True:
        last = _last_state(store)
        phase = last.get("phase") or ("head" if head_epochs else "full")
        with run.strategy.scope():
            model = build_model(
                config,
                num_classes=splits.num_classes,
                input_shape=run.input_shape,
                precision=run.precision,
                pretrained=True,
            )
            # A recovered run keeps its lowered rate: a schedule is rebuilt from the scaled base rate...
            lr_scale = last.get("lr_scale", 1.0)
            _compile_phase(model, config, phase, splits.num_classes, run.base_rate * lr_scale, steps, run.task)
            state = store.restore(model) or {"epoch": 0, "step": 0}
            if recovering and not uses_schedule(model.optimizer):
                # ...and a constant (or plateau) rate, a variable the checkpoint restored, is lowered in place.
                model.optimizer.learning_rate = current_learning_rate(model.optimizer) * config.recover_factor
        try:
            if phase == "head":
                history = _fit_from(run, model, splits, store, state, steps, log, until=head_epochs, phase="head")
                factor = config.fine_tune.rate_factor
                log(f"Fine-tuning: the whole network from epoch {head_epochs + 1}, rate x {factor:g}.")
                with run.strategy.scope():
                    _compile_phase(model, config, "full", splits.num_classes, run.base_rate * lr_scale, steps, run.task)
                state = {"epoch": head_epochs, "step": 0, "history": history, "lr_scale": lr_scale}
            return model, _fit_from(run, model, splits, store, state, steps, log, until=config.epochs, phase="full")
        except NonFiniteLoss as error:
            if config.on_nan != "recover" or recovering >= config.max_recoveries or not store.checkpoints():
                raise UserError(
                    f"Training stopped: {error}. The checkpoints before it are intact; lower the learning rate "
                    "(optimizer.learning_rate), or pass ",
                    Mention("on_nan", "recover"),
                    " to go back to the last checkpoint with a lower rate, and rerun.",
                    field="on_nan",
                ) from None
            recovering += 1
            _update_last_state(store, lr_scale=lr_scale * config.recover_factor)
            log(f"Recovering from {error}: back to the last checkpoint, learning rate x {config.recover_factor:g}.")


def _compile_phase(model, config, phase, num_classes, base_rate, steps, task="classification"):
    """Freezes the backbone for the head phase of fine-tuning (or unfreezes it), and compiles with its rate."""
    if config.weights:
        freeze_backbone(model, frozen=phase == "head")
        if phase == "full":
            base_rate *= config.fine_tune.rate_factor
    compile_ = compile_segmentation if task == "segmentation" else compile_model
    compile_(model, config, num_classes=num_classes, base_rate=base_rate, steps_per_epoch=steps)


def _last_state(store):
    checkpoints = store.checkpoints()
    try:
        return json.loads((checkpoints[-1][2] / "state.json").read_text()) if checkpoints else {}
    except (OSError, ValueError):
        return {}


def _update_last_state(store, **changes):
    path = store.checkpoints()[-1][2] / "state.json"
    state = {**json.loads(path.read_text()), **changes}
    write_atomic(path, json.dumps(state, indent=2))


def executions_within_epochs(run, steps, log=print):
    """`run`, with `steps_per_execution` lowered to `execution_steps` of it, saying so when it changes."""
    requested = run.config.steps_per_execution
    chosen = execution_steps(requested, steps)
    if chosen == requested:
        return run
    log(f"{steps} steps an epoch: {chosen} steps an execution (the largest divisor not above {requested}).")
    return dataclasses.replace(run, config=dataclasses.replace(run.config, steps_per_execution=chosen))


def execution_steps(requested, steps):
    """The largest divisor of an epoch's `steps` not above the `requested` steps an execution.

    Keras runs whole executions: on the pipeline's endless stream, an epoch of 1,687 steps at 16 steps an execution
    would train 1,696 batches, nine of them the next epoch's, so that epochs, checkpoints and resumed runs no
    longer line up with the stream (measured). A divisor keeps every execution inside its epoch."""
    return max(n for n in range(1, min(requested, steps) + 1) if steps % n == 0)


def batch_for_data(run, num_train, log=print):
    """`run`, with its global batch capped at the training images when they are fewer (people fine-tune on a few
    dozen images): the largest batch the replicas can share, the learning rate scaled by the recipe's linear rule
    (`Run.base_rate`). Deterministic in `num_train`, so a resumed run caps the same way."""
    if num_train >= run.global_batch:
        return run
    per_replica = num_train // run.replicas
    if per_replica < 1:
        raise UserError(
            f"The training split has {num_train} images, fewer than the {run.replicas} replicas; add images.",
            field="data.dataset",
        )
    capped = dataclasses.replace(
        run, config=dataclasses.replace(run.config, batch_size=per_replica, global_batch_size=None)
    )
    log(
        f"The training split has {num_train} images, fewer than one global batch of {run.global_batch}: training "
        f"with batches of {capped.global_batch} and the learning rate scaled to match, {capped.base_rate:.4g}."
    )
    return capped


def _fit_from(run, model, splits, store, state, steps, log, *, until, phase="full"):
    """Trains from the checkpointed `state` up to epoch `until`."""
    config = run.config
    epoch, step = state["epoch"], state["step"]
    history = list(state.get("history", []))
    if epoch >= until:
        if until == config.epochs:
            log(f"{run.run_dir} already holds {epoch} trained epochs; raise epochs to train further.")
        return history
    if "path" in state:  # restored from a checkpoint (not the switch between fine-tuning's phases)
        log(f"Resuming {run.run_dir} at epoch {epoch + 1}, step {step} ({state['path']}).")
    if step % config.steps_per_execution:
        raise UserError(
            f"{run.run_dir}'s last checkpoint is at step {step} of an epoch, inside an execution of "
            f"{config.steps_per_execution} steps; resume with steps_per_execution set to a divisor of {step}.",
            field="steps_per_execution",
        )
    elif config.on_nan == "recover" and not store.checkpoints():
        model.optimizer.build(model.trainable_variables)  # its state belongs in the checkpoint too
        store.save(model, epoch=0, step=0, history=[], lr_scale=1.0)  # something to go back to from the start

    plateau = None
    if config.optimizer.schedule == "plateau":
        plateau = keras.callbacks.ReduceLROnPlateau(
            monitor="val_loss", factor=config.optimizer.gamma, patience=config.optimizer.patience, verbose=1
        )
        for name, value in state.get("plateau", {}).items():
            setattr(plateau, name, value)

    def remember():
        extra = {"history": history, "lr_scale": state.get("lr_scale", 1.0), "model_name": config.model}
        if config.weights:
            extra["phase"] = phase
        if plateau is not None:
            extra["plateau"] = {k: float(getattr(plateau, k)) for k in ("best", "wait", "cooldown_counter")}
        return extra

    class Record(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            history.append({"epoch": epoch + 1, **{k: float(v) for k, v in (logs or {}).items()}})

    verbose = 1 if sys.stdout.isatty() else 2
    with StopSignals() as stop:
        while epoch < until:
            train, val = run_datasets(run, splits, initial_epoch=epoch)
            if step:
                train = train.skip(step)  # the stream is deterministic: these are the batches already trained on
            elif epoch == 0 and run.chief:
                write_model_graph(run.run_dir / "logs", model)
                if config.image_summaries:
                    images, _ = next(iter(train.take(1)))
                    images = images[..., ::-1] if config.data.bgr and images.shape[-1] == 3 else images
                    stats = config.data.normalization_stats(run.input_shape[2])
                    stats = tuple(s[::-1] for s in stats) if config.data.bgr else stats
                    write_input_grid(run.run_dir / "logs", images, *stats)
            callbacks = [
                TrainingMonitor(run.global_batch),
                Record(),
                *([plateau] if plateau is not None else []),
                *_writers(run, splits),
                Checkpointing(
                    store,
                    stop=stop,
                    state=remember,
                    steps_per_epoch=steps,
                    first_step=step,
                    every_steps=config.checkpoint_every,
                    loss_upper_bound=config.loss_upper_bound,
                ),
            ]
            model.fit(
                train,
                validation_data=val,
                initial_epoch=epoch,
                epochs=epoch + 1 if step else until,
                steps_per_epoch=steps - step,
                callbacks=callbacks,
                verbose=verbose,
                shuffle=False,  # the stream is shuffled, per epoch, by its seed
            )
            epoch, step = (epoch + 1, 0) if step else (until, 0)
    return history


def _writers(run, splits):
    """The callbacks that write files only the chief writes: TensorBoard, the CSV log, the best weights, and with
    `filter_images` the first layer's filters and feature maps of the first validation image, with
    `explain_images` the Grad-CAM of the first eight."""
    if not run.chief:
        return []
    config = run.config
    logs = run.run_dir / "logs"
    callbacks = [
        keras.callbacks.TensorBoard(log_dir=str(logs), write_graph=True, profile_batch=config.profile_batches or 0),
        WeightHistograms(logs, freq=config.histogram_freq),
        keras.callbacks.CSVLogger(str(run.run_dir / "training.csv"), append=True),
        BestWeights(
            run.run_dir / "best",
            checkpoint_dir=run.checkpoint_dir,  # the best epoch's own checkpoint, not a copy of it
            **({"monitor": BLESSING_METRIC} if run.task == "segmentation" else {}),
        ),
    ]
    if run.task == "segmentation" and config.image_summaries:
        callbacks.append(MaskImages(logs, splits.val, run.input_shape[0], run.input_shape[2], config.data))
    if config.filter_images:
        image = next(iter(splits.val.take(1)))[0]
        image = eval_transform(image, run.input_shape[0], run.input_shape[2], config.data)
        callbacks.append(FilterImagesCallback(str(logs / "filters"), image.numpy()))
    if config.explain_images:
        shape = run.input_shape
        batch = [eval_transform(x, shape[0], shape[2], config.data).numpy() for x, *_ in splits.val.take(8)]
        callbacks.append(GradCamImagesCallback(str(logs / "explain"), batch))
    return callbacks


def run_datasets(run, splits, *, initial_epoch):
    """The (train, validation) datasets of `run` from `splits`, the training one resumed at `initial_epoch`'s
    shuffle: the run's input size and channels, its global batch, its data config and seed."""
    return make_datasets(
        splits,
        image_size=run.input_shape[0],
        channels=run.input_shape[2],
        batch_size=run.global_batch,
        config=run.config.data,
        seed=run.config.seed,
        initial_epoch=initial_epoch,
    )


def load_best(run, model):
    """Loads the weights of the run's best epoch (by validation accuracy, or mean IoU) into `model`."""
    best = run.run_dir / "best"
    checkpoint = pointed(best)
    path = checkpoint / "model.weights.h5" if checkpoint else best / "model.weights.h5"
    if not path.exists():
        raise UserError(
            f"{path} does not exist: no epoch was evaluated (or its checkpoint was removed); use ",
            Mention("export_weights", "final"),
            ".",
            field="export_weights",
        )
    with warnings.catch_warnings():
        # The checkpoint holds the optimizer of its phase too; only the layers' weights are wanted here.
        warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
        model.load_weights(path)
