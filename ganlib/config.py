"""Where the data lives, how long to train, and which device to use."""
from __future__ import annotations

import os
import random
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

from . import validate

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_ENV = "GANLIB_DATA"
CACHE_ENV = "GANLIB_CACHE"
QUICK_ENV = "GANLIB_QUICK"


def data_root() -> Path:
    """The one data root: $GANLIB_DATA, else `data/` at the repository root (made if missing; may be read-only)."""
    root = os.environ.get(DATA_ENV)
    path = Path(root).expanduser() if root else REPO_ROOT / "data"
    if not path.is_dir():
        path.mkdir(parents=True, exist_ok=True)
    return path.resolve()


def writable(folder: str | Path) -> bool:
    """True if a file can be made in `folder`: tried, not inferred from permission bits, which do not stop root."""
    try:
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


def cache_root() -> Path:
    """Where ganlib writes what it makes (decoded data, trained judges, downloads): the data root if writable,
    else $GANLIB_CACHE, else $XDG_CACHE_HOME/ganlib (~/.cache/ganlib), for a data root shared read-only."""
    root = data_root()
    if writable(root):
        return root
    chosen = os.environ.get(CACHE_ENV) or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ganlib"
    path = Path(chosen).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path.resolve()


def is_quick() -> bool:
    """True when $GANLIB_QUICK asks for the short test budget (set by `make test`)."""
    return os.environ.get(QUICK_ENV, "").strip().lower() not in ("", "0", "false", "no")


def budget(full: int | float, quick: int | float) -> int | float:
    """The training budget for this run: `quick` under `make test`, `full` otherwise."""
    for name, value in (("full", full), ("quick", quick)):
        validate.number(value, name, "budget", low=0, low_open=True)
    return quick if is_quick() else full


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and PyTorch so that a run can be repeated exactly."""
    validate.integer(seed, "seed", "set_seed", low=0, high=2**63 - 1)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


@contextmanager
def isolated_rng(seed: int | None = None) -> Iterator[None]:
    """Run a block from its own seed, then put Python's, NumPy's and PyTorch's global RNGs back as they were.

    Library work that draws random numbers behind the learner's back (training a cached judge, Griffin-Lim's
    random phase) runs inside it, so that re-running a notebook cell gives the same result every time.
    """
    python_state, numpy_state, torch_state = random.getstate(), np.random.get_state(), torch.get_rng_state()
    try:
        if seed is not None:
            set_seed(seed)
        yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)
        torch.set_rng_state(torch_state)


def default_device() -> torch.device:
    """The fastest device here: CUDA, then Apple's MPS, then the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")
