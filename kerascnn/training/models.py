"""The model a run trains: the registry's, compiled with the recipe's optimizer, loss and metrics."""

import keras
import numpy as np
import tensorflow as tf

from kerascnn import registry
from kerascnn.analysis.folding import fold_batch_norms
from kerascnn.compat import FirstReplicaBuild
from kerascnn.data.dense import mirror_pad
from kerascnn.policy import dtype_policy
from kerascnn.training.schedules import coupled, l2_penalty, make_optimizer


@keras.saving.register_keras_serializable(package="kerascnn")
class TrainingModel(FirstReplicaBuild, keras.Model):
    """The functional model a run trains, with two fixes for training across machines.

    Keras 3.15's `fit` under MultiWorkerMirroredStrategy (TF 2.21) fails twice, where MirroredStrategy works:
    - before the first step it averages the first batch across replicas with one `strategy.reduce` of the whole
      (images, labels) structure, only to learn its shapes, and that reduce fails on a structure: the shapes are
      read from this worker's first replica instead (kerascnn.compat.FirstReplicaBuild: a private hook);
    - after each step it averages every log with `strategy.reduce("MEAN", log, axis=0)`, which fails on a scalar:
      the steps return each log as a vector of one (the public train_step and test_step).

    Its loss also carries the papers' coupled weight decay, `weight_decay` / 2 x the squared norm of the decayed
    weights (0 unless compile_model sets it from the recipe), so the logged training loss includes that term, as
    it does with Keras' kernel regularizers; the validation loss does not (nor did Caffe's test loss).
    """

    weight_decay = 0.0  # the coupled L2 coefficient, set by compile_model

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        loss = super().compute_loss(x, y, y_pred, sample_weight, training)
        if self.weight_decay and training:
            loss = loss + l2_penalty(self.trainable_weights, self.weight_decay)
        return loss

    def _multi_worker(self):
        return isinstance(self.distribute_strategy, tf.distribute.MultiWorkerMirroredStrategy)

    def train_step(self, data):
        return self._vector_logs(super().train_step(data))

    def test_step(self, data):
        return self._vector_logs(super().test_step(data))

    def _vector_logs(self, logs):
        if not self._multi_worker():
            return logs
        return keras.tree.map_structure(lambda log: keras.ops.reshape(log, (1,)), logs)


@keras.saving.register_keras_serializable(package="kerascnn")
class AuxiliaryHeadsModel(TrainingModel):
    """A functional model whose first output is the prediction and whose others are auxiliary heads (GoogLeNet):
    the loss is L(main) + aux_weight * sum L(aux) (Szegedy et al. 2015, Sec. 5: 0.3), the metrics are the main
    head's alone, so logs read `accuracy` and `val_accuracy` as for any other model.

    Public API only: the main loss is Keras' `compute_loss`, each auxiliary one the compiled loss (`self.loss`)
    weighted. A three-output compile with `loss_weights=[1, 0.3, 0.3]` would need every batch's labels three
    times, (y, y, y), and would name every metric by its output (`predictions_accuracy`)."""

    def __init__(self, *args, aux_weight=0.3, **kwargs):
        super().__init__(*args, **kwargs)
        self.aux_weight = aux_weight

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        main, *auxiliary = y_pred
        loss = super().compute_loss(x, y, main, sample_weight, training)
        for aux in auxiliary:
            loss = loss + self.aux_weight * self.loss(y, aux, sample_weight)
        return loss

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        return super().compute_metrics(x, y, y_pred[0], sample_weight)

    def get_config(self):
        return {**super().get_config(), "aux_weight": self.aux_weight}


@keras.saving.register_keras_serializable(package="kerascnn")
class MirrorPad2D(keras.layers.Layer):
    """Images [B, H, W, C] -> [B, H + 2 margin, W + 2 margin, C] mirrored about their borders
    (kerascnn.data.dense.mirror_pad): what a model that loses `margin` pixels a side (U-Net) is fed, so that its
    output has the image's size (Ronneberger et al. 2015, the overlap-tile strategy)."""

    def __init__(self, margin, **kwargs):
        super().__init__(**kwargs)
        self.margin = int(margin)

    def call(self, images):
        return mirror_pad(images, self.margin)

    def compute_output_shape(self, input_shape):
        grow = lambda side: None if side is None else side + 2 * self.margin
        return (input_shape[0], grow(input_shape[1]), grow(input_shape[2]), input_shape[3])

    def get_config(self):
        return {**super().get_config(), "margin": self.margin}


def build_model(config, *, num_classes, input_shape, precision, options=None, pretrained=False):
    """The registry's model for `config`, as the trainer trains it (GoogLeNet with its auxiliary heads); with
    `pretrained`, the config's weights loaded (the layers they leave new are listed in `model.new_layers`)."""
    options = {**config.model_options, **(options or {})}
    margin = registry.model_spec(config.model).output_margin
    if pretrained and config.weights:
        options["weights"] = config.weights
    # The wrapper is built under the policy too: Keras adds loss scaling when the model's own policy is
    # mixed_float16.
    with dtype_policy(precision):
        padded = (input_shape[0] + 2 * margin, input_shape[1] + 2 * margin, input_shape[2])
        model = registry.get_model(config.model, num_classes=num_classes, input_shape=padded, **options)
        new_layers = tuple(getattr(model, "new_layers", ()))
        if margin:
            # The one place a run's images (training, evaluation, export) are mirror-padded for a model with an
            # output margin: its output then has the input_shape's size, as the masks and the serving graph want.
            images = keras.Input(input_shape, name="images")
            model = keras.Model(images, model(MirrorPad2D(margin, name="mirror_pad")(images)), name=model.name)
        if len(model.outputs) > 1:
            wrapped = AuxiliaryHeadsModel(
                model.inputs, model.outputs, aux_weight=config.aux_loss_weight, name=model.name
            )
        else:
            wrapped = TrainingModel(model.inputs, model.outputs, name=model.name)
        wrapped.new_layers = new_layers
        return wrapped


def freeze_backbone(model, frozen):
    """Phase one of fine-tuning (Keras' transfer-learning guide): with `frozen`, only the layers the pretrained
    weights left new train, and every other layer is frozen, its BN in inference mode (Keras runs a BN layer
    with trainable=False so); without, every layer trains. Recompile after."""
    new = set(model.new_layers) or {"predictions"}  # weights with their own classifier: train that one
    # A layer the model itself fixes (FCN's bilinear upsampling) stays fixed in both phases.
    if getattr(model, "fixed_layers", None) is None:
        model.fixed_layers = frozenset(layer.name for layer in model.layers if not layer.trainable)
    fixed = model.fixed_layers
    for layer in model.layers:
        layer.trainable = (not frozen or layer.name in new) and layer.name not in fixed


def compile_model(model, config, *, num_classes, base_rate, steps_per_epoch):
    """Compiles with the recipe's optimizer and schedule, cross-entropy, and top-1 / top-5 accuracy; with the
    recipe's coupled weight decay, the loss carries its L2 term (TrainingModel.weight_decay)."""
    model.weight_decay = config.optimizer.weight_decay if coupled(config.optimizer) else 0.0
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


# The Keras dtype policy the served model computes in, for each `serving_precision`.
SERVING_POLICIES = {"float32": "float32", "bfloat16": "mixed_bfloat16"}


def serving_model(trained, config, *, num_classes, input_shape):
    """A copy of `trained` for inference in `config.serving_precision`: the registry's model with the main head
    only (GoogLeNet's auxiliary heads are left out) and the trained weights in float32, matched by layer name, its
    batch normalisations folded into the convolutions before them (kerascnn.analysis.fold_batch_norms)."""
    model = build_model(
        config,
        num_classes=num_classes,
        input_shape=input_shape,
        precision=SERVING_POLICIES[config.serving_precision],
        options={"aux_classifiers": False} if "aux_classifiers" in config.model_options else None,
    )
    for layer in model.layers:
        layer.set_weights([np.asarray(w, dtype=np.float32) for w in trained.get_layer(layer.name).get_weights()])
    return fold_batch_norms(model)
