"""Kinds of arguments, and the bad values of each that the fuzz tests draw with hypothesis.

Every bad value here is bad for sure: a wrong type, a wrong number of dims, a wrong fixed size, an empty batch,
a wrong dtype, NaN or Inf, an out-of-range number, an unknown name. Each kind yields (category, value).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import hypothesis.strategies as st
import torch

from ganlib.training import Setting

NOT_TENSORS = [None, "tensor", 3.0, [1.0, 2.0]]


@dataclass(frozen=True)
class Tensor:
    """A tensor argument. `ndims`: the numbers of dims allowed (None: any, at least `min_ndim`);
    `fixed`: dims whose size is fixed; `dtype`: "float", "int" or "uint8"; `extra`: more bad values."""

    ndims: tuple[int, ...] | None = None
    min_ndim: int = 0
    fixed: tuple[int, ...] = ()
    dtype: str = "float"
    empty_ok: bool = False
    nan_ok: bool = False
    optional: bool = False  # None is a valid value (the default)
    extra: tuple[tuple[str, Callable[[torch.Tensor], object]], ...] = ()

    def bad(self, data: st.DataObject, valid: torch.Tensor) -> tuple[str, object]:
        """One bad value, made from the valid one."""
        categories = ["not a tensor", "wrong dtype"]
        if self._wrong_ndims():
            categories.append("wrong number of dims")
        if self.fixed:
            categories.append("wrong size")
        if not self.empty_ok:
            categories.append("empty batch")
        if self.dtype == "float" and not self.nan_ok:
            categories.append("NaN or Inf")
        categories += [name for name, _ in self.extra]
        category = data.draw(st.sampled_from(categories), label="category")
        return category, self._make(category, data, valid)

    def _wrong_ndims(self) -> list[int]:
        """Numbers of dims (up to 5) that this argument must refuse."""
        return [n for n in range(6) if (n not in self.ndims if self.ndims else n < self.min_ndim)]

    def _make(self, category: str, data: st.DataObject, valid: torch.Tensor) -> object:
        """Build a bad value of one category."""
        if category == "not a tensor":
            not_tensors = [value for value in NOT_TENSORS if value is not None or not self.optional]
            return data.draw(st.sampled_from(not_tensors + [valid.numpy()]), label="value")
        if category == "wrong dtype":
            wrong = {"float": [torch.long, torch.bool], "int": [torch.float32, torch.bool],
                     "uint8": [torch.float32, torch.long]}[self.dtype]
            return valid.to(data.draw(st.sampled_from(wrong), label="dtype"))
        if category == "wrong number of dims":
            ndim = data.draw(st.sampled_from(self._wrong_ndims()), label="ndim")
            shape = data.draw(st.lists(st.integers(1, 3), min_size=ndim, max_size=ndim), label="shape")
            return torch.zeros(shape, dtype=valid.dtype)
        if category == "wrong size":
            dim = data.draw(st.sampled_from(self.fixed), label="dim")
            grow = data.draw(st.integers(1, 3), label="grow")
            shrink = valid.shape[dim] > 1 and data.draw(st.booleans(), label="shrink")
            if shrink:
                return valid.narrow(dim, 0, valid.shape[dim] - 1)
            return torch.cat([valid] + [valid.narrow(dim, 0, 1)] * grow, dim=dim)
        if category == "empty batch":
            return valid[:0]
        if category == "NaN or Inf":
            bad = valid.clone()
            index = data.draw(st.integers(0, bad.numel() - 1), label="index")
            bad.view(-1)[index] = data.draw(st.sampled_from([math.nan, math.inf, -math.inf]), label="value")
            return bad
        return dict(self.extra)[category](valid)


@dataclass(frozen=True)
class Int:
    """An int argument in [low, high] (None: unbounded)."""

    low: int | None = 1
    high: int | None = None

    def bad(self, data: st.DataObject, valid: object) -> tuple[str, object]:
        """One bad value: out of range, a float, a bool, None or a string."""
        options = [("not an int", st.sampled_from([None, "3", 2.5, True, float(self.low or 0), math.nan]))]
        if self.low is not None:
            options.append(("too small", st.integers(self.low - 1000, self.low - 1)))
        if self.high is not None:
            options.append(("too large", st.integers(self.high + 1, self.high + 1000)))
        return _draw_option(data, options)


@dataclass(frozen=True)
class Num:
    """A finite real number in a range; `*_open` excludes that end."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def bad(self, data: st.DataObject, valid: object) -> tuple[str, object]:
        """One bad value: NaN or Inf, out of range, None, a string or a bool."""
        options = [("not finite", st.sampled_from([math.nan, math.inf, -math.inf])),
                   ("not a number", st.sampled_from([None, "0.5", True, [0.5]]))]
        if self.low is not None:
            below = st.floats(self.low - 1e6, self.low, exclude_max=not self.low_open, allow_nan=False)
            options.append(("too small", below))
        if self.high is not None:
            above = st.floats(self.high, self.high + 1e6, exclude_min=not self.high_open, allow_nan=False)
            options.append(("too large", above))
        return _draw_option(data, options)


@dataclass(frozen=True)
class Choice:
    """One of a few names."""

    options: tuple[object, ...]

    def bad(self, data: st.DataObject, valid: object) -> tuple[str, object]:
        """One bad value: another string, None or a number."""
        other = st.text(max_size=12).filter(lambda text: text not in self.options)
        return _draw_option(data, [("unknown name", other), ("not a name", st.sampled_from([None, 3, ["a"]]))])


@dataclass(frozen=True)
class Flag:
    """True or False."""

    def bad(self, data: st.DataObject, valid: object) -> tuple[str, object]:
        """One bad value: something that is not a bool."""
        return _draw_option(data, [("not a bool", st.sampled_from([1, 0, "yes", None, 1.0]))])


@dataclass(frozen=True)
class Values:
    """An argument with a hand-made list of bad values (sequences, callables, pairs)."""

    values: tuple[object, ...] = field(default=())
    category: str = "bad value"

    def bad(self, data: st.DataObject, valid: object) -> tuple[str, object]:
        """One of the listed bad values."""
        return self.category, data.draw(st.sampled_from(self.values), label="value")


@dataclass(frozen=True)
class Pair:
    """Two numbers, each of the kind `element` (such as Adam's betas)."""

    element: Num

    def bad(self, data: st.DataObject, valid: object) -> tuple[str, object]:
        """One bad value: not a pair at all, or a pair with one bad element."""
        if data.draw(st.booleans(), label="whole"):
            return "not a pair", data.draw(st.sampled_from([None, "0.5", 0.5, (0.5,), (0.1, 0.2, 0.3)]), label="value")
        category, element = self.element.bad(data, None)
        pair = list(valid) if valid is not None else [self.element.low or 0.0] * 2  # a call that left the default
        pair[data.draw(st.integers(0, 1), label="index")] = element
        return f"{category} (in a pair)", tuple(pair)


def setting_kind(setting: Setting, data_size: int) -> Choice | Int | Num | Pair:
    """The kind of a Trainer's live setting, derived from its definition, for a Trainer on `data_size` rows."""
    if setting.kind == "choice":
        return Choice(setting.choices)
    if setting.kind == "int":
        return Int(setting.low, data_size if setting.at_most_data_size else setting.high)
    number = Num(setting.low, setting.high, setting.low_open, setting.high_open)
    return Pair(number) if setting.kind == "pair" else number


def _draw_option(data: st.DataObject, options: list[tuple[str, st.SearchStrategy]]) -> tuple[str, object]:
    """Draw a category, then a value of it."""
    category, strategy = data.draw(st.sampled_from(options), label="category")
    return category, data.draw(strategy, label="value")


def labels_kind() -> Tensor:
    """Class labels [N] in 0..K-1: also refuses labels out of range."""
    return Tensor(ndims=(1,), fixed=(0,), dtype="int",
                  extra=(("label out of range", lambda valid: valid + 100), ("negative label", lambda valid: valid - 100)))
