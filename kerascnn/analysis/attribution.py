"""Which pixels a prediction rests on, and what a unit responds to: Grad-CAM, guided backpropagation and the
deconvnet, on any functional Keras model and any Keras backend.

    cams = analysis.grad_cam(model, images)                     # [N, H, W] in [0, 1]
    pixels = analysis.guided_backprop(model, images)            # [N, H, W, C]
    unit = analysis.deconvnet(model, images, "block5_conv3", 7) # [N, H, W, C]

All three read gradients: of a class score before the softmax (Grad-CAM, guided backpropagation) or of one unit's
activation (the deconvnet). The softmax is left out whether it is a layer of its own or a Dense layer's activation
(Selvaraju et al. 2017, Sec. 3: "y^c, the score for class c before the softmax"). For a segmentation model (an output
of [N, H, W, classes]) the score of class c is its mean logit over the pixels predicted as c (all pixels where none
is): the Grad-CAM of a class over a region of Vinogradova et al. 2020.

The deconvnet is computed as a gradient whose ReLUs rectify the backward signal (Zeiler & Fergus 2014, Sec. 2.1).
The rest of their deconvnet is exactly the gradient: unpooling through the max-pool switches is the max-pool's
gradient, filtering with the transposed filters the convolution's (the zoo's MaxPoolingWithArgmax2D,
MaxUnpooling2D and TransposedConv2D compute the same, as tests/test_analysis_attribution.py checks). Where the paper
is silent it departs: normalisation layers (LRN, batch norm in inference) pass the signal through their Jacobian,
where Zeiler & Fergus's network had only contrast normalisation, which their deconvnet skipped.
"""

import keras
import numpy as np
from keras import ops

from kerascnn.analysis.gradients import gradient, relu_rule
from kerascnn.compat import inbound_nodes, keras_history
from kerascnn.errors import UserError
from kerascnn.layers import BilinearUpsampling2D, Crop2D, MaxUnpooling2D, TransposedConv2D

_UPSAMPLING = (
    keras.layers.Conv2DTranspose,
    keras.layers.UpSampling2D,
    TransposedConv2D,
    MaxUnpooling2D,
    BilinearUpsampling2D,
    Crop2D,
)


def class_scores(model):
    """The symbolic class scores of `model` before its softmax: the input of a final softmax layer, a final Dense
    softmax layer's logits, or else the model's output itself."""
    output = model.outputs[0]
    history = keras_history(output)
    layer = history.operation
    inputs = inbound_nodes(layer)[history.node_index].input_tensors
    softmax = getattr(layer, "activation", None) is keras.activations.softmax
    if isinstance(layer, keras.layers.Softmax) or (isinstance(layer, keras.layers.Activation) and softmax):
        return inputs[0]
    if isinstance(layer, keras.layers.Dense) and softmax:
        logits = ops.matmul(ops.cast(inputs[0], layer.compute_dtype), layer.kernel)
        return logits + layer.bias if layer.use_bias else logits
    return output


def feature_layer(model, layer=None):
    """The layer named `layer`, or by default the last convolutional feature map: the last layer of the model's
    top level that has weights (a convolution, or a block of them) and outputs a [N, H, W, C] map, upsampling and
    the output layer left out, and for a segmentation model its score layers (as many channels as classes): FCN's
    fc7, U-Net's last 3x3 convolution."""
    if layer is not None:
        names = [each.name for each in model.layers]
        if layer not in names:
            raise UserError(
                f"{model.name} has no layer named {layer!r} (its last: {', '.join(names[-3:])}).", field="layer"
            )
        found = model.get_layer(layer)
        if len(found.output.shape) != 4:
            raise UserError(
                f"{layer} outputs {tuple(found.output.shape)}, not a [N, H, W, C] feature map.", field="layer"
            )
        return found
    output_layer = keras_history(model.outputs[0]).operation
    # A segmentation model's score layers (as many channels as classes) are what the map explains, not features.
    classes = model.outputs[0].shape[-1] if len(model.outputs[0].shape) == 4 else None
    for each in reversed(model.layers):
        if each is output_layer or isinstance(each, _UPSAMPLING) or not each.weights:
            continue
        if classes is not None and each.output.shape[-1] == classes:
            continue
        if len(each.output.shape) == 4:
            return each
    raise UserError(f"{model.name} has no convolutional feature map to explain.", field="layer")


def targets(scores, class_index=None):
    """(class per image, region per image) for `scores` (class scores [N, K] or [N, H, W, K]): the given class
    (an int, or one per image; a negative one means the top-1) or the top-1, and for a segmentation model the
    pixels predicted as that class (all pixels where none is); None for a classifier."""
    scores = ops.cast(scores, "float32")
    dense = len(scores.shape) == 4
    overall = ops.mean(scores, axis=(1, 2)) if dense else scores
    top = ops.argmax(overall, axis=-1)
    if class_index is None:
        classes = top
    else:
        given = ops.cast(ops.broadcast_to(ops.convert_to_tensor(class_index), ops.shape(top)), top.dtype)
        classes = ops.where(given < 0, top, given)
    if not dense:
        return classes, None
    predicted = ops.cast(ops.argmax(scores, axis=-1) == classes[:, None, None], "float32")
    anywhere = ops.cast(ops.sum(predicted, axis=(1, 2), keepdims=True) > 0, "float32")
    return classes, predicted * anywhere + (1.0 - anywhere)


def target_score(scores, classes, region=None):
    """One score per image: its class's score, or its class's mean score over `region`."""
    scores = ops.cast(scores, "float32")
    pick = ops.one_hot(classes, scores.shape[-1])
    if region is None:
        return ops.sum(scores * pick, axis=-1)
    chosen = ops.sum(scores * pick[:, None, None, :], axis=-1)
    return ops.sum(chosen * region, axis=(1, 2)) / ops.maximum(ops.sum(region, axis=(1, 2)), 1.0)


def grad_cam_maps(model, images, class_index=None, layer=None):
    """`grad_cam` as backend tensors, for a graph that goes on computing (the served `explain` signature)."""
    images = ops.convert_to_tensor(images)
    target = feature_layer(model, layer)
    features = keras.Model(model.inputs[0], target.output)
    scores = class_scores(model)
    if scores is target.output:  # the scores are the map itself (a segmentation model's score layer)
        head = lambda pair, training: pair[1]  # noqa: E731
    else:
        head = keras.Model([model.inputs[0], target.output], scores)
    maps = features(images, training=False)
    classes, region = targets(head([images, maps], training=False), class_index)
    _, grads = gradient(lambda x, a: target_score(head([x, a], training=False), classes, region), [images, maps], wrt=1)
    weights = ops.mean(ops.cast(grads, "float32"), axis=(1, 2), keepdims=True)  # alpha_k^c, the paper's Eq. 1
    cam = ops.relu(ops.sum(weights * ops.cast(maps, "float32"), axis=-1, keepdims=True))  # Eq. 2
    cam = ops.image.resize(cam, tuple(images.shape[1:3]), interpolation="bilinear")[..., 0]
    peak = ops.max(cam, axis=(1, 2), keepdims=True)
    return ops.where(peak > 0, cam / ops.where(peak > 0, peak, 1.0), 0.0)


def grad_cam(model, images, class_index=None, layer=None):
    """Grad-CAM (Selvaraju et al. 2017): [N, H, W] float32 in [0, 1] at the input's size.

    The ReLU of the feature maps of `layer` (default: the last convolutional one, see `feature_layer`) weighted by
    the spatial mean of the gradient of the class score before the softmax, upsampled bilinearly to the input's
    size and divided by its maximum (all zeros where nothing is positive). `class_index` None: each image's top-1.
    """
    return _numpy(grad_cam_maps(model, images, class_index, layer))


def guided_backprop(model, images, class_index=None):
    """Guided backpropagation (Springenberg et al. 2015, Sec. 3.4): [N, H, W, C] float32, the gradient of the class
    score before the softmax with respect to the input, where every ReLU passes the signal backward only where both
    its forward input and the signal are positive. `class_index` None: each image's top-1."""
    images = ops.convert_to_tensor(images)
    scores = keras.Model(model.inputs[0], class_scores(model))
    classes, region = targets(scores(images, training=False), class_index)
    with relu_rule("guided"):
        _, grads = gradient(lambda x: target_score(scores(x, training=False), classes, region), [images], wrt=0)
    return _numpy(grads)


def deconvnet(model, images, layer, channel, positions=None):
    """The deconvnet projection (Zeiler & Fergus 2014) of one unit to pixels: [N, H, W, C] float32.

    For each image, channel `channel` of `layer`'s map keeps only its strongest activation (or the one at
    `positions`, (row, column) per image), and that activation goes back to the input through ReLUs applied to the
    backward signal, the max-pool switches and the transposed filters (see the module docstring).
    """
    images = ops.convert_to_tensor(images)
    target = feature_layer(model, layer)
    if not 0 <= channel < target.output.shape[-1]:
        raise UserError(
            f"{layer} has {target.output.shape[-1]} channels; channel {channel} is not one.", field="channel"
        )
    features = keras.Model(model.inputs[0], target.output)
    unit = ops.cast(features(images, training=False)[..., channel], "float32")
    height, width = unit.shape[1], unit.shape[2]
    if positions is None:
        flat = ops.argmax(ops.reshape(unit, (-1, height * width)), axis=-1)
    else:
        rows, columns = np.asarray(positions, "int32").reshape(-1, 2).T
        flat = ops.convert_to_tensor(rows * width + columns)
    signal = ops.reshape(ops.one_hot(flat, height * width), (-1, height, width)) * unit
    with relu_rule("deconvnet"):
        _, grads = gradient(
            lambda x: ops.sum(ops.cast(features(x, training=False)[..., channel], "float32") * signal, axis=(1, 2)),
            [images],
            wrt=0,
        )
    return _numpy(grads)


def _numpy(tensor):
    return np.asarray(ops.convert_to_numpy(ops.cast(tensor, "float32")), "float32")
