"""Bad configuration: every flag given a wrong type, an out-of-range or a conflicting value ends in one line on
stderr that names the flag, and a non-zero exit, before any training."""

import pytest
from harness import run_train, survive

from pipelines.cli import run
from pipelines.train import main

CASES = [
    # (flags, what the one line must name)
    (["--epochs", "x"], "--epochs"),
    (["--epochs", "0"], "--epochs"),
    (["--epochs", "-3"], "--epochs"),
    (["--batch-size", "x"], "--batch-size"),
    (["--batch-size", "0"], "--batch-size"),
    (["--global-batch-size", "0"], "--global-batch-size"),
    (["--batch-size", "8", "--global-batch-size", "16"], "--global-batch-size"),
    (["--learning-rate", "fast"], "--learning-rate"),
    (["--learning-rate", "-0.1"], "--learning-rate"),
    (["--learning-rate", "0"], "--learning-rate"),
    (["--image-size", "big"], "--image-size"),
    (["--image-size", "16"], "--image-size"),
    (["--image-size", "0"], "--image-size"),
    (["--precision", "float8"], "--precision"),
    (["--strategy", "gpu"], "--strategy"),
    (["--strategy", "multi_worker"], "--strategy multi_worker"),
    (["--seed", "one"], "--seed"),
    (["--val-split", "1.5"], "--val-split"),
    (["--val-split", "half"], "--val-split"),
    (["--on-bad-image", "ignore"], "--on-bad-image"),
    (["--force-push", "--no-push"], "--no-push"),
    (["--cpu-devices", "two"], "--cpu-devices"),
    (["--profile-batches", "10,five"], "--profile-batches"),
    (["--profile-batches", "20,10"], "--profile-batches"),
    (["--dataset", ""], "--dataset"),
    (["--output-dir", "FILE"], "--output-dir"),
    (["--run-dir", "FILE"], "--run-dir"),
    (["--set", "epochs"], "--set"),
    (["--set", "optimizer.momentum=2"], "optimizer.momentum"),
    (["--set", "optimizer.momentum=high"], "optimizer.momentum"),
    (["--set", "optimizer.schedule=sometimes"], "optimizer.schedule"),
    (["--set", "optimizer.warmup_epochs=99"], "optimizer.warmup_epochs"),
    (["--set", "no_such_field=1"], "no_such_field"),
    (["--set", "data.augmentation=mixup"], "data.augmentation"),
    (["--set", "model=../../escape"], "model"),
    (["--epoch", "3"], "--epoch"),  # a mistyped flag is not taken for --epochs
]


@pytest.mark.parametrize("flags, names", CASES, ids=[" ".join(flags) for flags, _ in CASES])
def test_bad_flag_exits_with_one_line_naming_it(flags, names, tmp_path, capsys):
    label = f"bad flag: {' '.join(flags).replace('FILE', 'a file')}"
    flags = [str(tmp_path / "file") if f == "FILE" else f for f in flags]
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(SystemExit) as exit_:
        run(
            main,
            ["lenet5", "--run-dir", str(tmp_path / "run"), *flags] if "--run-dir" not in flags else ["lenet5", *flags],
        )
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    survived = exit_.value.code not in (0, None) and len(lines) == 1 and names in lines[0]
    survive(label, survived, f"exit code {exit_.value.code}, stderr: {err}")
    assert not (tmp_path / "run" / "checkpoints").exists()  # nothing trained


def test_global_batch_not_divisible_by_replicas(tmp_path):
    result = run_train(
        [
            "lenet5",
            "--strategy",
            "mirrored",
            "--cpu-devices",
            "2",
            "--global-batch-size",
            "3",
            "--run-dir",
            str(tmp_path / "run"),
        ]
    )
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    survived = result.returncode != 0 and len(errors) == 1 and "does not divide among 2 replicas" in errors[0]
    survive("bad flag: --global-batch-size 3 on 2 replicas", survived, f"exit {result.returncode}: {result.stderr}")
