"""The GAN objective on 1-D densities tabulated on a grid, for numerical checks."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def gaussian_density(x: torch.Tensor, mean: float, std: float) -> torch.Tensor:
    """The normal density N(mean, std^2) at the points x."""
    if std <= 0:
        raise ValueError(f"gaussian_density: `std` must be positive, got {std}")
    return torch.exp(-0.5 * ((x - mean) / std) ** 2) / (std * math.sqrt(2 * math.pi))


def optimal_discriminator(p_data: torch.Tensor, p_g: torch.Tensor) -> torch.Tensor:
    """D*(x) = p_data(x) / (p_data(x) + p_g(x)); 1/2 where both densities vanish."""
    total = p_data + p_g
    return torch.where(total > 0, p_data / total.clamp_min(1e-300), torch.full_like(total, 0.5))


def optimal_logit(p_data: torch.Tensor, p_g: torch.Tensor) -> torch.Tensor:
    """The logit of D*: log p_data - log p_g (exact even where D* rounds to 0 or 1)."""
    return torch.log(p_data) - torch.log(p_g)


def value_on_grid(logits: torch.Tensor, p_data: torch.Tensor, p_g: torch.Tensor, dx: float) -> float:
    """V(D, G) = ∫ p_data log D + p_g log(1 - D) dx for D = sigmoid(logits), by the rectangle rule."""
    log_d, log_one_minus_d = F.logsigmoid(logits), F.logsigmoid(-logits)
    terms = torch.where(p_data > 0, p_data * log_d, 0.0) + torch.where(p_g > 0, p_g * log_one_minus_d, 0.0)
    return float(terms.sum() * dx)


def js_divergence(p: torch.Tensor, q: torch.Tensor, dx: float) -> float:
    """Jensen-Shannon divergence (in nats) of two densities on the same grid."""
    m = (p + q) / 2
    kl = lambda a: (torch.xlogy(a, a) - torch.xlogy(a, m)).sum() * dx  # noqa: E731 (tiny local helper)
    return float((kl(p) + kl(q)) / 2)


def wasserstein_1d(p: torch.Tensor, q: torch.Tensor, dx: float) -> float:
    """Earth mover's distance W1 of two densities on the same 1-D grid: the area between their CDFs."""
    return float((torch.cumsum(p, 0) - torch.cumsum(q, 0)).abs().sum() * dx * dx)
