"""Watching a network learn, in TensorBoard's Images tab as training goes: the first layer's filters and its
feature maps of one image, and where the network looks (Grad-CAM) in a fixed batch of images."""

import keras
import numpy as np

from kerascnn.analysis.attribution import grad_cam
from kerascnn.analysis.explain_plots import displayable
from kerascnn.analysis.grids import feature_map_grid, filter_grid, first_conv


class EpochImagesCallback(keras.callbacks.Callback):
    """Writes TensorBoard images (`write(step)`, a subclass's) after every n-th epoch, into their own event file in
    `log_dir`; the writer lives from the start of training to its end.

    TensorBoard's summary writer is the point here: it is how images reach the Images tab. TensorFlow is imported
    when training starts, as the rest of kerascnn.analysis runs on any Keras backend, without it."""

    def __init__(self, log_dir, every_n_epochs=1):
        super().__init__()
        if every_n_epochs < 1:
            raise ValueError(f"every_n_epochs must be at least 1, got {every_n_epochs}.")
        self.log_dir = log_dir
        self.every_n_epochs = every_n_epochs
        self._writer = None

    def on_train_begin(self, logs=None):
        import tensorflow as tf

        self._writer = tf.summary.create_file_writer(str(self.log_dir))

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every_n_epochs == 0:
            self.write(epoch)

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def write(self, step):
        raise NotImplementedError


class FilterImagesCallback(EpochImagesCallback):
    """Writes a convolution's filters and its feature maps of `image` as TensorBoard images every few epochs.

    The summaries go to their own event file in `log_dir` (tags "<layer>/filters" and "<layer>/feature_maps", step
    = epoch), so `log_dir` can be the run's TensorBoard directory or a folder beside it.

    Args:
        log_dir: where to write the event file.
        image: one input image (height, width, channels), preprocessed as the model's inputs are.
        every_n_epochs: write after every n-th epoch (and never in between).
        layer: the convolution's name; None for the model's first 2D convolution.
        max_maps: how many of its feature maps to show.
    """

    def __init__(self, log_dir, image, every_n_epochs=1, layer=None, max_maps=64):
        super().__init__(log_dir, every_n_epochs)
        self.image = np.asarray(image, "float32")
        self.layer = layer
        self.max_maps = max_maps

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self._conv = self.model.get_layer(self.layer) if self.layer else first_conv(self.model)
        # inputs[0]: a training model keeps its inputs as a list, and a bare image would then be a mismatch.
        self._extractor = keras.Model(self.model.inputs[0], self._conv.output)

    def write(self, step):
        """Writes the two images now, at `step`."""
        import tensorflow as tf  # as in on_train_begin

        kernel = keras.ops.convert_to_numpy(self._conv.kernel).astype("float32")
        maps = keras.ops.convert_to_numpy(self._extractor(self.image[None], training=False))[0]
        name = self._conv.name
        with self._writer.as_default():
            tf.summary.image(f"{name}/filters", filter_grid(kernel)[None], step=step)
            tf.summary.image(f"{name}/feature_maps", feature_map_grid(maps, max_maps=self.max_maps)[None], step=step)
        self._writer.flush()


class GradCamImagesCallback(EpochImagesCallback):
    """Writes the Grad-CAM (kerascnn.analysis.grad_cam) of a fixed batch of images, each image's top-1 class, as
    TensorBoard images every few epochs: tag "grad_cam", step = epoch, each image beside its heatmap over it, in
    their own event file in `log_dir`.

    Args:
        log_dir: where to write the event file.
        images: the images (N, height, width, channels), preprocessed as the model's inputs are.
        every_n_epochs: write after every n-th epoch (and never in between).
    """

    def __init__(self, log_dir, images, every_n_epochs=1):
        super().__init__(log_dir, every_n_epochs)
        self.images = np.asarray(images, "float32")

    def write(self, step):
        """Writes the images now, at `step`."""
        import tensorflow as tf  # as in on_train_begin
        from matplotlib import colormaps

        cams = grad_cam(self.model, self.images)
        pictures = []
        for image, cam in zip(self.images, cams):
            shown = displayable(image)
            heat = colormaps["jet"](cam)[..., :3]
            pictures.append(np.concatenate([shown, 0.5 * shown + 0.5 * heat], axis=1))
        with self._writer.as_default():
            tf.summary.image("grad_cam", np.stack(pictures).astype("float32"), step=step, max_outputs=len(pictures))
        self._writer.flush()
