"""Explains each named model of the zoo on the backend of KERAS_BACKEND: `python tests/explain_zoo.py PLAN...` prints
one JSON line per plan (tests/test_analysis_explain_zoo.py), a PLAN being a JSON object {"model": name, "size":
side, "options": get_model keywords, "policy": a Keras dtype policy, "cam_only": true to compute Grad-CAM alone}.
Each line holds the shapes and ranges of Grad-CAM, guided backpropagation, the deconvnet and occlusion of two seeded
images, and the Grad-CAM maps themselves, for comparing backends (which needs only those: `cam_only`)."""

import json
import sys

import keras
import numpy as np

import kerascnn
from kerascnn import analysis


def explain(name, size, options=None, policy=None, cam_only=False):
    spec = kerascnn.model_spec(name)
    keras.config.set_dtype_policy(policy or "float32")
    keras.utils.set_random_seed(0)
    shape = (size, size, spec.input_shape[2])
    model = kerascnn.get_model(name, num_classes=5, input_shape=shape, **(options or {}))
    # Kernels drawn here, with numpy, so that every backend explains the same weights (each backend's own seeded
    # initialisers draw others), He et al.'s scale; FCN's score layers, which start at zero, get them too.
    rng = np.random.default_rng(1)
    for weight in model.trainable_weights:
        if len(weight.shape) >= 2:
            scale = np.sqrt(2 / np.prod(weight.shape[:-1]))
            weight.assign(rng.normal(0, scale, weight.shape).astype("float32"))
    images = np.random.default_rng(0).uniform(-1, 1, (2, *shape)).astype("float32")
    layer = analysis.attribution.feature_layer(model).name
    cam = analysis.grad_cam(model, images)
    if cam_only:
        keras.config.set_dtype_policy("float32")
        return {"model": name, "backend": keras.backend.backend(), "layer": layer, "cam": cam.round(5).tolist()}
    guided = analysis.guided_backprop(model, images)
    channel = int(
        np.argmax(
            np.asarray(keras.Model(model.inputs[0], model.get_layer(layer).output)(images))[0]
            .reshape(-1, model.get_layer(layer).output.shape[-1])
            .max(0)
        )
    )
    deconv = analysis.deconvnet(model, images, layer, channel)
    drops = analysis.occlusion(model, images, patch=size // 4, stride=size // 4)
    keras.config.set_dtype_policy("float32")
    return {
        "model": name,
        "backend": keras.backend.backend(),
        "layer": layer,
        "cam_shape": list(cam.shape),
        "cam_range": [float(cam.min()), float(cam.max())],
        "guided_shape": list(guided.shape),
        "guided_peak": float(np.abs(guided).max()),
        "deconv_shape": list(deconv.shape),
        "deconv_peak": float(np.abs(deconv).max()),
        "occlusion_shape": list(drops.shape),
        "finite": bool(all(np.isfinite(a).all() for a in (cam, guided, deconv, drops))),
        "cam": cam.round(5).tolist(),
    }


if __name__ == "__main__":
    for plan in sys.argv[1:]:
        plan = json.loads(plan)
        try:
            report = explain(plan["model"], plan["size"], plan.get("options"), plan.get("policy"), plan.get("cam_only"))
            print(json.dumps(report), flush=True)
        except Exception as error:  # noqa: BLE001  (reported per model, so one failure names itself)
            print(json.dumps({"model": plan["model"], "error": f"{type(error).__name__}: {error}"}), flush=True)
