"""Measured speed: training and inference images per second, the input pipeline's, the start to the first
training step, and peak memory, side by side with keras.applications (`python -m pipelines.benchmark`).

    from kerascnn.benchmark import Settings, run_benchmark, report
    results = run_benchmark(Settings("resnet50", batch_sizes=(16, 32), compare=True))
    print(report.markdown([results]))

Modules by job: machine (what it ran on, memory), candidates (the models timed), throughput (timing steps in
alternation), probe (a point in a fresh process: start-up and memory), input_pipeline (the data's speed), suite
(the whole run), report (markdown and JSON); backends times the zoo on any Keras backend, without TensorFlow.
"""

from kerascnn.benchmark import report

__all__ = ["Settings", "report", "run_benchmark", "validate"]


def __getattr__(name):
    # The suite loads TensorFlow: imported on first use, so that backends.py runs where TensorFlow is not installed.
    if name in ("Settings", "run_benchmark", "validate"):
        from kerascnn.benchmark import suite

        return getattr(suite, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
