"""The course as a static website: `make book` (or `python -m ganlib.book [OUT]`), built from the committed notebooks.

Jupyter Book 1 (Sphinx with MyST-NB) turns the README (the home page), the lessons in order, the instructor guide
and CONTRIBUTING.md into HTML, with every committed output: figures, tables, math, audio players, and the picture
each widget carries. Nothing is re-executed. Why not Jupyter Book 2 (MyST): its HTML themes are downloaded from the
internet at build time, which these machines cannot reach; version 1 installs from PyPI and builds offline.
MathJax is served from the site itself, copied from the pinned `sphinx-mathjax-offline` wheel.

The sources are staged in `build/book-source/` with the repository's layout (README.md, notebooks/, docs/), so the
links written for GitHub work unchanged; a local file a page links to that is not a page (a `ganlib` module) is
copied too and becomes a download. The site is written to `build/book/_build/html/` (index.html opens it).
"""
from __future__ import annotations

import argparse
import importlib.util
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .config import REPO_ROOT
from .notebook_files import lesson_paths, write_notebook

BOOK_CONFIG = REPO_ROOT / "book" / "_config.yml"
SOURCE_DIR = REPO_ROOT / "build" / "book-source"
OUT_DIR = REPO_ROOT / "build" / "book"
HOME, GUIDE, CONTRIBUTING = "README.md", "docs/instructor-guide.md", "CONTRIBUTING.md"
LINK = re.compile(r"\]\(([^)\s]+)\)")


@dataclass
class BookBuild:
    """What `build` made: the site's folder, its pages, its size and how long it took."""
    html_dir: Path
    pages: list[Path]
    size_bytes: int
    seconds: float


def table_of_contents(lessons: list[Path]) -> str:
    """Jupyter Book's _toc.yml: the README as home page, the lessons, then the guides."""
    chapters = "\n".join(f"      - file: notebooks/{path.stem}" for path in lessons)
    return ("format: jb-book\nroot: README\nparts:\n"
            f"  - caption: Lessons\n    chapters:\n{chapters}\n"
            "  - caption: Teaching and contributing\n    chapters:\n"
            "      - file: docs/instructor-guide\n      - file: CONTRIBUTING\n")


def linked_files(relative_page: str, text: str) -> list[str]:
    """Repository files (relative to its root) that a page's markdown links to and that are not pages themselves."""
    found = []
    for target in LINK.findall(text):
        target = target.split("#")[0]
        if not target or "://" in target or target.startswith(("mailto:", "data:")):
            continue
        path = (REPO_ROOT / relative_page).parent / target
        if path.suffix not in (".md", ".ipynb") and path.is_file():
            found.append(path.resolve().relative_to(REPO_ROOT).as_posix())
    return found


def page_text(path: Path) -> str:
    """The markdown of a page: the file itself, or a notebook's markdown cells."""
    if path.suffix != ".ipynb":
        return path.read_text()
    return "\n".join(cell.source for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "markdown")


def drop_widget_state(path: Path) -> None:
    """Remove the saved widget state from a notebook: a website has no kernel to drive the widgets, and each widget
    output carries a picture that the site shows instead."""
    notebook = nbformat.read(path, as_version=4)
    notebook.metadata.pop("widgets", None)
    write_notebook(notebook, path)


def mathjax_folder() -> Path:
    """MathJax 3's files inside the pinned sphinx-mathjax-offline wheel."""
    spec = importlib.util.find_spec("sphinx-mathjax-offline")
    if spec is None or spec.origin is None:
        raise RuntimeError("make book needs sphinx-mathjax-offline (pinned in requirements.txt): run `make` first")
    return Path(spec.origin).parent / "static" / "mathjax"


def copy_mathjax(static: Path) -> None:
    """The one MathJax component the site loads (TeX input, HTML output) and its fonts, into _static/mathjax."""
    source, target = mathjax_folder(), static / "mathjax"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source / "tex-chtml.js", target / "tex-chtml.js")
    shutil.copytree(source / "output" / "chtml" / "fonts" / "woff-v2", target / "output" / "chtml" / "fonts" / "woff-v2")


def stage(source_dir: Path = SOURCE_DIR) -> list[str]:
    """Copy the pages, the files they link to, the config, a table of contents and MathJax; returns the pages."""
    if source_dir.exists():
        shutil.rmtree(source_dir)
    lessons = lesson_paths()
    pages = [HOME, *(path.relative_to(REPO_ROOT).as_posix() for path in lessons), GUIDE, CONTRIBUTING]
    for page in pages:
        files = [page, *linked_files(page, page_text(REPO_ROOT / page))]
        for name in files:
            (source_dir / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO_ROOT / name, source_dir / name)
        if page.endswith(".ipynb"):
            drop_widget_state(source_dir / page)
    shutil.copy2(BOOK_CONFIG, source_dir / "_config.yml")
    (source_dir / "_toc.yml").write_text(table_of_contents(lessons))
    copy_mathjax(source_dir / "_static")
    return pages


def folder_size(folder: Path) -> int:
    """Bytes in every file under folder."""
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def build(out_dir: Path = OUT_DIR, source_dir: Path = SOURCE_DIR) -> BookBuild:
    """Stage the sources and build the HTML site with Jupyter Book; any Sphinx warning fails the build."""
    start = time.perf_counter()
    pages = stage(source_dir)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    command = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(source_dir), "--path-output",
               str(out_dir), "--warningiserror", "--keep-going", "--quiet"]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"jupyter-book build failed (exit {result.returncode}):\n{result.stdout[-6000:]}"
                           f"\n{result.stderr[-6000:]}")
    html_dir = out_dir / "_build" / "html"
    html_pages = [html_dir / Path(page).with_suffix(".html") for page in pages]
    html_pages[0] = html_dir / "README.html"
    missing = [str(path) for path in html_pages if not path.is_file()]
    if missing:
        raise RuntimeError(f"jupyter-book build made no page for: {missing}")
    return BookBuild(html_dir, html_pages, folder_size(html_dir), time.perf_counter() - start)


def main() -> None:
    """Command line: build the site and say where it is, how big, and how long it took."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", type=Path, default=OUT_DIR, help="folder to write (default: build/book)")
    site = build(parser.parse_args().out.resolve())
    print(f"{len(site.pages)} pages, {site.size_bytes / 1e6:.1f} MB, built in {site.seconds:.0f} s: "
          f"open {site.html_dir / 'index.html'}")


if __name__ == "__main__":
    main()
