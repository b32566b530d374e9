"""Draws docs/segmentation_masks.png from a pushed segmentation version, through its serving signature:

    python docs/segmentation_masks.py saved_models/fcn8s/1

Rows: a validation image of the shapes dataset, its true mask and the predicted one, in VOC's palette.
"""

import json
import sys
from pathlib import Path

import numpy as np
import tensorflow as tf
from PIL import Image

from kerascnn.data.shapes import generate_shape_masks
from kerascnn.training.segmentation import mask_grid


def main(version, out="docs/segmentation_masks.png", count=6, zoom=3):
    about = json.loads((Path(version) / "assets.extra" / "metrics.json").read_text())
    size, _, channels = about["input_shape"]
    images, masks = generate_shape_masks(
        count, image_size=size, channels=channels, shapes_per_image=about.get("shapes_per_image", 1), split=1
    )
    serve = tf.saved_model.load(str(version)).signatures["serving_default"]
    predicted = serve(images=tf.constant(images))["classes"].numpy()
    rows = [mask_grid(images[i : i + 1], masks[i : i + 1], predicted[i : i + 1]) for i in range(count)]
    grid = np.concatenate([np.concatenate(rows[: count // 2], 1), np.concatenate(rows[count // 2 :], 1)], 0)
    Image.fromarray(grid).resize((grid.shape[1] * zoom, grid.shape[0] * zoom), Image.NEAREST).save(out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main(*sys.argv[1:])
