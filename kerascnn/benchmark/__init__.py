"""Measured speed: training and inference images per second, the input pipeline's, the start to the first
training step, and peak memory, side by side with keras.applications (`python -m pipelines.benchmark`).

    from kerascnn.benchmark import Settings, run_benchmark, report
    results = run_benchmark(Settings("resnet50", batch_sizes=(16, 32), compare=True))
    print(report.markdown([results]))

Modules by job: machine (what it ran on, memory), candidates (the models timed), throughput (timing steps in
alternation), probe (a point in a fresh process: start-up and memory), input_pipeline (the data's speed), suite
(the whole run), report (markdown and JSON).
"""

from kerascnn.benchmark import report
from kerascnn.benchmark.suite import Settings, run_benchmark

__all__ = ["Settings", "report", "run_benchmark"]
