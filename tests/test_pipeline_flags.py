"""pipelines.flags: the one table of (config field, flag, help) for train and tune, and the errors it speaks."""

import dataclasses
import subprocess
import sys

import pytest
from pipeline_helpers import ROOT

from kerascnn.errors import DataError, Mention, Message, UserError
from kerascnn.training import config as config_lib
from pipelines import flags, train, tune


def test_the_command_lines_choices_are_the_librarys():
    assert flags.PRECISIONS == config_lib.PRECISIONS and flags.STRATEGIES == config_lib.STRATEGIES
    assert flags.SERVING_PRECISIONS == config_lib.SERVING_PRECISIONS
    rows = {row.flag: row for row in flags.flags(flags.TRAIN)}
    assert rows["--precision"].choices == config_lib.PRECISIONS
    assert rows["--serving-precision"].choices == config_lib.SERVING_PRECISIONS
    assert set(rows["--strategy"].get("choices", flags.TUNE)) < set(config_lib.STRATEGIES)


@pytest.mark.parametrize("pipeline", [flags.TRAIN, flags.TUNE])
def test_every_config_row_names_a_field_of_the_run_config(pipeline):
    for row in flags.flags(pipeline):
        if row.config:
            value = row.value if row.type is None else {int: "3", float: "0.5", str: None}[row.type]
            if value is None:  # a string field: its default round-trips
                value = str(config_lib.get(config_lib.RunConfig(), row.field) or "x")
            config_lib.apply(config_lib.RunConfig(), row.field, value)  # raises on an unknown field


def test_flags_give_the_fields_they_name_and_train_argv_gives_them_back():
    args = train.parse(["lenet5", "--epochs", "3", "--learning-rate", "0.05", "--no-push", "--recover", "--ten-crop"])
    fields = train.overrides(args)
    assert fields == {
        "epochs": 3,
        "optimizer.learning_rate": 0.05,
        "push": "never",
        "on_nan": "recover",
        "ten_crop": True,
    }  # only the flags typed: --precision, --strategy, --seed and --output-dir leave the recipe's values alone
    for flag, field in (("--precision", "precision"), ("--seed", "seed"), ("--output-dir", "output_dir")):
        assert field not in fields
        value = {"precision": "float32", "seed": "0", "output_dir": "saved_models"}[field]
        assert train.overrides(train.parse(["lenet5", flag, value])) == {field: {"seed": 0}.get(field, value)}
    argv = flags.train_argv("lenet5", "shapes", {**fields, "optimizer.momentum": 0.8}, ["model_options.x=1"])
    again = train.parse(argv)
    assert train.overrides(again) == fields and again.dataset == "shapes"
    assert again.set == ["optimizer.momentum=0.8", "model_options.x=1"]  # no flag: --set


def test_tune_has_its_own_flags_from_the_same_table():
    args = tune.parse(["lenet5", "--epochs", "2", "--strategy", "mirrored", "--tuner", "hyperband", "--no-push"])
    assert tune.overrides(args)["strategy"] == "mirrored" and tune.overrides(args)["push"] == "never"
    assert "tuner" not in tune.overrides(args) and args.tuner == "hyperband"  # a setting of the search, not a field
    with pytest.raises(SystemExit):
        tune.parse(["lenet5", "--strategy", "tpu"])  # a trial trains on this machine's devices
    with pytest.raises(SystemExit):
        tune.parse(["lenet5", "--on-bad-image", "skip"])  # train's only: tune takes it as --set


@pytest.mark.parametrize(
    "parts, pipeline, spoken",
    [
        (
            (Mention("batch_size"), " must be at least 1, got 0."),
            flags.TRAIN,
            "--batch-size must be at least 1, got 0.",
        ),
        (
            (
                "Bad image /d/x_y.jpg: broken. Remove or fix it, or leave such files out with ",
                Mention("data.on_bad_image", "skip"),
                ".",
            ),
            flags.TRAIN,
            "Bad image /d/x_y.jpg: broken. Remove or fix it, or leave such files out with --on-bad-image skip.",
        ),
        (  # tune has no --on-bad-image: the field goes through --set
            ("leave such files out with ", Mention("data.on_bad_image", "skip"), "."),
            flags.TUNE,
            "leave such files out with --set data.on_bad_image=skip.",
        ),
        (
            ("not blessed: x (", Mention("push", "force"), " pushes it anyway)"),
            flags.TRAIN,
            "not blessed: x (--force-push pushes it anyway)",
        ),
        (
            (Mention("epochs"), " must be at least 1; it trained 3 epochs"),
            flags.TRAIN,
            "--epochs must be at least 1; it trained 3 epochs",
        ),
        (("lenet5 has no layer named 'c9'",), flags.INSPECT, "lenet5 has no layer named 'c9'"),  # a word, not a flag
        (("runs/data.val_split_x is a file",), flags.TRAIN, "runs/data.val_split_x is a file"),  # a path
        (  # a user's path with braces is text, never a template
            ("runs/{batch_size}/{0} is a file: give another ", Mention("run_dir"), "."),
            flags.TRAIN,
            "runs/{batch_size}/{0} is a file: give another --run-dir.",
        ),
        (
            (Mention("optimizer.momentum", "x"), ": expected float."),
            flags.TRAIN,
            "--set optimizer.momentum=x: expected float.",
        ),
        (  # a flag that spells the field otherwise keeps its name beside it: --set and config.json take it
            (Mention("optimizer.learning_rate"), " must be positive."),
            flags.TRAIN,
            "--learning-rate (optimizer.learning_rate) must be positive.",
        ),
        (
            (
                "x holds another search; start afresh with ",
                Mention("overwrite", True),
                ", or give another ",
                Mention("tune_dir"),
                ".",
            ),
            flags.TUNE,
            "x holds another search; start afresh with --overwrite, or give another --tune-dir.",
        ),
        (  # pipelines.export cannot type data.val_split: the library's words stay
            (Mention("data.val_split"), " must be a fraction."),
            flags.EXPORT,
            "data.val_split must be a fraction.",
        ),
    ],
)
def test_an_errors_fields_are_spoken_as_the_flags_typed(parts, pipeline, spoken):
    error = UserError(*parts)
    # The library's own text names the fields: "data.on_bad_image=skip", "overwrite=True".
    assert str(error) == "".join(part if isinstance(part, str) else str(part) for part in parts)
    assert "--" not in str(error)
    assert flags.speak(error, pipeline) == spoken
    assert flags.speak(error.message, pipeline) == spoken  # a Message alone (a warning, a push reason) too


def test_one_hierarchy_carries_the_field_and_mentions_through_pickling():
    import pickle

    sent = DataError(Mention("data.val_split"), " must be a fraction in [0, 1), got {2}.", field="data.val_split")
    error = pickle.loads(pickle.dumps(sent))
    assert isinstance(error, UserError) and isinstance(error, ValueError) and error.field == "data.val_split"
    assert str(error) == "data.val_split must be a fraction in [0, 1), got {2}."
    assert flags.speak(error, flags.TRAIN) == "--val-split (data.val_split) must be a fraction in [0, 1), got {2}."
    reason = pickle.loads(pickle.dumps(Message("off (", Mention("push", "never"), ")")))
    assert reason == "off (push=never)" and flags.speak(reason, flags.TRAIN) == "off (--no-push)"
    assert dataclasses.is_dataclass(flags.Flag)


# Each command's --help in a process where TensorFlow cannot be imported: its parser must come before kerascnn.
HELP_WITHOUT_TENSORFLOW = """
import contextlib, importlib, io, sys
sys.modules["tensorflow"] = None
for name in sys.argv[1:]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
        importlib.import_module("pipelines." + name).parse(["--help"])
    print(name, "usage: python -m pipelines." + name in out.getvalue())
print(sorted(m for m in sys.modules if m.split(".")[0] in ("kerascnn", "keras")))
"""


def test_help_comes_before_tensorflow_and_kerascnn():
    names = ["train", "tune", "evaluate", "export", "inspect", "benchmark", "benchmark_backend"]
    result = subprocess.run(
        [sys.executable, "-c", HELP_WITHOUT_TENSORFLOW, *names], capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    # Only the package's light top level and its choices: no Keras, no registry, no model.
    assert result.stdout.splitlines() == [f"{name} True" for name in names] + ["['kerascnn', 'kerascnn.choices']"]


def test_show_config_says_where_the_values_came_from():
    args = train.parse(["lenet5", "--epochs", "3", "--no-push", "--set", "optimizer.momentum=0.8"])
    assert train.sources(args) == (
        "Values: epochs from --epochs 3; push from --no-push; optimizer.momentum from --set optimizer.momentum=0.8; "
        "every other value from the model's recipe."
    )
    assert "every value from the model's recipe" in train.sources(train.parse(["lenet5"]))
