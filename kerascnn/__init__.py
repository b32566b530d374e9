"""kerascnn: the classic convolutional networks, paper-exact, in Keras 3.

    import kerascnn
    kerascnn.list_models("resnet*")
    model = kerascnn.get_model("alexnet", num_classes=10)

`import kerascnn` alone loads neither Keras nor TensorFlow (the command lines' --help and kerascnn.choices need
neither): `get_model`, `list_models`, `model_spec`, `layers` and `models` load the zoo when first used (PEP 562).
Loading it registers the models and the custom layers and does nothing else: no precision policy, device or
logging setting is touched. To load a .keras file that holds kerascnn's layers, import kerascnn.layers first.
"""

import importlib

__version__ = "0.1.0"
__all__ = ["get_model", "layers", "list_models", "model_spec", "__version__"]

_REGISTRY = ("get_model", "list_models", "model_spec")


def __getattr__(name):
    if name in _REGISTRY:
        return getattr(importlib.import_module("kerascnn.registry"), name)
    if name in ("layers", "models"):
        return importlib.import_module(f"kerascnn.{name}")
    raise AttributeError(f"module 'kerascnn' has no attribute {name!r}")


def __dir__():
    return sorted({*globals(), *__all__, "models"})
