"""nbgrader for real: the lessons' exercise cells carry its metadata, and a course round trip grades two submissions.

The round trip is what an instructor does on a JupyterHub: `python -m ganlib.grading course DIR`, then nbgrader's
own `generate_assignment` on every lesson, then `autograde` on two made-up submissions of lesson 01, one correct and
one with typical mistakes, and the scores it records in its gradebook. nbgrader runs the submissions in quick mode
(GANLIB_QUICK=1, as the test suite does).
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from ganlib import grading
from ganlib.notebook_files import lesson_paths
from ganlib.student import BEGIN, END, solution_regions

REPO = Path(__file__).resolve().parents[1]
LESSONS = lesson_paths()
LESSON = "01_gan_objective"
# Typical mistakes in lesson 01, by exercise: a flipped sign, the log of a sigmoid that overflows to -inf at large
# negative logits, a generator step without zero_grad; exercise 3 is answered correctly, so this submission should
# earn exactly 1 point of 4.
MISTAKES = {
    "exercise-1-answer": "def d_star_closed_form(x: torch.Tensor) -> torch.Tensor:\n    return torch.sigmoid(2 * x - 2)",
    "exercise-2-answer": "def my_non_saturating_loss(fake_logits: torch.Tensor) -> torch.Tensor:\n"
                         "    return -torch.log(torch.sigmoid(fake_logits)).mean()",
    "exercise-4-answer": "def generator_step(generator, discriminator, optimizer, z):\n"
                         "    loss = non_saturating_generator_loss(discriminator(generator(z)))\n"
                         "    loss.backward()\n    optimizer.step()\n    return loss.item()",
}


def nbgrader(course: Path, *arguments: str) -> subprocess.CompletedProcess:
    """Run nbgrader's command line in the course folder (it calls alembic, so the venv's bin goes on PATH)."""
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}", "GANLIB_QUICK": "1"}
    result = subprocess.run([str(bin_dir / "nbgrader"), *arguments], cwd=course, env=env, capture_output=True,
                            text=True, timeout=900)
    assert result.returncode == 0 and "ERROR" not in result.stderr, f"nbgrader {' '.join(arguments)}:\n" \
                                                                     f"{result.stdout[-3000:]}\n{result.stderr[-6000:]}"
    return result


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda path: path.stem[:2])
def test_every_exercise_is_an_answer_cell_and_a_locked_check_cell_in_step_with_the_markers(lesson):
    notebook = nbformat.read(lesson, as_version=4)
    assert grading.marked(notebook, lesson.name) == notebook, \
        f"{lesson.name} is out of step with its solution markers: run `python -m ganlib.grading mark`"
    cells = [cell for cell in notebook.cells if "nbgrader" in cell.metadata]
    answers = [cell for cell in cells if cell.metadata.nbgrader["solution"]]
    checks = [cell for cell in cells if cell.metadata.nbgrader["grade"]]
    assert len(answers) == len(checks) >= 2
    assert all(len(solution_regions(cell.source)) == 1 for cell in answers)
    assert all(cell.metadata.nbgrader["locked"] and cell.metadata.nbgrader["points"] == grading.POINTS
               and cell.source.startswith("check.") and not solution_regions(cell.source) for cell in checks)


def answer(source: str) -> str:
    """What a student who found the worked solution would write: the solution cell without the markers."""
    return "\n".join(line for line in source.splitlines() if line.strip() not in (BEGIN, END))


def submit(course: Path, student: str, answers: dict[str, str]) -> None:
    """Write a student's submission of the lesson: the released notebook with some answer cells filled in."""
    notebook = nbformat.read(course / "release" / LESSON / f"{LESSON}.ipynb", as_version=4)
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    folder = course / "submitted" / student / LESSON
    folder.mkdir(parents=True)
    nbformat.write(notebook, folder / f"{LESSON}.ipynb")


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    """A course folder with every lesson generated as an assignment by nbgrader."""
    root = tmp_path_factory.mktemp("course")
    names = grading.write_course(root)
    for name in names:
        nbgrader(root, "generate_assignment", name, "--force")
    return root


def test_generate_assignment_releases_every_lesson_without_solutions_or_outputs(course):
    for lesson in LESSONS:
        released = nbformat.read(course / "release" / lesson.stem / lesson.name, as_version=4)
        source = nbformat.read(lesson, as_version=4)
        solutions = {line.strip() for cell in source.cells if cell.cell_type == "code"
                     for first, last in solution_regions(cell.source) for line in cell.source.splitlines()[first + 1:last]}
        code = "\n".join(cell.source for cell in released.cells if cell.cell_type == "code")
        leaked = [line for line in solutions if len(line) > 20 and line in code]
        assert not leaked, f"{lesson.name}: solution lines in the released notebook: {leaked}"
        assert code.count("raise NotImplementedError()") == len([c for c in source.cells if solution_regions(c.source)])
        assert not any(cell.get("outputs") for cell in released.cells if cell.cell_type == "code")


def test_autograde_scores_a_correct_and_a_mistaken_submission_of_lesson_01(course):
    from nbgrader.api import Gradebook
    source = nbformat.read(course / "source" / LESSON / f"{LESSON}.ipynb", as_version=4)
    solutions = {cell.metadata.nbgrader["grade_id"]: answer(cell.source) for cell in source.cells
                 if cell.metadata.get("nbgrader", {}).get("solution")}
    submit(course, "correct_student", solutions)
    submit(course, "mistaken_student", {**solutions, **MISTAKES})
    for student in ("correct_student", "mistaken_student"):
        nbgrader(course, "db", "student", "add", student)
    nbgrader(course, "autograde", LESSON, "--force")
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        scores = {student: (gradebook.find_submission(LESSON, student).score,
                            gradebook.find_submission(LESSON, student).max_score)
                  for student in ("correct_student", "mistaken_student")}
    print(f"autograded {LESSON}: {scores}")
    assert scores == {"correct_student": (4.0, 4.0), "mistaken_student": (1.0, 4.0)}
