"""MNIST and 2-D toy distributions as in-memory tensors, and fast random batches from them."""
from __future__ import annotations

import contextlib
import gzip
import hashlib
import http.client
import io
import math
import os
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import torch
from torchvision.datasets import MNIST
from tqdm.std import tqdm

from . import validate
from .cache import load_cache
from .config import cache_root, data_root

MNIST_FILES = [name for name, _md5 in MNIST.resources]
MNIST_SOURCE = "https://ossci-datasets.s3.amazonaws.com/mnist/ (or http://yann.lecun.com/exdb/mnist/)"


class DataNotFoundError(RuntimeError):
    """A data set is neither in the data root nor downloadable from here."""


class DownloadError(DataNotFoundError):
    """A download failed, was cut short, timed out, or sent a file that fails its checksum; nothing was kept."""


def file_digest(path: Path, algorithm: str) -> str:
    """The hex digest of a file's bytes by a hashlib `algorithm` ("md5", "sha256"), read in chunks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def file_md5(path: Path) -> str:
    """The MD5 of a file's bytes, read in chunks."""
    return file_digest(path, "md5")


def _fetch(url: str, partial: Path, timeout: float, description: str) -> None:
    """Stream `url` into `partial`; every network wait, and the whole transfer, is bounded by timeouts."""
    deadline = time.monotonic() + 20 * timeout  # a server that drips bytes cannot hold us forever either
    with urllib.request.urlopen(url, timeout=timeout) as response, open(partial, "wb") as out:
        expected = int(response.headers.get("Content-Length") or 0) or None
        with tqdm(total=expected, unit="B", unit_scale=True, desc=description, file=sys.stdout,
                  mininterval=1.0) as bar:
            while chunk := response.read(1 << 16):
                out.write(chunk)
                bar.update(len(chunk))
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the transfer took longer than {20 * timeout:.0f} s")
    received = partial.stat().st_size
    if expected is not None and received != expected:
        raise http.client.IncompleteRead(b"", expected - received)


def download_file(url: str, destination: Path, md5: str | None = None, timeout: float = 30.0,
                  sha256: str | None = None) -> Path:
    """Download `url` to `destination` through a temporary file, checking its length and its MD5 or SHA-256.

    A failed, truncated, stalled or wrong download raises DownloadError and leaves nothing behind.
    """
    if not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ValueError(f"download_file: `timeout` must be a positive number of seconds, got {timeout!r}")
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".partial")
    try:
        _fetch(url, partial, timeout, f"downloading {destination.name}")
        for algorithm, expected in (("md5", md5), ("sha256", sha256)):
            if expected is not None and (actual := file_digest(partial, algorithm)) != expected:
                raise DownloadError(f"{url} sent a file whose {algorithm.upper()} is {actual}, not the expected "
                                    f"{expected}: a corrupted or wrong file, which was deleted")
        os.replace(partial, destination)
    except urllib.error.HTTPError as error:
        raise DownloadError(f"{url} answered HTTP {error.code} ({error.reason})") from None
    except http.client.IncompleteRead as error:
        raise DownloadError(f"the download of {url} was cut short ({error.expected} bytes missing); "
                            f"the partial file was deleted") from None
    except (TimeoutError, urllib.error.URLError, ConnectionError) as error:
        reason = getattr(error, "reason", error)
        raise DownloadError(f"could not download {url}: {reason} (timeout {timeout} s)") from None
    finally:
        partial.unlink(missing_ok=True)
    return destination


def fetch_mnist(root: Path, mirrors: list[str] | None = None, timeout: float = 30.0) -> Path:
    """Make sure ROOT/MNIST/raw holds the four MNIST files with their MD5s, downloading what is missing.

    A file that fails its MD5 is moved aside (to NAME.corrupt), never used.
    """
    raw = Path(root) / "MNIST" / "raw"
    for name, md5 in _bad_mnist_files(raw):
        path = raw / name
        if path.exists():
            os.replace(path, path.with_name(name + ".corrupt"))
        errors = []
        for mirror in mirrors if mirrors is not None else MNIST.mirrors:
            try:
                download_file(mirror + name, path, md5, timeout)
                break
            except DownloadError as error:
                errors.append(str(error))
        else:
            raise DataNotFoundError(
                f"MNIST is not in the data root {root} and could not be downloaded.\n"
                f"Expected these files in {raw}:\n  " + "\n  ".join(MNIST_FILES) + "\n"
                f"Get them from {MNIST_SOURCE}, or set GANLIB_DATA to a folder that holds MNIST/raw/.\n"
                f"Download errors:\n  " + "\n  ".join(errors))
    return raw


def _bad_mnist_files(raw: Path) -> list[tuple[str, str]]:
    """(name, MD5) of the MNIST files that are missing from `raw` or fail their MD5."""
    return [(name, md5) for name, md5 in MNIST.resources if not (raw / name).is_file() or file_md5(raw / name) != md5]


def _read_idx(path: Path) -> torch.Tensor:
    """A gzipped idx file of unsigned bytes (MNIST's format) as a uint8 tensor, read without writing anything."""
    data = gzip.decompress(path.read_bytes())
    ndim = data[3]
    shape = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    return torch.frombuffer(bytearray(data), dtype=torch.uint8, offset=4 + 4 * ndim).reshape(shape)


def _decode_mnist(train: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """MNIST from its verified raw files: read in place from a read-only data root that holds them, else fetched
    into cache_root() (the data root itself when writable) and decoded by torchvision, which unpacks the
    archives beside them (ganlib.bench's reference loop reads those)."""
    root, cache = data_root(), cache_root()
    raw = root / "MNIST" / "raw"
    if cache != root and not _bad_mnist_files(raw):
        prefix = "train" if train else "t10k"
        images = _read_idx(raw / f"{prefix}-images-idx3-ubyte.gz")
        return images, _read_idx(raw / f"{prefix}-labels-idx1-ubyte.gz").long()
    fetch_mnist(cache)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        dataset = MNIST(str(cache), train=train, download=True)  # finds the verified files: no network
    return dataset.data.to(torch.uint8).contiguous(), dataset.targets.to(torch.int64)


def _mnist_pair(content: object) -> tuple[torch.Tensor, torch.Tensor]:
    """A cached (images uint8 [N, 28, 28], labels int64 [N]) pair; ValueError if the cache holds anything else."""
    images, labels = content
    if not (isinstance(images, torch.Tensor) and images.dtype == torch.uint8 and images.shape[1:] == (28, 28)
            and isinstance(labels, torch.Tensor) and labels.dtype == torch.int64 and labels.shape == (len(images),)):
        raise ValueError("not a pair of MNIST images uint8 [N, 28, 28] and labels int64 [N]")
    return images, labels


@lru_cache(maxsize=2)
def load_mnist(train: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """MNIST images as uint8 [N, 28, 28] and labels as int64 [N], decoded once and cached (remade if damaged)."""
    name = f"MNIST/{'train' if train else 'test'}_uint8.pt"
    return load_cache(name, lambda: _decode_mnist(train), _mnist_pair)


def to_model_range(images: torch.Tensor) -> torch.Tensor:
    """uint8 images in [0, 255] to float vectors in [-1, 1], the range of a tanh generator."""
    validate.tensor(images, "images", "to_model_range", min_ndim=2, dtype="uint8", min_rows=0)
    return images.reshape(len(images), -1).float().div_(127.5).sub_(1.0)


def mnist_vectors(train: bool = True) -> torch.Tensor:
    """MNIST as float32 [N, 784] in [-1, 1], ready to train on."""
    return to_model_range(load_mnist(train)[0])


def pixel_clusters(images: torch.Tensor, k: int, seed: int = 0, iterations: int = 20) -> torch.Tensor:
    """k-means on the flattened pixels (k-means++ start, `iterations` rounds): each image's cluster, [N] int64.

    Uses no labels: lesson 05 conditions a GAN on these clusters instead of on the digits.
    """
    validate.tensor(images, "images", "pixel_clusters", min_ndim=2)
    validate.integer(k, "k", "pixel_clusters", low=2, high=len(images))
    validate.integer(iterations, "iterations", "pixel_clusters")
    points = images.reshape(len(images), -1).float()
    norms = points.square().sum(1)

    def squared_distances(centres: torch.Tensor) -> torch.Tensor:  # [N, len(centres)], by one matrix product
        return norms.unsqueeze(1) - 2 * points @ centres.T + centres.square().sum(1)

    rng = torch.Generator().manual_seed(seed)
    centres = points[torch.randint(len(points), (1,), generator=rng)]
    nearest = squared_distances(centres).squeeze(1)  # of each point to its nearest centre so far
    for _ in range(k - 1):  # k-means++: each new centre drawn in proportion to that squared distance
        new = points[torch.multinomial(nearest.clamp(min=0), 1, generator=rng)]
        nearest = torch.minimum(nearest, squared_distances(new).squeeze(1))
        centres = torch.cat([centres, new])
    for _ in range(iterations):
        assigned = squared_distances(centres).argmin(1)
        counts = torch.bincount(assigned, minlength=k).unsqueeze(1)
        sums = torch.zeros_like(centres).index_add_(0, assigned, points)
        centres = torch.where(counts > 0, sums / counts.clamp(min=1), centres)  # an emptied cluster keeps its centre
    return squared_distances(centres).argmin(1)


@dataclass(frozen=True)
class Shard:
    """This process's place among `world_size` processes that train together (rank 0 of 1: the usual case)."""

    rank: int = 0
    world_size: int = 1

    def part(self, batch: torch.Tensor) -> torch.Tensor:
        """This process's equal slice of a global batch (the whole batch on one process)."""
        if self.world_size == 1:
            return batch
        if len(batch) % self.world_size:
            raise ValueError(f"Shard.part: a batch of {len(batch)} rows does not split into {self.world_size} equal "
                             f"parts; use a batch size divisible by the number of processes")
        return batch.chunk(self.world_size)[self.rank]

    @property
    def is_main(self) -> bool:
        """Whether this process scores samples, prints and writes checkpoints."""
        return self.rank == 0


class BatchSampler:
    """Random mini-batches from a tensor held in memory: no DataLoader, no per-sample work.

    With a `shard` of several processes, every process draws the same global batch and serves its own slice.
    """

    def __init__(self, data: torch.Tensor, batch_size: int, generator: torch.Generator | None = None):
        validate.tensor(data, "data", "BatchSampler", min_ndim=2, dtype="any", finite=False)
        validate.integer(batch_size, "batch_size", "BatchSampler", high=len(data))
        if generator is not None and not isinstance(generator, torch.Generator):
            raise TypeError(f"BatchSampler: `generator` must be a torch.Generator or None, got {type(generator).__name__}")
        self.data, self.batch_size, self.generator = data, batch_size, generator
        self._order = torch.empty(0, dtype=torch.long)
        self._position = 0
        self.shard = Shard()

    def next(self) -> torch.Tensor:
        """The next batch; reshuffles after each pass through the data (an epoch)."""
        if self._position + self.batch_size > len(self._order):
            self._order = torch.randperm(len(self.data), generator=self.generator)
            self._position = 0
        index = self.shard.part(self._order[self._position : self._position + self.batch_size])
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
        validate.integer(n, "n", "ToyDistribution.sample")
        validate.integer(seed, "seed", "ToyDistribution.sample", low=0)
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
    validate.integer(modes, "modes", "ring_of_gaussians", high=10_000)
    validate.number(radius, "radius", "ring_of_gaussians", low=0, low_open=True)
    validate.number(std, "std", "ring_of_gaussians", low=0, low_open=True)
    angles = torch.arange(modes) * (2 * math.pi / modes)
    return ToyDistribution("ring", radius * torch.stack([torch.cos(angles), torch.sin(angles)], dim=1), std)


def grid_of_gaussians(side: int = 5, spacing: float = 2.0, std: float = 0.05) -> ToyDistribution:
    """side x side Gaussians on a square grid centred on 0 (the 25-Gaussian grid of VEEGAN and PacGAN)."""
    validate.integer(side, "side", "grid_of_gaussians", high=100)
    validate.number(spacing, "spacing", "grid_of_gaussians", low=0, low_open=True)
    validate.number(std, "std", "grid_of_gaussians", low=0, low_open=True)
    coords = (torch.arange(side) - (side - 1) / 2) * spacing
    return ToyDistribution("grid", torch.cartesian_prod(coords, coords), std)


def swiss_roll(noise: float = 0.25) -> ToyDistribution:
    """The Swiss roll of WGAN-GP: a spiral with no discrete modes."""
    validate.number(noise, "noise", "swiss_roll", low=0)
    return ToyDistribution("swiss_roll", None, noise / SWISS_ROLL_SCALE)


TOY_DISTRIBUTIONS = {"ring": ring_of_gaussians, "grid": grid_of_gaussians, "swiss_roll": swiss_roll}


def toy_distribution(name: str) -> ToyDistribution:
    """A toy distribution by name, with the standard settings."""
    validate.choice(name, "name", "toy_distribution", sorted(TOY_DISTRIBUTIONS))
    return TOY_DISTRIBUTIONS[name]()
