"""The Trainer's live hyperparameters, defined once: each with its range or choices and a hint for a control.

A value is checked when it is set (in the constructor, as an attribute, by `set_hyperparameters` or from the
dashboard), never again at each step. The dashboard builds its controls from `SETTINGS`, and the fuzz tests
derive their bad values from it.
"""
from __future__ import annotations

from dataclasses import dataclass

from .. import validate
from ..losses import GENERATOR_LOSSES


@dataclass(frozen=True)
class Control:
    """How a dashboard shows a setting: a slider (log-scaled or not), a number box or a drop-down."""

    label: str
    widget: str  # "log_slider", "slider", "int_slider", "number" or "dropdown"
    low: float | None = None
    high: float | None = None
    step: float | None = None
    tooltip: str = ""


@dataclass(frozen=True)
class Setting:
    """One live hyperparameter: its kind, its allowed range (ends open or closed) or choices, and its controls.

    `kind` is "float", "int", "choice" or "pair" (two floats, such as Adam's betas). A "pair" has one control
    per element; the others have one control, or none when the dashboard does not show them.
    """

    name: str
    kind: str
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple[str, ...] = ()
    at_most_data_size: bool = False  # an int that cannot exceed the number of rows of the data
    controls: tuple[Control, ...] = ()
    doc: str = ""

    def check(self, value: object, who: str = "Trainer") -> object:
        """The value if it is allowed (a pair as a tuple); otherwise a ValueError or TypeError naming the setting."""
        if self.kind == "choice":
            return validate.choice(value, self.name, who, self.choices)
        if self.kind == "int":
            return validate.integer(value, self.name, who, low=self.low, high=self.high)
        if self.kind == "pair":
            if not (isinstance(value, (tuple, list)) and len(value) == 2):
                raise ValueError(f"{who}: `{self.name}` must be two numbers in {self.range_text()}, got {value!r}")
            return tuple(self._check_number(element, who) for element in value)
        return self._check_number(value, who)

    def _check_number(self, value: object, who: str) -> float:
        """A finite number in this setting's range."""
        return validate.number(value, self.name, who, low=self.low, high=self.high,
                               low_open=self.low_open, high_open=self.high_open)

    def range_text(self) -> str:
        """The allowed range in interval notation, such as (0, inf) or [0, 0.5)."""
        left, right = "(" if self.low is None or self.low_open else "[", ")" if self.high is None or self.high_open else "]"
        return f"{left}{'-inf' if self.low is None else self.low}, {'inf' if self.high is None else self.high}{right}"


_LR = dict(widget="log_slider", low=1e-5, high=1e-1, step=0.1)

SETTINGS: dict[str, Setting] = {setting.name: setting for setting in (
    Setting("lr_g", "float", low=0, low_open=True, controls=(Control("lr G", **_LR),),
            doc="the generator's learning rate"),
    Setting("lr_d", "float", low=0, low_open=True, controls=(Control("lr D", **_LR),),
            doc="the discriminator's learning rate"),
    Setting("lr_decay", "float", low=0, low_open=True,
            doc="both learning rates are multiplied by this every `decay_every` steps (1: no decay)"),
    Setting("betas", "pair", low=0, high=1, high_open=True,
            controls=(Control("Adam β1", "slider", 0.0, 0.99, 0.01), Control("Adam β2", "slider", 0.5, 0.9999, 0.0001)),
            doc="Adam's two moment decays"),
    Setting("d_steps", "int", low=1, controls=(Control("D steps", "int_slider", 1, 10, 1),),
            doc="discriminator updates per generator update"),
    Setting("g_loss", "choice", choices=tuple(sorted(GENERATOR_LOSSES)), controls=(Control("G loss", "dropdown"),),
            doc="the generator's loss; the discriminator's loss goes with it"),
    Setting("batch_size", "int", low=1, at_most_data_size=True, controls=(Control("batch size", "number", 1, None, 1),),
            doc="samples per batch, at most the data size"),
    Setting("label_smoothing", "float", low=0, high=0.5, high_open=True,
            doc="one-sided label smoothing: real samples get the target 1 - this"),
    Setting("gradient_penalty", "float", low=0,
            controls=(Control("GP λ", "number", 0.0, 100.0, 1.0, "WGAN-GP weight; 0 is off"),),
            doc="weight of the WGAN-GP gradient penalty (0: off)"),
    Setting("clip_weights", "float", low=0,
            controls=(Control("clip c", "number", 0.0, 1.0, 0.001, "WGAN weight clipping; 0 is off"),),
            doc="clip every weight of D into [-c, c] after each update, as the original WGAN (0: off)"),
)}


class Hyperparameters:
    """The live hyperparameters' current values, each checked when it is set.

    `data_size` bounds the settings that cannot exceed it (`batch_size`); the Trainer sets it from its data.
    """

    def __init__(self, data_size: int | None = None, who: str = "Trainer", **values: object):
        object.__setattr__(self, "data_size", data_size)
        object.__setattr__(self, "who", who)
        missing = set(SETTINGS) - set(values)
        if missing:
            raise ValueError(f"{who}: missing hyperparameters {sorted(missing)}")
        self.update(**values)

    def update(self, **values: object) -> None:
        """Check every value first, then set them all: a refused value changes nothing."""
        checked = {name: self._checked(name, value) for name, value in values.items()}
        for name, value in checked.items():
            object.__setattr__(self, name, value)

    def _checked(self, name: str, value: object) -> object:
        """One value, checked against its setting (and the data size, for `batch_size`)."""
        if name not in SETTINGS:
            raise ValueError(f"{self.who}: unknown hyperparameter `{name}`; choose from {sorted(SETTINGS)}")
        value = SETTINGS[name].check(value, self.who)
        if SETTINGS[name].at_most_data_size and self.data_size is not None and value > self.data_size:
            raise ValueError(f"{self.who}: `{name}` must be at most the data size {self.data_size}, got {value}")
        return value

    def __setattr__(self, name: str, value: object) -> None:
        self.update(**{name: value})

    def as_dict(self) -> dict[str, object]:
        """Every live hyperparameter and its value."""
        return {name: getattr(self, name) for name in SETTINGS}


class LiveSetting:
    """A Trainer attribute that reads and writes one live hyperparameter, so `trainer.lr_g = 1e-3` is checked."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, instance: object, owner: type | None = None) -> object:
        return self if instance is None else getattr(instance.hyperparameters, self.name)

    def __set__(self, instance: object, value: object) -> None:
        instance.hyperparameters.update(**{self.name: value})
