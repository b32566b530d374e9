"""Serving a pushed SavedModel as TF Serving would: loaded with plain TensorFlow in a fresh process where importing
kerascnn fails (the version must carry everything it needs), and the ResNet-20 versions the serving tests export."""

import json
import subprocess
import sys

import numpy as np
from pipeline_helpers import ROOT

# Put before every script run_without_kerascnn runs: `import kerascnn` (or anything that needs it) then fails.
NO_KERASCNN = 'import sys\nsys.modules["kerascnn"] = None\n'

# serving_default on the images of an .npy file, serving_bytes on their PNGs: every output of both into an .npz
# file (`default_<key>`, `bytes_<key>`), the signatures and the outputs' dtypes printed as JSON.
SERVE = """
import json
import numpy as np, tensorflow as tf
model = tf.saved_model.load(sys.argv[1])
images = np.load(sys.argv[2])
encoded = [tf.io.encode_png(image).numpy() for image in images]
outputs = {
    "default": model.signatures["serving_default"](images=tf.constant(images)),
    "bytes": model.signatures["serving_bytes"](image_bytes=tf.constant(encoded)),
}
np.savez(sys.argv[3], **{f"{call}_{key}": v.numpy() for call, out in outputs.items() for key, v in out.items()})
dtypes = {call: {key: v.dtype.name for key, v in out.items()} for call, out in outputs.items()}
print(json.dumps({"signatures": sorted(model.signatures), "dtypes": dtypes}))
"""


def run_without_kerascnn(script, *args, env=None, timeout=600):
    """Runs the Python `script` (its arguments `args`) in a fresh process where kerascnn cannot be imported; the
    CompletedProcess, text output."""
    return subprocess.run(
        [sys.executable, "-c", NO_KERASCNN + script, *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=timeout,
    )


def serve_without_kerascnn(version, images, folder):
    """What the SavedModel `version` answers, loaded without kerascnn, to serving_default on `images` (uint8
    [B, H, W, C]) and to serving_bytes on their PNGs: {"signatures", "dtypes": {call: {output: dtype}}, "default":
    {output: array}, "bytes": {output: array}}; `folder` holds the files exchanged."""
    np.save(folder / "images.npy", images)
    result = run_without_kerascnn(SERVE, version, folder / "images.npy", folder / "served.npz")
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.splitlines()[-1])
    with np.load(folder / "served.npz", allow_pickle=True) as arrays:  # strings come back as object arrays
        for call in ("default", "bytes"):
            report[call] = {key: arrays[f"{call}_{key}"] for key in report["dtypes"][call]}
    return report


def export_resnet20(trained, config, folder, *, max_pixels=None, limits=None, **options):
    """The pusher's export of `trained` (a resnet20 of 4 classes a to d, 32x32) into `folder`, with the run
    `config`'s serving model and evaluation transform; `options` go to write_saved_model. The served model and the
    transform of its images input."""
    import tensorflow as tf

    from kerascnn.serving import serving_transform
    from kerascnn.serving.export import write_saved_model
    from kerascnn.training.models import serving_model

    served = serving_model(trained, config, num_classes=4, input_shape=(32, 32, 3))
    transform = lambda images: serving_transform(images, 32, 3, config.data, max_pixels=max_pixels)  # noqa: E731
    write_saved_model(
        served,
        folder,
        class_names=["a", "b", "c", "d"],
        model_name="resnet20",
        limits=limits or {"max_image_pixels": 10**6, "max_batch_pixels": 10**7},
        preprocess_images=transform,
        preprocess_bytes=lambda encoded: transform(tf.map_fn(tf.io.decode_png, encoded, fn_output_signature=tf.uint8)),
        **options,
    )
    return served, transform
