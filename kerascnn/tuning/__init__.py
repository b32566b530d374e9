"""Hyperparameter search over the training recipes, with keras-tuner, behind `python -m pipelines.tune`.

import dataclasses
import kerascnn
from kerascnn.training import runs, trainer
from kerascnn.tuning import default_spaces, hypermodel, results, search_space, tuners

configs = search_space.TrialConfigs("lenet5", dataset="shapes", overrides=(("epochs", 2),))
space = default_spaces.default_space(configs())          # or search_space.load_space("space.yaml")
search_space.check_space(space, configs)
run = runs.prepare(dataclasses.replace(configs(), run_dir="runs/tune/lenet5"))
splits = kerascnn.data.load_splits(run.config.data, *run.input_shape[::2], seed=run.config.seed)
objective = tuners.objective("val_accuracy")
tuner = tuners.make_tuner("random", hypermodel.RecipeHyperModel(space, configs, run, splits),
                          objective=objective, directory="runs/tune/lenet5", max_trials=10, epochs=2)
tuners.search(tuner)
print(results.format_table(results.rank(tuner.oracle.trials.values(), objective), objective))
"""
