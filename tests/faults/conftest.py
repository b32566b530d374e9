"""The fault suite: every test here is marked `faults` (run it alone with `pytest -m faults`); its long cases are
also `slow`. At the end pytest prints the table of faults tried, how many trials, and how many the run survived."""

from pathlib import Path

import pytest
from harness import RESULTS


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.faults)


def pytest_terminal_summary(terminalreporter):
    if not RESULTS:
        return
    write = terminalreporter.write_line
    write("")
    write("Fault suite: what was tried and what survived")
    write(f"{'fault':64s} {'trials':>6s} {'survived':>8s}")
    for fault, (trials, survived) in sorted(RESULTS.items()):
        write(f"{fault:64s} {trials:6d} {survived:8d}")
