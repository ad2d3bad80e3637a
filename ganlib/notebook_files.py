"""The lessons' notebook files: where they are, in course order, and how the course writes them."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

import nbformat

from .config import REPO_ROOT

NOTEBOOKS = REPO_ROOT / "notebooks"


def lesson_paths(folder: str | Path = NOTEBOOKS) -> list[Path]:
    """The lesson notebooks in `folder`, in course order (their names start with the lesson's two-digit number)."""
    return sorted(Path(folder).glob("[0-9][0-9]_*.ipynb"))


def write_notebook(notebook: nbformat.NotebookNode, path: str | Path) -> None:
    """Write a notebook as JupyterLab saves one (nbformat 4, one-space indent, UTF-8, final newline), through a
    temporary file in the same folder, so an interrupted write never leaves half a notebook."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.partial")
    try:
        temporary.write_text(nbformat.writes(notebook, version=4) + "\n", encoding="utf-8")
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
