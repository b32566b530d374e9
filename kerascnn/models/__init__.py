"""The model zoo: importing a family module registers its variants."""

from kerascnn.models import alexnet, allcnn, convnet4, deeplab, fcn, googlenet, lenet, resnet, unet, vgg  # noqa: F401  (registration)
from kerascnn.models.heads import classifier_head, finish, pool_features, segmentation_head

__all__ = ["classifier_head", "finish", "pool_features", "segmentation_head"]
