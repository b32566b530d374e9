"""A search's folder: keras-tuner's project (oracle.json, trial_*/ with each trial's best weights), TensorBoard
logs (logs/<trial>/), what the search is (search.json) and what it found (results.json).

Rerunning the same command resumes the search: keras-tuner reloads its oracle and runs only the trials not yet
finished. search.json guards this: a search resumed with another model, config, space, tuner or objective would
rank trials that are not comparable, so it is refused.
"""

import dataclasses
import json
import shutil
from pathlib import Path

from kerascnn.errors import Mention, UserError
from kerascnn.io import write_atomic
from kerascnn.training import config as config_lib
from kerascnn.training.runs import default_run_dir
from kerascnn.tuning import roles

# Fields a resumed search may change: where versions go, and how runs are monitored; not the epochs.
RESUMABLE = config_lib.RESUMABLE_CHANGES - {"epochs"}


def default_tune_dir(config, tuner):
    """runs/tune/<model>-<dataset>-<tuner>, beside pipelines.train's runs/<model>-<dataset>."""
    return Path("runs") / "tune" / f"{default_run_dir(config).name}-{tuner}"


def describe_search(config, space, tuner, objective):
    """What makes two searches comparable, as plain JSON values."""
    settings = {k: v for k, v in config_lib.to_dict(config).items() if k not in RESUMABLE}
    document = {
        "model": config.model,
        "tuner": tuner,
        "objective": objective.name,
        "config": settings,
        "space": {h.name: {k: v for k, v in dataclasses.asdict(h).items() if v not in (None, ())} for h in space},
    }
    return json.loads(json.dumps(document, default=str))


def open_search(folder, description, *, overwrite=False, role="local"):
    """Readies `folder` for the search `description`: cleared first if `overwrite`, then recorded (a resumed search
    is checked against the record). A worker does neither: the folder it may share is the chief's."""
    if not roles.keeps_folder(role):
        return
    if overwrite:
        clear(folder)
    record_search(folder, description)


def record_search(folder, description):
    """Writes <folder>/search.json, or raises UserError if the search the folder holds is another one."""
    folder = Path(folder)
    path = folder / "search.json"
    if path.exists():
        recorded = json.loads(path.read_text())
        changed = config_lib.differences(recorded, description)
        if changed:
            raise UserError(
                f"{folder} holds another search ({', '.join(changed[:3])}); rerun it with its settings to resume it, "
                "start afresh with ",
                Mention("overwrite", True),
                ", or give another ",
                Mention("tune_dir"),
                ".",
                field="overwrite",
            )
        return
    write_atomic(path, json.dumps(description, indent=2))


def clear(folder):
    """Removes the search in `folder` (--overwrite); refuses a non-empty folder that holds no search."""
    folder = Path(folder)
    if not folder.exists():
        return
    if not (folder / "search.json").exists() and any(folder.iterdir()):
        raise UserError(
            Mention("overwrite"),
            f": {folder} holds no search (no search.json) and is not empty; remove it yourself or give another ",
            Mention("tune_dir"),
            ".",
            field="overwrite",
        )
    shutil.rmtree(folder)
