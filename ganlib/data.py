"""MNIST and 2-D toy distributions as in-memory tensors, and fast random batches from them."""
from __future__ import annotations

import contextlib
import io
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import torch
from torchvision.datasets import MNIST

from .config import data_root

MNIST_FILES = [name for name, _md5 in MNIST.resources]
MNIST_SOURCE = "https://ossci-datasets.s3.amazonaws.com/mnist/ (or http://yann.lecun.com/exdb/mnist/)"


class DataNotFoundError(RuntimeError):
    """A data set is neither in the data root nor downloadable from here."""


def _mnist_via_torchvision(root: Path, train: bool) -> MNIST:
    """Let torchvision find (checking MD5s) or download the raw files, quietly."""
    chatter = io.StringIO()
    try:
        with contextlib.redirect_stdout(chatter), contextlib.redirect_stderr(chatter):
            return MNIST(str(root), train=train, download=True)
    except (RuntimeError, OSError) as err:
        raise DataNotFoundError(
            f"MNIST is not in the data root {root} and could not be downloaded ({type(err).__name__}).\n"
            f"Expected these files in {root / 'MNIST' / 'raw'}:\n  " + "\n  ".join(MNIST_FILES) + "\n"
            f"Get them from {MNIST_SOURCE}, or set GANLIB_DATA to a folder that holds MNIST/raw/."
        ) from None


@lru_cache(maxsize=2)
def load_mnist(train: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """MNIST images as uint8 [N, 28, 28] and labels as int64 [N], decoded once and cached."""
    root = data_root()
    cache = root / "MNIST" / f"{'train' if train else 'test'}_uint8.pt"
    if cache.exists():
        images, labels = torch.load(cache)
        return images, labels
    dataset = _mnist_via_torchvision(root, train)
    images, labels = dataset.data.to(torch.uint8).contiguous(), dataset.targets.to(torch.int64)
    torch.save((images, labels), cache)
    return images, labels


def to_model_range(images: torch.Tensor) -> torch.Tensor:
    """uint8 images in [0, 255] to float vectors in [-1, 1], the range of a tanh generator."""
    if images.dtype != torch.uint8:
        raise TypeError(f"to_model_range: `images` must be uint8, got {images.dtype}")
    return images.reshape(len(images), -1).float().div_(127.5).sub_(1.0)


def mnist_vectors(train: bool = True) -> torch.Tensor:
    """MNIST as float32 [N, 784] in [-1, 1], ready to train on."""
    return to_model_range(load_mnist(train)[0])


class BatchSampler:
    """Random mini-batches from a tensor held in memory: no DataLoader, no per-sample work."""

    def __init__(self, data: torch.Tensor, batch_size: int, generator: torch.Generator | None = None):
        if not isinstance(data, torch.Tensor) or data.ndim < 2 or len(data) == 0:
            raise ValueError("BatchSampler: `data` must be a non-empty tensor [N, ...]")
        if not isinstance(batch_size, int) or not 0 < batch_size <= len(data):
            raise ValueError(f"BatchSampler: `batch_size` must be an int in 1..{len(data)}, got {batch_size!r}")
        self.data, self.batch_size, self.generator = data, batch_size, generator
        self._order = torch.empty(0, dtype=torch.long)
        self._position = 0

    def next(self) -> torch.Tensor:
        """The next batch; reshuffles after each pass through the data (an epoch)."""
        if self._position + self.batch_size > len(self._order):
            self._order = torch.randperm(len(self.data), generator=self.generator)
            self._position = 0
        index = self._order[self._position : self._position + self.batch_size]
        self._position += self.batch_size
        self.last_index = index  # rows of the batch just served, to look up their labels
        return self.data[index]

    def state_dict(self) -> dict:
        """Where the sampler is in its shuffled order, so a resumed run sees the same batches."""
        state = {"order": self._order, "position": self._position}
        if self.generator is not None:
            state["generator"] = self.generator.get_state()
        return state

    def load_state_dict(self, state: dict) -> None:
        """Restore a state written by `state_dict`."""
        self._order, self._position = state["order"], state["position"]
        if self.generator is not None and "generator" in state:
            self.generator.set_state(state["generator"])


# --- 2-D toy distributions (lesson 03), as in WGAN-GP, VEEGAN and PacGAN ---------------------------
@dataclass(frozen=True)
class ToyDistribution:
    """A 2-D distribution: a mixture of equal Gaussians around `centers`, or the Swiss roll (no centers)."""

    name: str
    centers: torch.Tensor | None  # [K, 2] mode centres; None where the data has no discrete modes
    std: float  # per-coordinate standard deviation of each mode (of the noise, for the Swiss roll)

    def sample(self, n: int, seed: int = 0) -> torch.Tensor:
        """n points [n, 2], reproducible from `seed`."""
        if not isinstance(n, int) or isinstance(n, bool) or n <= 0:
            raise ValueError(f"ToyDistribution.sample: `n` must be a positive int, got {n!r}")
        rng = torch.Generator().manual_seed(seed)
        if self.centers is None:
            return _swiss_roll(n, self.std, rng)
        which = torch.randint(len(self.centers), (n,), generator=rng)
        return self.centers[which] + self.std * torch.randn(n, 2, generator=rng)


SWISS_ROLL_SCALE = 7.5  # WGAN-GP divides the roll by 7.5 so that it spans about [-1.7, 2]


def _swiss_roll(n: int, std: float, rng: torch.Generator) -> torch.Tensor:
    """scikit-learn's make_swiss_roll seen from the side (x, z), scaled as WGAN-GP does."""
    t = 1.5 * math.pi * (1 + 2 * torch.rand(n, generator=rng))
    points = torch.stack([t * torch.cos(t), t * torch.sin(t)], dim=1)
    return (points + SWISS_ROLL_SCALE * std * torch.randn(n, 2, generator=rng)) / SWISS_ROLL_SCALE


def ring_of_gaussians(modes: int = 8, radius: float = 2.0, std: float = 0.02) -> ToyDistribution:
    """`modes` Gaussians evenly spaced on a circle (WGAN-GP's 8 Gaussians)."""
    angles = torch.arange(modes) * (2 * math.pi / modes)
    return ToyDistribution("ring", radius * torch.stack([torch.cos(angles), torch.sin(angles)], dim=1), std)


def grid_of_gaussians(side: int = 5, spacing: float = 2.0, std: float = 0.05) -> ToyDistribution:
    """side x side Gaussians on a square grid centred on 0 (the 25-Gaussian grid of VEEGAN and PacGAN)."""
    coords = (torch.arange(side) - (side - 1) / 2) * spacing
    return ToyDistribution("grid", torch.cartesian_prod(coords, coords), std)


def swiss_roll(noise: float = 0.25) -> ToyDistribution:
    """The Swiss roll of WGAN-GP: a spiral with no discrete modes."""
    return ToyDistribution("swiss_roll", None, noise / SWISS_ROLL_SCALE)


TOY_DISTRIBUTIONS = {"ring": ring_of_gaussians, "grid": grid_of_gaussians, "swiss_roll": swiss_roll}


def toy_distribution(name: str) -> ToyDistribution:
    """A toy distribution by name, with the standard settings."""
    if name not in TOY_DISTRIBUTIONS:
        raise ValueError(f"toy_distribution: `name` must be one of {sorted(TOY_DISTRIBUTIONS)}, got {name!r}")
    return TOY_DISTRIBUTIONS[name]()
