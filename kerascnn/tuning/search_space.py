"""The search space of a tuning run: hyperparameters named by the config fields they set.

A trial is a training run whose config is the command line's, plus one `--set key=value` for each of the trial's
hyperparameters: the tuner overrides config fields and nothing else, so whatever a search finds, `pipelines.train`
reproduces with the same `--set` items. A search-space file (JSON, or YAML) maps fields to ranges:

    optimizer.name: [sgd, adam]                                   # a list is a choice
    optimizer.learning_rate: {type: float, min: 1.0e-4, max: 0.1, sampling: log}
    optimizer.momentum: {type: float, min: 0.8, max: 0.99, when: {optimizer.name: [sgd]}}
    model_options.dropout: {type: float, min: 0.0, max: 0.7, step: 0.1}
    model_options.lrn: {type: bool}
    model: [resnet20, resnet32, resnet44]                         # depth, within one family

Types: `float` and `int` (min, max; optional step, and sampling linear, log or reverse_log), `choice` (values),
`bool`. Each takes an optional `default`, and `when: {parent: [values]}` makes it active only when an earlier
choice or bool takes one of those values (keras-tuner's conditional hyperparameters). A name may carry a tag after
"@" ("optimizer.learning_rate@adam") so that one field gets a different range under each condition.
"""

import dataclasses
import inspect
import json
import math
from pathlib import Path
from typing import Any

import yaml

from kerascnn import registry
from kerascnn.errors import UserError
from kerascnn.training import config as config_lib

TYPES = {
    "float": {"type", "min", "max", "step", "sampling", "default", "when"},
    "int": {"type", "min", "max", "step", "sampling", "default", "when"},
    "choice": {"type", "values", "default", "when"},
    "bool": {"type", "default", "when"},
}
SAMPLINGS = ("linear", "log", "reverse_log")
# Arguments build_model passes itself: a search cannot set them through model_options.
RESERVED_OPTIONS = {"num_classes", "input_shape", "include_top"}
EXAMPLE = '{"optimizer.learning_rate": {"type": "float", "min": 1e-4, "max": 0.1, "sampling": "log"}}'


@dataclasses.dataclass(frozen=True)
class Hyperparameter:
    """One dimension of the search: the config field `key` (dotted, as `--set` takes it) and its range."""

    name: str  # the key, or key@tag
    type: str  # float | int | choice | bool
    min: float | None = None
    max: float | None = None
    step: float | None = None
    sampling: str = "linear"
    values: tuple = ()
    default: Any = None
    when: tuple[str, tuple] | None = None  # (parent name, the parent's values that make this one active)

    @property
    def key(self):
        return self.name.split("@")[0]

    def probe_values(self):
        """The values a search can give this field, at the extremes: each must make a valid config."""
        if self.type == "bool":
            return (False, True)
        if self.type == "choice":
            return self.values
        return (self.min, self.max)

    def declare(self, hp):
        """Adds this hyperparameter to keras-tuner's `hp` (a HyperParameters) and returns its value."""
        condition = {}
        if self.when:
            condition = {"parent_name": self.when[0], "parent_values": list(self.when[1])}
        if self.type == "bool":
            return hp.Boolean(self.name, default=bool(self.default), **condition)
        if self.type == "choice":
            return hp.Choice(self.name, list(self.values), default=self.default, **condition)
        number = hp.Float if self.type == "float" else hp.Int
        return number(
            self.name, self.min, self.max, step=self.step, sampling=self.sampling, default=self.default, **condition
        )


def load_space(path, source=None):
    """The hyperparameters of a JSON or YAML file; raises UserError naming the file (as `source`, default
    "search space <path>") and what is wrong in it."""
    path = Path(path)
    source = source or f"search space {path}"
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or error
        raise UserError(f"{source}: cannot read it ({reason}).") from None
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            document = yaml.safe_load(text)
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark else ""
            problem = getattr(error, "problem", None) or error
            raise UserError(f"{source}: not valid YAML{where} ({problem}).") from None
    elif path.suffix.lower() == ".json":
        try:
            document = json.loads(text)
        except json.JSONDecodeError as error:
            raise UserError(f"{source}: not valid JSON at line {error.lineno} ({error.msg}).") from None
    else:
        raise UserError(f"{source}: expected a .json, .yaml or .yml file.")
    return parse_space(document, source=source)


def parse_space(document, source="the search space"):
    """The hyperparameters of a parsed document (a mapping of names to ranges), in the document's order."""
    if not isinstance(document, dict) or not document:
        raise UserError(f"{source}: expected a mapping of config fields to ranges, e.g. {EXAMPLE}.")
    space = []
    for name, spec in document.items():
        space.append(_parse_one(str(name), spec, space, f"{source}: {name}"))
    return space


def _parse_one(name, spec, earlier, where):
    if isinstance(spec, list):
        spec = {"type": "choice", "values": spec}
    if not isinstance(spec, dict):
        raise UserError(f"{where}: expected a list of choices or a mapping with a type, e.g. {EXAMPLE}.")
    kind = spec.get("type")
    if kind not in TYPES:
        raise UserError(f"{where}: type must be one of {', '.join(TYPES)}, got {kind!r}.")
    unknown = set(spec) - TYPES[kind]
    if unknown:
        raise UserError(
            f"{where}: unknown key(s) {', '.join(sorted(unknown))} for a {kind} "
            f"(allowed: {', '.join(sorted(TYPES[kind] - {'type'}))})."
        )
    if "@" in name and "when" not in spec:
        raise UserError(f"{where}: a tagged name needs a `when` condition (the tag tells its ranges apart).")
    when = _parse_when(spec.get("when"), earlier, where)
    default = spec.get("default")
    if kind == "bool":
        if default is not None and not isinstance(default, bool):
            raise UserError(f"{where}: default must be true or false, got {default!r}.")
        return Hyperparameter(name, kind, default=default, when=when)
    if kind == "choice":
        values = _choices(spec.get("values"), where)
        if default is not None and default not in values:
            raise UserError(f"{where}: default {default!r} is not one of the values {list(values)}.")
        return Hyperparameter(name, kind, values=values, default=default, when=when)
    low, high, step = (_number(spec.get(k), k, kind, where, required=k != "step") for k in ("min", "max", "step"))
    sampling = spec.get("sampling", "linear")
    if sampling not in SAMPLINGS:
        raise UserError(f"{where}: sampling must be one of {', '.join(SAMPLINGS)}, got {sampling!r}.")
    if not low < high:
        raise UserError(f"{where}: min ({low}) must be below max ({high}).")
    if sampling != "linear" and low <= 0:
        raise UserError(f"{where}: {sampling} sampling needs a positive min, got {low}.")
    if step is not None and step <= 0:
        raise UserError(f"{where}: step must be positive, got {step}.")
    if default is not None and not (isinstance(default, (int, float)) and low <= default <= high):
        raise UserError(f"{where}: default {default!r} is outside [{low}, {high}].")
    return Hyperparameter(name, kind, low, high, step, sampling, default=default, when=when)


def _number(value, key, kind, where, required):
    if value is None and not required:
        return None
    expected = int if kind == "int" else (int, float)
    if isinstance(value, bool) or not isinstance(value, expected) or not math.isfinite(value):
        raise UserError(f"{where}: {key} must be {'an integer' if kind == 'int' else 'a number'}, got {value!r}.")
    return float(value) if kind == "float" else value


def _choices(values, where):
    if not isinstance(values, list) or not values:
        raise UserError(f"{where}: values must be a non-empty list.")
    if not all(isinstance(v, (str, int, float, bool)) for v in values):
        raise UserError(f"{where}: values must be strings, numbers or booleans, got {values!r}.")
    kinds = {bool if isinstance(v, bool) else str if isinstance(v, str) else float for v in values}
    if len(kinds) > 1:
        raise UserError(
            f"{where}: values must all be of one kind (all strings, all numbers or all booleans), got {values!r}."
        )
    if kinds == {float} and not all(isinstance(v, int) for v in values):
        values = [float(v) for v in values]  # keras-tuner's Choice holds one type: 1 and 0.5 become 1.0 and 0.5
    if len(set(values)) != len(values):
        raise UserError(f"{where}: values repeat: {values!r}.")
    return tuple(values)


def _parse_when(when, earlier, where):
    if when is None:
        return None
    if not isinstance(when, dict) or len(when) != 1:
        raise UserError(f"{where}: when must name one earlier choice and its values, e.g. {{optimizer.name: [sgd]}}.")
    ((parent, values),) = when.items()
    values = values if isinstance(values, list) else [values]
    found = next((h for h in earlier if h.name == parent), None)
    if found is None or found.type not in ("choice", "bool"):
        raise UserError(f"{where}: when names {parent!r}, which is not a choice or bool listed before it.")
    allowed = found.values if found.type == "choice" else (False, True)
    missing = [v for v in values if v not in allowed]
    if missing or not values:
        raise UserError(f"{where}: when gives {parent} values {missing or values!r} it cannot take ({list(allowed)}).")
    return parent, tuple(values)


def active_values(hp, order=()):
    """{name: value} of the hyperparameters active in keras-tuner's `hp`, without keras-tuner's own (Hyperband's
    "tuner/epochs" and the like); the names of `order` first, in its order (a trial that crossed gRPC lists its
    hyperparameters by type)."""
    values = {
        h.name: hp.values[h.name]
        for h in hp.space
        if h.name in hp.values and hp.is_active(h) and not h.name.startswith("tuner/")
    }
    return {**{name: values[name] for name in order if name in values}, **values}


def as_sets(values):
    """The `--set key=value` items that give a config these hyperparameter values (the model's name aside)."""
    return [f"{name.split('@')[0]}={value}" for name, value in values.items() if name.split("@")[0] != "model"]


def searched_model(values, default):
    """The model's name among hyperparameter `values`, else `default`."""
    return next((value for name, value in values.items() if name.split("@")[0] == "model"), default)


@dataclasses.dataclass(frozen=True)
class TrialConfigs:
    """Resolves the run config of any trial, as `pipelines.train` resolves its own: the command line's model,
    dataset, flags and --set items, then the trial's hyperparameters as more --set items. A searched `model`
    (the depth of a ResNet) is resolved from scratch, so that its own recipe applies."""

    model: str
    dataset: str | None = None
    overrides: tuple = ()  # (config key, value) pairs from flags
    sets: tuple[str, ...] = ()  # "key=value" items from --set

    def __call__(self, values=None):
        values = values or {}
        return config_lib.resolve(
            searched_model(values, self.model),
            dataset=self.dataset,
            overrides=dict(self.overrides),
            sets=[*self.sets, *as_sets(values)],
        )


def check_space(space, configs, source="the search space"):
    """Raises UserError unless every value the search can give each field makes a valid config, and every model
    option is a switch of every model the search builds."""
    base = configs()
    searched = next((h for h in space if h.key == "model"), None)
    models = searched.values if searched else (base.model,)
    family = registry.model_spec(base.model).family
    for h in space:
        where = f"{source}: {h.name}"
        if h.key == "model":
            if h.type != "choice":
                raise UserError(f"{where}: the model is searched as a choice of names, e.g. [resnet20, resnet32].")
            for name in h.values:
                _probe(configs, {h.name: name}, where)
                spec = registry.model_spec(name)
                if spec.family != family:
                    raise UserError(
                        f"{where}: {name} is a {spec.family} model and {base.model} a {family} one; a "
                        "search varies the depth within one family."
                    )
            continue
        if h.key.startswith("model_options."):
            for name in models:
                _check_option(name, h.key.split(".", 1)[1], where)
        for value in h.probe_values():
            _probe(configs, {h.name: value}, where)


def _probe(configs, values, where):
    try:
        configs(values)
    except UserError as error:
        source, name = where.rsplit(": ", 1)
        key = name.split("@")[0]
        # An error about the searched field names it already; one about another field needs the searched one.
        raise UserError(f"{source if error.field == key else where}: ", error.message) from None


def _check_option(model, option, where):
    spec = registry.model_spec(model)
    parameters = inspect.signature(spec.builder).parameters
    accepts_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    switches = sorted(set(parameters) - RESERVED_OPTIONS - {"name"})
    if option in RESERVED_OPTIONS or (option not in parameters and not accepts_any):
        raise UserError(f"{where}: {spec.name} has no switch {option!r} (its switches: {', '.join(switches)}).")


def describe(values):
    """`name=value, ...` with numbers to four significant digits, for progress lines."""
    return ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in values.items())
