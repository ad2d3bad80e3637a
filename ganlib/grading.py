"""nbgrader for the lessons: every exercise is a solution cell and a locked, autograded check cell, marked by a tool.

An exercise in a lesson is a code cell with a solution between `### BEGIN SOLUTION` and `### END SOLUTION`,
followed by a code cell that calls its `ganlib.check` check (and may print what the answer shows). This module
keeps nbgrader's metadata on both in step with the markers, so nobody marks cells by hand in the toolbar:

- `python -m ganlib.grading mark` splits any exercise cell that still holds its check (the check and the lines
  after it move to a new cell, with the outputs) and writes the metadata: the solution cell is an "autograded
  answer", the check cell "autograder tests", locked, worth `POINTS` points. Running it again changes nothing;
  `tests/test_nbgrader.py` fails when a lesson is out of step.
- `python -m ganlib.grading course DIR` writes an nbgrader course folder: `nbgrader_config.py` and
  `source/LESSON/LESSON.ipynb` for every lesson, ready for `nbgrader generate_assignment LESSON`.

`make student` (ganlib.student) stays the way to student versions without nbgrader; it uses the same markers.
"""
from __future__ import annotations

import argparse
import re
from pathlib import Path

import nbformat

from .notebook_files import NOTEBOOKS, lesson_paths, write_notebook
from .student import END, solution_regions

POINTS = 1
CHECK_CALL = re.compile(r"^check\.\w+\(", re.M)
CONFIG = '''"""nbgrader settings for the GAN course (written by `python -m ganlib.grading course`)."""
c = get_config()  # noqa: F821 (nbgrader provides it)
c.CourseDirectory.course_id = "gan-course"
c.CourseDirectory.root = {root!r}
# A lesson's quick mode (GANLIB_QUICK=1 in the graders' environment) runs in seconds to minutes; allow slow machines.
c.Execute.timeout = 600
'''


def split_exercise(cell: nbformat.NotebookNode) -> tuple[nbformat.NotebookNode, nbformat.NotebookNode] | None:
    """(Solution cell, check cell) from a cell that holds both, with the outputs on the check; None if nothing follows
    the solution's end marker."""
    lines = cell.source.splitlines()
    end = solution_regions(cell.source)[-1][1]
    rest = "\n".join(lines[end + 1:]).strip("\n")
    if not rest:
        return None
    answer = nbformat.v4.new_code_cell("\n".join(lines[:end + 1]))
    check = nbformat.v4.new_code_cell(rest)
    check.outputs, check.execution_count = cell.outputs, cell.execution_count
    return answer, check


def nbgrader_metadata(grade_id: str, *, test: bool) -> dict:
    """nbgrader's cell metadata (schema 3): an autograded answer, or a locked test cell with points."""
    if test:
        return {"grade": True, "grade_id": grade_id, "locked": True, "points": POINTS, "schema_version": 3,
                "solution": False, "task": False}
    return {"grade": False, "grade_id": grade_id, "locked": False, "schema_version": 3, "solution": True,
            "task": False}


def has_solution(cell: nbformat.NotebookNode) -> bool:
    """Whether a cell is code holding a solution between the markers."""
    return cell.cell_type == "code" and bool(solution_regions(cell.source))


def marked(notebook: nbformat.NotebookNode, lesson: str) -> nbformat.NotebookNode:
    """A copy of the notebook with every exercise split into answer and check cells, both carrying nbgrader metadata."""
    notebook = nbformat.from_dict(notebook)
    cells, exercise = [], 0
    for cell in notebook.cells:
        cell.metadata.pop("nbgrader", None)
        if has_solution(cell) and CHECK_CALL.search(cell.source.split(END)[-1]):
            cells.extend(split_exercise(cell))
        else:
            cells.append(cell)
    for index, cell in enumerate(cells):
        if not has_solution(cell):
            continue
        check = cells[index + 1] if index + 1 < len(cells) else None
        if check is None or check.cell_type != "code" or not CHECK_CALL.search(check.source):
            raise ValueError(f"{lesson}: the exercise in cell {index} is not followed by a cell calling its check")
        exercise += 1
        cell.metadata["nbgrader"] = nbgrader_metadata(f"exercise-{exercise}-answer", test=False)
        check.metadata["nbgrader"] = nbgrader_metadata(f"exercise-{exercise}-check", test=True)
    notebook.cells = cells
    return notebook


def mark_lessons(notebooks: Path = NOTEBOOKS) -> list[str]:
    """Mark every lesson in place; returns the names of those that changed."""
    changed = []
    for path in lesson_paths(notebooks):
        notebook = nbformat.read(path, as_version=4)
        updated = marked(notebook, path.name)
        if updated != notebook:
            write_notebook(updated, path)
            changed.append(path.name)
    return changed


def write_course(root: Path, notebooks: Path = NOTEBOOKS) -> list[str]:
    """An nbgrader course folder at root: its config and every lesson as the source of an assignment of its name."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "nbgrader_config.py").write_text(CONFIG.format(root=str(root.resolve())))
    names = []
    for path in lesson_paths(notebooks):
        notebook = marked(nbformat.read(path, as_version=4), path.name)
        folder = root / "source" / path.stem
        folder.mkdir(parents=True, exist_ok=True)
        write_notebook(notebook, folder / path.name)
        names.append(path.stem)
    return names


def main() -> None:
    """Command line: `mark` the lessons in place, or write a `course` folder for nbgrader."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("mark", help="split and mark the exercises of notebooks/*.ipynb in place")
    course = commands.add_parser("course", help="write an nbgrader course folder")
    course.add_argument("root", type=Path, help="the course folder to write (for example ~/gan-course)")
    arguments = parser.parse_args()
    if arguments.command == "mark":
        changed = mark_lessons()
        print(f"marked: {', '.join(changed)}" if changed else "every lesson was already marked")
    else:
        names = write_course(arguments.root)
        print(f"{arguments.root}: {len(names)} assignments in source/; next: cd {arguments.root} && "
              f"nbgrader generate_assignment {names[0]}")


if __name__ == "__main__":
    main()
