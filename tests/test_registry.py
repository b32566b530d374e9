import pytest

import kerascnn


def test_list_models_sorted_with_patterns():
    names = kerascnn.list_models()
    assert names == sorted(names)
    assert kerascnn.list_models("vgg1?") == ["vgg11", "vgg13", "vgg16", "vgg19"]
    assert kerascnn.list_models("resnet1*") == ["resnet101", "resnet110", "resnet152", "resnet18"]
    assert kerascnn.list_models("nothing*") == []


def test_every_required_model_is_registered():
    required = """lenet5 lenet5_original alexnet alexnet_single vgg11 vgg11_lrn vgg13 vgg16_c vgg16 vgg19 googlenet
    resnet18 resnet34 resnet50 resnet101 resnet152 resnet20 resnet32 resnet44 resnet56 resnet110
    plain18 plain34 plain20 plain32 plain44 plain56""".split()
    assert set(required) <= set(kerascnn.list_models())


@pytest.mark.parametrize(
    "alias, name",
    [
        ("vgg_a", "vgg11"),
        ("vgg_a_lrn", "vgg11_lrn"),
        ("vgg_b", "vgg13"),
        ("vgg_c", "vgg16_c"),
        ("vgg_d", "vgg16"),
        ("vgg_e", "vgg19"),
        ("VGG-16", "vgg16"),
    ],
)
def test_aliases(alias, name):
    assert kerascnn.model_spec(alias).name == name


def test_unknown_name_lists_the_closest():
    with pytest.raises(ValueError, match=r"Unknown model 'resnet51'.*resnet50") as error:
        kerascnn.get_model("resnet51")
    assert "\n" not in str(error.value)


def test_input_below_the_minimum_is_refused_clearly():
    with pytest.raises(ValueError, match="alexnet needs inputs of at least 67x67 pixels, got 64x64"):
        kerascnn.get_model("alexnet", input_shape=(64, 64, 3))


def test_checked_model_turns_registry_mistakes_into_user_errors():
    from kerascnn.errors import UserError
    from kerascnn.registry import checked_model
    from pipelines import flags

    assert checked_model("VGG-16", [None, 32]).name == "vgg16"  # None: the paper's size; 32: vgg16's minimum
    with pytest.raises(UserError, match="Unknown model 'resnet51': did you mean") as error:
        checked_model("resnet51")
    assert error.value.field == "model"
    with pytest.raises(
        UserError, match="image_size 66 is below alexnet's minimum of 67 pixels; use 67 or more"
    ) as error:
        checked_model("alexnet", [227, 66])
    assert error.value.field == "image_size"
    spoken = flags.speak(error.value, flags.TRAIN)
    assert spoken.startswith("--image-size 66 is below alexnet's minimum of 67 pixels; use 67 or more")


@pytest.mark.parametrize(
    "name", ["lenet5", "lenet5_original", "alexnet", "alexnet_single", "vgg11", "googlenet", "model_c", "allcnn_c"]
)
def test_min_size_is_the_smallest_input_that_builds(name):
    spec = kerascnn.model_spec(name)
    extra = {"aux_classifiers": True} if name == "googlenet" else {}
    size = spec.min_size
    kerascnn.get_model(name, num_classes=4, input_shape=(size, size, 3), **extra)
    with pytest.raises(ValueError):  # one pixel less: Keras itself refuses
        spec.builder(num_classes=4, input_shape=(size - 1, size - 1, 3), include_top=True, **spec.defaults, **extra)


def test_importing_kerascnn_has_no_side_effects(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import keras, logging; before = (keras.config.dtype_policy().name, logging.getLogger().handlers[:]);"
        "import kerascnn; after = (keras.config.dtype_policy().name, logging.getLogger().handlers[:]);"
        "assert before == after == ('float32', []), (before, after); print(len(kerascnn.list_models()))"
    )
    written = {}
    for name, program in (("keras", "import keras"), ("kerascnn", code)):
        home = tmp_path / name
        home.mkdir()
        env = {"PYTHONPATH": str(Path(__file__).resolve().parents[1]), "TF_CPP_MIN_LOG_LEVEL": "3", "HOME": str(home)}
        result = subprocess.run([sys.executable, "-c", program], cwd=home, env=env, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        written[name] = sorted(str(p.relative_to(home)) for p in home.rglob("*"))
    assert int(result.stdout.split()[-1]) >= 27
    assert written["kerascnn"] == written["keras"]  # no file beyond those Keras (and matplotlib) write themselves
