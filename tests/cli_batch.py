"""Runs `python -m pipelines.NAME ARGV` for several ARGVs one after another in one process, each as a process of
its own would run (tests/pipeline_helpers.py's `run_pipelines`): `python tests/cli_batch.py RESULTS NAME ARGV...`
(each ARGV a JSON list) writes to the file RESULTS one JSON line per ARGV: its exit status and what it wrote to
stdout and stderr. The output is caught at file descriptors 1 and 2, so TensorFlow's C++ logs are caught too, and an
exception that escapes is printed as Python prints it, with exit status 1."""

import json
import os
import runpy
import sys
import tempfile
import traceback


def run_once(name, argv):
    sys.argv = [sys.argv[0], *argv]  # runpy sets argv[0] to the module's file, as `python -m` does
    files = [tempfile.TemporaryFile(), tempfile.TemporaryFile()]
    saved = [os.dup(1), os.dup(2)]
    sys.stdout.flush(), sys.stderr.flush()
    for fd, file in zip((1, 2), files):
        os.dup2(file.fileno(), fd)
    code = 0
    try:
        runpy.run_module(f"pipelines.{name}", run_name="__main__", alter_sys=True)
    except SystemExit as exit:
        if isinstance(exit.code, str):
            print(exit.code, file=sys.stderr)
        code = exit.code if isinstance(exit.code, int) else int(exit.code is not None)
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        sys.stdout.flush(), sys.stderr.flush()
        for fd, old in zip((1, 2), saved):
            os.dup2(old, fd)
            os.close(old)
    texts = []
    for file in files:
        file.seek(0)
        texts.append(file.read().decode(errors="replace"))
        file.close()
    return {"returncode": code, "stdout": texts[0], "stderr": texts[1]}


if __name__ == "__main__":
    results, name, *argvs = sys.argv[1:]
    with open(results, "w") as out:
        for argv in argvs:
            out.write(json.dumps(run_once(name, json.loads(argv))) + "\n")
            out.flush()
