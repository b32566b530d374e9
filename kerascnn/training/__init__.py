"""The trainer, evaluator and pusher behind `python -m pipelines.train`.

    config = config.resolve("alexnet", dataset="shapes")
    run = trainer.prepare(config)
    splits = kerascnn.data.load_splits(config.data, *run.input_shape[::2], seed=config.seed)
    model, history = trainer.fit(run, splits)
    metrics = evaluate.evaluate_model(run, model, splits)
    push.deliver(run, model, splits, metrics)
"""
