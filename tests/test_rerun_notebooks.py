"""Every notebook runs, and re-runs: "restart and run all" twice gives the same state, and re-running any cell
corrupts nothing.

Run A executes a notebook top to bottom in a fresh quick-mode kernel, as a learner's "run all" does: every cell
must run without an error, and the cells marked `# NBVAL_CHECK_OUTPUT` (deterministic whatever the budget) must
print what the committed full run printed. This is the check nbval's `--nbval-lax` made, which `make test` ran as
a third execution of every notebook before run A took it over. Run B does the same in another fresh kernel but
executes every code cell twice before moving on. If every cell is idempotent, B ends in A's state and every cell
prints the same both times, and the same as in A (wall-clock timings masked).
"""
from pathlib import Path

import nbformat
import pytest

from ganlib.notebook_files import lesson_paths
from notebook_rerun import (KERNEL_PYTHON, NOTEBOOKS, Run, compare, describe, outputs_unlike_the_committed,
                            run_notebook)


@pytest.mark.parametrize("path", lesson_paths(NOTEBOOKS), ids=lambda path: path.stem[:2])
def test_run_all_twice_and_every_cell_rerun_give_the_same_state(path: Path):
    first, second = run_notebook(path), run_notebook(path, twice=True)
    report = describe(first, second)
    for run in (first, second):  # the kernel is this project's interpreter, working in notebooks/
        assert run.kernel == (str(KERNEL_PYTHON), str(NOTEBOOKS)), f"{path.name}: kernel {run.kernel}"
    differences = compare(first, second)
    unlike = outputs_unlike_the_committed(path, first)
    if unlike:
        report += f"\n  cells marked # NBVAL_CHECK_OUTPUT that print something else than the committed run: {unlike}"
    if first.error or second.error or any(differences.values()) or unlike:
        pytest.fail(report, pytrace=False)
    print(report)  # the timings, shown with `pytest -rA`


def test_a_marked_cell_that_prints_something_else_than_the_committed_run_is_named(tmp_path: Path):
    stdout = lambda text: nbformat.v4.new_output("stream", name="stdout", text=text)  # noqa: E731
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# a lesson"),
        nbformat.v4.new_code_cell("# NBVAL_CHECK_OUTPUT\nprint(1)", outputs=[stdout("1\n")]),
        nbformat.v4.new_code_cell("print(2)  # not marked: may print anything", outputs=[stdout("2\n")])])
    path = tmp_path / "lesson.ipynb"
    nbformat.write(notebook, path)
    assert outputs_unlike_the_committed(path, Run("lesson.ipynb", False, texts={1: ["1\n"], 2: ["3\n"]})) == []
    assert outputs_unlike_the_committed(path, Run("lesson.ipynb", False, texts={1: ["1.0\n"], 2: ["2\n"]})) == [1]
    assert outputs_unlike_the_committed(path, Run("lesson.ipynb", False, texts={})) == [1]  # stopped before it
