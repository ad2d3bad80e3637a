"""The GAN objective on 1-D densities tabulated on a grid, for numerical checks."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from . import validate


_NO_STEP = object()  # for the functions that take no grid step


def _densities(who: str, dx: object = _NO_STEP, **densities: torch.Tensor) -> None:
    """Densities tabulated on one 1-D grid: non-negative, finite, all the same shape; and the grid step `dx`."""
    names = list(densities)
    for name, values in densities.items():
        validate.tensor(values, name, who, ndim=1)
        if bool((values < 0).any()):
            raise ValueError(f"{who}: `{name}` must be a density (no negative values), got a minimum of "
                             f"{float(values.min()):.3g}")
        validate.same_shape(densities[names[0]], values, (names[0], name), who)
    if dx is not _NO_STEP:
        validate.number(dx, "dx", who, low=0, low_open=True)


def gaussian_density(x: torch.Tensor, mean: float, std: float) -> torch.Tensor:
    """The normal density N(mean, std^2) at the points x."""
    validate.tensor(x, "x", "gaussian_density", min_rows=0)
    validate.number(mean, "mean", "gaussian_density")
    validate.number(std, "std", "gaussian_density", low=0, low_open=True)
    return torch.exp(-0.5 * ((x - mean) / std) ** 2) / (std * math.sqrt(2 * math.pi))


def optimal_discriminator(p_data: torch.Tensor, p_g: torch.Tensor) -> torch.Tensor:
    """D*(x) = p_data(x) / (p_data(x) + p_g(x)); 1/2 where both densities vanish."""
    _densities("optimal_discriminator", p_data=p_data, p_g=p_g)
    total = p_data + p_g
    return torch.where(total > 0, p_data / total.clamp_min(1e-300), torch.full_like(total, 0.5))


def optimal_logit(p_data: torch.Tensor, p_g: torch.Tensor) -> torch.Tensor:
    """The logit of D*: log p_data - log p_g (exact even where D* rounds to 0 or 1)."""
    _densities("optimal_logit", p_data=p_data, p_g=p_g)
    return torch.log(p_data) - torch.log(p_g)


def value_on_grid(logits: torch.Tensor, p_data: torch.Tensor, p_g: torch.Tensor, dx: float) -> float:
    """V(D, G) = ∫ p_data log D + p_g log(1 - D) dx for D = sigmoid(logits), by the rectangle rule."""
    _densities("value_on_grid", dx, p_data=p_data, p_g=p_g)
    validate.tensor(logits, "logits", "value_on_grid", ndim=1, finite=False)  # ±inf logits: D* where one density is 0
    if bool(torch.isnan(logits).any()):
        raise ValueError("value_on_grid: `logits` contains NaN")
    validate.same_shape(p_data, logits, ("p_data", "logits"), "value_on_grid")
    log_d, log_one_minus_d = F.logsigmoid(logits), F.logsigmoid(-logits)
    terms = torch.where(p_data > 0, p_data * log_d, 0.0) + torch.where(p_g > 0, p_g * log_one_minus_d, 0.0)
    return float(terms.sum() * dx)


def _kl(p: torch.Tensor, q: torch.Tensor, dx: float) -> torch.Tensor:
    """KL(p || q) on a grid, with 0 log 0 = 0 (torch.xlogy); +inf where p has mass and q none."""
    return (torch.xlogy(p, p) - torch.xlogy(p, q)).sum() * dx


def kl_divergence(p: torch.Tensor, q: torch.Tensor, dx: float) -> float:
    """Kullback-Leibler divergence KL(p || q) (in nats) of two densities on the same grid."""
    _densities("kl_divergence", dx, p=p, q=q)
    return float(_kl(p, q, dx))


def js_divergence(p: torch.Tensor, q: torch.Tensor, dx: float) -> float:
    """Jensen-Shannon divergence (in nats) of two densities on the same grid."""
    _densities("js_divergence", dx, p=p, q=q)
    m = (p + q) / 2
    return float((_kl(p, m, dx) + _kl(q, m, dx)) / 2)


def wasserstein_1d(p: torch.Tensor, q: torch.Tensor, dx: float) -> float:
    """Earth mover's distance W1 of two densities on the same 1-D grid: the area between their CDFs."""
    _densities("wasserstein_1d", dx, p=p, q=q)
    return float((torch.cumsum(p, 0) - torch.cumsum(q, 0)).abs().sum() * dx * dx)
