"""What the served model is: the request guard, the serving transforms and the SavedModel writers of classifiers
and segmentation models, as TensorFlow Serving loads them. The pusher (kerascnn.training.push) and
`pipelines.export` both write their versions through it (version.write_version).

    from kerascnn.serving.version import write_version
    write_version(serving_model, folder, run_config, class_names=names)

Modules by job: guard (the limits read from headers, before decoding), transforms (the evaluation transform,
batched, behind the guard), export (the classifier's SavedModel, and what every version carries beside it),
dense_export (the segmentation model's), version (one version of a run's model, its limits resolved once).
"""

from kerascnn.serving.transforms import SERVING_MAX_PIXELS, serving_limits, serving_transform, serving_transform_bytes

__all__ = ["SERVING_MAX_PIXELS", "serving_limits", "serving_transform", "serving_transform_bytes"]
