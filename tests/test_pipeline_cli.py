"""What every command line shows: --help that says what each option does, short outputs without slips, and
TensorFlow's start-up lines once at most (none below TF_CPP_MIN_LOG_LEVEL)."""

import contextlib
import importlib
import io
import subprocess
import sys

import pytest
from pipeline_helpers import ROOT, environment

from pipelines import cli

NAMES = ["train", "tune", "evaluate", "export", "inspect", "benchmark", "benchmark_backend"]


class _Parsed(Exception):
    def __init__(self, parser):
        self.parser = parser


def _parser(name, monkeypatch):
    """The parser pipelines.<name> builds, caught as it parses."""

    def caught(self, args=None, namespace=None):
        raise _Parsed(self)

    monkeypatch.setattr(cli.ArgumentParser, "parse_args", caught)
    with pytest.raises(_Parsed) as parsed:
        importlib.import_module(f"pipelines.{name}").parse(["x"])
    return parsed.value.parser


def _help(name):
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
        importlib.import_module(f"pipelines.{name}").parse(["--help"])
    return out.getvalue()


@pytest.mark.parametrize("name", NAMES)
def test_every_option_says_what_it_does_and_no_description_dangles(name, monkeypatch):
    parser = _parser(name, monkeypatch)
    silent = [action.option_strings[0] for action in parser._actions if action.option_strings and not action.help]
    assert silent == []  # --seed, evaluate's --batch-size, --tuner and --objective had none
    assert not parser.description.rstrip().endswith(":")


def test_only_train_mentions_show_config_and_export_requires_its_weights(monkeypatch):
    assert "--show-config" in _help("train")
    assert "--show-config" not in _help("tune") and "--show-config" not in _help("export")
    export = _help("export")
    assert "fine-tun" not in export and "\ntraining:\n" not in export and "\nmodel:\n" in export
    weights = [a for a in _parser("export", monkeypatch)._actions if "--weights" in a.option_strings]
    assert weights[0].required


def test_top5_is_shown_only_above_five_classes():
    from kerascnn.training.evaluate import shown

    metrics = {"val_loss": 0.5, "val_accuracy": 0.9, "val_top5_accuracy": 1.0, "val_top5_error": 0.0, "num_val": 4}
    assert shown(metrics, 2) == ["loss", "accuracy"]  # 1.0 by definition with 2 classes
    assert shown(metrics, 5) == ["loss", "accuracy"]
    assert shown(metrics, 10) == ["loss", "accuracy", "top5_accuracy", "top5_error"]
    test = {"test_loss": 0.5, "test_accuracy": 0.9, "test_top5_accuracy": 1.0, **metrics}
    assert shown(test, 10, "test") == ["loss", "accuracy", "top5_accuracy"]


def test_a_short_training_step_is_given_in_milliseconds():
    from kerascnn.benchmark import report

    startup = {"phases": {"first_step": 0.5}, "total_s": 0.5, "step_s": 0.0042}
    text = "\n".join(report._startup(startup))
    assert "takes 4.2 ms" in text and "0.00 s" not in text


def test_startup_lines_are_recognised_by_glog_severity():
    info = "I0000 00:00:1796599668.256106   17851 cudart_stub.cc:31] Could not find cuda drivers on your machine.\n"
    warning = "W0000 00:00:1796599668.256106   17851 cpu_feature_guard.cc:227] This TensorFlow binary ...\n"
    assert cli._startup_line(info, 1) and not cli._startup_line(info, 0)
    assert cli._startup_line(warning, 2) and not cli._startup_line(warning, 1)
    assert cli._startup_line(cli._ABSL_NOTICE + "\n", 1) and not cli._startup_line(cli._ABSL_NOTICE + "\n", 0)
    assert not cli._startup_line("Traceback (most recent call last):\n", 3)
    assert not cli._startup_line("I0000 is a name, not a log line\n", 3)


def test_tensorflows_start_up_lines_stay_below_the_level_asked_for():
    code = "from pipelines import train; train.parse(['lenet5']); import sys; print('tensorflow' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=environment())
    assert result.returncode == 0 and result.stdout.strip() == "True", result.stderr
    assert "absl::InitializeLog" not in result.stderr and "cudart_stub" not in result.stderr, result.stderr
