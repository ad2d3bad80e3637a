"""Argument checks shared by ganlib's public functions.

Every error names the function, the argument and what was expected, and says what it got instead:
ValueError for a wrong value or shape, TypeError for a wrong kind of object or dtype.
"""
from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar

import torch

# The Trainer turns the NaN/Inf scan off inside its steps: its divergence guard checks every `log_every` steps
# instead, restores the last good state, and explains; a scan of every tensor at every step would cost time.
_scan_for_nan: ContextVar[bool] = ContextVar("ganlib_scan_for_nan", default=True)


@contextmanager
def skip_nan_scan() -> Iterator[None]:
    """Inside this block, `tensor(..., finite=True)` checks shapes and dtypes but does not scan values."""
    token = _scan_for_nan.set(False)
    try:
        yield
    finally:
        _scan_for_nan.reset(token)


def _describe(value: object) -> str:
    """A short description of a value for an error message."""
    if isinstance(value, torch.Tensor):
        return f"a {value.dtype} tensor of shape {list(value.shape)}"
    text = repr(value)
    return text if len(text) <= 60 else f"a {type(value).__name__}"


def _shape_text(shape: Sequence[int | str | None]) -> str:
    """[N, 784]-style text for a shape pattern (a name or None is any size)."""
    return "[" + ", ".join("N" if i == 0 and size is None else ("*" if size is None else str(size))
                           for i, size in enumerate(shape)) + "]"


def tensor(value: object, name: str, who: str, *, shape: Sequence[int | str | None] | None = None,
           ndim: int | None = None, min_ndim: int | None = None, dtype: str = "float",
           min_rows: int = 1, finite: bool = True) -> torch.Tensor:
    """Check a tensor argument: its kind, its number of dims or shape pattern, its dtype, its rows, NaN and Inf.

    `shape` holds, per dim, a size, or a name or None for any size; `dtype` is "float", "int" (integers, not bool), "uint8", "bool" or "any".
    """
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{who}: `{name}` must be a torch tensor, got {_describe(value)}")
    expected = _shape_text(shape) if shape is not None else None
    if shape is not None and (value.ndim != len(shape) or
                              any(isinstance(size, int) and size != actual for size, actual in zip(shape, value.shape))):
        raise ValueError(f"{who}: `{name}` must have shape {expected}, got {list(value.shape)}")
    if ndim is not None and value.ndim != ndim:
        raise ValueError(f"{who}: `{name}` must have {ndim} dims, got shape {list(value.shape)}")
    if min_ndim is not None and value.ndim < min_ndim:
        raise ValueError(f"{who}: `{name}` must have at least {min_ndim} dims, got shape {list(value.shape)}")
    _check_dtype(value, name, who, dtype)
    if min_rows and (value.ndim == 0 or len(value) < min_rows):
        raise ValueError(f"{who}: `{name}` must hold at least {min_rows} item{'s' * (min_rows > 1)} "
                         f"along its first dim, got shape {list(value.shape)}")
    if finite and value.is_floating_point() and _scan_for_nan.get() and not bool(torch.isfinite(value).all()):
        what = "NaN" if bool(torch.isnan(value).any()) else "infinite values"
        raise ValueError(f"{who}: `{name}` contains {what}")
    return value


def _check_dtype(value: torch.Tensor, name: str, who: str, dtype: str) -> None:
    """The dtype family a tensor argument must have."""
    ok = {"float": value.is_floating_point(),
          "int": not value.is_floating_point() and not value.is_complex() and value.dtype != torch.bool,
          "uint8": value.dtype == torch.uint8, "bool": value.dtype == torch.bool, "any": True}[dtype]
    if not ok:
        wanted = {"float": "a float", "int": "an integer", "uint8": "a uint8", "bool": "a boolean"}[dtype]
        raise TypeError(f"{who}: `{name}` must be {wanted} tensor, got {value.dtype}")


def integer(value: object, name: str, who: str, *, low: int | None = 1, high: int | None = None) -> int:
    """Check an int argument (not a bool, not a float) and its range, both ends included."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{who}: `{name}` must be an int, got {_describe(value)}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{who}: `{name}` must be an int in {_range_text(low, high, False, False)}, got {value}")
    return value


def number(value: object, name: str, who: str, *, low: float | None = None, high: float | None = None,
           low_open: bool = False, high_open: bool = False) -> float:
    """Check a finite real number (int or float, not a bool) and its range; `*_open` excludes that end."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise TypeError(f"{who}: `{name}` must be a number, got {_describe(value)}")
    if not math.isfinite(value):
        raise ValueError(f"{who}: `{name}` must be a finite number, got {value}")
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        raise ValueError(f"{who}: `{name}` must be in {_range_text(low, high, low_open, high_open)}, got {value}")
    return value


def _range_text(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    """Interval notation: [1, 10], (0, inf) and so on."""
    left = "(" if low is None or low_open else "["
    right = ")" if high is None or high_open else "]"
    return f"{left}{'-inf' if low is None else low}, {'inf' if high is None else high}{right}"


def choice(value: object, name: str, who: str, options: Sequence[object]) -> object:
    """Check that an argument is one of a few allowed values."""
    if not any(value == option and type(value) is type(option) for option in options):
        raise ValueError(f"{who}: `{name}` must be one of {list(options)}, got {_describe(value)}")
    return value


def flag(value: object, name: str, who: str) -> bool:
    """Check a True/False argument."""
    if not isinstance(value, bool):
        raise TypeError(f"{who}: `{name}` must be True or False, got {_describe(value)}")
    return value


def same_shape(a: torch.Tensor, b: torch.Tensor, names: tuple[str, str], who: str) -> None:
    """Two tensor arguments that must match in shape."""
    if a.shape != b.shape:
        raise ValueError(f"{who}: `{names[0]}` and `{names[1]}` must have the same shape, "
                         f"got {list(a.shape)} and {list(b.shape)}")


def rows_match(a: torch.Tensor, b: torch.Tensor | Sequence, names: tuple[str, str], who: str) -> None:
    """Two arguments that must have one row each for the same items (images and their labels, say)."""
    if len(a) != len(b):
        raise ValueError(f"{who}: `{names[0]}` and `{names[1]}` must have the same number of rows, "
                         f"got {len(a)} and {len(b)}")


def labels(value: object, n: int, n_classes: int, who: str, name: str = "labels",
           rows_of: str = "the batch") -> torch.Tensor:
    """Class labels: an integer tensor [n] (one per row of the argument `rows_of`) with values in 0..n_classes-1."""
    if value is None:
        raise ValueError(f"{who}: this network is class-conditional ({n_classes} classes): pass `{name}`")
    value = tensor(value, name, who, ndim=1, dtype="int", min_rows=0)
    if len(value) != n:
        rows = f"`{rows_of}`" if rows_of != "the batch" else rows_of
        raise ValueError(f"{who}: `{name}` must have shape [{n}], one label per row of {rows}, got {list(value.shape)}")
    if n and (int(value.min()) < 0 or int(value.max()) >= n_classes):
        raise ValueError(f"{who}: `{name}` must lie in 0..{n_classes - 1}, got {int(value.min())}..{int(value.max())}")
    return value
