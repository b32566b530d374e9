"""What the served model is: the request guard, the serving transforms and the SavedModel writers of classifiers
and segmentation models, as TensorFlow Serving loads them. The pusher (kerascnn.training.push) and
`pipelines.export` both write their versions through it.

    from kerascnn.serving import serving_limits, serving_transform, serving_transform_bytes
    from kerascnn.serving.export import write_saved_model
"""

from kerascnn.serving.transforms import SERVING_MAX_PIXELS, serving_limits, serving_transform, serving_transform_bytes

__all__ = ["SERVING_MAX_PIXELS", "serving_limits", "serving_transform", "serving_transform_bytes"]
