"""The model a run trains: the registry's, compiled with the recipe's optimizer, loss and metrics."""

import contextlib

import keras

import kerascnn
from kerascnn.training.schedules import make_optimizer


@keras.saving.register_keras_serializable(package="kerascnn")
class AuxiliaryHeadsModel(keras.Model):
    """A functional model whose first output is the prediction and whose others are auxiliary heads (GoogLeNet):
    the loss is L(main) + aux_weight * sum L(aux) (Szegedy et al. 2015, Sec. 5: 0.3), the metrics are the main
    head's alone, so logs read `accuracy` and `val_accuracy` as for any other model."""

    def __init__(self, *args, aux_weight=0.3, **kwargs):
        super().__init__(*args, **kwargs)
        self.aux_weight = aux_weight

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        main, *auxiliary = y_pred
        loss = super().compute_loss(x, y, main, sample_weight, training)
        for aux in auxiliary:
            loss = loss + self.aux_weight * self._compile_loss(y, aux, sample_weight)
        return loss

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        return super().compute_metrics(x, y, y_pred[0], sample_weight)

    def get_config(self):
        return {**super().get_config(), "aux_weight": self.aux_weight}


@contextlib.contextmanager
def dtype_policy(name):
    """Builds layers under the global dtype policy `name`, and restores the previous one after."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def build_model(config, *, num_classes, input_shape, precision, options=None):
    """The registry's model for `config`, as the trainer trains it (GoogLeNet with its auxiliary heads)."""
    options = {**config.model_options, **(options or {})}
    with dtype_policy(precision):
        model = kerascnn.get_model(config.model, num_classes=num_classes, input_shape=input_shape, **options)
    if len(model.outputs) > 1:
        model = AuxiliaryHeadsModel(model.inputs, model.outputs, aux_weight=config.aux_loss_weight, name=model.name)
    return model


def compile_model(model, config, *, num_classes, base_rate, steps_per_epoch):
    """Compiles with the recipe's optimizer and schedule, cross-entropy, and top-1 / top-5 accuracy."""
    optimizer = make_optimizer(
        config.optimizer, base_rate=base_rate, steps_per_epoch=steps_per_epoch, epochs=config.epochs
    )
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=[
            keras.metrics.SparseCategoricalAccuracy(name="accuracy"),
            keras.metrics.SparseTopKCategoricalAccuracy(k=min(5, num_classes), name="top5_accuracy"),
        ],
        jit_compile=config.jit_compile,
        steps_per_execution=config.steps_per_execution,
    )
    return model
