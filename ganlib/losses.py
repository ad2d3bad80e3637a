"""GAN losses, all computed on logits (softplus form, numerically stable)."""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F


def _check_logits(logits: torch.Tensor, argument: str) -> None:
    """Raise a clear error unless `logits` is a 1-D float tensor."""
    if not isinstance(logits, torch.Tensor) or logits.ndim != 1 or not logits.is_floating_point():
        shape = list(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
        raise ValueError(f"`{argument}` must be a 1-D float tensor of logits [batch], got {shape}")


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy: -[log D(x) + log(1 - D(G(z)))], averaged (= -V(D, G))."""
    _check_logits(real_logits, "real_logits")
    _check_logits(fake_logits, "fake_logits")
    # log D = -softplus(-logit) and log(1 - D) = -softplus(logit)
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def saturating_generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """The minimax generator loss: mean log(1 - D(G(z))), which G minimises."""
    _check_logits(fake_logits, "fake_logits")
    return -F.softplus(fake_logits).mean()


def non_saturating_generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """The non-saturating generator loss: mean -log D(G(z))."""
    _check_logits(fake_logits, "fake_logits")
    return F.softplus(-fake_logits).mean()


GENERATOR_LOSSES: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "saturating": saturating_generator_loss,
    "non_saturating": non_saturating_generator_loss,
}


def generator_loss(name: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """Look up a generator loss by name."""
    if name not in GENERATOR_LOSSES:
        raise ValueError(f"`g_loss` must be one of {sorted(GENERATOR_LOSSES)}, got {name!r}")
    return GENERATOR_LOSSES[name]
