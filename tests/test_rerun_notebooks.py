"""Re-runnable notebooks: "restart and run all" twice gives the same state, and re-running any cell corrupts nothing.

Run A executes a notebook top to bottom in a fresh quick-mode kernel; run B does the same in another fresh
kernel but executes every code cell twice before moving on. If every cell is idempotent, B ends in A's state
and every cell prints the same both times, and the same as in A (wall-clock timings masked).
"""
from pathlib import Path

import pytest

from ganlib.notebook_files import lesson_paths
from notebook_rerun import KERNEL_PYTHON, NOTEBOOKS, compare, describe, run_notebook


@pytest.mark.parametrize("path", lesson_paths(NOTEBOOKS), ids=lambda path: path.stem[:2])
def test_run_all_twice_and_every_cell_rerun_give_the_same_state(path: Path):
    first, second = run_notebook(path), run_notebook(path, twice=True)
    report = describe(first, second)
    for run in (first, second):  # the kernel is this project's interpreter, working in notebooks/
        assert run.kernel == (str(KERNEL_PYTHON), str(NOTEBOOKS)), f"{path.name}: kernel {run.kernel}"
    differences = compare(first, second)
    if first.error or second.error or any(differences.values()):
        pytest.fail(report, pytrace=False)
    print(report)  # the timings, shown with `pytest -rA`
