"""DataConfig: defaults, command-line strings, and one clear error naming the field."""

import pytest

from kerascnn.data import NORMALIZATIONS, RECIPES, DataConfig, DataError


def test_defaults_run_offline_on_shapes():
    config = DataConfig()
    assert (config.dataset, config.augmentation, config.on_bad_image) == ("shapes", "none", "fail")
    assert config.cache == "auto"
    assert config.normalization_stats(3) == ((0.0,) * 3, (255.0,) * 3)


@pytest.mark.parametrize(
    "field, value",
    [
        ("augmentation", "alexnett"),
        ("normalization", "imagenette"),
        ("on_bad_image", "ignore"),
        ("cache", "sometimes"),
        ("val_split", 1.0),
        ("val_split", -0.1),
        ("eval_crop_fraction", 1.5),
        ("shuffle_buffer", -1),
        ("max_image_pixels", 0),
        ("std", (0.0,)),
        ("mean", "a,b"),
    ],
)
def test_bad_values_name_their_field(field, value):
    with pytest.raises(DataError, match=f"data.{field} must be") as error:
        DataConfig(**{field: value})
    assert "\n" not in str(error.value)
    with pytest.raises(DataError, match=f"data.{field}"):
        DataConfig().replace(**{field: value})  # overrides are checked too


def test_command_line_strings_are_understood():
    config = DataConfig(cache="false", mean="123.675, 116.28, 103.53", std="58.4")
    assert config.cache is False
    assert config.normalization_stats(3) == ((123.675, 116.28, 103.53), (58.4, 58.4, 58.4))


def test_rgb_statistics_for_a_grayscale_model_are_the_luma():
    mean, _ = DataConfig(normalization="imagenet").normalization_stats(1)
    assert mean[0] == pytest.approx(0.299 * 123.675 + 0.587 * 116.28 + 0.114 * 103.53)


def test_every_paper_recipe_is_there():
    assert {"none", "cifar", "alexnet", "vgg", "resnet", "inception"} <= set(RECIPES)
    assert {"unit", "imagenet", "lenet"} <= set(NORMALIZATIONS)
    assert RECIPES["vgg"].scale == (256, 512) and RECIPES["resnet"].scale == (256, 480)
    assert RECIPES["alexnet"].lighting == 0.1 and RECIPES["cifar"].pad == 4
