"""GAN losses on the discriminator's raw outputs: cross-entropy on logits (softplus form), and least squares."""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F


def _check_logits(logits: torch.Tensor, argument: str) -> None:
    """Raise a clear error unless `logits` is a 1-D float tensor."""
    if not isinstance(logits, torch.Tensor) or logits.ndim != 1 or not logits.is_floating_point():
        shape = list(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
        raise ValueError(f"`{argument}` must be a 1-D float tensor of logits [batch], got {shape}")


def _check_real_label(real_label: float) -> None:
    """The target for real samples: 1, or a little less with one-sided label smoothing."""
    if not isinstance(real_label, (int, float)) or not 0.5 < real_label <= 1.0:
        raise ValueError(f"`real_label` must be in (0.5, 1] (1 - label smoothing), got {real_label!r}")


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor, real_label: float = 1.0) -> torch.Tensor:
    """Binary cross-entropy: -[log D(x) + log(1 - D(G(z)))], averaged (= -V(D, G)).

    With `real_label` < 1 (one-sided label smoothing) real samples are scored against that target.
    """
    _check_logits(real_logits, "real_logits")
    _check_logits(fake_logits, "fake_logits")
    _check_real_label(real_label)
    # log D = -softplus(-logit) and log(1 - D) = -softplus(logit)
    real_term = real_label * F.softplus(-real_logits) + (1 - real_label) * F.softplus(real_logits)
    return real_term.mean() + F.softplus(fake_logits).mean()


def least_squares_discriminator_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor,
                                     real_label: float = 1.0) -> torch.Tensor:
    """LSGAN (Mao et al., 2017): D's raw score is pushed to 1 on real data and to 0 on fakes."""
    _check_logits(real_scores, "real_scores")
    _check_logits(fake_scores, "fake_scores")
    _check_real_label(real_label)
    return 0.5 * ((real_scores - real_label) ** 2).mean() + 0.5 * (fake_scores ** 2).mean()


def saturating_generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """The minimax generator loss: mean log(1 - D(G(z))), which G minimises."""
    _check_logits(fake_logits, "fake_logits")
    return -F.softplus(fake_logits).mean()


def non_saturating_generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """The non-saturating generator loss: mean -log D(G(z))."""
    _check_logits(fake_logits, "fake_logits")
    return F.softplus(-fake_logits).mean()


def least_squares_generator_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """LSGAN's generator loss: push D's score on fakes towards the real target 1."""
    _check_logits(fake_scores, "fake_scores")
    return 0.5 * ((fake_scores - 1) ** 2).mean()


GENERATOR_LOSSES: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "saturating": saturating_generator_loss,
    "non_saturating": non_saturating_generator_loss,
    "least_squares": least_squares_generator_loss,
}


def discriminator_loss_for(g_loss: str) -> Callable[..., torch.Tensor]:
    """The discriminator loss that goes with a generator loss: least squares with least squares, else BCE."""
    generator_loss(g_loss)  # fails clearly on an unknown name
    return least_squares_discriminator_loss if g_loss == "least_squares" else discriminator_loss


def generator_loss(name: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """Look up a generator loss by name."""
    if name not in GENERATOR_LOSSES:
        raise ValueError(f"`g_loss` must be one of {sorted(GENERATOR_LOSSES)}, got {name!r}")
    return GENERATOR_LOSSES[name]
