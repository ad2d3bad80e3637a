"""The Trainer's checks at construction: options in range, networks that fit the data, data in the generator's range."""
from __future__ import annotations

import warnings

import torch
from torch import nn

from .. import validate
from ..models import check_labels, eval_mode
from .steps import forward

OPTIMIZERS = ("adam", "sgd", "rmsprop")


def check_options(*, seed: int, optimizer: str, ema_decay: float, fast: bool, metric_fn: object,
                  positive: dict[str, int], non_negative: dict[str, int]) -> None:
    """The options that are fixed for a Trainer's life (the live ones are checked by `Hyperparameters`)."""
    for name, value in positive.items():
        validate.integer(value, name, "Trainer")
    for name, value in non_negative.items():
        validate.integer(value, name, "Trainer", low=0)
    validate.integer(seed, "seed", "Trainer", low=0, high=2**62)
    validate.choice(optimizer, "optimizer", "Trainer", OPTIMIZERS)
    validate.number(ema_decay, "ema_decay", "Trainer", low=0, high=1, high_open=True)
    validate.flag(fast, "fast", "Trainer")
    if metric_fn is not None and not callable(metric_fn):
        raise TypeError(f"Trainer: `metric_fn` must be a function of the generator, got {type(metric_fn).__name__}")


def check_networks(generator: object, discriminator: object, data: object, labels: object) -> int | None:
    """Two networks, data of at least 2 dims, and labels exactly when the GAN is conditional; returns its classes."""
    for name, network in (("generator", generator), ("discriminator", discriminator)):
        if not isinstance(network, nn.Module):
            raise TypeError(f"Trainer: `{name}` must be a torch network (nn.Module), got {type(network).__name__}")
    if not isinstance(getattr(generator, "latent_dim", None), int):
        raise TypeError("Trainer: `generator` must have an int attribute `latent_dim` (the size of z)")
    validate.tensor(data, "data", "Trainer", min_ndim=2)
    n_classes = getattr(generator, "n_classes", None)
    if not n_classes:
        if labels is not None:
            raise ValueError("Trainer: `labels` were given, but the generator is not class-conditional "
                             "(it has no `n_classes`)")
        return None
    if getattr(discriminator, "n_classes", None) != n_classes:
        raise ValueError(f"Trainer: the generator is conditional on {n_classes} classes, so `discriminator` "
                         f"must be too (its n_classes is {getattr(discriminator, 'n_classes', None)})")
    check_labels(labels, len(data), n_classes, "Trainer")
    return n_classes


@torch.no_grad()
def check_networks_fit(generator: nn.Module, discriminator: nn.Module, data: torch.Tensor,
                       labels: torch.Tensor | None, device: torch.device) -> None:
    """Score two rows of `data` and make two fakes, in eval mode (no state changes): do the shapes fit?"""
    rows = data[:2].to(device)
    classes = None if labels is None else labels[:2].to(device)
    with eval_mode(generator, discriminator):
        try:
            forward(discriminator, rows, classes)
        except (ValueError, RuntimeError) as error:
            raise ValueError(f"Trainer: `discriminator` cannot score rows of `data` (shape "
                             f"{list(data.shape)}): {str(error).splitlines()[0]}") from None
        fakes = forward(generator, torch.zeros(2, generator.latent_dim, device=device), classes)
    if fakes.shape[1:] != data.shape[1:]:
        raise ValueError(f"Trainer: `generator` makes samples of shape {list(fakes.shape[1:])}, but rows "
                         f"of `data` have shape {list(data.shape[1:])}")


def warn_if_data_out_of_range(generator: nn.Module, data: torch.Tensor) -> None:
    """Warn when the data's range does not fit a tanh generator's [-1, 1] (uint8-like or [0, 1] images)."""
    last = list(generator.modules())[-1]
    if not isinstance(last, nn.Tanh):
        return
    low, high = float(data.min()), float(data.max())
    fix = "ganlib.data.to_model_range turns uint8 images into [-1, 1]; for floats in [0, 1] use 2 * data - 1"
    if low < -1.001 or high > 1.001:
        warnings.warn(f"Trainer: `data` spans [{low:.3g}, {high:.3g}], but the generator ends in tanh, whose outputs "
                      f"lie in [-1, 1]: it can never match the data. {fix}.", UserWarning, stacklevel=3)
    elif low >= 0 and high > 0.5:
        warnings.warn(f"Trainer: `data` lies in [{low:.3g}, {high:.3g}], but the generator ends in tanh, whose "
                      f"outputs lie in [-1, 1]: images in [0, 1] leave half its range unused and the background "
                      f"at 0 instead of -1. {fix}.", UserWarning, stacklevel=3)
