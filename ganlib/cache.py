"""Files ganlib makes once and keeps (decoded data sets, trained judges): written atomically, rebuilt when damaged."""
from __future__ import annotations

import contextlib
import os
import pickle
import secrets
from pathlib import Path
from typing import Callable, TypeVar

import torch

from .config import cache_root, data_root

T = TypeVar("T")
# What torch.load raises for a truncated, zero-length or garbage file (measured on many such files), and what a
# `use` function raises for content of the wrong kind.
UNREADABLE = (RuntimeError, EOFError, pickle.UnpicklingError, ValueError, LookupError, TypeError, AttributeError)


def atomic_save(obj: object, path: str | Path) -> None:
    """torch.save `obj` to `path` through a temporary file in the same folder, so `path` is never left partial."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.partial")
    try:
        with open(temporary, "xb") as file:  # not mkstemp: its files are private (0600), and caches may be shared
            torch.save(obj, file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)  # after an error, even KeyboardInterrupt; a no-op after the rename


def _reason(error: BaseException) -> str:
    """The kind and first line of an error, short enough for a one-line message."""
    lines = str(error).strip().splitlines()
    text = f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__
    return text if len(text) <= 100 else text[:97] + "..."


def _read(path: Path, use: Callable[[object], T]) -> T:
    """use(the tensors and plain containers in `path`); never runs code stored in the file."""
    return use(torch.load(path, weights_only=True))


def load_or_rebuild(path: str | Path, build: Callable[[], object], use: Callable[[object], T]) -> T:
    """use(content of `path`); a missing file is made with build() and saved, a damaged one moved aside and remade.

    `use` turns the content into the result and raises (KeyError, TypeError, ValueError...) if it is the wrong kind;
    such a file counts as damaged too. It goes to NAME.corrupt (replacing an older one), with one line said.
    """
    path = Path(path)
    if path.exists():
        try:
            return _read(path, use)
        except UNREADABLE as error:
            aside = path.with_name(path.name + ".corrupt")
            with contextlib.suppress(FileNotFoundError):  # another process moved it aside first
                os.replace(path, aside)
            print(f"ganlib: {path} was unreadable ({_reason(error)}); moved it to {aside} and rebuilding it")
    content = build()
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_save(content, path)
    return use(content)


def load_cache(name: str, build: Callable[[], object], use: Callable[[object], T]) -> T:
    """The cache `name` (relative, e.g. 'MNIST/train_uint8.pt'): a copy made beforehand in a read-only data root is
    used as it is; otherwise it is loaded from, or made in, cache_root() as load_or_rebuild does."""
    shared, own = data_root() / name, cache_root() / name
    if shared != own and shared.exists():
        try:
            return _read(shared, use)
        except UNREADABLE as error:
            print(f"ganlib: {shared} is unreadable ({_reason(error)}) in a read-only data root; using {own} instead")
    return load_or_rebuild(own, build, use)
