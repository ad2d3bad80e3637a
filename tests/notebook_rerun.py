"""Run a lesson notebook in a fresh kernel (optionally each cell twice) and fingerprint the kernel's state.

Used by test_rerun_notebooks.py; `python tests/notebook_rerun.py [NAME ...] [--json FILE]` prints the comparison.
"""
from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from ganlib.notebook_files import NOTEBOOKS, lesson_paths

REPO = Path(__file__).resolve().parents[1]
VENV_PYTHON = REPO / ".venv" / "bin" / "python"
KERNEL_PYTHON = VENV_PYTHON if VENV_PYTHON.exists() else Path(sys.executable)
CELL_TIMEOUT = 900  # seconds; quick-mode cells take well under a minute

# Wall-clock rule 1: dict keys and object attributes ending in "seconds" (or "ms_per_step") hold durations measured
# with a clock (Trainer.train_seconds, Trainer.metrics["train_seconds"], recogniser_info()["train_seconds"], lesson
# 02's results[...]["ms_per_step"]); they are left out.
WALL_CLOCK_NAME = r"(seconds|ms_per_step)$"
# Wall-clock rule 2: globals that are nothing but a timing measurement, per notebook (file-name prefix).
WALL_CLOCK_GLOBALS: dict[str, set[str]] = {
    "02": {"bare", "watched"},  # steps per second, bare and inside the dashboard (cell "steps_per_second")
    "05": {"started", "cluster_seconds"},  # time.perf_counter() before clustering; the seconds it took
    "06": {"start", "costs", "cost"},  # time.perf_counter() before training; seconds per step (dict, loop variable)
}
# Before cell outputs are compared, printed numbers followed by a time unit (or "training seconds", "steps/s", "it/s") and the
# elapsed/remaining/rate part of progress bars are masked; a progress bar is compared in its final state only.
TIMING_NUMBER = re.compile(r"[ \t]*\d+(?:\.\d+)?(?=\s*(?:s|ms|seconds|training seconds|steps/s|it/s|s/it)\b)")
PROGRESS_TIMES = re.compile(r"\[\d+:\d\d(?::\d\d)?<[^\]]*\]")
# Lesson 02 prints timings without a unit: ms_per_step in result dicts, the dashboard's share of time and its
# redraw count (its redraw budget is a share of wall time), and its slowdown against the bare Trainer.
TIMING_PHRASES = re.compile(r"(?<='ms_per_step': )\d+(?:\.\d+)?|\d+(?:\.\d+)?%(?= slower| of the dashboard's time)"
                            r"|\d+(?= redraws? took)")

FINGERPRINT_CODE = r'''
def _rerun_fingerprint(wall_clock_name, wall_clock_globals):
    """Digest of every user global, plus digests of its parts (paths such as `trainer.metrics['IS']`)."""
    import functools, hashlib, json, os, random, re, types
    import numpy as np, torch
    try:
        from ipywidgets import Widget
    except ImportError:
        Widget = ()
    wall, details, tensor_memo, active = re.compile(wall_clock_name), {}, {}, set()
    max_depth, report_depth, report_len = 6, 3, 16

    def skipped(v):
        """Code, modules, widgets, plots and ganlib.widgets' dashboards (UI state driven by redraw timing)."""
        module = type(v).__module__ or ""
        return (isinstance(v, (types.ModuleType, types.FunctionType, types.BuiltinFunctionType, types.MethodType,
                               functools.partial, type)) or isinstance(v, Widget)
                or module.split(".")[0] in ("matplotlib", "ipywidgets", "IPython") or module == "ganlib.widgets")

    def h(*parts):
        sha = hashlib.sha1()
        for part in parts:
            sha.update(part if isinstance(part, (bytes, memoryview, np.ndarray)) else str(part).encode())
            sha.update(b"|")
        return sha.hexdigest()[:16]

    def tensor(t):
        if id(t) not in tensor_memo:
            c = t.detach().cpu().resolve_conj().resolve_neg()
            c = (c.to_dense() if c.is_sparse else c).contiguous().reshape(-1)
            tensor_memo[id(t)] = (t, h("tensor", t.dtype, tuple(t.shape), c.view(torch.uint8).numpy()))
        return tensor_memo[id(t)][1]

    def items(pairs, path, depth, report, attr):
        out = []
        for key, value in pairs:
            if (isinstance(key, str) and wall.search(key)) or skipped(value):
                continue
            sub = f"{path}.{key}" if attr else f"{path}[{key!r}]"
            out.append(h(repr(key), digest(value, sub, depth + 1, report)))
        return h(*sorted(out)) if not attr else h(*out)

    def digest(v, path, depth, report=True):
        d = compute(v, path, depth, report and depth <= report_depth)
        if report and depth <= report_depth:
            details[path] = d
        return d

    def compute(v, path, depth, report):
        if skipped(v):
            return h("skipped", type(v).__qualname__)
        if v is None or isinstance(v, (bool, int, float, complex, str, bytes, np.generic)):
            return h(type(v).__name__, repr(v))
        if isinstance(v, torch.Tensor):
            return tensor(v)
        if isinstance(v, np.ndarray) and v.dtype != object:
            return h("ndarray", v.dtype, v.shape, np.ascontiguousarray(v).view(np.uint8))
        if isinstance(v, (torch.dtype, torch.device, os.PathLike)):
            return h(type(v).__name__, v)
        if depth >= max_depth or id(v) in active:
            return h("not followed", type(v).__qualname__)
        active.add(id(v))
        try:
            if isinstance(v, (torch.nn.Module, torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler)):
                state = digest(v.state_dict(), path + ".state_dict()", depth + 1, report)
                return h(type(v).__qualname__, getattr(v, "training", None), state)
            if isinstance(v, torch.Generator):
                return h("torch.Generator", tensor(v.get_state()))
            if isinstance(v, np.random.Generator):
                return h("np.random.Generator", digest(v.bit_generator.state, path, depth + 1, False))
            if isinstance(v, np.ndarray):
                v = v.tolist()
            if isinstance(v, dict):
                return h("dict", items(v.items(), path, depth, report, False))
            if isinstance(v, (list, tuple)):
                short = report and len(v) <= report_len
                return h(type(v).__name__, *(digest(x, f"{path}[{i}]", depth + 1, short) for i, x in enumerate(v)))
            if isinstance(v, (set, frozenset)):
                return h("set", *sorted(digest(x, path, depth + 1, False) for x in v))
            if hasattr(v, "__dict__"):
                return h(type(v).__qualname__, items(sorted(vars(v).items()), path, depth, report, True))
            return h("opaque", type(v).__qualname__)
        finally:
            active.discard(id(v))

    ignored = {"In", "Out", "exit", "quit", "get_ipython", *wall_clock_globals}
    names = {}
    for name, value in list(globals().items()):
        if not name.startswith("_") and name not in ignored and not skipped(value):
            names[name] = digest(value, name, 0)
    names["(torch global RNG)"] = digest(torch.get_rng_state(), "(torch global RNG)", 0)
    names["(numpy global RNG)"] = digest(list(np.random.get_state()), "(numpy global RNG)", 0, False)
    names["(python global RNG)"] = digest(random.getstate(), "(python global RNG)", 0, False)
    return {"names": names, "details": details}

print("\n@@FINGERPRINT@@" + __import__("json").dumps(_rerun_fingerprint(%r, %r)))
del _rerun_fingerprint
'''
PROBE_CODE = "print(__import__('json').dumps([__import__('sys').executable, __import__('os').getcwd()]))"


@dataclass
class Run:
    """What one execution of a notebook left behind."""

    notebook: str
    twice: bool
    seconds: float = 0.0
    kernel: tuple[str, str] = ("", "")  # the kernel's sys.executable and working directory
    error: str = ""  # the first cell error, if any
    texts: dict[int, list[str]] = field(default_factory=dict)  # cell index -> masked text of each execution
    names: dict[str, str] = field(default_factory=dict)  # global name -> digest
    details: dict[str, str] = field(default_factory=dict)  # path inside a global -> digest


def output_text(cell: nbformat.NotebookNode) -> str:
    """A cell's stdout and text/plain results, with wall-clock timings masked."""
    parts = [o.get("text", "") if o.output_type == "stream" and o.get("name") == "stdout"
             else o.get("data", {}).get("text/plain", "") if o.output_type in ("execute_result", "display_data")
             else "" for o in cell.get("outputs", [])]
    final = "\n".join(line.rsplit("\r", 1)[-1] for line in "".join(parts).split("\n"))  # as displayed
    return TIMING_PHRASES.sub("<t>", TIMING_NUMBER.sub(" <t>", PROGRESS_TIMES.sub("[<t>]", final)))


@contextmanager
def quick_kernel(notebook: nbformat.NotebookNode, cwd: Path, timeout: int = CELL_TIMEOUT) -> Iterator[NotebookClient]:
    """A client for `notebook` with a fresh quick-mode kernel of this project's interpreter, working in `cwd`."""
    env = {**os.environ, "GANLIB_QUICK": "1"}
    with tempfile.TemporaryDirectory() as specs:
        spec_dir = Path(specs) / "ganlib-rerun"
        spec_dir.mkdir()
        (spec_dir / "kernel.json").write_text(json.dumps({
            "argv": [str(KERNEL_PYTHON), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "ganlib test kernel", "language": "python"}))
        km = AsyncKernelManager(kernel_name="ganlib-rerun", kernel_spec_manager=KernelSpecManager(kernel_dirs=[specs]))
        client = NotebookClient(notebook, km=km, timeout=timeout, shutdown_kernel="immediate",
                                resources={"metadata": {"path": str(cwd)}})
        with client.setup_kernel(env=env, cleanup_kc=True):  # cleanup_kc: shut the kernel down afterwards
            yield client


def run_notebook(path: Path, twice: bool = False, timeout: int = CELL_TIMEOUT) -> Run:
    """Execute the code cells of a notebook in order in a fresh quick-mode kernel, each twice if `twice`."""
    source = nbformat.read(path, as_version=4)
    cells = [cell for cell in source.cells if cell.cell_type == "code"]
    indices = [i for i, cell in enumerate(source.cells) if cell.cell_type == "code"]
    wall_clock = sorted(WALL_CLOCK_GLOBALS.get(path.name[:2], ()))
    probe, finger = nbformat.v4.new_code_cell(PROBE_CODE), nbformat.v4.new_code_cell(
        FINGERPRINT_CODE % (WALL_CLOCK_NAME, wall_clock))
    work = nbformat.v4.new_notebook(cells=[probe, *cells, finger], metadata=source.metadata)
    run, start = Run(path.name, twice), time.perf_counter()
    with quick_kernel(work, NOTEBOOKS, timeout) as client:
        run.kernel = tuple(json.loads(client.execute_cell(probe, 0).outputs[0]["text"]))
        for position, (index, cell) in enumerate(zip(indices, cells), start=1):
            try:
                for _ in range(2 if twice else 1):
                    run.texts.setdefault(index, []).append(output_text(client.execute_cell(cell, position)))
            except CellExecutionError as error:
                run.error = f"cell {index}: {str(error).strip().splitlines()[-1]}"
                break
        if not run.error:
            text = "".join(o.get("text", "") for o in client.execute_cell(finger, len(cells) + 1).outputs
                           if o.output_type == "stream")
            state = json.loads(text.split("@@FINGERPRINT@@", 1)[1])
            run.names, run.details = state["names"], state["details"]
    run.seconds = time.perf_counter() - start
    return run


CHECK_OUTPUT_MARK = "# NBVAL_CHECK_OUTPUT"  # (the marker nbval used) a deterministic cell, whatever the budget


def outputs_unlike_the_committed(path: Path, run: Run) -> list[int]:
    """Cells marked CHECK_OUTPUT_MARK whose output in `run` differs from the committed (full-mode) one."""
    cells = nbformat.read(path, as_version=4).cells
    return [i for i, cell in enumerate(cells) if cell.cell_type == "code" and cell.source.startswith(CHECK_OUTPUT_MARK)
            and run.texts.get(i, [None])[0] != output_text(cell)]


def differing_paths(a: Run, b: Run, name: str, limit: int = 8) -> list[str]:
    """The most specific reported parts of global `name` whose digests differ between two runs."""
    paths = [p for p in sorted(set(a.details) | set(b.details))
             if (p == name or p.startswith((name + ".", name + "["))) and a.details.get(p) != b.details.get(p)]
    leaves = [p for p in paths if not any(q.startswith((p + ".", p + "[")) for q in paths)]
    return leaves[:limit] + (["..."] if len(leaves) > limit else [])


def compare(a: Run, b: Run) -> dict:
    """Differences between a normal run `a` and a doubled-cell run `b` of the same notebook."""
    names = sorted(n for n in set(a.names) | set(b.names) if a.names.get(n) != b.names.get(n))
    return {"variables": {n: differing_paths(a, b, n) for n in names},
            "cells_rerun_differs": [i for i, t in b.texts.items() if len(t) == 2 and t[0] != t[1]],
            "cells_output_differs_from_run_a": [i for i, t in b.texts.items() if a.texts.get(i, [None])[0] != t[-1]]}


def describe(a: Run, b: Run) -> str:
    """A readable account of the runs and their differences, for test failures and reports."""
    lines = [f"{a.notebook}: run A (run all) {a.seconds:.0f} s, run B (each cell twice) {b.seconds:.0f} s"]
    lines += [f"  run {label} failed at {run.error}" for label, run in (("A", a), ("B", b)) if run.error]
    diff = compare(a, b)
    lines += [f"  variable {name} differs: {', '.join(paths) or '(whole value)'}"
              for name, paths in diff["variables"].items()]
    for key, label in (("cells_rerun_differs", "cells whose second execution prints something else"),
                       ("cells_output_differs_from_run_a", "cells whose output in run B differs from run A")):
        if diff[key]:
            lines.append(f"  {label}: {diff[key]}")
    return "\n".join(lines)


if __name__ == "__main__":
    arguments = sys.argv[1:]
    dump = arguments.pop(arguments.index("--json") + 1) if "--json" in arguments else None
    arguments = [a for a in arguments if a != "--json"]
    results = {}
    for notebook in lesson_paths(NOTEBOOKS):
        if arguments and not any(notebook.name.startswith(a) for a in arguments):
            continue
        first, second = run_notebook(notebook), run_notebook(notebook, twice=True)
        print(describe(first, second), flush=True)
        results[notebook.name] = {"a": vars(first), "b": vars(second), "diff": compare(first, second)}
    if dump:
        Path(dump).write_text(json.dumps(results, indent=1))
