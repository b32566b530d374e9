"""Measures the explanations of docs/explanations.md and draws docs/explanations.png:

    python docs/explanations.py

A resnet20 (the zoo's, He et al.'s CIFAR network) is trained from scratch on the shapes dataset with masks (one
shape a 32x32 image, 6 classes, the class that of the shape), then each method's map of held-out images is
scored against the shape's mask (localisation), and the maps of the trained network are compared with those of
copies whose layers are re-initialised from the top down (Adebayo et al. 2018's cascading randomisation).
"""

import json
import sys
import time

import keras
import numpy as np

import kerascnn
from kerascnn import analysis
from kerascnn.analysis import localisation
from kerascnn.analysis.explain_plots import displayable, signed
from kerascnn.analysis.plots import _figure, _save_figure
from kerascnn.data.shapes import class_names, generate_shape_masks

SIZE, CLASSES, TRAIN, TEST, EPOCHS = 32, 6, 2000, 200, 4
METHODS = ("gradcam", "guided", "deconv", "occlusion")


def data(count, split):
    images, masks = generate_shape_masks(count, image_size=SIZE, num_classes=CLASSES, split=split)
    labels = masks.reshape(count, -1).max(1).astype("int64") - 1  # the shape's class (masks count from 1)
    x = images.astype("float32")
    x = (x - x.mean(axis=(1, 2), keepdims=True)) / (x.std(axis=(1, 2), keepdims=True) + 1e-6)
    return x, labels, masks > 0


def maps_of(model, images):
    """{method: non-negative [N, H, W] heatmap} (localisation.heat of each method's output)."""
    layer = analysis.attribution.feature_layer(model)
    features = keras.ops.convert_to_numpy(keras.Model(model.inputs[0], layer.output)(images, training=False))
    deconv = [
        analysis.deconvnet(
            model, images[i : i + 1], layer.name, int(features[i].reshape(-1, features.shape[-1]).max(0).argmax())
        )[0]
        for i in range(len(images))
    ]
    raw = {
        "gradcam": analysis.grad_cam(model, images),
        "guided": analysis.guided_backprop(model, images),
        "deconv": np.stack(deconv),
        "occlusion": analysis.occlusion(model, images, patch=8, stride=4),
    }
    return raw, {m: localisation.heat(v, (SIZE, SIZE)) for m, v in raw.items()}


def randomised_from_top(model):
    """Yields (layer name, model) with the weighted layers re-initialised one more at a time, from the top down:
    every weight drawn from a normal of the trained weight's own standard deviation (moving statistics kept)."""
    rng = np.random.default_rng(0)
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    for layer in reversed(copy.layers):
        weights = [w for w in layer.weights if "moving" not in w.path]
        if not weights:
            continue
        for w in weights:
            value = keras.ops.convert_to_numpy(w)
            w.assign(rng.normal(0, value.std() or 0.05, value.shape).astype("float32"))
        yield layer.name, copy


def main(out_png="docs/explanations.png"):
    started = time.monotonic()
    keras.utils.set_random_seed(0)
    x, y, _ = data(TRAIN, split=0)
    xt, yt, masks = data(TEST, split=1)
    model = kerascnn.get_model("resnet20", num_classes=CLASSES, input_shape=(SIZE, SIZE, 3))
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, batch_size=64, epochs=EPOCHS, verbose=2)
    accuracy = float(model.evaluate(xt, yt, verbose=0)[1])
    report = {"model": "resnet20", "train_images": TRAIN, "epochs": EPOCHS, "test_accuracy": accuracy}

    raw, heat = maps_of(model, xt)
    baseline = localisation.centred_gaussian(TEST, SIZE)
    rows = {**heat, "centred Gaussian": baseline}
    report["localisation"] = {
        name: {"pointing": localisation.pointing_game(m, masks), "mask_share": localisation.mask_share(m, masks)}
        for name, m in rows.items()
    }
    report["mask_area"] = float(masks.mean())

    sample = xt[:16]
    _, reference = maps_of(model, sample)
    cascade = []
    for name, randomised in randomised_from_top(model):
        _, maps = maps_of(randomised, sample)
        cascade.append(
            {
                "layer": name,
                **{
                    m: float(np.mean([localisation.spearman(a, b) for a, b in zip(reference[m], maps[m])]))
                    for m in METHODS
                },
            }
        )
        print(json.dumps(cascade[-1]), file=sys.stderr, flush=True)
    report["cascade"] = cascade
    report["seconds"] = round(time.monotonic() - started)
    print(json.dumps(report, indent=1))
    draw(xt[:4], yt[:4], masks[:4], {m: v[:4] for m, v in raw.items()}, out_png)


def draw(images, labels, masks, raw, path):
    figure, axes = _figure(ncols=6, figsize=(12, 8.4))
    figure.clear()
    axes = figure.subplots(len(images), 2 + len(METHODS))
    names = class_names(CLASSES)
    for i, image in enumerate(images):
        shown = displayable(image)
        axes[i, 0].imshow(shown)
        axes[i, 0].set_title(names[labels[i]], fontsize=8)
        axes[i, 1].imshow(masks[i], cmap="gray")
        for j, method in enumerate(METHODS, start=2):
            value = raw[method][i]
            if value.ndim == 3:
                axes[i, j].imshow(signed(value))
            else:
                axes[i, j].imshow(shown)
                axes[i, j].imshow(value, cmap="jet", alpha=0.5, extent=(-0.5, SIZE - 0.5, SIZE - 0.5, -0.5))
            if i == 0:
                axes[i, j].set_title(method, fontsize=9)
        if i == 0:
            axes[i, 1].set_title("mask", fontsize=9)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    _save_figure(figure, path)


if __name__ == "__main__":
    main()
