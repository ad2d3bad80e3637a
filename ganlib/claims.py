"""The claims check: every number a lesson's text quotes comes from that lesson's outputs, or says where it is from.

`python -m ganlib.claims [NOTEBOOK ...]` lists the numbers in the notebooks' markdown that nothing backs. A number
here is a decimal (8.02, −0.9, 1,234.5) or a percentage (96.4%, 4%); whole numbers are mostly settings (steps,
sizes, seeds) and are not checked. A number is backed when

- the notebook prints it: some number in the cells' outputs (text, tables, HTML) rounds to it at the precision
  the text quotes (a percentage also matches a printed fraction: 96.4% matches 0.9642), or another lesson that
  the sentence names ("lesson 02") prints it; or
- the notebook sets it: it appears in a code cell (a learning rate, a decay); or
- its sentence says where it is from: a citation such as "(Salimans et al., 2016)" or "Arjovsky et al. (2017)",
  a link, or a command in backticks that computes it (`python -m ganlib.few_labels`, `make bench`).

Numbers inside math ($...$) and inline code are formulas and settings, not results, and are not checked.

A check that matches numbers can be fooled by coincidence: a lesson prints many numbers, and a wrong one may
happen to round like one of them. `python -m ganlib.claims --power` measures how often it is not fooled: every
checked number quoted with two or more decimals (or a percentage with one) is changed by ±1, ±3 and +7 in its last
digit, and the share of these made-up numbers that the check flags is printed.
"""
from __future__ import annotations

import argparse
import html
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from .notebook_files import lesson_paths

NUMBER = re.compile(r"(?<![\w.,])[−-]?\d{1,3}(?:,\d{3})*(?:\.\d+)?%|(?<![\w.,])[−-]?\d{1,3}(?:,\d{3})*\.\d+(?![\d%])"
                    r"|(?<![\w.,])[−-]?\d+\.\d+(?![\d%])")
ANY_NUMBER = re.compile(r"[−-]?\d+(?:,\d{3})*(?:\.\d+)?(?:[eE][-+]?\d+)?")
MATH_OR_CODE = re.compile(r"\$\$.*?\$\$|\$[^$\n]+\$|`[^`\n]+`", re.DOTALL)
CITATION = re.compile(r"\([^()]*\b(?:19|20)\d{2}[a-z]?\)|et al\.?,? \(?(?:19|20)\d{2}|\]\(https?://"
                      r"|`(?:python -m |make )[^`]+`")
SENTENCE_END = re.compile(r"(?<=[.!?:])\s+(?=[A-Z*(\[|-])|\n\s*\n|\n(?=\s*(?:[-*|#]|\d+\.)\s)")
TAG = re.compile(r"<[^>]+>")
LESSON_REFERENCE = re.compile(r"\blessons? (\d\d)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Claim:
    """A number quoted in a markdown cell that nothing in the notebook backs."""

    notebook: str
    cell: int
    number: str
    sentence: str

    def __str__(self) -> str:
        return f"{self.notebook} cell {self.cell}: {self.number!r} in “{self.sentence.strip()[:160]}”"


def parse_number(text: str) -> tuple[float, int, bool]:
    """The value of a quoted number, its decimals, and whether it is a percentage."""
    percent = text.endswith("%")
    digits = text.rstrip("%").replace("−", "-").replace(",", "")
    decimals = len(digits.split(".")[1]) if "." in digits else 0
    return float(digits), decimals, percent


def printed_numbers(notebook: dict) -> list[float]:
    """Every number in the notebook's outputs: streams, plain text, markdown, HTML (tags removed), errors excluded."""
    texts = []
    for cell in notebook["cells"]:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                texts.append("".join(output.get("text", "")))
            for mime in ("text/plain", "text/markdown", "text/html"):
                value = output.get("data", {}).get(mime)
                if value is not None:
                    texts.append(html.unescape(TAG.sub(" ", "".join(value))))
    return numbers_in(" ".join(texts))


def code_numbers(notebook: dict) -> list[float]:
    """Every number written in the notebook's code cells (settings such as learning rates)."""
    return numbers_in(" ".join("".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == "code"))


def numbers_in(text: str) -> list[float]:
    """All numbers in a text, as floats (thousands separators and Unicode minus signs understood)."""
    values = []
    for match in ANY_NUMBER.findall(text):
        try:
            values.append(float(match.replace("−", "-").replace(",", "")))
        except ValueError:
            continue
    return values


def backed(quoted: str, evidence: list[float]) -> bool:
    """Whether some evidence value rounds to the quoted number at its precision (a percentage: also as a fraction).

    Signs are ignored: a text says "2.0 points below" where the output prints -2.0.
    """
    value, decimals, percent = parse_number(quoted)
    half = 0.5 * 10.0 ** -decimals + 1e-9
    scales = (1.0, 100.0) if percent else (1.0,)
    return any(abs(abs(x) * scale - abs(value)) <= half for x in evidence for scale in scales)


def sentences(markdown: str) -> list[str]:
    """A markdown cell cut into sentences, list items and table rows."""
    return [part for part in SENTENCE_END.split(markdown) if part and part.strip()]


def referenced_lessons_numbers(sentence: str, folder: Path) -> list[float]:
    """What the lessons a sentence names ("lesson 02") print."""
    values = []
    for number in LESSON_REFERENCE.findall(sentence):
        for path in folder.glob(f"{number}_*.ipynb"):
            values += printed_numbers(json.loads(path.read_text()))
    return values


def quoted_numbers(path: Path) -> list[tuple[int, str, str, list[float]]]:
    """(cell, number, sentence, evidence) for every checked number in a notebook's markdown."""
    notebook = json.loads(path.read_text())
    own = printed_numbers(notebook) + code_numbers(notebook)
    quoted = []
    for index, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] != "markdown":
            continue
        for sentence in sentences("".join(cell["source"])):
            if CITATION.search(sentence):
                continue
            evidence = own + referenced_lessons_numbers(sentence, path.parent)
            quoted += [(index, number, sentence, evidence) for number in NUMBER.findall(MATH_OR_CODE.sub(" ", sentence))]
    return quoted


def unbacked_claims(path: str | Path) -> list[Claim]:
    """The numbers quoted in a notebook's markdown that its outputs, its code and its citations do not back."""
    path = Path(path)
    return [Claim(path.name, index, number, sentence)
            for index, number, sentence, evidence in quoted_numbers(path) if not backed(number, evidence)]


def detection_rate(paths: list[Path]) -> tuple[int, int]:
    """How many of the made-up numbers (each precise quoted number off by ±1, ±3, +7 in its last digit) the check
    flags, out of how many."""
    flagged = total = 0
    for path in paths:
        for _, number, _, evidence in quoted_numbers(Path(path)):
            value, decimals, percent = parse_number(number)
            if decimals < (1 if percent else 2):
                continue
            for shift in (1, -1, 3, -3, 7):
                made_up = f"{value + shift * 10.0 ** -decimals:.{decimals}f}{'%' if percent else ''}"
                flagged += not backed(made_up, evidence)
                total += 1
    return flagged, total


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: list the unbacked numbers; exit status 1 if there are any."""
    parser = argparse.ArgumentParser(prog="python -m ganlib.claims", description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", help="notebooks to check (default: every lesson)")
    parser.add_argument("--power", action="store_true", help="also measure how often made-up numbers are flagged")
    args = parser.parse_args(argv)
    paths = args.notebooks or lesson_paths()
    if args.power:
        flagged, total = detection_rate(paths)
        print(f"made-up numbers flagged: {flagged} of {total} ({flagged / max(total, 1):.0%})")
    claims = [claim for path in paths for claim in unbacked_claims(path)]
    for claim in claims:
        print(claim)
    print(f"{len(claims)} unbacked number(s) in {len(paths)} notebook(s)")
    return 1 if claims else 0


if __name__ == "__main__":
    sys.exit(main())
