"""The command line's one table of (config field, flag, help), for pipelines.train and pipelines.tune.

The library speaks of config fields (`batch_size`, `data.on_bad_image`); only this module knows the flags a user
types. It adds the flags to a parser, turns the flags given into config fields (`overrides`), a trial's fields
back into a `pipelines.train` command line (`train_argv`), and an error's fields into the flags the user typed
(`speak`). Importing it loads nothing but the standard library, so that `--help` stays instant.
"""

import argparse
import dataclasses
import re

# The command line's copy of kerascnn.training.config.PRECISIONS, SERVING_PRECISIONS and STRATEGIES: a copy
# because importing the library loads TensorFlow, seconds that `--help` should not wait; tests/test_pipeline_flags.py
# keeps them equal.
PRECISIONS = ("auto", "float32", "mixed_float16", "mixed_bfloat16")
SERVING_PRECISIONS = ("float32", "bfloat16")
STRATEGIES = ("auto", "default", "mirrored", "multi_worker", "tpu")
TRAIN, TUNE, BENCHMARK, BACKEND, INSPECT = "train", "tune", "benchmark", "benchmark_backend", "inspect"
EXPORT = "export"
RECIPE = "the model's recipe (--show-config prints it)"


@dataclasses.dataclass(frozen=True)
class Flag:
    flag: str
    field: str  # the config field it sets, or the pipeline's own setting (config=False)
    help: str | None = None
    group: str = "training"
    type: object = None  # int, float, str; None: a switch, which sets `field` to `value`
    value: object = True
    default: object = None
    choices: tuple | None = None
    exclusive: str | None = None  # flags of one mutually exclusive group share this name
    pipelines: tuple = (TRAIN, TUNE)
    config: bool = True  # False: a setting of the pipeline, not of the run's config
    metavar: str | None = None
    tune: dict = dataclasses.field(default_factory=dict)  # what differs in pipelines.tune (help, choices, group)

    def get(self, name, pipeline):
        return self.tune.get(name, getattr(self, name)) if pipeline == TUNE else getattr(self, name)


# One row per flag, in --help order within each group.
FLAGS = (
    Flag(
        "--tuner",
        "tuner",
        None,
        "search",
        str,
        default="random",
        choices=("random", "bayesian", "hyperband"),
        pipelines=(TUNE,),
        config=False,
    ),
    Flag(
        "--max-trials",
        "max_trials",
        "trials at most (default: 10; Hyperband: as many as its brackets hold)",
        "search",
        int,
        pipelines=(TUNE,),
        config=False,
    ),
    Flag(
        "--objective",
        "objective",
        None,
        "search",
        str,
        default="val_accuracy",
        pipelines=(TUNE,),
        config=False,
        choices=("val_accuracy", "val_loss", "val_top5_accuracy", "accuracy", "loss", "top5_accuracy"),
    ),
    Flag(
        "--search-space",
        "search_space",
        "a JSON or YAML file of config fields and ranges (default: the family's; README)",
        "search",
        str,
        pipelines=(TUNE,),
        config=False,
        metavar="FILE",
    ),
    Flag(
        "--tune-dir",
        "tune_dir",
        "the search's folder (default: runs/tune/<model>-<dataset>-<tuner>)",
        "search",
        str,
        pipelines=(TUNE,),
        config=False,
    ),
    Flag(
        "--overwrite",
        "overwrite",
        "start afresh instead of resuming the search",
        "search",
        pipelines=(TUNE,),
        config=False,
    ),
    Flag(
        "--dataset",
        "data.dataset",
        "shapes (embedded, offline), a tensorflow-datasets name, or a folder of class folders (for a segmentation "
        "model: shapes with masks, oxford_iiit_pet, or a folder of images and masks). On shapes the run is sized "
        "as a demo (classifiers: 5 epochs, Adam 1e-4; segmentation: 64x64 inputs, the backbone at 1/8 width, 18 "
        "epochs of batch 8, Adam 1e-3 with warm-up and cosine decay; --show-config prints it)",
        "data",
        str,
        default="shapes",
    ),
    Flag("--data-dir", "data.data_dir", "tensorflow-datasets' data directory (default: tfds' own)", "data", str),
    Flag("--val-split", "data.val_split", "fraction of a folder held out for validation (default 0.1)", "data", float),
    Flag(
        "--on-bad-image",
        "data.on_bad_image",
        "an undecodable image: fail (default) or skip",
        "data",
        str,
        choices=("fail", "skip"),
        pipelines=(TRAIN,),
    ),
    Flag(
        "--weights",
        "weights",
        "pretrained weights: imagenet (downloaded once) or a file (.h5 of keras.applications, .onnx); "
        "pipelines.train fine-tunes them: a new head first, then the whole network (see --show-config)",
        type=str,
        pipelines=(TRAIN, EXPORT),
    ),
    Flag(
        "--epochs",
        "epochs",
        f"default: {RECIPE}",
        type=int,
        tune={"help": "epochs a trial trains (Hyperband: at most); default: the model's recipe", "group": "search"},
    ),
    Flag(
        "--batch-size",
        "batch_size",
        f"per replica; default: {RECIPE}",
        type=int,
        exclusive="batch",
        tune={"help": "per replica; default: the model's recipe"},
    ),
    Flag(
        "--global-batch-size",
        "global_batch_size",
        "the global batch instead, divided among replicas",
        type=int,
        exclusive="batch",
        pipelines=(TRAIN,),
    ),
    Flag(
        "--learning-rate",
        "optimizer.learning_rate",
        f"for the recipe's reference batch; default: {RECIPE}",
        type=float,
        pipelines=(TRAIN,),
    ),
    Flag(
        "--image-size",
        "image_size",
        "input height and width (default: the paper's)",
        type=int,
        pipelines=(TRAIN, TUNE, EXPORT),
    ),
    Flag(
        "--precision",
        "precision",
        "auto: mixed_float16 on GPUs of compute capability >= 7.0, bfloat16 on TPU, float32 on CPU (the fastest "
        "there unless the CPU has AVX512_BF16 or AMX, where mixed_bfloat16 trains 1.3-1.9x faster, measured; auto "
        "stays float32 so that results do not depend on the CPU)",
        type=str,
        default="auto",
        choices=PRECISIONS,
    ),
    Flag(
        "--strategy",
        "strategy",
        "auto: TPU, TF_CONFIG's cluster, all GPUs, or one device",
        type=str,
        default="auto",
        choices=STRATEGIES,
        tune={"help": "the devices each trial trains on", "choices": ("auto", "default", "mirrored")},
    ),
    Flag(
        "--seed",
        "seed",
        None,
        type=int,
        default=0,
        tune={"help": "the search's draws and every trial's initial weights"},
    ),
    Flag("--deterministic", "deterministic", "TensorFlow op determinism (bit-exact reruns)", pipelines=(TRAIN,)),
    Flag(
        "--recover",
        "on_nan",
        "on a NaN or exploding loss, go back to the last checkpoint with a lower rate",
        value="recover",
        pipelines=(TRAIN,),
    ),
    Flag(
        "--train-epochs",
        "train_epochs",
        "epochs of that run; default: the model's recipe",
        "the best trial",
        int,
        pipelines=(TUNE,),
        config=False,
    ),
    Flag(
        "--output-dir",
        "output_dir",
        "where versions are pushed",
        "outputs",
        str,
        default="saved_models",
        pipelines=(TRAIN, TUNE, EXPORT),
        tune={"group": "the best trial"},
    ),
    Flag(
        "--serving-precision",
        "serving_precision",
        "what the pushed model computes in: float32 (default; equal to the trained model to float rounding) or "
        "bfloat16 (about 2x the throughput on CPUs with AVX512_BF16 or AMX and on GPUs, probabilities within "
        "about 0.02 of float32's; slower on CPUs without bfloat16 instructions)",
        "outputs",
        str,
        choices=SERVING_PRECISIONS,
        pipelines=(TRAIN, TUNE, EXPORT),
        tune={"group": "the best trial"},
    ),
    Flag(
        "--run-dir",
        "run_dir",
        "logs and checkpoints (default: runs/<model>-<dataset>)",
        "outputs",
        str,
        tune={"group": "the best trial", "help": "that run's folder (default: <tune-dir>/train)"},
    ),
    Flag(
        "--force-push",
        "push",
        "push even when not better than the last version",
        "outputs",
        value="force",
        exclusive="push",
        tune={"group": "the best trial"},
    ),
    Flag(
        "--no-push",
        "push",
        "train and evaluate only",
        "outputs",
        value="never",
        exclusive="push",
        tune={"group": "the best trial", "help": "evaluate only"},
    ),
    Flag("--ten-crop", "ten_crop", "also evaluate with AlexNet's 10-crop test", "outputs", pipelines=(TRAIN,)),
    Flag(
        "--profile-batches",
        "profile_batches",
        "e.g. 10,20: profile those steps for TensorBoard",
        "outputs",
        str,
        pipelines=(TRAIN,),
    ),
    Flag(
        "--filter-images",
        "filter_images",
        "first-layer filters and feature maps in TensorBoard each epoch",
        "outputs",
        pipelines=(TRAIN,),
    ),
    Flag(
        "--explain-images",
        "explain_images",
        "Grad-CAM of a fixed validation batch in TensorBoard each epoch",
        "outputs",
        pipelines=(TRAIN,),
    ),
    # pipelines.benchmark and benchmark_backend parse their own lists of values (nargs); these rows name their
    # settings (kerascnn.benchmark.suite.Settings) in its errors.
    *(
        Flag(flag, field, pipelines=(BENCHMARK, BACKEND), config=False, type=str)
        for flag, field in (
            ("--batch-size", "batch_sizes"),
            ("--image-size", "image_sizes"),
            ("--image-size", "image_size"),
            ("--precision", "precisions"),
            ("--steps", "steps"),
            ("--repeats", "repeats"),
            ("--input-batches", "input_batches"),
            ("--warmup", "warmup"),
        )
    ),
    Flag("--compare", "compare", pipelines=(BENCHMARK, BACKEND), config=False),
    Flag("--serving", "serving", pipelines=(BENCHMARK,), config=False),
    Flag("--serving-precision", "serving_precisions", pipelines=(BENCHMARK,), config=False, type=str),
    # pipelines.inspect's arguments (kerascnn.analysis.inspection's), for its errors.
    *(
        Flag(flag, flag[2:].replace("-", "_"), pipelines=(INSPECT,), config=False, type=str)
        for flag in (
            "--keras-file",
            "--input-size",
            "--image",
            "--layer",
            "--max-shift",
            "--plot-dir",
            "--explain",
            "--dataset",
        )
    ),
    Flag("--unsafe-deserialization", "unsafe_deserialization", pipelines=(INSPECT,), config=False),
    Flag("--weights", "weights", pipelines=(INSPECT,), config=False, type=str),
)


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
    """Adds `pipeline`'s flags of the table to `parser`, each in its group of `groups` (title -> argparse group)."""
    exclusive = {}
    for row in flags(pipeline):
        group = groups[row.get("group", pipeline)]
        if row.exclusive:
            if row.exclusive not in exclusive:
                exclusive[row.exclusive] = group.add_mutually_exclusive_group()
            group = exclusive[row.exclusive]
        options = {"help": row.get("help", pipeline), "dest": _dest(row)}
        if row.type is None:
            group.add_argument(row.flag, action="store_true", **options)
        else:
            options.update(
                type=row.type, default=row.default, choices=row.get("choices", pipeline), metavar=row.metavar
            )
            group.add_argument(row.flag, **options)


def overrides(args, pipeline):
    """The config fields of the flags the user gave (only those, so that the recipe decides the rest)."""
    fields = {}
    for row in flags(pipeline):
        if not row.config or row.field == "data.dataset":  # the dataset goes to config.resolve on its own
            continue
        given = getattr(args, _dest(row))
        if row.type is None and given:
            fields[row.field] = row.value
        elif row.type is not None and given is not None:
            fields[row.field] = given
    return fields


def train_argv(model, dataset, fields, sets):
    """`pipelines.train`'s command line for `model` with config `fields` ({field: value}) and "key=value" `sets`:
    a flag where the table has one, --set for the rest."""
    argv = [model]
    if dataset:
        argv += ["--dataset", str(dataset)]
    rows = [row for row in flags(TRAIN) if row.config]
    for field, value in fields.items():
        typed = [row for row in rows if row.field == field and row.type is not None]
        switch = [row for row in rows if row.field == field and row.type is None and row.value == value]
        if typed:
            argv += [typed[0].flag, str(value)]
        elif switch:
            argv.append(switch[0].flag)
        else:
            argv += ["--set", f"{field}={value}"]
    for item in sets:
        argv += ["--set", item]
    return argv


def speak(message, pipeline, field):
    """`message`, about config `field`, as the user of `pipeline` reads it: the field written as the flag they
    typed. "data.on_bad_image=skip" -> "--on-bad-image skip", "push=force" -> "--force-push", "batch_size" ->
    "--batch-size", "optimizer.learning_rate" -> "--learning-rate (optimizer.learning_rate)". Other config fields
    the message names stay as they are (--set takes them; a search space names them so); the pipeline's own
    settings ("tune_dir") become their flags wherever they are named."""
    settings = [row.field for row in flags(pipeline) if not row.config and "_" in row.field and row.field != field]
    for name in ([field] if field else []) + settings:
        message = _speak_field(message, name, flags(pipeline))
    return message


def _speak_field(message, field, rows):
    config = {row.field for row in rows if row.config}
    rows = [row for row in rows if row.field == field]
    if not rows and config:  # a config field without a flag of its own: --set takes it
        return re.sub(rf"(?<![\w./-]){re.escape(field)}=(?=\S)", f"--set {field}=", message)
    if not rows:
        return message

    def spoken(match):
        value = match.group("value")
        for row in rows:
            if value is None and (row.type is not None or row.value is True):
                # The config field in brackets where the flag spells it otherwise: the name --set and
                # config.json use. A pipeline's own setting is its flag alone.
                same = row.flag == "--" + field.replace("_", "-") or not row.config
                return row.flag if same else f"{row.flag} ({field})"
            if value is not None and row.type is not None:
                return f"{row.flag} {value}"
            if value is not None and str(row.value) == value:
                return row.flag
        return match.group(0)

    # The field as a word: not inside a path or a longer name; "field=value" with the value up to a space or
    # a closing punctuation mark. A field that is an English word ("epochs", "layer") is taken for the field only
    # where it opens the message or has a value ("epochs=0"), never in a sentence.
    value = r"=(?P<value>[^\s,;)]*[^\s,;).:])"
    if "_" in field or "." in field:
        pattern = rf"(?<![\w./-]){re.escape(field)}(?:{value})?(?![\w/]|\.\w)"
    else:
        pattern = rf"(?:^|(?<![\w./-])(?={re.escape(field)}=)){re.escape(field)}(?:{value})?(?![\w/]|\.\w)"
    return re.sub(pattern, spoken, message)
