"""One served version of a run's model, written as the pusher and `pipelines.export` both write it: the guard's
limits resolved once from the run config, then the classifier's or the segmentation model's SavedModel (by the
registry's task of `config.model`)."""

from kerascnn.data.recipes import eval_resize
from kerascnn.registry import model_spec
from kerascnn.serving.dense_export import write_segmentation_saved_model
from kerascnn.serving.export import write_saved_model
from kerascnn.serving.transforms import serving_limits, serving_transform, serving_transform_bytes


def write_version(model, folder, config, *, class_names, model_name=None, warmup_image=None):
    """Exports `model` (kerascnn.training.models.serving_model's) into `folder` for the run config `config`: its
    data config's evaluation transform in the graph, behind the limits `config.serving_max_pixels` and
    `config.serving_max_batch_pixels` (serving_limits' defaults where 0)."""
    model_name = model_name or config.model
    max_pixels, max_batch_pixels = serving_limits(
        config.data, config.serving_max_pixels, config.serving_max_batch_pixels
    )
    if model_spec(config.model).task == "segmentation":
        write_segmentation_saved_model(
            model,
            folder,
            class_names=class_names,
            data_config=config.data,
            model_name=model_name,
            warmup_image=warmup_image,
            max_pixels=max_pixels,
            max_batch_pixels=max_batch_pixels,
        )
        return
    size, _, channels = model.input_shape[1:]
    limits = {"max_pixels": max_pixels, "max_batch_pixels": max_batch_pixels}
    write_saved_model(
        model,
        folder,
        class_names=class_names,
        model_name=model_name,
        warmup_image=warmup_image,
        limits={"max_image_pixels": max_pixels, "max_batch_pixels": max_batch_pixels},
        preprocess_images=lambda images: serving_transform(images, size, channels, config.data, **limits),
        preprocess_bytes=lambda encoded: serving_transform_bytes(encoded, size, channels, config.data, **limits),
        explain_resize=eval_resize(
            size - 2 * config.data.pad, config.data.augmentation, config.data.eval_crop_fraction
        ),
        explain_pad=config.data.pad,
    )
