"""Running scripts over the zoo in a subprocess on a Keras backend (tests/backend_zoo.py, tests/explain_zoo.py): each
model at a small input, one JSON line of report per model."""

import json
import subprocess
import sys

from pipeline_helpers import QUICK_XLA, ROOT, environment
from test_models import SMALL, segmentation_size

import kerascnn


def plan(name, **fields):
    """How a zoo script builds `name`: small, as tests/test_models.py does (a classifier at its registry minimum, at
    least 32; a segmentation model at its small size, with its SMALL options), with the script's other `fields`."""
    spec = kerascnn.model_spec(name)
    size = max(spec.min_size, 32) if spec.task == "classification" else segmentation_size(spec)
    return json.dumps({"model": name, "size": size, "options": SMALL.get(name, {}), **fields})


def run_zoo_script(script, plans, backend, timeout):
    """{model: the JSON line `script` (a file of tests/) printed for it} for `plans`, on Keras' `backend`."""
    env = environment(KERAS_BACKEND=backend, **QUICK_XLA)
    result = subprocess.run(
        [sys.executable, str(ROOT / "tests" / script), *plans],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=timeout,
    )
    reports = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert result.returncode == 0 and len(reports) == len(plans), result.stderr[-3000:]
    return {report["model"]: report for report in reports}
