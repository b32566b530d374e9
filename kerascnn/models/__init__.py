"""The model zoo: importing a family module registers its variants."""

from kerascnn.models import (  # noqa: F401  (registration)
    alexnet,
    allcnn,
    convlocal,
    convnet4,
    deeplab,
    dense,
    fcn,
    googlenet,
    lenet,
    resnet,
    unet,
    vgg,
)
from kerascnn.models.heads import classifier_head, finish, pool_features, segmentation_head

__all__ = ["classifier_head", "finish", "pool_features", "segmentation_head"]
