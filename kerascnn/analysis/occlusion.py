"""Occlusion sensitivity (Zeiler & Fergus 2014, Sec. 4.2 and Fig. 7): how much the class probability drops when a
grey square hides each part of the image. It needs no gradient, so it explains any model, ReLU or not."""

import numpy as np
from keras import ops

from kerascnn.analysis.attribution import target_score, targets
from kerascnn.errors import UserError


def occlusion(model, images, class_index=None, patch=None, stride=None, fill=0.0, batch_size=64):
    """[N, H', W'] float32: for each position of a `patch` x `patch` square slid `stride` pixels at a time, the
    model's output for the class (its probability, for a softmax model) on the image minus that on the image with
    the square filled with `fill`. H' = (H - patch) // stride + 1.

    `fill` 0 is the mean pixel of inputs standardised to mean 0, the paper's grey; `patch` defaults to an eighth
    of the image's height (28 pixels at 224), `stride` to half the patch. For a segmentation model the output is the
    class's mean probability over the pixels the unoccluded image predicts as that class. `class_index` None: each
    image's top-1.
    """
    images = np.asarray(images, "float32")
    height, width = images.shape[1:3]
    patch = patch or max(1, height // 8)
    stride = stride or max(1, patch // 2)
    if not 0 < patch <= min(height, width):
        raise UserError(f"patch must be 1 to {min(height, width)} pixels, got {patch}.", field="patch")
    if stride < 1:
        raise UserError(f"stride must be at least 1 pixel, got {stride}.", field="stride")
    rows, columns = range(0, height - patch + 1, stride), range(0, width - patch + 1, stride)
    outputs = model(images, training=False)
    classes, region = targets(outputs, class_index)
    base = ops.convert_to_numpy(target_score(outputs, classes, region))
    classes = ops.convert_to_numpy(classes)
    region = None if region is None else ops.convert_to_numpy(region)
    drops = np.zeros((len(images), len(rows), len(columns)), "float32")
    for n, image in enumerate(images):
        occluded, where = [], []
        for i, top in enumerate(rows):
            for j, left in enumerate(columns):
                hidden = image.copy()
                hidden[top : top + patch, left : left + patch] = fill
                occluded.append(hidden)
                where.append((i, j))
        for start in range(0, len(occluded), batch_size):
            batch = np.stack(occluded[start : start + batch_size])
            count = len(batch)
            scores = target_score(
                model(batch, training=False),
                ops.convert_to_tensor(np.full(count, classes[n])),
                None if region is None else ops.convert_to_tensor(np.repeat(region[n : n + 1], count, axis=0)),
            )
            for (i, j), score in zip(where[start : start + count], ops.convert_to_numpy(scores)):
                drops[n, i, j] = base[n] - score
    return drops
