"""A whole benchmark of one model: what `python -m pipelines.benchmark MODEL` runs, as a library call.

    results = run_benchmark(Settings("resnet50", compare=True))
    print(report.markdown([results]))

The first batch size and image size are the main point: every candidate is built there in one fresh process
(probe.py), which also times the start to the first step, and timed in alternation. Each further batch size and
image size is a point of the sweep, for our model alone (the first precision and XLA setting), in its own fresh
process, so that its peak memory is its own. Last, the input pipeline is timed at the main point for each source.
"""

import dataclasses
import itertools

from kerascnn.benchmark import input_pipeline
from kerascnn.benchmark.candidates import COUNTERPARTS, OURS, THEIRS, candidates
from kerascnn.benchmark.loading import measure_loading
from kerascnn.benchmark.machine import describe_machine
from kerascnn.benchmark.probe import measure_point
from kerascnn.benchmark.serving import measure_serving
from kerascnn.benchmark.throughput import ratios, summarize
from kerascnn.choices import SERVING_PRECISIONS
from kerascnn.errors import Mention, UserError
from kerascnn.registry import checked_model
from kerascnn.training.devices import PRECISIONS


@dataclasses.dataclass
class Settings:
    """What to measure; the defaults finish in a few minutes for any model of the zoo on two CPU cores."""

    model: str
    batch_sizes: tuple[int, ...] = (16,)  # the first is the main point; more make a sweep
    image_sizes: tuple[int, ...] = ()  # likewise; none: the paper's input size
    precisions: tuple[str, ...] = ("auto",)  # "auto" or Keras dtype policies; several are timed side by side
    jit_compile: tuple = ("auto",)  # "auto", True, False; several are timed side by side
    compare: bool = False  # also time keras.applications' build of the same architecture, in alternation
    serving: bool = False  # also load and time the exported SavedModels, ours and keras.applications' (loading.py)
    serving_only: bool = False  # only that: no training, inference or input pipeline points
    serving_precisions: tuple[str, ...] = ("float32",)  # ours exported in each (serving_precision), side by side
    steps: int = 3  # timed steps in each repetition
    warmup: int = 2  # uncounted steps after the first (which traces), per model
    repeats: int = 3  # repetitions; each gives one sample per model
    sources: tuple[str, ...] = input_pipeline.SOURCES
    input_batches: int = 10  # timed batches of the input pipeline in each repetition
    # None: the paper's dataset's: a segmentation model's own (PASCAL VOC's 21, U-Net's 2), 10 for the 32x32 models
    # (MNIST, CIFAR-10), else 1000 (ImageNet)
    num_classes: int | None = None
    timeout: int | None = None  # seconds a point may take in its process


def validate(settings):
    """The settings with the model's canonical name and sizes filled in; UserError on anything out of range."""
    spec = checked_model(settings.model, settings.image_sizes)
    sizes = settings.image_sizes or (spec.input_shape[0],)
    if settings.compare and spec.name not in COUNTERPARTS:
        message = f": keras.applications has no {spec.name}; it has {', '.join(COUNTERPARTS)}."
        raise UserError(Mention("compare"), message, field="compare")
    if settings.serving_only and not settings.serving:
        message = (Mention("serving_only"), " measures the serving side alone: it needs ", Mention("serving"), ".")
        raise UserError(*message, field="serving_only")
    bad = [p for p in settings.precisions if p not in PRECISIONS]
    if bad:
        raise UserError(
            Mention("precisions"), f" {bad[0]!r} is not one of {', '.join(PRECISIONS)}.", field="precisions"
        )
    bad = [p for p in settings.serving_precisions if p not in SERVING_PRECISIONS]
    if bad:
        message = f" {bad[0]!r} is not {' or '.join(SERVING_PRECISIONS)}."
        raise UserError(Mention("serving_precisions"), message, field="serving_precisions")
    for name in ("steps", "repeats", "input_batches"):
        if getattr(settings, name) < 1:
            raise UserError(Mention(name), f" must be at least 1, got {getattr(settings, name)}.", field=name)
    if settings.warmup < 0:
        raise UserError(Mention("warmup"), f" must be 0 or more, got {settings.warmup}.", field="warmup")
    if min(settings.batch_sizes) < 1:
        message = f" must each be at least 1, got {min(settings.batch_sizes)}."
        raise UserError(Mention("batch_sizes"), message, field="batch_sizes")
    # A segmentation model at ImageNet's 1000 classes is another network: FCN-8s's score and upsampling layers
    # grow 48 times and its 500x500 maps of 1000 channels took 18 GB at a batch of 8 (killed: out of memory).
    paper = spec.num_classes if spec.task == "segmentation" else (10 if spec.input_shape[0] <= 32 else 1000)
    classes = settings.num_classes or paper
    return dataclasses.replace(settings, model=spec.name, image_sizes=tuple(sizes), num_classes=classes)


def run_benchmark(settings, *, log=print):
    """Measures `settings.model`; returns a dict of plain values (report.py formats it)."""
    settings = validate(settings)
    machine = describe_machine()
    if settings.serving_only:
        return {
            "model": settings.model,
            "machine": machine,
            "settings": dataclasses.asdict(settings),
            "candidates": [],
            "comparison": [],
            "auto": None,
            "sweep": [],
            "input_pipeline": {},
            **_serving(settings, log),
        }
    main_batch, main_size = settings.batch_sizes[0], settings.image_sizes[0]
    timed = candidates(precisions=settings.precisions, jit_compile=settings.jit_compile, compare=settings.compare)

    log(f"{settings.model}: {len(timed)} model(s) at batch {main_batch}, {main_size}x{main_size}, in a fresh process")
    main = measure_point(_point(settings, main_batch, main_size, timed), timeout=settings.timeout)
    if "error" in main:
        smaller = ("; smaller ", Mention("batch_sizes"), " or ", Mention("image_sizes"), " may fit")
        hint = smaller if "memory" in main["error"] else ()
        raise UserError(f"{settings.model} at batch {main_batch}, {main_size}x{main_size}: {main['error']}", *hint, ".")
    rows = [_summarized(row) for row in main["candidates"]]
    sweep = [{"batch_size": main_batch, "image_size": main_size, **_sweep_row(rows[0])}]
    for batch, size in itertools.product(settings.batch_sizes, settings.image_sizes):
        if (batch, size) != (main_batch, main_size):
            log(f"{settings.model}: sweep point batch {batch}, {size}x{size}")
            point = measure_point(_point(settings, batch, size, timed[:1]), timeout=settings.timeout)
            row = {"error": point["error"]} if "error" in point else _sweep_row(_summarized(point["candidates"][0]))
            sweep.append({"batch_size": batch, "image_size": size, **row})
    sweep.sort(key=lambda row: (row["image_size"], row["batch_size"]))
    log(f"{settings.model}: input pipeline ({', '.join(settings.sources) or 'no sources'})")
    inputs = input_pipeline.measure_sources(
        settings.model,
        batch_size=main_batch,
        image_size=main_size,
        sources=settings.sources,
        batches=settings.input_batches,
        repeats=settings.repeats,
    )
    ours = next(row for row in rows if row["implementation"] == OURS)
    for source in inputs.values():
        source["over_training"] = source["median"] / ours["train"]["median"]
    return {
        "model": settings.model,
        "machine": machine,
        "settings": dataclasses.asdict(settings),
        "startup": _startup(main["startup"], step_s=main_batch / ours["train"]["median"]),
        "candidates": rows,
        "comparison": _comparison(rows),
        "auto": _auto_check(rows),
        "sweep": sweep,
        "input_pipeline": inputs,
        **_serving(settings, log),
    }


def _serving(settings, log):
    """With `settings.serving`: each version loaded in fresh processes (loading.py), and the serving signatures
    timed side by side in one process where keras.applications has the model (serving.py)."""
    if not settings.serving:
        return {"serving": None, "loading": None}
    batch, size = settings.batch_sizes[0], settings.image_sizes[0]
    log(f"{settings.model}: each version loaded in fresh processes, ours and keras.applications' where it has one")
    loading = measure_loading(
        settings.model, image_size=size, num_classes=settings.num_classes, repeats=settings.repeats, log=log
    )
    serving = None
    if settings.model in COUNTERPARTS:
        log(f"{settings.model}: serving signatures, ours and keras.applications' exported SavedModel")
        serving = measure_serving(
            settings.model,
            image_size=size,
            num_classes=settings.num_classes,
            batch_size=batch,
            steps=settings.steps,
            repeats=settings.repeats,
            warmup=settings.warmup,
            precisions=settings.serving_precisions,
        )
    return {"serving": serving, "loading": loading}


def _summarized(row):
    return {**row, "train": summarize(row["train"]), "inference": summarize(row["inference"])}


def _point(settings, batch_size, image_size, timed):
    return {
        "model": settings.model,
        "batch_size": batch_size,
        "image_size": image_size,
        "num_classes": settings.num_classes,
        "candidates": [dataclasses.asdict(c) for c in timed],
        "steps": settings.steps,
        "warmup": settings.warmup,
        "repeats": settings.repeats,
    }


def _sweep_row(row):
    return {key: row[key] for key in ("train", "inference", "peak_mib", "rise_mib", "memory_exact")}


def _startup(phases, *, step_s):
    """The phases of the main point's first model, their total, and one ordinary training step for scale: the
    first step's excess over it is the graph's tracing and optimisation (and XLA compilation)."""
    order = ("python_start", "import_tensorflow", "import_keras_kerascnn", "data", "build", "first_step")
    phases = {name: phases[name] for name in order}
    return {"phases": phases, "total_s": sum(phases.values()), "step_s": step_s}


def _comparison(rows):
    """Ours / keras.applications' per precision and XLA setting, from the per-repetition samples."""
    pairs = {}
    for row in rows:
        pairs.setdefault((row["precision"], row["jit_compile"]), {})[row["implementation"]] = row
    out = []
    for (precision, jit), pair in pairs.items():
        if OURS in pair and THEIRS in pair:
            out.append(
                {
                    "precision": precision,
                    "jit_compile": jit,
                    "resolved_precision": pair[OURS]["resolved_precision"],
                    "resolved_jit_compile": pair[OURS]["resolved_jit_compile"],
                    **{
                        kind: ratios(pair[OURS][kind]["samples"], pair[THEIRS][kind]["samples"])
                        for kind in ("train", "inference")
                    },
                }
            )
    return out


def _auto_check(rows):
    """Whether what `pipelines.train` picks by default (precision and XLA "auto") trained fastest among our
    candidates that resolve to something else; None when nothing else was timed."""
    ours = [row for row in rows if row["implementation"] == OURS]
    auto = next((row for row in ours if row["precision"] == "auto" and row["jit_compile"] == "auto"), None)
    if auto is None:
        return None
    resolved = (auto["resolved_precision"], auto["resolved_jit_compile"])
    others = [row for row in ours if (row["resolved_precision"], row["resolved_jit_compile"]) != resolved]
    if not others:
        return None
    fastest = max(others, key=lambda row: row["train"]["median"])
    return {
        "precision": resolved[0],
        "jit_compile": resolved[1],
        "fastest_other": {"precision": fastest["resolved_precision"], "jit_compile": fastest["resolved_jit_compile"]},
        "speedup_over_fastest_other": auto["train"]["median"] / fastest["train"]["median"],
        "auto_is_fastest": auto["train"]["median"] >= fastest["train"]["median"],
    }
