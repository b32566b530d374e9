"""The Kubeflow Pipelines components of the train pipeline, and the pipeline that chains them (kfp 2.x).

Each component is a lightweight Python component whose body calls pipelines.kubeflow_steps in the project's
image (the repository's Dockerfile installs kerascnn and kfp there, so nothing is pip-installed at run time).
Artifacts are typed: the examples a `Dataset`, the trained model a `Model`, the scalar metrics `Metrics`, the
confusion matrix `ClassificationMetrics` (the Kubeflow UI draws it), the pushed version a `Model` whose URI is
the version's folder. The evaluator returns the blessing, and the pusher runs under it (dsl.If).

The blessing is the evaluator's single return value (its output "Output"), not a named output of a NamedTuple:
kfp.local (2.17) cannot resolve a condition on a named output of a task ("pipelinechannel--evaluator-blessed"
reads as a parent input), so the pusher would never run locally.
"""

from kfp import dsl
from kfp.dsl import ClassificationMetrics, Dataset, Input, Metrics, Model, Output


def example_gen(argv: list, examples: Output[Dataset]):
    from pipelines import kubeflow_steps

    about = kubeflow_steps.example_gen(argv, examples.path)
    examples.metadata.update({key: about[key] for key in ("dataset", "source", "task", "num_train", "num_val")})
    examples.metadata["class_names"] = about["class_names"]


def trainer(argv: list, examples: Input[Dataset], model: Output[Model]):
    from pipelines import kubeflow_steps

    about = kubeflow_steps.trainer(argv, examples.path, model.path)
    model.metadata.update(about)
    model.metadata["framework"] = "keras"


def evaluator(
    argv: list,
    examples: Input[Dataset],
    model: Input[Model],
    metrics: Output[Metrics],
    confusion_matrix: Output[ClassificationMetrics],
) -> bool:
    from pipelines import kubeflow_steps

    evaluation, matrix, class_names = kubeflow_steps.evaluator(argv, examples.path, model.path, metrics.path)
    for name, value in kubeflow_steps.scalar_metrics(evaluation.metrics).items():
        metrics.log_metric(name, value)
    metrics.metadata["blessed"] = evaluation.blessed
    metrics.metadata["blessing"] = evaluation.reason
    confusion_matrix.log_confusion_matrix(class_names, matrix.tolist())
    return evaluation.blessed


def pusher(argv: list, examples: Input[Dataset], model: Input[Model], metrics: Input[Metrics], pushed: Output[Model]):
    from pipelines import kubeflow_steps

    path, reason = kubeflow_steps.pusher(argv, examples.path, model.path, metrics.path)
    pushed.metadata["reason"] = reason
    pushed.metadata["pushed"] = path is not None
    if path:
        pushed.uri = kubeflow_steps.storage_uri(path)  # the version's folder, as TF Serving reads it
        pushed.metadata["version"] = int(path.rstrip("/").rsplit("/", 1)[-1])


def tuner(argv: list, tune_flags: list, search: Output[dsl.Artifact]) -> list:
    from pipelines import kubeflow_steps

    best = kubeflow_steps.tuner(argv, tune_flags, search.path)
    search.metadata["train_argv"] = best
    return best


STAGES = {"example_gen": example_gen, "trainer": trainer, "evaluator": evaluator, "pusher": pusher, "tuner": tuner}


def components(image):
    """The stages as components that run in `image`, with kfp already installed there."""
    return {name: dsl.component(func, base_image=image, install_kfp_package=False) for name, func in STAGES.items()}


def build(train_argv, *, image, gpus=0, accelerator="nvidia.com/gpu", tune_flags=None):
    """The pipeline for `train_argv` (the model, then pipelines.train's flags; its default parameter): a
    function for kfp's compiler or for a local run."""
    ops = components(image)
    model = train_argv[0]

    @dsl.pipeline(name=f"kerascnn-{model.replace('_', '-')}", description=f"Trains, evaluates and pushes {model}.")
    def pipeline(argv: list = list(train_argv)):  # noqa: B006 (the parameter's default, compiled into the YAML)
        flags = argv
        if tune_flags is not None:
            search = ops["tuner"](argv=argv, tune_flags=list(tune_flags)).set_display_name("tuner")
            search.set_caching_options(False)
            _accelerate(search, gpus, accelerator)
            flags = search.outputs["Output"]
        data = ops["example_gen"](argv=flags).set_display_name("example gen")
        trained = ops["trainer"](argv=flags, examples=data.outputs["examples"]).set_display_name("trainer")
        _accelerate(trained, gpus, accelerator)
        evaluated = ops["evaluator"](
            argv=flags, examples=data.outputs["examples"], model=trained.outputs["model"]
        ).set_display_name("evaluator")
        with dsl.If(evaluated.outputs["Output"] == True, name="blessed"):  # noqa: E712 (a kfp condition, not a bool)
            pushed = ops["pusher"](
                argv=flags,
                examples=data.outputs["examples"],
                model=trained.outputs["model"],
                metrics=evaluated.outputs["metrics"],
            ).set_display_name("pusher")
        # Example gen reads data, the evaluator and the pusher the versions pushed so far: outside state that a
        # cached result would not see.
        for task in (data, evaluated, pushed):
            task.set_caching_options(False)

    return pipeline


def _accelerate(task, gpus, accelerator):
    if gpus:
        task.set_accelerator_type(accelerator).set_accelerator_limit(gpus)


def build_evaluation(train_argv, *, image, examples_uri, model_uri):
    """The evaluator alone, on the examples and the model of an earlier run (imported by URI): its metrics again
    and its blessing against the versions pushed since."""
    ops = components(image)

    @dsl.pipeline(name=f"kerascnn-{train_argv[0].replace('_', '-')}-evaluator")
    def pipeline(argv: list = list(train_argv)):  # noqa: B006 (the parameter's default, compiled into the YAML)
        examples = dsl.importer(artifact_uri=examples_uri, artifact_class=Dataset, reimport=False)
        model = dsl.importer(artifact_uri=model_uri, artifact_class=Model, reimport=False)
        evaluated = ops["evaluator"](argv=argv, examples=examples.output, model=model.output)
        evaluated.set_caching_options(False).set_display_name("evaluator")

    return pipeline
