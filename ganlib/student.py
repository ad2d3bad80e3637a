"""Student versions of the lesson notebooks: solutions replaced by stubs, outputs cleared.

`make student` (or `python -m ganlib.student [OUT]`) writes them to `student/` at the repository root. A solution
is every line from `### BEGIN SOLUTION` to `### END SOLUTION` in a code cell, the markers nbgrader uses; it is
replaced, at the same indentation, by the stub nbgrader writes, `raise NotImplementedError()`.
"""
from __future__ import annotations

import argparse
import re
from pathlib import Path

import nbformat

from .config import REPO_ROOT
from .notebook_files import NOTEBOOKS, lesson_paths, write_notebook

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
STUB = ["# YOUR CODE HERE", "raise NotImplementedError()"]
STUDENT_DIR = REPO_ROOT / "student"


def solution_regions(source: str, where: str = "cell") -> list[tuple[int, int]]:
    """(first, last) line numbers of each solution, markers included; unbalanced markers raise ValueError."""
    regions, start = [], None
    for number, line in enumerate(source.splitlines()):
        marker = line.strip()
        if marker == BEGIN:
            if start is not None:
                raise ValueError(f"{where}: line {number + 1} opens a solution inside another (line {start + 1})")
            start = number
        elif marker == END:
            if start is None:
                raise ValueError(f"{where}: line {number + 1} closes a solution that was never opened")
            regions.append((start, number))
            start = None
    if start is not None:
        raise ValueError(f"{where}: the solution opened on line {start + 1} is never closed with {END!r}")
    return regions


def strip_solutions(source: str, where: str = "cell") -> str:
    """The cell's source with each solution replaced by the stub, indented like its opening marker."""
    lines = source.splitlines()
    for first, last in reversed(solution_regions(source, where)):
        indent = re.match(r"\s*", lines[first]).group(0)
        lines[first:last + 1] = [indent + line for line in STUB]
    return "\n".join(lines)


def student_notebook(notebook: nbformat.NotebookNode, name: str = "notebook") -> nbformat.NotebookNode:
    """A copy of `notebook` without solutions, outputs, execution counts or saved widget state."""
    student = nbformat.from_dict(notebook)
    for index, cell in enumerate(student.cells):
        if cell.cell_type != "code":
            continue
        cell.source = strip_solutions(cell.source, f"{name}, cell {index}")
        cell.outputs, cell.execution_count = [], None
    student.metadata.pop("widgets", None)
    return student


def write_student_versions(out_dir: Path = STUDENT_DIR, notebooks: Path = NOTEBOOKS) -> dict[str, int]:
    """Write the student version of every lesson to out_dir; returns the number of solutions stubbed in each."""
    out_dir.mkdir(parents=True, exist_ok=True)
    counts = {}
    for path in lesson_paths(notebooks):
        notebook = nbformat.read(path, as_version=4)
        write_notebook(student_notebook(notebook, path.name), out_dir / path.name)
        counts[path.name] = sum(len(solution_regions(cell.source)) for cell in notebook.cells
                                if cell.cell_type == "code")
    return counts


def main() -> None:
    """Command line: write the student versions and say how many solutions each lost."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", type=Path, default=STUDENT_DIR, help="folder to write (default: student/)")
    out_dir = parser.parse_args().out.resolve()
    for name, count in write_student_versions(out_dir).items():
        print(f"{out_dir / name}: {count} solution(s) replaced by stubs")


if __name__ == "__main__":
    main()
