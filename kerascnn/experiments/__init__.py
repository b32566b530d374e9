"""The lecture's claims, reproduced (`python -m pipelines.experiment`): each claim an experiment whose arms are
ordinary runs of the pipeline on the same data, budget and seeds, measured, compared with the paper, and reported.

from kerascnn.experiments import EXPERIMENTS, report, run_experiment
results = run_experiment(EXPERIMENTS["relu_vs_tanh"], output="experiments", seeds=3)
report.write(results, "experiments/relu_vs_tanh", command="...", kind="curves")
"""

from kerascnn.experiments import report
from kerascnn.experiments.measures import MEASURES, verdict
from kerascnn.experiments.runner import experiment, resolve_arm, run_experiment
from kerascnn.experiments.table import EXPERIMENTS, Arm, Budget, Comparison, Experiment

__all__ = [
    "EXPERIMENTS",
    "MEASURES",
    "Arm",
    "Budget",
    "Comparison",
    "Experiment",
    "experiment",
    "report",
    "resolve_arm",
    "run_experiment",
    "verdict",
]
