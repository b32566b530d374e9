"""A search's folder: its record guards resumption, --overwrite clears only a search."""

from pathlib import Path

import keras_tuner
import pytest

from kerascnn.errors import UserError
from kerascnn.tuning import project
from kerascnn.tuning.search_space import TrialConfigs, parse_space
from pipelines import flags

SPACE = parse_space({"optimizer.learning_rate": {"type": "float", "min": 1e-4, "max": 1e-2, "sampling": "log"}})
OBJECTIVE = keras_tuner.Objective("val_accuracy", "max")


def describe(sets=(), space=SPACE, tuner="random", objective=OBJECTIVE):
    return project.describe_search(TrialConfigs("lenet5", "shapes", sets=sets)(), space, tuner, objective)


def test_the_same_search_resumes_and_another_is_refused(tmp_path):
    project.record_search(tmp_path, describe(["epochs=2"]))
    project.record_search(tmp_path, describe(["epochs=2"]))  # the same search: resumed
    project.record_search(tmp_path, describe(["epochs=2", "output_dir=elsewhere", "push=never"]))  # outputs may change
    with pytest.raises(UserError, match=r"holds another search \(config\.epochs: 2 -> 3\).*overwrite") as error:
        project.record_search(tmp_path, describe(["epochs=3"]))
    assert "start afresh with --overwrite, or give another --tune-dir" in flags.speak(error.value, flags.TUNE)
    with pytest.raises(UserError, match=r"tuner: \"random\" -> \"hyperband\""):
        project.record_search(tmp_path, describe(["epochs=2"], tuner="hyperband"))
    wider = parse_space({"optimizer.learning_rate": {"type": "float", "min": 1e-5, "max": 1e-2, "sampling": "log"}})
    with pytest.raises(UserError, match=r"space\.optimizer\.learning_rate\.min: 0\.0001 -> 1e-05"):
        project.record_search(tmp_path, describe(["epochs=2"], space=wider))


def test_overwrite_clears_a_search_but_not_another_folder(tmp_path):
    project.record_search(tmp_path / "search", describe())
    (tmp_path / "search" / "trial_0").mkdir()
    project.clear(tmp_path / "search")
    assert not (tmp_path / "search").exists()
    project.clear(tmp_path / "never-made")  # nothing to clear
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("precious")
    with pytest.raises(UserError, match="holds no search"):
        project.clear(tmp_path / "mine")
    assert (tmp_path / "mine" / "thesis.tex").read_text() == "precious"


def test_default_folder_names_model_dataset_and_tuner():
    config = TrialConfigs("lenet5", "/data/my-pets/")()
    assert project.default_tune_dir(config, "hyperband") == Path("runs/tune/lenet5-my-pets-hyperband")


def test_a_worker_leaves_the_chiefs_folder_alone(tmp_path):
    project.open_search(tmp_path / "search", describe(), role="chief")
    (tmp_path / "search" / "trial_0").mkdir()
    # A worker started with --overwrite and another search neither clears the chief's folder nor is refused.
    project.open_search(tmp_path / "search", describe(["epochs=3"]), overwrite=True, role="worker")
    assert (tmp_path / "search" / "trial_0").is_dir()
    project.open_search(tmp_path / "fresh", describe(), role="worker")
    assert not (tmp_path / "fresh").exists()
    # The chief (and a local search) records the search, and refuses another unless told to overwrite.
    with pytest.raises(UserError, match="holds another search"):
        project.open_search(tmp_path / "search", describe(["epochs=3"]), role="local")
    project.open_search(tmp_path / "search", describe(["epochs=3"]), overwrite=True, role="chief")
    assert not (tmp_path / "search" / "trial_0").exists()
    project.record_search(tmp_path / "search", describe(["epochs=3"]))  # the new search is the one recorded


def test_a_search_on_a_folder_named_for_its_split_is_named_after_the_folder_above(tmp_path):
    (tmp_path / "fashion" / "train").mkdir(parents=True)
    config = TrialConfigs("lenet5", str(tmp_path / "fashion" / "train"))()
    assert project.default_tune_dir(config, "random") == Path("runs/tune/lenet5-fashion-train-random")
    (tmp_path / "photos").mkdir()
    config = TrialConfigs("lenet5", str(tmp_path / "photos"))()
    assert project.default_tune_dir(config, "random") == Path("runs/tune/lenet5-photos-random")
