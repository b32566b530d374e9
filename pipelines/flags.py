"""The command line's one table of flags, for the pipelines whose parsers it builds: train, tune and export.

The library speaks of config fields (`batch_size`, `data.on_bad_image`); only this module knows the flags a user
types. It adds the flags to a parser, turns the flags given into config fields (`overrides`: a flag not typed
is left out, so the model's recipe is the one source of defaults), a trial's fields back into a
`pipelines.train` command line (`train_argv`), and the fields a message mentions into flags (`speak`). Importing
it loads nothing heavy (kerascnn.choices imports nothing), so that `--help` stays instant.
"""

import argparse
import dataclasses

from kerascnn.choices import (
    BAD_IMAGE_POLICIES,
    OBJECTIVES,
    PRECISIONS,
    SERVING_PRECISIONS,
    STRATEGIES,
    TRIAL_STRATEGIES,
    TUNERS,
)

TRAIN, TUNE, EXPORT = "train", "tune", "export"
BENCHMARK, BACKEND, INSPECT, EVALUATE = "benchmark", "benchmark_backend", "inspect", "evaluate"
RECIPE = "default: the model's recipe"
SHOWN = " (--show-config prints it)"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Flag:
    """One flag: what it sets and how it reads in each pipeline's --help."""

    flag: str
    field: str  # the config field it sets, or the pipeline's own setting (config=False)
    help: str
    group: str = "training"
    type: object = None  # int, float, str; None: a switch, which sets `field` to `value`
    value: object = True
    choices: tuple | None = None
    exclusive: str | None = None  # flags of one mutually exclusive group share this name
    pipelines: tuple = (TRAIN, TUNE)
    config: bool = True  # False: a setting of the pipeline, read from its args, not a field of the run's config
    default: object = None  # only for a pipeline's own setting: a config field's default is the recipe's
    required: bool = False
    metavar: str | None = None
    differs: dict = dataclasses.field(default_factory=dict)  # pipeline -> {attribute: what it is there}

    def get(self, name, pipeline):
        return self.differs.get(pipeline, {}).get(name, getattr(self, name))


# One row per flag, in --help order within each group.
FLAGS = (
    Flag(
        flag="--tuner",
        field="tuner",
        help="keras-tuner's search: random, Bayesian optimisation or Hyperband",
        group="search",
        type=str,
        default="random",
        choices=TUNERS,
        pipelines=(TUNE,),
        config=False,
    ),
    Flag(
        flag="--max-trials",
        field="max_trials",
        help="trials at most (default: 10; Hyperband: as many as its brackets hold)",
        group="search",
        type=int,
        pipelines=(TUNE,),
        config=False,
    ),
    Flag(
        flag="--objective",
        field="objective",
        help="the metric the search optimises (losses are minimised, accuracies maximised)",
        group="search",
        type=str,
        default="val_accuracy",
        choices=OBJECTIVES,
        pipelines=(TUNE,),
        config=False,
    ),
    Flag(
        flag="--search-space",
        field="search_space",
        help="a JSON or YAML file of config fields and ranges (default: the family's; README)",
        group="search",
        type=str,
        pipelines=(TUNE,),
        config=False,
        metavar="FILE",
    ),
    Flag(
        flag="--tune-dir",
        field="tune_dir",
        help="the search's folder (default: runs/tune/<model>-<dataset>-<tuner>)",
        group="search",
        type=str,
        pipelines=(TUNE,),
        config=False,
    ),
    Flag(
        flag="--overwrite",
        field="overwrite",
        help="start afresh instead of resuming the search",
        group="search",
        pipelines=(TUNE,),
        config=False,
    ),
    Flag(
        flag="--dataset",
        field="data.dataset",
        help="shapes (embedded, offline), a tensorflow-datasets name, or a folder of class folders (for a "
        "segmentation model: shapes with masks, oxford_iiit_pet, or a folder of images and masks). On shapes the run "
        "is sized as a demo (classifiers: 5 epochs, Adam 1e-4; segmentation: 64x64 inputs, the backbone at 1/8 "
        "width, 18 epochs of batch 8, Adam 1e-3 with warm-up and cosine decay" + SHOWN + ") (default: shapes)",
        group="data",
        type=str,
        differs={TUNE: {"help": "shapes (the default), a tensorflow-datasets name, or a folder (as pipelines.train)"}},
    ),
    Flag(
        flag="--data-dir",
        field="data.data_dir",
        help="tensorflow-datasets' data directory (default: tfds' own)",
        group="data",
        type=str,
    ),
    Flag(
        flag="--val-split",
        field="data.val_split",
        help="fraction of a folder held out for validation (default 0.1)",
        group="data",
        type=float,
    ),
    Flag(
        flag="--on-bad-image",
        field="data.on_bad_image",
        help="an undecodable image: fail (default) or skip",
        group="data",
        type=str,
        choices=BAD_IMAGE_POLICIES,
        pipelines=(TRAIN,),
    ),
    Flag(
        flag="--weights",
        field="weights",
        help="pretrained weights: imagenet (downloaded once) or a file (.h5 of keras.applications, .onnx); "
        "pipelines.train fine-tunes them: a new head first, then the whole network" + SHOWN,
        type=str,
        pipelines=(TRAIN, EXPORT),
        differs={
            EXPORT: {
                "help": "the weights to serve: imagenet (downloaded once) or a file (.h5 of keras.applications, .onnx)",
                "group": "model",
                "required": True,
            }
        },
    ),
    Flag(
        flag="--epochs",
        field="epochs",
        help=RECIPE + SHOWN,
        type=int,
        differs={TUNE: {"help": "epochs a trial trains (Hyperband: at most); " + RECIPE, "group": "search"}},
    ),
    Flag(
        flag="--batch-size",
        field="batch_size",
        help="per replica; " + RECIPE + SHOWN,
        type=int,
        exclusive="batch",
        differs={TUNE: {"help": "per replica; " + RECIPE}},
    ),
    Flag(
        flag="--global-batch-size",
        field="global_batch_size",
        help="the global batch instead, divided among replicas",
        type=int,
        exclusive="batch",
        pipelines=(TRAIN,),
    ),
    Flag(
        flag="--learning-rate",
        field="optimizer.learning_rate",
        help="for the recipe's reference batch; " + RECIPE + SHOWN,
        type=float,
        pipelines=(TRAIN,),
    ),
    Flag(
        flag="--image-size",
        field="image_size",
        help="input height and width (default: the paper's)",
        type=int,
        pipelines=(TRAIN, TUNE, EXPORT),
        differs={EXPORT: {"group": "model"}},
    ),
    Flag(
        flag="--precision",
        field="precision",
        help="auto (the recipe's default): mixed_float16 on GPUs of compute capability >= 7.0, bfloat16 on TPU, "
        "float32 on CPU (the fastest there unless the CPU has AVX512_BF16 or AMX, where mixed_bfloat16 trains "
        "1.3-1.9x faster, measured; auto stays float32 so that results do not depend on the CPU)",
        type=str,
        choices=PRECISIONS,
    ),
    Flag(
        flag="--strategy",
        field="strategy",
        help="auto (the recipe's default): TPU, TF_CONFIG's cluster, all GPUs, or one device",
        type=str,
        choices=STRATEGIES,
        differs={TUNE: {"help": "the devices each trial trains on (default: auto)", "choices": TRIAL_STRATEGIES}},
    ),
    Flag(
        flag="--seed",
        field="seed",
        help="the initial weights' and the data's random seed; " + RECIPE + " (0)",
        type=int,
        differs={TUNE: {"help": "the search's draws and every trial's initial weights; " + RECIPE + " (0)"}},
    ),
    Flag(
        flag="--deterministic",
        field="deterministic",
        help="TensorFlow op determinism (bit-exact reruns)",
        pipelines=(TRAIN,),
    ),
    Flag(
        flag="--recover",
        field="on_nan",
        help="on a NaN or exploding loss, go back to the last checkpoint with a lower rate",
        value="recover",
        pipelines=(TRAIN,),
    ),
    Flag(
        flag="--train-epochs",
        field="train_epochs",
        help="epochs of that run; " + RECIPE,
        group="the best trial",
        type=int,
        pipelines=(TUNE,),
        config=False,
    ),
    Flag(
        flag="--output-dir",
        field="output_dir",
        help="where versions are pushed (default: saved_models)",
        group="outputs",
        type=str,
        pipelines=(TRAIN, TUNE, EXPORT),
        differs={TUNE: {"group": "the best trial"}},
    ),
    Flag(
        flag="--serving-precision",
        field="serving_precision",
        help="what the pushed model computes in: float32 (default; equal to the trained model to float rounding) "
        "or bfloat16 (about 2x the throughput on CPUs with AVX512_BF16 or AMX and on GPUs, probabilities within "
        "about 0.02 of float32's; slower on CPUs without bfloat16 instructions)",
        group="outputs",
        type=str,
        choices=SERVING_PRECISIONS,
        pipelines=(TRAIN, TUNE, EXPORT),
        differs={TUNE: {"group": "the best trial"}},
    ),
    Flag(
        flag="--run-dir",
        field="run_dir",
        help="logs and checkpoints (default: runs/<model>-<dataset>)",
        group="outputs",
        type=str,
        differs={TUNE: {"group": "the best trial", "help": "that run's folder (default: <tune-dir>/train)"}},
    ),
    Flag(
        flag="--force-push",
        field="push",
        help="push even when not better than the last version",
        group="outputs",
        value="force",
        exclusive="push",
        differs={TUNE: {"group": "the best trial"}},
    ),
    Flag(
        flag="--no-push",
        field="push",
        help="train and evaluate only",
        group="outputs",
        value="never",
        exclusive="push",
        differs={TUNE: {"group": "the best trial", "help": "evaluate only"}},
    ),
    Flag(
        flag="--ten-crop",
        field="ten_crop",
        help="also evaluate with AlexNet's 10-crop test",
        group="outputs",
        pipelines=(TRAIN,),
    ),
    Flag(
        flag="--profile-batches",
        field="profile_batches",
        help="e.g. 10,20: profile those steps for TensorBoard",
        group="outputs",
        type=str,
        pipelines=(TRAIN,),
    ),
    Flag(
        flag="--filter-images",
        field="filter_images",
        help="first-layer filters and feature maps in TensorBoard each epoch",
        group="outputs",
        pipelines=(TRAIN,),
    ),
    Flag(
        flag="--explain-images",
        field="explain_images",
        help="Grad-CAM of a fixed validation batch in TensorBoard each epoch",
        group="outputs",
        pipelines=(TRAIN,),
    ),
)

# The pipelines whose parsers are written by hand (their flags take lists, or are not config fields): the flag of
# each setting their library functions name in an error (kerascnn.benchmark.suite.Settings,
# kerascnn.analysis.inspection's arguments, the data fields pipelines.evaluate has flags for).
SETTING_FLAGS = {
    BENCHMARK: {
        "batch_sizes": "--batch-size",
        "image_sizes": "--image-size",
        "image_size": "--image-size",
        "precisions": "--precision",
        "serving_precisions": "--serving-precision",
        "steps": "--steps",
        "repeats": "--repeats",
        "input_batches": "--input-batches",
        "warmup": "--warmup",
        "compare": "--compare",
        "serving": "--serving",
    },
    INSPECT: {
        name: "--" + name.replace("_", "-")
        for name in (
            "keras_file",
            "input_size",
            "image",
            "layer",
            "max_shift",
            "plot_dir",
            "unsafe_deserialization",
            "weights",
            "explain",
            "dataset",
            "feature_layer",
            "max_images",
        )
    },
}
SETTING_FLAGS[BACKEND] = SETTING_FLAGS[BENCHMARK]
SETTING_FLAGS["experiment"] = {name: "--" + name for name in ("seeds", "epochs", "full", "output", "dataset")}
SETTING_FLAGS[EVALUATE] = {"data.dataset": "--dataset", "data.data_dir": "--data-dir"}


def key_value(text):
    """An argparse type for --set: a config field and its value."""
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected key=value (a config field and its value), got {text!r}")
    return text


def add_set(group, help):
    """The --set option: any field of the run's config, repeatable."""
    group.add_argument("--set", action="append", default=[], type=key_value, metavar="KEY=VALUE", help=help)


def flags(pipeline):
    return [row for row in FLAGS if pipeline in row.pipelines]


def _dest(row):
    return row.flag[2:].replace("-", "_")


def add_flags(parser, pipeline, groups):
    """Adds `pipeline`'s flags of the table to `parser`, each in its group of `groups` (title -> argparse group).
    A config field's flag that the user does not type is not in the parsed arguments at all (argparse.SUPPRESS):
    the recipe decides it."""
    exclusive = {}
    for row in flags(pipeline):
        group = groups[row.get("group", pipeline)]
        if row.exclusive:
            if row.exclusive not in exclusive:
                exclusive[row.exclusive] = group.add_mutually_exclusive_group()
            group = exclusive[row.exclusive]
        options = {"help": row.get("help", pipeline), "dest": _dest(row), "required": row.get("required", pipeline)}
        if row.config:
            options["default"] = argparse.SUPPRESS
        elif row.type is not None:
            options["default"] = row.default
        if row.type is None:
            group.add_argument(row.flag, action="store_const", const=row.value, **options)
        else:
            options.update(type=row.type, choices=row.get("choices", pipeline), metavar=row.metavar)
            group.add_argument(row.flag, **options)


def overrides(args, pipeline):
    """The config fields of the flags the user typed, and only those: the recipe decides the rest."""
    given = vars(args)
    return {
        row.field: given[_dest(row)]
        for row in flags(pipeline)
        # the dataset goes to config.resolve on its own
        if row.config and row.field != "data.dataset" and _dest(row) in given
    }


def train_argv(model, dataset, fields, sets):
    """`pipelines.train`'s command line for `model` with config `fields` ({field: value}) and "key=value" `sets`:
    a flag where the table has one, --set for the rest."""
    argv = [model]
    if dataset:
        argv += ["--dataset", str(dataset)]
    rows = [row for row in flags(TRAIN) if row.config]
    for field, value in fields.items():
        typed_rows = [row for row in rows if row.field == field and row.type is not None]
        switch = [row for row in rows if row.field == field and row.type is None and row.value == value]
        if typed_rows:
            argv += [typed_rows[0].flag, str(value)]
        elif switch:
            argv.append(switch[0].flag)
        else:
            argv += ["--set", f"{field}={value}"]
    for item in sets:
        argv += ["--set", item]
    return argv


def spelled(pipeline, field, value=None):
    """How the user of `pipeline` types config `field` (with `value`, where given), from the table: "--batch-size",
    "--on-bad-image skip", "--force-push" (push=force); "--set data.val_split=0.2" for a field without a flag in a
    pipeline that has --set; None where the pipeline has no way to type it."""
    for row in flags(pipeline):
        if row.field != field:
            continue
        if row.type is not None:
            return row.flag if value is None else f"{row.flag} {value}"
        if value is None or str(row.value) == str(value):
            return row.flag
    if field in SETTING_FLAGS.get(pipeline, {}):
        flag = SETTING_FLAGS[pipeline][field]
        return flag if value in (None, "True") else f"{flag} {value}"  # name=True: a switch
    if pipeline in (TRAIN, TUNE) and field not in {row.field for row in FLAGS if not row.config}:
        return f"--set {field}" if value is None else f"--set {field}={value}"
    return None


def say(mention, pipeline):
    """How the user of `pipeline` reads `mention` (a kerascnn.errors.Mention): as the flag they type
    ("--batch-size", "--on-bad-image skip", "--force-push" for push=force, "--set optimizer.momentum=x"), with
    the field's name beside a flag that spells it otherwise ("--learning-rate (optimizer.learning_rate)"), since
    --set and config.json take the name; None where the pipeline has no way to type it (the library's words stay)."""
    name = mention.field
    value = None if mention.value is None else str(mention.value)
    flag = spelled(pipeline, name, value)
    if flag is None or value is not None or flag.startswith("--set"):
        return flag
    settings = {row.field for row in flags(pipeline) if not row.config} | set(SETTING_FLAGS.get(pipeline, {}))
    if name in settings or flag[2:].replace("-", "_") == name.replace(".", "_"):
        return flag
    return f"{flag} ({name})"


def speak(message, pipeline):
    """`message` (a kerascnn.errors.Message, or a UserError's), about config fields, as the user of `pipeline`
    reads it: each field it mentions becomes what `say` makes of it. Only the mentions the library marked change;
    its words are never read back, so a path or a word that looks like a field stays as written."""
    message = getattr(message, "message", message)
    if not hasattr(message, "render"):
        return str(message)  # plain text: no mentions
    return message.render(lambda mention: say(mention, pipeline))
