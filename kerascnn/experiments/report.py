"""An experiment's outputs: results.json, results.md (the claim beside the measurement) and a PNG figure in the
style of the paper's: training-error curves (Krizhevsky et al. Fig. 1, He et al. Fig. 6) or bars of each arm's
measures, the seeds as dots and the spread as error bars. Every file is written whole or not at all."""

import json
from pathlib import Path

import numpy as np

from kerascnn.analysis.plots import new_figure, save_figure
from kerascnn.experiments.measures import MEASURES, fmt
from kerascnn.io import write_atomic


def summary_lines(results):
    """The claim, then each comparison's measurement and verdict: what the command prints."""
    lines = [f"Claim: {results['claim']}"]
    for c in results["comparisons"]:
        a = results["arms"][c["a"]]["measures"][c["measure"]]
        b = results["arms"][c["b"]]["measures"][c["measure"]]
        ratio = f", ratio {c['ratio']:.2f}" if c["ratio"] is not None else ""
        lines.append(
            f"  Paper: {c['claim']}. Measured {c['measure']}: {c['a']} {_cell(c['measure'], a)} against "
            f"{c['b']} {_cell(c['measure'], b)}{ratio} -> {c['verdict']}."
        )
    return lines


def _cell(measure, summary):
    if summary["mean"] is None:
        reached = [v for v in summary["values"] if v is not None]
        return f"not reached ({len(reached)} of {summary['n']} seeds did)"
    return f"{fmt(measure, summary['mean'])} ± {fmt(measure, summary['spread'])}"


def markdown(results, command):
    budget = results["budget"]
    lines = [
        f"# {results['experiment']}",
        "",
        f"**Claim.** {results['claim']}",
        "",
        f"**Command.** `{command}`",
        "",
        f"**Budget.** {results['dataset']}, {budget['epochs']} epochs, training subset "
        f"{budget['train_subset'] or 'all'}, evaluation images {budget['eval_subset'] or 'all'}, input "
        f"{budget['image_size'] or 'the recipe'}; {results['seeds']} seeds per arm (mean ± sample standard deviation)."
        + (f" Target training error: {results['target_error']:g}." if results["target_error"] is not None else ""),
        "",
    ]
    names = list(next(iter(results["arms"].values()))["measures"])
    lines += ["| arm | model | " + " | ".join(names) + " |", "|---|---|" + "---:|" * len(names)]
    for label, arm in results["arms"].items():
        cells = [_cell(name, arm["measures"][name]) for name in names]
        own = ", ".join(f"{k}={v}" for k, v in arm.get("overrides", {}).items())
        lines.append(f"| {label} | {arm['model']}{f' ({own})' if own else ''} | " + " | ".join(cells) + " |")
    lines += ["", "| the paper says | measured | verdict |", "|---|---|---|"]
    for c in results["comparisons"]:
        a = results["arms"][c["a"]]["measures"][c["measure"]]
        b = results["arms"][c["b"]]["measures"][c["measure"]]
        ratio = f" (ratio {c['ratio']:.2f})" if c["ratio"] is not None else ""
        measured = f"{c['measure']}: {c['a']} {_cell(c['measure'], a)}, {c['b']} {_cell(c['measure'], b)}{ratio}"
        lines.append(f"| {c['claim']} | {measured} | {c['verdict']} |")
    shifted = {label: arm["shifts"] for label, arm in results["arms"].items() if "shifts" in arm}
    for kind, measure in (("accuracy", "test_accuracy"), ("agreement", "shift_agreement")):
        if not shifted:
            break
        shifts = list(next(iter(shifted.values()))[kind])
        lines += ["", f"Top-1 {kind} by shift (pixels, the mean of four directions):", ""]
        lines += ["| arm | " + " | ".join(shifts) + " |", "|---|" + "---:|" * len(shifts)]
        for label, by_kind in shifted.items():
            lines.append(f"| {label} | " + " | ".join(_cell(measure, by_kind[kind][k]) for k in shifts) + " |")
    lines += ["", "Measures:"] + [f"- {name}: {MEASURES[name][0]}" for name in names]
    return "\n".join(lines) + "\n"


def plot(results, path, kind):
    """The figure: "curves" (training error, and validation error dashed, against epochs: the mean over seeds,
    the band their range) or "bars" (one panel per measure)."""
    if kind == "curves":
        figure, axes = new_figure(figsize=(6.4, 4.2))
        for i, (label, arm) in enumerate(results["arms"].items()):
            for name, style, width in (("train_error", "-", 2.0), ("val_error", "--", 1.0)):
                curves = np.array(arm["curves"][name], dtype=float)
                if curves.size == 0:
                    continue
                epochs = np.arange(1, curves.shape[1] + 1)
                axes.plot(
                    epochs,
                    curves.mean(0),
                    style,
                    marker="o",
                    ms=3,
                    lw=width,
                    color=f"C{i}",
                    label=f"{label}: {name[:-6]}",
                )
                axes.fill_between(epochs, curves.min(0), curves.max(0), color=f"C{i}", alpha=0.15, lw=0)
        if results["target_error"] is not None:
            axes.axhline(results["target_error"], color="grey", ls=":", label=f"target {results['target_error']:g}")
        axes.set_xlabel("epochs")
        axes.set_ylabel("error")
        axes.grid(True, alpha=0.3)
        axes.legend(fontsize="small")
    else:
        names = list(next(iter(results["arms"].values()))["measures"])
        figure, axes = new_figure(ncols=len(names), figsize=(3.2 * len(names), 3.8))
        axes = np.atleast_1d(axes)
        labels = list(results["arms"])
        for ax, name in zip(axes, names):
            for i, label in enumerate(labels):
                summary = results["arms"][label]["measures"][name]
                if summary["mean"] is None:
                    continue
                ax.bar(i, summary["mean"], yerr=summary["spread"], color=f"C{i}", alpha=0.8, capsize=4)
                ax.plot([i] * summary["n"], summary["values"], "k.", ms=4)
            ax.set_xticks(range(len(labels)), labels, rotation=20, ha="right", fontsize="small")
            ax.set_title(name, fontsize="medium")
            if name == "parameters":
                ax.set_yscale("log")
            ax.grid(True, axis="y", alpha=0.3)
    dataset = Path(str(results["dataset"])).name  # a folder's name, not its whole path
    figure.suptitle(f"{results['experiment']} on {dataset} ({results['seeds']} seeds)")
    return save_figure(figure, path)


def write(results, folder, *, command, kind):
    """Writes results.json, results.md and <experiment>.png into `folder`; returns their paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / "results.json", folder / "results.md", folder / f"{results['experiment']}.png"]
    write_atomic(paths[0], json.dumps({**results, "command": command}, indent=2, default=str))
    write_atomic(paths[1], markdown(results, command))
    plot(results, paths[2], kind)
    return paths
