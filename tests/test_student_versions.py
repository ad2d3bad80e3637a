"""Student versions (`make student`): no solution text survives, and every check says "not done yet" on its stub.

The solution notebooks themselves run in tests/test_rerun_notebooks.py (`make test`), where every check passes.
"""
from pathlib import Path

import nbformat
import pytest
from nbclient.exceptions import CellExecutionError

from ganlib.notebook_files import lesson_paths
from ganlib.student import BEGIN, END, STUB, solution_regions, strip_solutions, write_student_versions
from notebook_rerun import NOTEBOOKS, quick_kernel

LESSONS = lesson_paths(NOTEBOOKS)


def test_strip_solutions_keeps_the_indentation_and_refuses_unbalanced_markers():
    source = f"def f(x):\n    \"\"\"Doc.\"\"\"\n    {BEGIN}\n    y = x + 1\n    return y\n    {END}\n\ncheck(f)"
    assert strip_solutions(source) == f"def f(x):\n    \"\"\"Doc.\"\"\"\n    {STUB[0]}\n    {STUB[1]}\n\ncheck(f)"
    with pytest.raises(ValueError, match="never closed"):
        solution_regions(f"{BEGIN}\nx = 1", "lesson, cell 3")
    with pytest.raises(ValueError, match="never opened"):
        solution_regions(f"x = 1\n{END}")
    with pytest.raises(ValueError, match="inside another"):
        solution_regions(f"{BEGIN}\n{BEGIN}\n{END}")


def solution_lines(notebook: nbformat.NotebookNode) -> tuple[set[str], set[str]]:
    """The stripped lines inside solutions, and those outside them, of a notebook's code cells."""
    inside, outside = set(), set()
    for cell in notebook.cells:
        lines = cell.source.splitlines()
        regions = solution_regions(cell.source) if cell.cell_type == "code" else []
        for number, line in enumerate(lines):
            in_solution = any(first < number < last for first, last in regions)
            (inside if in_solution else outside).add(line.strip())
    return inside - {""}, outside


@pytest.fixture(scope="module")
def student_dir(tmp_path_factory) -> Path:
    """The student versions of every lesson, written as `make student` writes them."""
    out = tmp_path_factory.mktemp("student")
    counts = write_student_versions(out)
    assert sorted(counts) == [path.name for path in LESSONS]
    return out


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda path: path.stem[:2])
def test_student_versions_hold_no_solution_text_and_no_outputs(student_dir, lesson):
    solution, student = nbformat.read(lesson, as_version=4), nbformat.read(student_dir / lesson.name, as_version=4)
    inside, outside = solution_lines(solution)
    student_text = "\n".join(cell.source for cell in student.cells)
    leaked = [line for line in inside - outside if line in student_text]
    assert not leaked, f"{lesson.name}: solution lines left in the student version: {leaked}"
    student_code = "\n".join(cell.source for cell in student.cells if cell.cell_type == "code")
    assert BEGIN not in student_code and END not in student_code
    regions = sum(len(solution_regions(cell.source)) for cell in solution.cells if cell.cell_type == "code")
    assert student_text.count(STUB[1]) == regions
    assert all(not cell.get("outputs") and cell.get("execution_count") is None
               for cell in student.cells if cell.cell_type == "code")
    assert "widgets" not in student.metadata
    assert 2 <= regions <= 4, f"{lesson.name}: {regions} checked exercise(s), the course wants 2 to 4"


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda path: path.stem[:2])
def test_every_check_in_a_student_version_says_not_done_yet(student_dir, lesson):
    """Run the student version top to bottom (quick mode, from its own folder): only the checks may fail."""
    student = nbformat.read(student_dir / lesson.name, as_version=4)
    stubs, failures = 0, []
    with quick_kernel(student, student_dir) as client:
        for index, cell in enumerate(student.cells):
            if cell.cell_type != "code":
                continue
            stubs += STUB[1] in cell.source
            try:
                client.execute_cell(cell, index)
            except CellExecutionError as error:
                failures.append((index, error.ename, error.evalue))
    unexpected = [f for f in failures if f[1] != "CheckFailed" or "not done yet" not in f[2]]
    assert not unexpected, f"{lesson.name}: cells failed for another reason than a stub: {unexpected}"
    assert len(failures) == stubs >= 2, f"{lesson.name}: {stubs} stubs but {len(failures)} checks said not done"
    for _, _, message in failures:
        assert message.startswith("Exercise ") and "Replace that line with your code" in message
