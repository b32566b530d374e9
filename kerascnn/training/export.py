"""The SavedModel that TensorFlow Serving loads as it is (the pusher's payload).

Two signatures, both returning `probabilities` (float32 [batch, classes]) and the top-k `classes` (int32),
`scores` (float32) and `class_names` (string):
- `serving_default` takes `images`, uint8 [batch, height, width, channels] of any size and channel count; the
  resize, crop and normalisation of the evaluation transform run inside the graph;
- `serving_bytes` takes `image_bytes`, encoded JPEG, PNG, GIF (first frame), BMP or WebP strings [batch] (TF
  Serving's REST API accepts them as {"b64": ...}), decoded and transformed one by one inside the graph.
Both refuse hostile requests inside the graph before decoding or resizing anything (kerascnn.data.serving_guard):
an image declaring more than `max_image_pixels` pixels, a batch declaring more than `max_batch_pixels` in all, an
unknown format, a truncated header, a zero side, a channel count other than 1 to 4; each an InvalidArgument that
names the limit and the declared size. The limits are recorded in `assets.extra/serving.json`.
The model is rebuilt for the export, whatever precision trained it: in float32 (the default; the served
probabilities equal the trained model's to float rounding) or, with `serving_precision="bfloat16"`, computing in
bfloat16 (`mixed_bfloat16`: float32 weights and softmax, bfloat16 convolutions; about twice the throughput on
CPUs with AVX512_BF16 or AMX and on GPUs, with probabilities within about 0.02 of float32's, and slower where
the CPU has no bfloat16 instructions). Its batch normalisations are folded into the convolutions
(kerascnn.analysis.fold_batch_norms), and its weights are constants of the graph, not variables
(`inference_function`). It holds no XLA must-compile function (see GroupedConv2D), so the folder loads with plain
TensorFlow: no kerascnn, no custom objects.
Beside the graph: `assets/labels.txt` (one class name a line) and `assets.extra/tf_serving_warmup_requests`
(PredictionLog records TF Serving replays before it answers, so the first user request is not the slow one).
"""

import io
import json
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from PIL import Image
from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2

from kerascnn import registry
from kerascnn import weights as weights_lib
from kerascnn.analysis.folding import fold_batch_norms
from kerascnn.data import serving_limits, serving_transform, serving_transform_bytes
from kerascnn.data.serving_guard import FORMATS, MAX_CHANNELS
from kerascnn.registry import checked_model
from kerascnn.training.models import build_model

TOP_K = 5
# The Keras dtype policy the served model computes in, for each `serving_precision`.
SERVING_POLICIES = {"float32": "float32", "bfloat16": "mixed_bfloat16"}
# Up to this many bytes of weights, the served graph holds them as constants (inference_function); a SavedModel's
# graph is one protocol buffer, which cannot pass 2 GiB, so above it they stay variables.
CONSTANT_WEIGHTS_LIMIT = 1 << 30


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


def constant_weights(model):
    """Whether the served graph of `model` holds its weights as constants (inference_function)."""
    return sum(np.asarray(v).nbytes for v in model.variables) <= CONSTANT_WEIGHTS_LIMIT


def inference_function(model):
    """`model`'s inference-mode forward pass as one concrete function of float32 [batch, height, width, channels],
    which both serving signatures call (so the graph holds one copy of it).

    The weights are constants of the graph, not variables (up to CONSTANT_WEIGHTS_LIMIT bytes): oneDNN, which
    runs TensorFlow's convolutions on CPUs, reorders a constant filter into its blocked layout once and keeps it,
    where a variable's filter is reordered at every request, and the graph optimiser folds whatever depends on
    weights alone (bfloat16 casts, grouped convolutions' kernel splits) once at load. Single-image latency is the
    gain: ResNet-50's bfloat16 export answered in 0.84 of keras.applications' time with variables, 0.53 with
    constants, in a side experiment (benchmarks/cpu-2core.md; pipelines.benchmark --serving measures it). The values are
    `model.stateless_call`'s: the same layers, the same arithmetic."""
    spec = tf.TensorSpec([None, *model.input_shape[1:]], tf.float32)
    if not constant_weights(model):
        return tf.function(lambda inputs: model(inputs, training=False)).get_concrete_function(spec)
    trainable = [np.asarray(v) for v in model.trainable_variables]
    non_trainable = [np.asarray(v) for v in model.non_trainable_variables]

    def forward(inputs):
        # Made inside the function, so that they are constants of its graph, not captured tensors.
        values = [tf.constant(a) for a in trainable], [tf.constant(a) for a in non_trainable]
        outputs, _ = model.stateless_call(*values, inputs, training=False)
        return outputs

    # A concrete function, traced once here: a tf.function would be traced again when the SavedModel is written,
    # and the graph would hold the weights twice.
    return tf.function(forward).get_concrete_function(spec)


def write_saved_model(
    model, folder, *, class_names, preprocess_images, preprocess_bytes, model_name, limits, warmup_image=None
):
    """Exports `model` (serving_model's) with the two serving signatures, labels and warm-up requests into `folder`.

    Args:
        preprocess_images: uint8 images [batch, h, w, c] -> the model's float input [batch, S, S, C].
        preprocess_bytes: encoded images [batch] -> the model's float input [batch, S, S, C].
        Both in TensorFlow ops only (kerascnn.data.serving_transform and serving_transform_bytes), so the graph
        needs no Python to run.
        limits: {"max_image_pixels": ..., "max_batch_pixels": ...}, the limits the two preprocess functions enforce
            (kerascnn.data.serving_limits), written to assets.extra/serving.json for whoever runs the server.
        warmup_image: a uint8 [h, w, c] example for the warm-up requests (defaults to mid-grey at the input size).
    """
    labels = tf.constant(list(class_names))
    k = min(TOP_K, len(class_names))
    forward = inference_function(model)

    def predict(inputs):
        probabilities = tf.cast(forward(inputs), tf.float32)
        top = tf.math.top_k(probabilities, k=k)
        return {
            "probabilities": probabilities,
            "classes": tf.cast(top.indices, tf.int32),
            "scores": top.values,
            "class_names": tf.gather(labels, top.indices),
        }

    @tf.function(input_signature=[tf.TensorSpec([None, None, None, None], tf.uint8, name="images")])
    def serve_images(images):
        return predict(preprocess_images(images))

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="image_bytes")])
    def serve_bytes(image_bytes):
        return predict(preprocess_bytes(image_bytes))

    write_archive(
        model,
        folder,
        {"serving_default": serve_images, "serving_bytes": serve_bytes},
        class_names=class_names,
        model_name=model_name,
        limits=limits,
        warmup_image=warmup_image,
    )


def write_archive(model, folder, endpoints, *, class_names, model_name, limits, warmup_image=None):
    """The SavedModel of `model` with `endpoints` (signature name -> tf.function, calling `model` through
    `inference_function`) and what TF Serving reads beside it: assets/labels.txt, the warm-up requests (of
    `warmup_image`, uint8 [h, w, c], default mid-grey at the model's input size) and the serving limits and
    precision. Classifiers and segmentation models (dense_export.py) both write their versions through it."""
    if warmup_image is None:
        warmup_image = np.full(model.input_shape[1:], 128, np.uint8)
    constants = constant_weights(model)
    archive = keras.export.ExportArchive()
    if not constants:
        archive.track(model)  # the endpoints read its variables
    for name, function in endpoints.items():
        archive.add_endpoint(name, function)
    archive.write_out(str(folder), verbose=False)

    folder = Path(folder)
    (folder / "assets").mkdir(exist_ok=True)
    (folder / "assets" / "labels.txt").write_text("".join(f"{name}\n" for name in class_names), encoding="utf-8")
    write_warmup_requests(folder, model_name, warmup_image)
    # The layers', not the model's: fold_batch_norms' clone is a model of the default policy around them.
    precision = "bfloat16" if any(layer.compute_dtype == "bfloat16" for layer in model.layers) else "float32"
    weights = "constants" if constants else "variables"
    write_serving_limits(folder, {**limits, "precision": precision, "weights": weights})


def write_serving_limits(folder, limits):
    """assets.extra/serving.json: what a request may be, as the graph enforces it, and how the graph computes."""
    about = {
        **limits,
        "image_bytes_formats": list(FORMATS),
        "animations": "GIF: the first frame only; animated WebP refused",
        "images_channels": [1, MAX_CHANNELS],
    }
    extra = Path(folder) / "assets.extra"
    extra.mkdir(exist_ok=True)
    (extra / "serving.json").write_text(json.dumps(about, indent=2, sort_keys=True))


def _encode_png(image):
    buffer = io.BytesIO()
    Image.fromarray(image.squeeze(-1) if image.shape[-1] == 1 else image).save(buffer, format="PNG")
    return buffer.getvalue()


def write_warmup_requests(folder, model_name, image):
    """assets.extra/tf_serving_warmup_requests: one PredictRequest for each signature, as TF Serving expects
    (https://www.tensorflow.org/tfx/serving/saved_model_warmup)."""
    extra = Path(folder) / "assets.extra"
    extra.mkdir(exist_ok=True)
    requests = {
        "serving_default": {"images": tf.make_tensor_proto(image[np.newaxis], dtype=tf.uint8)},
        "serving_bytes": {"image_bytes": tf.make_tensor_proto([_encode_png(image)], dtype=tf.string)},
    }
    with tf.io.TFRecordWriter(str(extra / "tf_serving_warmup_requests")) as writer:
        for signature, inputs in requests.items():
            request = predict_pb2.PredictRequest(
                model_spec=model_pb2.ModelSpec(name=model_name, signature_name=signature)
            )
            for key, proto in inputs.items():
                request.inputs[key].CopyFrom(proto)
            log = prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request))
            writer.write(log.SerializeToString())


def write_metrics(folder, metrics):
    extra = Path(folder) / "assets.extra"
    extra.mkdir(exist_ok=True)
    (extra / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True))


def push_pretrained(config, *, log=print):
    """Pushes `config.model` with its pretrained `config.weights`, untrained, as the next version under
    `config.output_dir`: the 1000 ImageNet classes in labels.txt, the weights' own preprocessing (the config's
    data.normalization, which kerascnn.training.config.resolve takes from the weights) in the graph, everything
    else as the trainer's export. Returns the new version's path."""
    from kerascnn.training.push import push  # here: push.py imports this module

    spec = checked_model(config.model, [config.image_size])
    size = config.image_size or spec.input_shape[0]
    input_shape = (size, size, config.channels or spec.input_shape[2])
    options = {**config.model_options, "aux_classifiers": False} if spec.family == "googlenet" else config.model_options
    pretrained = registry.get_model(config.model, weights=config.weights, input_shape=input_shape, **options)
    log(f"{config.model} with {config.weights} weights ({config.data.normalization} preprocessing).")
    model = serving_model(pretrained, config, num_classes=pretrained.output_shape[-1], input_shape=input_shape)

    max_pixels, max_batch_pixels = serving_limits(
        config.data, config.serving_max_pixels, config.serving_max_batch_pixels
    )
    limits = {"max_image_pixels": max_pixels, "max_batch_pixels": max_batch_pixels}
    limits_kw = {"max_pixels": max_pixels, "max_batch_pixels": max_batch_pixels}
    channels = input_shape[2]

    def write(folder):
        write_saved_model(
            model,
            folder,
            class_names=weights_lib.imagenet_classes(),
            model_name=config.model,
            limits=limits,
            preprocess_images=lambda images: serving_transform(images, size, channels, config.data, **limits_kw),
            preprocess_bytes=lambda encoded: serving_transform_bytes(encoded, size, channels, config.data, **limits_kw),
        )

    about = {
        "model": config.model,
        "input_shape": list(input_shape),
        "weights": config.weights,
        "normalization": config.data.normalization,
        "serving_precision": config.serving_precision,
        "dataset": "imagenet (the published weights, served untrained)",
    }
    return push(config.output_dir, config.model, write, about)
