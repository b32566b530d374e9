"""pipelines.benchmark end to end, at tiny sizes: it runs, and its report has every field (never a speed)."""

import json

import pytest
from pipeline_helpers import assert_one_line_error, run_commands, run_pipeline

TINY = ["--steps", 1, "--warmup", 0, "--repeats", 2, "--input-batches", 1]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    root = tmp_path_factory.mktemp("benchmark")
    result = run_pipeline(
        "benchmark", "lenet5", "--batch-size", 2, 4, *TINY, "--json", root / "out.json", "--markdown", root / "out.md"
    )
    assert result.returncode == 0, result.stderr
    return json.loads((root / "out.json").read_text()), (root / "out.md").read_text(), result.stdout


def test_json_has_the_machine_the_settings_and_the_command(report):
    data, _, _ = report
    assert data["command"].startswith("python -m pipelines.benchmark lenet5 --batch-size 2 4")
    (result,) = data["results"]
    machine = result["machine"]
    assert {
        "cpu",
        "cpu_features",
        "cores",
        "memory_gib",
        "gpus",
        "tensorflow",
        "keras",
        "python",
        "load_average",
    } <= set(machine)
    assert result["settings"]["batch_sizes"] == [2, 4] and result["settings"]["image_sizes"] == [32]


def test_throughput_is_a_median_of_the_repetitions_with_memory(report):
    (result,) = report[0]["results"]
    (row,) = result["candidates"]
    import tensorflow as tf

    from kerascnn.training.devices import choose_precision

    gpu = bool(tf.config.list_physical_devices("GPU"))
    assert row["implementation"] == "kerascnn" and (row["precision"], row["jit_compile"]) == ("auto", "auto")
    assert (row["resolved_precision"], row["resolved_jit_compile"]) == (choose_precision("auto"), gpu)
    for kind in ("train", "inference"):
        summary = row[kind]
        assert len(summary["samples"]) == 2 and summary["min"] <= summary["median"] <= summary["max"]
    assert row["peak_mib"] > row["rise_mib"] > 0 and row["memory_exact"] is True


def test_startup_phases_add_up_to_the_total(report):
    (result,) = report[0]["results"]
    startup = result["startup"]
    assert list(startup["phases"]) == [
        "python_start",
        "import_tensorflow",
        "import_keras_kerascnn",
        "data",
        "build",
        "first_step",
    ]
    assert all(seconds >= 0 for seconds in startup["phases"].values())
    assert startup["total_s"] == pytest.approx(sum(startup["phases"].values()))
    assert startup["step_s"] == pytest.approx(2 / result["candidates"][0]["train"]["median"])


def test_sweep_has_each_batch_size_and_the_input_pipeline_each_source(report):
    (result,) = report[0]["results"]
    assert [(row["batch_size"], row["image_size"]) for row in result["sweep"]] == [(2, 32), (4, 32)]
    assert all(row["peak_mib"] > 0 and row["train"]["median"] > 0 for row in result["sweep"])
    train = result["candidates"][0]["train"]["median"]
    for source in ("shapes", "folder", "tfds"):
        row = result["input_pipeline"][source]
        assert row["over_training"] == pytest.approx(row["median"] / train)


def test_markdown_is_printed_and_written(report):
    _, markdown, stdout = report
    assert markdown == stdout.strip() + "\n" or markdown.strip() in stdout
    for heading in ("## lenet5", "### Start to the first training step", "### Sweep", "### Input pipeline"):
        assert heading in markdown
    assert "`python -m pipelines.benchmark lenet5" in markdown and "cores" in markdown


def test_every_name_is_checked_before_the_first_model_is_measured(tmp_path):
    markdown = tmp_path / "out.md"
    result = run_pipeline("benchmark", "lenet5", "lenet_5x", *TINY, "--markdown", markdown)
    assert_one_line_error(result, "Unknown model 'lenet_5x'")
    assert "lenet5:" not in result.stderr  # no progress line: nothing was measured
    assert not markdown.exists()


def test_a_model_that_fails_leaves_the_report_of_those_before_it(tmp_path, monkeypatch):
    from kerascnn import benchmark
    from kerascnn.errors import UserError
    from pipelines import benchmark as benchmark_cli

    measure = benchmark.run_benchmark

    def fails_on_the_second_model(settings, log):
        if settings.model != "lenet5":
            raise UserError(f"{settings.model} ran out of memory")  # as a model killed midway would end the run
        return measure(settings, log=log)

    monkeypatch.setattr(benchmark, "run_benchmark", fails_on_the_second_model)
    markdown, data = tmp_path / "out.md", tmp_path / "out.json"
    argv = ["lenet5", "lenet5_original", *map(str, TINY), "--sources", "--markdown", str(markdown), "--json", str(data)]
    with pytest.raises(UserError, match="lenet5_original ran out of memory"):
        benchmark_cli.main(argv)
    assert [entry["model"] for entry in json.loads(data.read_text())["results"]] == ["lenet5"]
    assert "## lenet5" in markdown.read_text()


MISTAKES = [
    (["lenet5", "--compare"], "keras.applications has no lenet5"),
    (["lenet_5x"], "Unknown model"),
    (["lenet5", "lenet_5x", "--versus-keras", "fashion_mnist"], "Unknown model 'lenet_5x'"),
    (["vgg16", "--image-size", "8"], "below vgg16's minimum"),
]


@pytest.fixture(scope="module")
def mistakes():
    """Each command of MISTAKES, run in one process (TensorFlow starts once)."""
    return run_commands("benchmark", [args for args, _ in MISTAKES])


@pytest.mark.parametrize("args, fragment", MISTAKES)
def test_mistakes_are_one_line(args, fragment, mistakes):
    assert_one_line_error(mistakes[tuple(args)], fragment)


@pytest.mark.slow
def test_compare_times_keras_applications_in_alternation(tmp_path):
    result = run_pipeline(
        "benchmark",
        "vgg16",
        "--compare",
        "--image-size",
        32,
        "--batch-size",
        2,
        *TINY,
        "--sources",
        "--json",
        tmp_path / "out.json",
    )
    assert result.returncode == 0, result.stderr
    (data,) = json.loads((tmp_path / "out.json").read_text())["results"]
    assert [row["implementation"] for row in data["candidates"]] == ["kerascnn", "keras.applications"]
    (ratio,) = data["comparison"]
    ours, theirs = (row["train"]["samples"] for row in data["candidates"])
    assert ratio["train"]["samples"] == pytest.approx([a / b for a, b in zip(ours, theirs)])
    assert "Ours / keras.applications" in result.stdout


@pytest.mark.slow
def test_serving_times_the_saved_models_in_alternation(tmp_path):
    result = run_pipeline(
        "benchmark",
        "resnet50",
        "--serving",
        "--serving-precision",
        "float32",
        "bfloat16",
        "--image-size",
        32,
        "--batch-size",
        2,
        *TINY,
        "--sources",
        "--json",
        tmp_path / "out.json",
    )
    assert result.returncode == 0, result.stderr
    (data,) = json.loads((tmp_path / "out.json").read_text())["results"]
    serving = data["serving"]
    names = ("kerascnn", "kerascnn (bfloat16)", "keras.applications")
    assert list(serving["throughput"]) == list(serving["latency_ms"]) == list(names)
    theirs = serving["throughput"]["keras.applications"]["samples"]
    for name in names[:2]:
        ours = serving["throughput"][name]["samples"]
        assert len(ours) == len(theirs) == 2 and min(ours + theirs) > 0
        assert serving["throughput_ratio"][name]["samples"] == pytest.approx([a / b for a, b in zip(ours, theirs)])
    latency = serving["latency_ms"]
    for name in names:
        assert 0 < latency[name]["p50"] <= latency[name]["p95"]
    assert serving["latency_ratio"]["kerascnn"]["p50"] == pytest.approx(
        latency["kerascnn"]["p50"] / latency["keras.applications"]["p50"]
    )
    assert "### Serving" in result.stdout and "kerascnn (bfloat16) / keras.applications" in result.stdout
    loading = data["loading"]
    for name in ("kerascnn", "keras.applications"):
        assert len(loading[name]["load_s"]) == 2 and min(loading[name]["first_answer_s"]) > 0
        assert all(
            whole > model > 0
            for whole, model in zip(loading[name]["resident_mib"], loading[name]["model_resident_mib"])
        )


@pytest.mark.slow
def test_serving_only_loads_any_zoo_model_in_fresh_processes(tmp_path):
    result = run_pipeline("benchmark", "lenet5", "--serving-only", "--repeats", 1, "--json", tmp_path / "out.json")
    assert result.returncode == 0, result.stderr
    (data,) = json.loads((tmp_path / "out.json").read_text())["results"]
    assert data["candidates"] == [] and data["serving"] is None  # no training; keras.applications has no LeNet-5
    loading = data["loading"]
    assert "keras.applications" not in loading and loading["folder_mib"]["kerascnn"] > 0
    assert len(loading["kerascnn"]["load_s"]) == 1 and loading["kerascnn"]["throughput"][0] > 0
    assert "## Serving: loading, first answer, memory" in result.stdout and "| lenet5 | kerascnn |" in result.stdout


def test_versus_keras_times_both_sides_on_the_same_images(tmp_path):
    from test_data_idx import write_set

    from kerascnn.benchmark.versus_keras import markdown, versus_keras

    write_set(tmp_path / "mnist", train=200, test=20)
    lines = []
    result = versus_keras("lenet5", str(tmp_path / "mnist"), steps=4, repeats=2, log=lines.append)
    assert (result["steps"], result["batch_size"]) == (4, 32) and len(lines) == 2
    ours, plain, ratio = (result[k]["samples"] for k in ("ours", "keras", "ratio"))
    assert len(ours) == len(plain) == len(ratio) == 2
    for o, k, r in zip(ours, plain, ratio):
        assert r == pytest.approx(o / k)  # images/s ratio: the same images on both sides
    text = markdown(result, "python -m pipelines.benchmark lenet5 --versus-keras mnist", "a test machine")
    assert "| ratio, kerascnn / Keras |" in text
