"""Hyperparameter search over the training recipes, with keras-tuner, behind `python -m pipelines.tune`.

    configs = search_space.TrialConfigs("lenet5", dataset="shapes")
    space = default_spaces.default_space(configs())          # or search_space.load_space("space.yaml")
    search_space.check_space(space, configs)
    run = trainer.prepare(dataclasses.replace(configs(), run_dir="runs/tune/lenet5"))
    splits = kerascnn.data.load_splits(run.config.data, *run.input_shape[::2], seed=run.config.seed)
    hypermodel = hypermodel.RecipeHyperModel(space, configs, run, splits)
    tuner = tuners.make_tuner("random", hypermodel, objective=tuners.objective("val_accuracy"),
                              directory="runs/tune/lenet5", max_trials=10, epochs=2)
    tuners.search(tuner)
    print(results.format_table(results.rank(tuner.oracle.trials.values(), tuner.oracle.objective), ...))
"""
