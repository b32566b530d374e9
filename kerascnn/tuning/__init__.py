"""Hyperparameter search over the training recipes, with keras-tuner, behind `python -m pipelines.tune`.

import dataclasses
from kerascnn.training import runs
from kerascnn.tuning import default_spaces, hypermodel, loader, logs, results, search_space, tuners

configs = search_space.TrialConfigs("lenet5", dataset="shapes", overrides=(("epochs", 2),))
space = default_spaces.default_space(configs())          # or search_space.load_space("space.yaml")
search_space.check_space(space, configs)
run = runs.prepare(dataclasses.replace(configs(), run_dir="runs/tune/lenet5"))
splits = loader.load(run)
objective = tuners.objective("val_accuracy")
tuner = tuners.make_tuner("random", hypermodel.RecipeHyperModel(space, configs, run, splits),
                          objective=objective, directory="runs/tune/lenet5", max_trials=10, epochs=2)
tuners.search(tuner, callbacks=logs.callbacks("runs/tune/lenet5"))
print(results.report(tuner, objective, "runs/tune/lenet5/results.json", model="lenet5", kind="random"))

Modules by job: search_space and default_spaces (what is searched), hypermodel (a trial), tuners (keras-tuner's
searches), roles (local, chief or worker), loader (the data), logs (TensorBoard), project (the search's folder),
progress and results (what it prints and writes), best (after the search).
"""
