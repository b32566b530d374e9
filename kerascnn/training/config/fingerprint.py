"""What makes two runs the same run: a digest of the config's fields, all of them but those a resumption may
change, so that a run folder is not resumed with another config.

The digest walks the dataclasses' fields, so a field added to the schema counts without a line here. A run folder
made before a field existed has another digest; `changes` then compares the recorded config field by field, a field
the record lacks taken at its default (a field is added with the default that does what kerascnn did before it),
and the run resumes when nothing differs. FINGERPRINT_VERSION is raised where recorded values change meaning (the
same settings would train another way): folders of an older version are refused.
"""

import dataclasses
import hashlib
import json

FINGERPRINT_VERSION = 1

# Fields that may change between a run and its resumption, because they do not change what is trained: more
# epochs, other outputs, other monitoring, other devices and how fast it runs there.
RESUMABLE_CHANGES = frozenset(
    {
        "epochs",  # a longer run continues the shorter one (its schedule is by fraction: the user's choice)
        "run_dir",
        "output_dir",
        "push",
        "ten_crop",
        "histogram_freq",
        "profile_batches",
        "image_summaries",
        "filter_images",
        "explain_images",
        "keep_checkpoints",
        "checkpoint_every",
        "strategy",  # the global batch is checked on its own (kerascnn.training.runs)
        "on_nan",
        "max_recoveries",
        "recover_factor",
        "loss_upper_bound",
        "export_weights",
        "serving_max_pixels",
        "serving_max_batch_pixels",
        "serving_precision",
        "deterministic",
        "jit_compile",
        "steps_per_execution",
        "data.on_bad_image",  # how undecodable files are reported; a run that skipped none trains the same
    }
)


def essentials(config, prefix=""):
    """{field: value} of `config`'s fields that determine the training, nested as the config is."""
    out = {}
    for field in dataclasses.fields(config):
        name = prefix + field.name
        if name in RESUMABLE_CHANGES:
            continue
        value = getattr(config, field.name)
        out[field.name] = essentials(value, f"{name}.") if dataclasses.is_dataclass(value) else value
    return out


def fingerprint(config):
    """A digest of what determines the training itself, and of the version of this digest."""
    document = {"version": FINGERPRINT_VERSION, "config": essentials(config)}
    return hashlib.sha256(json.dumps(document, sort_keys=True, default=str).encode()).hexdigest()[:16]


def changes(recorded, config):
    """ "field: old -> new" of each field that determines the training and differs between `recorded` (the "config"
    of a run's config.json) and `config`; a field the record lacks is compared at its default."""
    new = _plain(dataclasses.asdict(config))
    defaults = _plain(dataclasses.asdict(type(config)()))
    return differences(_plain(recorded), new, skip=RESUMABLE_CHANGES, defaults=defaults)


def differences(old, new, *, skip=(), defaults=None, prefix=""):
    """ "key: old -> new" of each dotted key of the nested dicts `old` and `new` whose values differ, keys in `skip`
    left out; a key `old` lacks is taken from `defaults` where given."""
    out = []
    for key in sorted(set(old) | set(new)):
        name = prefix + key
        if name in skip:
            continue
        default = defaults.get(key) if isinstance(defaults, dict) else None
        a, b = old.get(key, default), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out += differences(a, b, skip=skip, defaults=default, prefix=f"{name}.")
        elif a != b:
            out.append(f"{name}: {json.dumps(a)} -> {json.dumps(b)}")
    return out


def _plain(document):
    """`document` as it reads back from JSON (tuples as lists, other values as strings)."""
    return json.loads(json.dumps(document, default=str))
