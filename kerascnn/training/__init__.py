"""The trainer, evaluator and pusher behind `python -m pipelines.train`:

from kerascnn.data import load_splits
from kerascnn.training import config, evaluate, push, runs, trainer

run_config = config.resolve("alexnet", dataset="shapes")
run = runs.prepare(run_config)
splits = load_splits(run_config.data, run.input_shape[0], run.input_shape[2], seed=run_config.seed)
model, history = trainer.fit(run, splits)
metrics = evaluate.evaluate_model(run, model, splits)
push.deliver(run, model, splits, metrics)
"""
