"""Two runs pushing the same model at once both end with distinct, whole versions."""

from harness import assert_whole, start_train, survive, train_args, version_outputs


def test_two_runs_push_the_same_model_at_once(tmp_path):
    out_dir = tmp_path / "out"
    runs = [start_train(train_args(tmp_path / f"run{i}", out_dir, "--force-push", epochs=1)) for i in range(2)]
    results = [run.communicate(timeout=600) for run in runs]
    ok = all(run.returncode == 0 for run in runs)
    versions = sorted(p.name for p in (out_dir / "resnet20").iterdir())
    assert_whole(tmp_path / "run0", out_dir)
    outputs = [version_outputs(out_dir / "resnet20" / v) for v in versions]
    survived = ok and versions == ["1", "2"] and all(o.shape == (4, 6) for o in outputs)
    happened = f"versions {versions}, outputs {[o.shape for o in outputs]}, stderr {[err[-800:] for _, err in results]}"
    survive("two runs pushing the same model at once", survived, happened)
