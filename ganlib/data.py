"""MNIST as in-memory tensors, and fast random batches from them."""
from __future__ import annotations

import contextlib
import io
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
