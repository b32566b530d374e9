"""The results of `run_benchmark` as markdown (what the command prints and benchmarks/ keeps) or JSON."""

import json

from kerascnn.benchmark.machine import summary_line

PHASES = {
    "python_start": "starting Python",
    "import_tensorflow": "importing TensorFlow (which imports Keras)",
    "import_keras_kerascnn": "importing kerascnn",
    "data": "shapes drawn, pipeline built, first batch",
    "build": "building and compiling the model",
    "first_step": "first training step (tracing, graph optimisation, the step)",
}


def markdown(results, command=None):
    """A markdown document for a list of `run_benchmark` results (one per model)."""
    lines = ["# kerascnn benchmark", ""]
    if command:
        lines += [f"`{command}`", ""]
    lines += [f"Machine: {summary_line(results[0]['machine'])}.", ""]
    compared = [r for r in results if r["comparison"]]
    if len(compared) > 1:
        lines += ["## Ours / keras.applications", "", *_ratio_table(compared, with_model=True), ""]
    loaded = [r for r in results if r.get("loading")]
    if loaded:
        lines += _loading(loaded)
    for result in results:
        lines += _model_section(result) if result["candidates"] else _serving_section(result)
    return "\n".join(lines).rstrip() + "\n"


def _model_section(result):
    s = result["settings"]
    size, batch = s["image_sizes"][0], s["batch_sizes"][0]
    alternation = "; the models timed in alternation in one process" if len(result["candidates"]) > 1 else ""
    lines = [
        f"## {result['model']}",
        "",
        f"Batch {batch}, {size}x{size}, {s['num_classes']} classes; images per second as the median of "
        f"{s['repeats']} repetitions of {s['steps']} steps (lowest-highest), after {s['warmup']} uncounted "
        f"warm-up steps{alternation}.",
        "",
        *_candidates(result["candidates"]),
    ]
    if result["comparison"]:
        lines += ["", "Ours / keras.applications, the median of per-repetition ratios (lowest-highest):", ""]
        lines += _ratio_table([result], with_model=False)
    if result["auto"]:
        lines += ["", _auto(result["auto"])]
    lines += _startup(result["startup"])
    if len(result["sweep"]) > 1:
        lines += _sweep(result["sweep"])
    if result["input_pipeline"]:
        lines += _inputs(result["input_pipeline"], batch, size)
    if result.get("serving"):
        lines += _serving(result["serving"])
    return lines + [""]


def _serving_section(result):
    lines = [f"## {result['model']}"]
    if result.get("serving"):
        lines += _serving(result["serving"])
    return lines + [""]


LOADING = (
    "Each version loaded with plain TensorFlow (`tf.saved_model.load`) in a fresh process, the implementations "
    "alternating: load, the first answer to one image through `serving_default` right after (TF Serving's warm-up "
    "requests pay it at load), the process's resident memory after it (and its rise over the process after "
    "importing TensorFlow), then the median latency of single images and the images per second at a batch. "
    "Median of the repetitions (lowest-highest)."
)


def _loading(results):
    lines = [
        "## Serving: loading, first answer, memory",
        "",
        LOADING,
        "",
        "| model | version | SavedModel MB | load s | first answer s | resident MiB, most (model's) | latency ms | "
        "images/s |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        loading = result["loading"]
        for name, runs in loading.items():
            if name in ("model", "image_size", "batch_size", "folder_mib"):
                continue
            if "error" in runs:
                lines.append(f"| {result['model']} | {name} | | {runs['error']} | | | | |")
                continue
            lines.append(
                f"| {result['model']} | {name} | {loading['folder_mib'][name]:,.0f} | {_spread(runs['load_s'])} | "
                f"{_spread(runs['first_answer_s'])} | {max(runs['resident_mib']):,.0f} "
                f"({max(runs['model_resident_mib']):,.0f}) | {_spread(runs['latency_ms'])} | "
                f"{_spread(runs['throughput'])} |"
            )
    return lines + [""]


def _spread(values):
    values = sorted(value for value in values if value is not None)
    if not values:
        return "out of time"
    middle = (
        values[len(values) // 2] if len(values) % 2 else (values[len(values) // 2 - 1] + values[len(values) // 2]) / 2
    )
    if len(values) == 1:
        return _number(middle)
    return f"{_number(middle)} ({_number(values[0])}-{_number(values[-1])})"


def _serving(serving):
    rate, latency = serving["throughput"], serving["latency_ms"]
    lines = [
        "",
        "### Serving",
        "",
        "Our pusher's SavedModel (`serving_default`, uint8 images, preprocessing in the graph, BN folded, weights "
        "as variables) against keras.applications' `model.export` (its images cast to float32), both "
        "loaded with `tf.saved_model.load`, in alternation: images/s at batch "
        f"{serving['batch_size']} (median of {serving['repeats']} repetitions of {serving['steps']} calls, "
        f"lowest-highest) and the latency of single images over {serving['repeats'] * serving['calls']} calls each.",
        "",
        "| model | images/s | latency ms, median | 95th percentile |",
        "|---|---:|---:|---:|",
    ]
    for name in rate:
        lines.append(f"| {name} | {_rate(rate[name])} | {latency[name]['p50']:.1f} | {latency[name]['p95']:.1f} |")
    for name, ratio in serving["throughput_ratio"].items():
        latency_ratio = serving["latency_ratio"][name]
        lines.append(
            f"| **{name} / keras.applications** | **{_ratio(ratio)}** | **{latency_ratio['p50']:.2f}** | "
            f"**{latency_ratio['p95']:.2f}** |"
        )
    return lines


def _candidates(rows):
    lines = [
        "| model | precision | XLA | training img/s | inference img/s | peak memory MiB (rise) |",
        "|---|---|---|---:|---:|---:|",
    ]
    for row in rows:
        memory = f"{row['peak_mib']:,.0f} ({row['rise_mib']:+,.0f}{'' if row['memory_exact'] else '*'})"
        lines.append(
            f"| {row['implementation']} | {_precision(row)} | {_jit(row)} | {_rate(row['train'])} | "
            f"{_rate(row['inference'])} | {memory} |"
        )
    if not all(row["memory_exact"] for row in rows):
        lines += ["", "\\* built after another model in the same process: its rise may be understated."]
    return lines


def _auto(check):
    def setting(precision, jit_compile):
        return f"{precision}, {'XLA' if jit_compile else 'no XLA'}"

    verdict = "the fastest measured" if check["auto_is_fastest"] else "NOT the fastest measured"
    other = setting(**check["fastest_other"])
    return (
        f"`auto` picks {setting(check['precision'], check['jit_compile'])}: {verdict} (its training speed is "
        f"{check['speedup_over_fastest_other']:.2f}x that of {other}, the fastest of the others)."
    )


def _sweep(rows):
    lines = [
        "",
        "### Sweep",
        "",
        "Our model alone, each point in its own process (its peak is its own).",
        "",
        "| batch | image | training img/s | inference img/s | peak memory MiB (rise) |",
        "|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        cells = (
            [row["error"], "", ""]
            if "error" in row
            else [_rate(row["train"]), _rate(row["inference"]), f"{row['peak_mib']:,.0f} ({row['rise_mib']:+,.0f})"]
        )
        lines.append("| " + " | ".join([str(row["batch_size"]), str(row["image_size"]), *cells]) + " |")
    return lines


def _inputs(sources, batch, size):
    augmentation = next(iter(sources.values()))["augmentation"]
    lines = [
        "",
        "### Input pipeline",
        "",
        f"The training stream (augmentation `{augmentation}`, batch {batch}, {size}x{size}), timed alone; "
        "x training: over our training images/s.",
        "",
        "| source | images/s | x training |",
        "|---|---:|---:|",
    ]
    lines += [f"| {row['source']} | {_rate(row)} | {row['over_training']:.1f} |" for row in sources.values()]
    return lines


def _ratio_table(results, *, with_model):
    columns = (["model"] if with_model else []) + ["precision", "XLA", "training", "inference"]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for result in results:
        for row in result["comparison"]:
            cells = [_precision(row), _jit(row), _ratio(row["train"]), _ratio(row["inference"])]
            lines.append("| " + " | ".join(([result["model"]] if with_model else []) + cells) + " |")
    return lines


def _startup(startup):
    lines = ["", "### Start to the first training step", "", "| phase | seconds |", "|---|---:|"]
    lines += [f"| {PHASES[name]} | {seconds:.1f} |" for name, seconds in startup["phases"].items()]
    lines += [
        f"| **total** | **{startup['total_s']:.1f}** |",
        "",
        f"One ordinary training step takes {startup['step_s'] * 1000:.1f} ms, so the first step spends "
        f"{max(startup['phases']['first_step'] - startup['step_s'], 0):.1f} s tracing and optimising the "
        "graph.",
    ]
    return lines


def _precision(row):
    return row["resolved_precision"] + (" (auto)" if row["precision"] == "auto" else "")


def _jit(row):
    return ("yes" if row["resolved_jit_compile"] else "no") + (" (auto)" if row["jit_compile"] == "auto" else "")


def _rate(summary):
    return f"{_number(summary['median'])} ({_number(summary['min'])}-{_number(summary['max'])})"


def _number(x):
    return f"{x:,.0f}" if x >= 100 else f"{x:.1f}" if x >= 10 else f"{x:.2f}"


def _ratio(summary):
    return f"{summary['median']:.2f} ({summary['min']:.2f}-{summary['max']:.2f})"


def to_json(results, command=None):
    return json.dumps({"command": command, "results": results}, indent=2, default=str)
