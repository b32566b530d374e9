"""Setting a dotted field of the run's config from a value or from the command line's text, parsed by the
field's type (`int`, `float | None`, `tuple[float, ...]`, a `Literal`, ...)."""

import dataclasses
import difflib
import json
import types
import typing

from kerascnn.errors import Mention, UserError


def apply(config, key, value):
    """Sets the dotted `key` of `config` (e.g. "optimizer.learning_rate", "model_options.output_stride") to
    `value`, parsing strings by the field's type."""
    *parents, name = key.split(".")
    target, path = config, []
    for part in parents:
        path.append(part)
        if isinstance(target, dict):
            target = target.setdefault(part, {})
        elif dataclasses.is_dataclass(target) and part in _fields(target):
            target = getattr(target, part)
        else:
            raise UserError(
                Mention(key), f": unknown config section {'.'.join(path)!r}; see the resolved config.json.", field=key
            )
    if isinstance(target, dict):
        target[name] = _option(value)
        return
    fields = _fields(target)
    if name not in fields:
        close = difflib.get_close_matches(name, fields, n=1)
        hint = (" (did you mean ", Mention(".".join([*parents, close[0]])), "?)") if close else ()
        raise UserError(Mention(key), ": unknown config field", *hint, ".", field=key)
    hints = typing.get_type_hints(type(target))
    setattr(target, name, coerce(value, hints[name], key))


def _fields(instance):
    return {f.name for f in dataclasses.fields(instance)}


def coerce(text, annotation, key):
    """Parses `text` (from the command line) as a value of `annotation`, or raises UserError naming `key`. A
    `Literal`'s text is kept as it is: validation names the choices."""
    if not isinstance(text, str):
        return text
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        if text.lower() in ("none", "null") and type(None) in args:
            return None
        for option in (a for a in args if a is not type(None)):
            try:
                return coerce(text, option, key)
            except UserError:
                continue
        raise UserError(Mention(key, text), f": expected {_describe(annotation)}.", field=key)
    try:
        if annotation is bool:
            if text.lower() in ("true", "1", "yes", "on"):
                return True
            if text.lower() in ("false", "0", "no", "off"):
                return False
            raise ValueError
        if annotation in (int, float):
            return annotation(text)
        if origin is tuple:
            items = [item for item in text.strip("()[] ").split(",") if item.strip()]
            return tuple(coerce(item.strip(), args[0], key) for item in items)
        if origin is dict or annotation is dict:
            return json.loads(text)
        return text
    except (ValueError, json.JSONDecodeError):
        raise UserError(Mention(key, text), f": expected {_describe(annotation)}.", field=key) from None


def _describe(annotation):
    return getattr(annotation, "__name__", str(annotation)).replace("typing.", "")


def _option(text):
    """A model option from the command line: JSON (numbers, true/false, lists) or else a string."""
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text.lower() if text.lower() in ("true", "false", "null") else text)
    except json.JSONDecodeError:
        return text
