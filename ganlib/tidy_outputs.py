"""Saved notebook outputs as a reader sees them: `python -m ganlib.tidy_outputs notebooks/*.ipynb` (run by `make render`).

A progress bar redraws itself with carriage returns, and Jupyter saves every redraw: dozens of outputs per cell that
GitHub, nbviewer and HTML exports print one under the other. Here each cell's consecutive outputs of one stream are
merged, and each line shows what a terminal would: a carriage return's text overwrites the line.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

from .notebook_files import write_notebook


def as_displayed(text: str) -> str:
    """Text as a terminal shows it: after a carriage return, what follows overwrites the line from its start."""
    lines = []
    for line in text.replace("\r\n", "\n").split("\n"):
        shown = ""
        for segment in line.split("\r"):
            shown = segment + shown[len(segment):]
        lines.append(shown.rstrip())
    return "\n".join(lines)


def tidy_cell_outputs(outputs: list[dict]) -> list[dict]:
    """Consecutive stream outputs of one name merged, each shown as displayed; other outputs unchanged."""
    tidy: list[dict] = []
    for output in outputs:
        if output.get("output_type") == "stream" and tidy and tidy[-1].get("output_type") == "stream" \
                and tidy[-1]["name"] == output["name"]:
            tidy[-1]["text"] += output["text"]
        else:
            tidy.append(output)
    for output in tidy:
        if output.get("output_type") == "stream":
            output["text"] = as_displayed(output["text"])
    return tidy


def tidy_notebook(path: str | Path) -> int:
    """Tidy every code cell's outputs in place; returns how many outputs were removed by merging."""
    notebook = nbformat.read(str(path), as_version=4)
    removed = 0
    for cell in notebook.cells:
        if cell.cell_type == "code":
            before = len(cell.outputs)
            cell.outputs = tidy_cell_outputs(cell.outputs)
            removed += before - len(cell.outputs)
    write_notebook(notebook, path)
    return removed


def main(argv: list[str] | None = None) -> int:
    """Tidy the notebooks named on the command line."""
    parser = argparse.ArgumentParser(prog="python -m ganlib.tidy_outputs", description=main.__doc__)
    parser.add_argument("notebooks", nargs="+", type=Path)
    for path in parser.parse_args(argv).notebooks:
        print(f"{path}: {tidy_notebook(path)} stream outputs merged")
    return 0


if __name__ == "__main__":
    sys.exit(main())
