"""The papers' training augmentations and evaluation crops, as a table keyed by the names recipes use.

Sizes are in the papers' pixels, for their 224x224 crops; `paper_pixels` scales them to other input sizes.
"""

from typing import NamedTuple


class Recipe(NamedTuple):
    scale: tuple[int, int] | None = None  # shorter side drawn uniformly from this range, then a random crop
    square: bool = False  # centre-crop the resized image to a square before the random crop (AlexNet's 256x256)
    pad: int = 0  # zero padding on each side, then a random crop of the input size
    area: tuple[float, float] | None = None  # random-resized crop: fraction of the image's area (aspect 3/4-4/3)
    flip: bool = False  # random horizontal flips
    lighting: float = 0.0  # std of AlexNet's PCA colour noise (RGB images only)
    eval_resize: int = 0  # evaluation: shorter side before the centre crop; 0: the crop size itself


RECIPES = {
    # Resize to the input and nothing random: LeNet and MNIST-style data.
    "none": Recipe(),
    # He et al. 2016, Sec. 4.2: "4 pixels are padded on each side, and a 32x32 crop is randomly sampled from the
    # padded image or its horizontal flip".
    "cifar": Recipe(pad=4, flip=True),
    # Krizhevsky et al. 2012, Sec. 4.1: the shorter side rescaled to 256 and the central 256x256 patch kept;
    # random 224x224 patches and their reflections; PCA lighting with std 0.1. Tested on the central crop.
    "alexnet": Recipe(scale=(256, 256), square=True, flip=True, lighting=0.1, eval_resize=256),
    # Simonyan & Zisserman 2015, Sec. 3.1: scale jittering S in [256, 512], random 224 crops, flips and "random
    # RGB colour shift (Krizhevsky et al., 2012)". Evaluated here torchvision's way (256, centre 224), not densely.
    "vgg": Recipe(scale=(256, 512), flip=True, lighting=0.1, eval_resize=256),
    # He et al. 2016, Sec. 3.4: shorter side in [256, 480], a random 224 crop or its flip, "the standard color
    # augmentation in [21]" (AlexNet's). Single-crop evaluation at 256 -> 224, as torchvision reports it.
    "resnet": Recipe(scale=(256, 480), flip=True, lighting=0.1, eval_resize=256),
    # Szegedy et al. 2015, Sec. 6: patches of 8% to 100% of the area with aspect ratio in [3/4, 4/3] (torchvision's
    # RandomResizedCrop); the paper's photometric distortions (Howard 2013) are left out.
    "inception": Recipe(area=(0.08, 1.0), flip=True, eval_resize=256),
}

# AlexNet's PCA of ImageNet's RGB pixels (on the 0-1 scale), as fb.resnet.torch and every later reimplementation
# publish it: eigenvalues and the eigenvectors as columns.
IMAGENET_EIGENVALUES = (0.2175, 0.0188, 0.0045)
IMAGENET_EIGENVECTORS = (
    (-0.5675, 0.7192, 0.4009),
    (-0.5808, -0.0045, -0.8140),
    (-0.5836, -0.6948, 0.4203),
)


def paper_pixels(pixels, image_size):
    """A size given in the papers' pixels for a 224 crop, at `image_size`.

    224 to 227 count as the papers' own crop: AlexNet's 227 is its "224" plus the border conv1 needs (see
    docs/reference.md), and Caffe crops 227 out of the same 256 image.
    """
    if 224 <= image_size <= 227:
        return pixels
    return max(image_size, round(pixels * image_size / 224))


def eval_resize(image_size, recipe_name, crop_fraction=0.0):
    """The shorter side images are resized to before the evaluation's centre crop."""
    if crop_fraction:
        return max(image_size, int(image_size / crop_fraction))  # torchvision: int(224 / 0.875) = 256
    recipe = RECIPES[recipe_name]
    return paper_pixels(recipe.eval_resize, image_size) if recipe.eval_resize else image_size


class MaskRecipe(NamedTuple):
    """A segmentation recipe: applied to an image and its mask together (the mask by nearest neighbour, what
    comes in from outside the image marked "ignore")."""

    scale: tuple[float, float] | None = None  # random rescaling, relative to the shorter side at the input size
    flip: bool = False  # random horizontal flips
    elastic: float = 0.0  # std, in the paper's pixels of a 572 tile, of the displacements on a coarse grid
    grid: int = 3  # the coarse grid's points per side
    shift: float = 0.0  # random translation up to this fraction of the input side, each axis


MASK_RECIPES = {
    # Long et al. 2015, Sec. 4.3: "randomly mirroring and 'jittering' the images by translating them up to 32
    # pixels ... yielded no noticeable improvement": images are used as they are.
    "fcn": MaskRecipe(),
    # Chen et al. 2017 (DeepLab v2), Sec. 4.1: inputs randomly scaled by 0.5 to 1.5, random 321x321 crops padded
    # with the mean (labels with "ignore"), and flips (as in their released Caffe prototxts).
    "deeplab": MaskRecipe(scale=(0.5, 1.5), flip=True),
    # Ronneberger et al. 2015, Sec. 3.1: smooth deformations from displacements on a coarse 3x3 grid, drawn from
    # a Gaussian of 10 pixels std and interpolated bicubically, and shifts. Their rotations and gray-value
    # variations are left out.
    "unet": MaskRecipe(elastic=10.0, grid=3, shift=0.1),
}
