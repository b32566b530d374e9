"""SIGKILL at random points of a training run, and at the moments a random kill rarely finds (while a
checkpoint, the best weights or a version is being written): every rerun of the same command resumes from the
last complete checkpoint, finishes, and ends with the weights of an uninterrupted run."""

import concurrent.futures
import random
import re
import subprocess
import time

import numpy as np
import pytest
from harness import (
    assert_whole,
    checkpoints,
    environment,
    final_weights,
    kill_after,
    record,
    run_train,
    same_arrays,
    start_train,
    train_args,
    version_outputs,
)

pytestmark = pytest.mark.slow

# Every write has its own failpoint, so one trial each covers it for sure; a random moment finds the rest. Four
# trials (twelve, then six before: a trial is two or three processes, a process's start alone is about a quarter of
# a run, and the suites neared CI's limit): the export, the best weights, a checkpoint (inside an epoch or at its
# end, drawn) and a random moment once each; trials 0 and 3 have their first rerun killed too (a resume that is
# itself killed).
TRIALS = 4
KINDS = {
    "time": "SIGKILL at a random moment of a run",
    "checkpoint": "SIGKILL while a checkpoint is written",
    "export": "SIGKILL while a version is exported",
    "best": "SIGKILL while the best weights are replaced",
}
SCHEDULE = ["time", "checkpoint", "export", "best"]
# Checkpoints are written at steps 2 and 4 of each 4-step epoch: 1 and 3 inside an epoch, 2 and 4 at its end.
CHECKPOINT_WRITES = (1, 2, 3, 4)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted run: its final checkpoint and its pushed version are what every trial must end with, and
    when its training started and it ended: a random kill lands between the two, where the run writes (before, in
    the imports and the build, it writes nothing: a kill there tests only a rerun from scratch)."""
    root = tmp_path_factory.mktemp("reference")
    started = time.monotonic()
    process = start_train(train_args(root / "run", root / "out"), stderr=subprocess.STDOUT)
    output, training = [], None
    for line in process.stdout:
        output.append(line)
        if training is None and line.startswith("Epoch 1/"):
            training = time.monotonic() - started
    assert process.wait() == 0 and training is not None, "".join(output)[-3000:]
    return {
        "weights": final_weights(root / "run"),
        "version": version_outputs(root / "out" / "resnet20" / "1"),
        "training": training,
        "seconds": time.monotonic() - started,
    }


def _trial(seed, root, reference):
    rng = random.Random(seed)
    kind = SCHEDULE[seed % len(SCHEDULE)]
    run_dir, out_dir = root / "run", root / "out"
    args = train_args(run_dir, out_dir)
    moment = (reference["training"], reference["seconds"])
    if kind == "time":
        killed = kill_after(start_train(args), rng.uniform(*moment))
    else:
        count = rng.choice(CHECKPOINT_WRITES) if kind == "checkpoint" else 1
        killed = run_train(args, env=environment(KERASCNN_FAILPOINT=f"{kind}:{count}")).returncode == -9
    reruns = 0
    while True:
        latest = checkpoints(run_dir)[-1].name if checkpoints(run_dir) else None
        if seed % 3 == 0 and reruns == 0:  # some reruns are killed too: a second resume
            reruns += 1
            kill_after(start_train(args), rng.uniform(*moment))
            continue
        result = run_train(args)
        break
    return seed, kind, killed, _problem(result, latest, run_dir, out_dir, reference)


def _problem(result, latest, run_dir, out_dir, reference):
    """What went wrong with a trial's final rerun, in words, or None."""
    if result.returncode != 0:
        return f"the rerun exited {result.returncode}: {result.stderr[-1500:]}"
    resumed = re.search(r"Resuming .* \((.*)\)\.", result.stdout)
    if latest and not resumed and "already holds 2 trained epochs" not in result.stdout:
        return f"the rerun neither resumed from {latest} nor found the run finished: {result.stdout[-1000:]}"
    if resumed and not resumed.group(1).endswith(latest):
        return f"resumed from {resumed.group(1)}, not from the last complete checkpoint {latest}"
    try:
        assert_whole(run_dir, out_dir)
    except AssertionError as error:
        return f"a file was left partial: {error}"
    versions = sorted((out_dir / "resnet20").iterdir(), key=lambda p: int(p.name))
    if not same_arrays(final_weights(run_dir, epochs=2), reference["weights"]):
        return "the final weights differ from the uninterrupted run's"
    if not np.allclose(version_outputs(versions[-1]), reference["version"], atol=1e-6, rtol=0):
        return f"version {versions[-1].name} predicts other outputs than the uninterrupted run's"
    return None


def test_killed_runs_resume_and_end_as_an_uninterrupted_run(reference, tmp_path):
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(_trial, seed, tmp_path / f"trial{seed}", reference) for seed in range(TRIALS)]
        outcomes = [future.result() for future in futures]
    for _seed, kind, _killed, problem in outcomes:
        record(KINDS[kind], problem is None)
    failures = [
        f"trial {seed}, fault {KINDS[kind]!r} (the run was {'' if killed else 'not '}killed): {problem}"
        for seed, kind, killed, problem in outcomes
        if problem is not None
    ]
    assert not failures, "\n".join(failures)
    killed = [seed for seed, _, was_killed, _ in outcomes if was_killed]
    assert len(killed) >= TRIALS - 1, f"only trials {killed} killed the run mid-way"  # a random moment may come late
