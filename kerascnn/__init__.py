"""kerascnn: the classic convolutional networks, paper-exact, in Keras 3.

    import kerascnn
    kerascnn.list_models("resnet*")
    model = kerascnn.get_model("alexnet", num_classes=10)

Importing the package registers the models and layers and does nothing else: no precision policy, device or
logging setting is touched.
"""

from kerascnn import layers, models  # noqa: F401  (models registers the zoo)
from kerascnn.registry import get_model, list_models, model_spec

__version__ = "0.1.0"
__all__ = ["get_model", "layers", "list_models", "model_spec", "__version__"]
