"""The SavedModel that TensorFlow Serving loads as it is (the pusher's payload).

Two signatures, both returning `probabilities` (float32 [batch, classes]) and the top-k `classes` (int32),
`scores` (float32) and `class_names` (string):
- `serving_default` takes `images`, uint8 [batch, height, width, channels] of any size and channel count; the
  resize, crop and normalisation of the evaluation transform run inside the graph;
- `serving_bytes` takes `image_bytes`, encoded JPEG, PNG, GIF (first frame), BMP or WebP strings [batch] (TF
  Serving's REST API accepts them as {"b64": ...}), decoded and transformed one by one inside the graph.
Both refuse hostile requests inside the graph before decoding or resizing anything (kerascnn.serving.guard):
an image declaring more than `max_image_pixels` pixels, a batch declaring more than `max_batch_pixels` in all, an
unknown format, a truncated header, a zero side, a channel count other than 1 to 4; each an InvalidArgument that
names the limit and the declared size. The limits are recorded in `assets.extra/serving.json`.
The model is rebuilt for the export, whatever precision trained it: in float32 (the default; the served
probabilities equal the trained model's to float rounding) or, with `serving_precision="bfloat16"`, computing in
bfloat16 (`mixed_bfloat16`: float32 weights and softmax, bfloat16 convolutions; about twice the throughput on
CPUs with AVX512_BF16 or AMX and on GPUs, with probabilities within about 0.02 of float32's, and slower where
the CPU has no bfloat16 instructions). Its batch normalisations are folded into the convolutions
(kerascnn.training.models.serving_model); its weights are variables (`inference_function` says why). It
holds no XLA must-compile function (see GroupedConv2D), so the folder loads with plain TensorFlow: no kerascnn,
no custom objects.
A classifier's version also has the `explain` and `explain_class` signatures: Grad-CAM computed in the graph
(kerascnn.serving.explain).
Beside the graph: `assets/labels.txt` (one class name a line) and `assets.extra/tf_serving_warmup_requests`
(PredictionLog records TF Serving replays before it answers, so the first user request is not the slow one).
"""

import io
import json
from pathlib import Path

import numpy as np
import tensorflow as tf
from PIL import Image
from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2

from kerascnn.serving.explain import explain_endpoints
from kerascnn.serving.guard import FORMATS, MAX_CHANNELS

TOP_K = 5


def inference_function(model):
    """`model`'s inference-mode forward pass as one concrete function of float32 [batch, height, width, channels],
    which both serving signatures call (so the graph holds one copy of it).

    The weights are variables of the SavedModel, read at each request, not constants of the graph: with constants,
    oneDNN reorders each convolution filter once at load instead of at every request, but a loaded ResNet-50 then
    held 2.1 GB more than its weights and answered its first request after 19 s, VGG-16 after 45 s (the graph
    optimiser and the runtime copy every constant); with variables the load is what keras.applications'
    `model.export` costs (docs/serving.md has the measurements and `pipelines.benchmark --serving` makes them)."""
    spec = tf.TensorSpec([None, *model.input_shape[1:]], tf.float32)
    return tf.function(lambda inputs: model(inputs, training=False)).get_concrete_function(spec)


def write_saved_model(
    model,
    folder,
    *,
    class_names,
    preprocess_images,
    preprocess_bytes,
    model_name,
    limits,
    warmup_image=None,
    explain_resize=None,
    explain_pad=0,
):
    """Exports `model` (kerascnn.training.models.serving_model's) with the two serving signatures, labels and
    warm-up requests into `folder`.

    Args:
        preprocess_images: uint8 images [batch, h, w, c] -> the model's float input [batch, S, S, C].
        preprocess_bytes: encoded images [batch] -> the model's float input [batch, S, S, C].
        Both in TensorFlow ops only (kerascnn.serving.serving_transform and serving_transform_bytes), so the graph
        needs no Python to run.
        limits: {"max_image_pixels": ..., "max_batch_pixels": ...}, the limits the two preprocess functions enforce
            (kerascnn.serving.serving_limits), written to assets.extra/serving.json for whoever runs the server.
        warmup_image: a uint8 [h, w, c] example for the warm-up requests (defaults to mid-grey at the input size).
        explain_resize: the shorter side preprocess_images resizes to before its centre crop; given, the version
            also has the `explain` signatures (kerascnn.serving.explain); explain_pad: the frame it then adds.
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

    endpoints = {"serving_default": serve_images, "serving_bytes": serve_bytes}
    if explain_resize:
        endpoints.update(explain_endpoints(model, preprocess_images, explain_resize, explain_pad))
    write_archive(
        model,
        folder,
        endpoints,
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
    # tf.saved_model.save, not keras.export.ExportArchive: written through the archive (track, add_endpoint), the
    # graph held every endpoint's functions twice, two traces of each, and tf.saved_model.load, which rebuilds every
    # function of the graph in Python, took twice as long (docs/serving.md). The endpoints read the model's
    # variables: tracked here, as `variables` of the loaded object as the archive had them.
    root = tf.train.Checkpoint(variables=list(model.variables))
    tf.saved_model.save(root, str(folder), signatures=dict(endpoints))

    folder = Path(folder)
    (folder / "assets").mkdir(exist_ok=True)
    (folder / "assets" / "labels.txt").write_text("".join(f"{name}\n" for name in class_names), encoding="utf-8")
    write_warmup_requests(folder, model_name, warmup_image)
    # The layers', not the model's: fold_batch_norms' clone is a model of the default policy around them.
    precision = "bfloat16" if any(layer.compute_dtype == "bfloat16" for layer in model.layers) else "float32"
    write_serving_limits(folder, {**limits, "precision": precision, "weights": "variables"})


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
