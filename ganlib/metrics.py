"""Metrics that judge samples, not losses: classifier IS, Fréchet distance, class coverage, toy-data modes."""
from __future__ import annotations

import sys
import time
import warnings
from functools import lru_cache
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.std import tqdm

from . import validate
from .cache import load_cache
from .config import isolated_rng, set_seed
from .data import BatchSampler, load_mnist, to_model_range
from .models import generate
from .theory import js_divergence

CLASSIFIER_FILE = "mnist_classifier.pt"
MIN_TEST_ACCURACY = 0.99
RANGE_TOLERANCE = 1e-3  # images beyond [-1, 1] by more than float rounding are refused


def check_mnist_images(images: torch.Tensor, who: str, name: str = "images") -> torch.Tensor:
    """MNIST-shaped float images [N, 784] or [N, 1, 28, 28], returned as [N, 1, 28, 28]."""
    validate.tensor(images, name, who, min_ndim=2)
    if images.ndim == 2 and images.shape[1] == 784:
        return images.reshape(-1, 1, 28, 28)
    if images.ndim != 4 or tuple(images.shape[1:]) != (1, 28, 28):
        raise ValueError(f"{who}: `{name}` must be [N, 784] or [N, 1, 28, 28], got {list(images.shape)}")
    return images


class MnistClassifier(nn.Module):
    """A small CNN; its 128-d penultimate layer gives the features for the Fréchet distance."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten())
        self.hidden = nn.Sequential(nn.Linear(64 * 7 * 7, 128), nn.ReLU())
        self.head = nn.Linear(128, 10)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """Penultimate features [N, 128] of images in [-1, 1], shaped [N, 784] or [N, 1, 28, 28]."""
        images = check_mnist_images(images, "MnistClassifier")
        return self.hidden(self.conv(images))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Class logits [N, 10]."""
        return self.head(self.features(images))


@torch.no_grad()
def accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of images classified correctly."""
    validate.tensor(images, "images", "accuracy", min_ndim=2)
    validate.tensor(labels, "labels", "accuracy", ndim=1, dtype="int")
    validate.rows_match(images, labels, ("images", "labels"), "accuracy")
    model.eval()
    predictions = torch.cat([model(chunk).argmax(1) for chunk in images.split(2000)])
    return (predictions == labels).float().mean().item()


def train_classifier(epochs: int = 2, batch_size: int = 128, seed: int = 0) -> tuple[MnistClassifier, float]:
    """Train the evaluation classifier on MNIST's training set; returns it and its test accuracy."""
    set_seed(seed)
    images, labels = load_mnist(train=True)
    model = fit_classifier(MnistClassifier(), to_model_range(images).reshape(-1, 1, 28, 28), labels, epochs,
                           batch_size, seed, "training the MNIST classifier")
    test_images, test_labels = load_mnist(train=False)
    return model, accuracy(model, to_model_range(test_images), test_labels)


def fit_classifier(model: nn.Module, x: torch.Tensor, labels: torch.Tensor, epochs: int, batch_size: int, seed: int,
                   description: str, augment: Callable[[torch.Tensor], torch.Tensor] | None = None,
                   max_lr: float = 2e-3, steps: int | None = None, progress: bool = True) -> nn.Module:
    """Train a classifier with Adam and a one-cycle schedule for `epochs` (or exactly `steps` batches);
    returns it in eval mode."""
    optimizer = torch.optim.Adam(model.parameters(), lr=max_lr)
    steps = steps if steps is not None else epochs * len(x) // batch_size
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=max_lr, total_steps=steps)
    sampler = BatchSampler(torch.arange(len(x)).unsqueeze(1), batch_size, torch.Generator().manual_seed(seed))
    model.train()
    with torch.enable_grad():
        for _ in tqdm(range(steps), desc=description, file=sys.stdout, mininterval=2.0, disable=not progress):
            index = sampler.next().squeeze(1)
            batch = x[index] if augment is None else augment(x[index])
            loss = F.cross_entropy(model(batch), labels[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
    return model.eval()


_JUDGE_RECORDS: dict[str, dict[str, float]] = {}  # file name -> what was recorded when that judge was trained


def load_or_train_judge(file_name: str, build: Callable[[], nn.Module],
                        train: Callable[[], tuple[nn.Module, float]], min_accuracy: float, what: str) -> nn.Module:
    """An evaluation network cached in the cache root (retrained if the file is missing or damaged), refused if
    its test accuracy is too low."""
    def trained() -> dict:
        start = time.perf_counter()
        with isolated_rng():
            model, test_accuracy = train()
        if test_accuracy < min_accuracy:
            raise RuntimeError(f"the {what} reached only {test_accuracy:.4f} test accuracy "
                               f"(< {min_accuracy}); its scores would not be trustworthy")
        return {"weights": model.state_dict(), "test_accuracy": test_accuracy,
                "train_seconds": time.perf_counter() - start}

    def loaded(state: dict) -> nn.Module:
        with isolated_rng():  # building the network draws initial weights that the loaded ones replace
            model = build()
        model.load_state_dict(state["weights"])
        _JUDGE_RECORDS[file_name] = {key: float(state[key]) for key in ("test_accuracy", "train_seconds")}
        return model.eval()

    return load_cache(file_name, trained, loaded)


def judge_info(file_name: str) -> dict[str, float]:
    """Test accuracy and training time recorded when a loaded evaluation network was trained."""
    if file_name not in _JUDGE_RECORDS:
        raise ValueError(f"judge_info: `file_name` {file_name!r} names no evaluation network loaded yet "
                         f"(loaded: {sorted(_JUDGE_RECORDS)})")
    return dict(_JUDGE_RECORDS[file_name])


@lru_cache(maxsize=1)
def load_classifier() -> MnistClassifier:
    """The evaluation classifier, trained once (about a CPU-minute) and cached (see ganlib.config.cache_root)."""
    return load_or_train_judge(CLASSIFIER_FILE, MnistClassifier, train_classifier, MIN_TEST_ACCURACY,
                               "evaluation classifier")


def classifier_info() -> dict[str, float]:
    """Test accuracy and training time recorded when the cached classifier was trained."""
    load_classifier()
    return judge_info(CLASSIFIER_FILE)


def _classify(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Class probabilities and features of checked images [N, 1, 28, 28]."""
    model = load_classifier()
    with torch.no_grad():
        features = torch.cat([model.features(chunk) for chunk in images.split(2000)])
        return F.softmax(model.head(features), dim=1), features


def inception_score(probs: torch.Tensor) -> float:
    """exp(E_x KL(p(y|x) || p(y))): near 10 for sharp samples spread evenly over 10 classes."""
    validate.tensor(probs, "probs", "inception_score", ndim=2)
    if bool((probs < 0).any()) or not torch.allclose(probs.sum(1).double(), torch.ones(1, dtype=torch.float64),
                                                     atol=1e-3):
        raise ValueError("inception_score: `probs` must be class probabilities: non-negative rows that sum to 1")
    probs = probs.double().clamp_min(1e-12)
    marginal = probs.mean(0, keepdim=True)
    return float(torch.exp((probs * (probs.log() - marginal.log())).sum(1).mean()))


def frechet_distance(features_a: torch.Tensor, features_b: torch.Tensor) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets [N, d]."""
    for name, features in (("features_a", features_a), ("features_b", features_b)):
        validate.tensor(features, name, "frechet_distance", ndim=2, min_rows=2)  # a covariance needs 2 rows
    if features_a.shape[1] != features_b.shape[1]:
        raise ValueError(f"frechet_distance: `features_a` and `features_b` must have the same feature size, "
                         f"got {features_a.shape[1]} and {features_b.shape[1]}")
    a, b = features_a.double().numpy(), features_b.double().numpy()
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    # tr sqrt(cov_a cov_b) = sum of sqrt(eigenvalues) of sqrt(cov_a) cov_b sqrt(cov_a), which is symmetric
    values, vectors = np.linalg.eigh(cov_a)
    root_a = (vectors * np.sqrt(values.clip(min=0))) @ vectors.T
    cross = np.linalg.eigvalsh(root_a @ cov_b @ root_a).clip(min=0)
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * np.sqrt(cross).sum())


def _checked(images: torch.Tensor, who: str) -> torch.Tensor:
    """MNIST-shaped images as float [N, 1, 28, 28] on the CPU; refused outside [-1, 1], warned about when they look
    like images in [0, 1]."""
    images = check_mnist_images(images, who).detach().float().cpu()
    low, high = float(images.min()), float(images.max())
    if low < -1 - RANGE_TOLERANCE or high > 1 + RANGE_TOLERANCE:
        hint = "; pixel values in [0, 255]? ganlib.data.to_model_range converts uint8 images" if high > 2 else ""
        raise ValueError(f"{who}: `images` must lie in [-1, 1] (a tanh generator's range), "
                         f"got values in [{low:.3g}, {high:.3g}]{hint}")
    if low >= 0:  # real digits in [-1, 1] have a background at -1, and a tanh generator's samples come close to it
        warnings.warn(f"{who}: `images` has no value below 0, as images in [0, 1] would, but the classifier expects "
                      f"[-1, 1] (background -1): convert uint8 images with ganlib.data.to_model_range (floats in "
                      f"[0, 1] with x * 2 - 1), or the scores mean little", stacklevel=3)
    return images


def classify(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Class probabilities [N, 10] and penultimate features [N, 128] of images in [-1, 1]."""
    return _classify(_checked(images, "classify"))


@lru_cache(maxsize=1)
def _classified_test_set() -> tuple[torch.Tensor, torch.Tensor]:
    """Class probabilities and features of the 10,000 real test images (the FD reference)."""
    return classify(to_model_range(load_mnist(train=False)[0]))


def score_samples(images: torch.Tensor) -> dict[str, float]:
    """IS, Fréchet distance to the real test set, and per-class fractions of generated images in [-1, 1]."""
    probs, features = _classify(_checked(images, "score_samples"))
    counts = torch.bincount(probs.argmax(1), minlength=10).float() / len(probs)
    scores = {"IS": inception_score(probs), "FD": frechet_distance(features, _classified_test_set()[1])}
    scores.update({f"class_{digit}": float(counts[digit]) for digit in range(10)})
    scores["classes_covered"] = float((counts >= 0.02).sum())  # a class with under 2% counts as dropped
    return scores


@lru_cache(maxsize=4)
def real_baselines(n: int = 10_000, seed: int = 0) -> dict[str, float]:
    """The same scores for real images: what a perfect generator would get with n samples."""
    images = load_mnist(train=True)[0]
    pick = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))[:n]
    real = score_samples(to_model_range(images[pick]))
    test_probs, _ = _classified_test_set()
    classes = {key: value for key, value in real.items() if key.startswith("class_")}
    return {"IS_real_test": inception_score(test_probs), "IS_real_train": real["IS"],
            "FD_real_train_vs_test": real["FD"], **classes}


def generator_metrics(n: int = 5000, label_weights: torch.Tensor | None = None) -> Callable[[nn.Module], dict[str, float]]:
    """A metric function for Trainer(metric_fn=...): scores n fresh samples of the generator. For a conditional
    generator, `label_weights` [n_classes] says how often to ask for each class (drawn at random in proportion)."""
    validate.integer(n, "n", "generator_metrics", low=2)
    if label_weights is not None:
        validate.tensor(label_weights, "label_weights", "generator_metrics", ndim=1)
        if (label_weights < 0).any() or label_weights.sum() <= 0:
            raise ValueError("generator_metrics: `label_weights` must be >= 0 with a positive sum")

    def metric_fn(generator: nn.Module) -> dict[str, float]:
        rng = torch.Generator().manual_seed(1234)
        z = torch.randn(n, generator.latent_dim, generator=rng)
        labels = None if label_weights is None else torch.multinomial(label_weights.float(), n, True, generator=rng)
        device = next(generator.parameters()).device
        return score_samples(generate(generator, z.to(device), None if labels is None else labels.to(device)))
    return metric_fn


# --- 2-D toy data: modes and divergences (lesson 03) -------------------------------------------------
def mode_metrics(samples: torch.Tensor, centers: torch.Tensor, std: float, n_std: float = 3.0,
                 min_fraction: float = 0.008) -> dict[str, float]:
    """Modes covered and the share of high-quality samples, counted as VEEGAN and PacGAN do.

    A sample is high quality if it lies within `n_std` standard deviations of its nearest mode.
    A mode is covered if at least `min_fraction` of the samples are high-quality samples of it
    (PacGAN's rule: 20 of 2,500 samples). `mode_i` is the percentage of samples that are
    high-quality samples of mode i.
    """
    validate.tensor(samples, "samples", "mode_metrics", shape=(None, 2))
    if centers is None:
        raise ValueError("mode_metrics: `centers` must be [K, 2], got None (this distribution has no discrete modes)")
    validate.tensor(centers, "centers", "mode_metrics", shape=("K", 2))
    validate.number(std, "std", "mode_metrics", low=0, low_open=True)
    validate.number(n_std, "n_std", "mode_metrics", low=0, low_open=True)
    validate.number(min_fraction, "min_fraction", "mode_metrics", low=0, high=1)
    distances = torch.cdist(samples.float(), centers.float())
    nearest_distance, nearest = distances.min(dim=1)
    good = nearest_distance <= n_std * std
    counts = torch.bincount(nearest[good], minlength=len(centers))
    per_mode = {f"mode_{i}": 100.0 * float(count) / len(samples) for i, count in enumerate(counts)}
    return {"modes_covered": float((counts >= min_fraction * len(samples)).sum()),
            "high_quality": float(good.float().mean()) * 100.0,
            "modes_total": float(len(centers)), **per_mode}


def grid_divergences(real: torch.Tensor, fake: torch.Tensor, bins: int = 50,
                     extent: tuple[float, float] | None = None) -> dict[str, float]:
    """KL(real || fake) and JS(real, fake) in nats, from 2-D histograms on a bins x bins grid.

    JS is finite on any two histograms and is computed from the raw counts. KL is infinite where the generator
    puts nothing, so for KL both histograms get half a sample per cell (Jeffreys smoothing). That smoothing is
    kept out of JS on purpose: 2,500 pseudo-counts on 2,500 samples would pull a collapse onto one mode and
    uniform noise to the same JS. The numbers depend on the grid, so compare runs on the same grid.
    """
    for name, points in (("real", real), ("fake", fake)):
        validate.tensor(points, name, "grid_divergences", shape=(None, 2))
    validate.integer(bins, "bins", "grid_divergences", high=10_000)
    if extent is not None and not (isinstance(extent, (tuple, list)) and len(extent) == 2 and
                                   validate.number(extent[0], "extent", "grid_divergences") <
                                   validate.number(extent[1], "extent", "grid_divergences")):
        raise ValueError(f"grid_divergences: `extent` must be (low, high) with low < high, got {extent!r}")
    if extent is None:
        low, high = float(real.min()), float(real.max())
        margin = 0.1 * (high - low)
        extent = (low - margin, high + margin)
    edges = [torch.linspace(extent[0], extent[1], bins + 1)] * 2
    p, q = (torch.histogramdd(points.float().clamp(extent[0], extent[1]), bins=edges).hist.flatten()
            for points in (real, fake))
    p_smooth, q_smooth = (p + 0.5) / (p + 0.5).sum(), (q + 0.5) / (q + 0.5).sum()
    kl = float((p_smooth * (p_smooth / q_smooth).log()).sum())
    return {"kl": kl, "js": js_divergence(p / p.sum(), q / q.sum(), dx=1.0)}


# --- critic diagnostics (lesson 04) ---------------------------------------------------------------------
def activation_gradient_norms(discriminator: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> list[float]:
    """Norm of the gradient of the critic loss, mean D(fake) - mean D(real), with respect to each hidden
    activation layer's output, from the input side to the output side (WGAN-GP's Figure 1b)."""
    validate.tensor(real, "real", "activation_gradient_norms", min_ndim=2)
    validate.tensor(fake, "fake", "activation_gradient_norms", min_ndim=2)
    validate.same_shape(real, fake, ("real", "fake"), "activation_gradient_norms")
    if not isinstance(discriminator, nn.Module):
        raise TypeError(f"activation_gradient_norms: `discriminator` must be an nn.Module, "
                        f"got {type(discriminator).__name__}")
    outputs: list[torch.Tensor] = []

    def keep(_module: nn.Module, _inputs: tuple, output: torch.Tensor) -> None:
        output.retain_grad()
        outputs.append(output)

    layers = [m for m in discriminator.modules() if isinstance(m, (nn.ReLU, nn.LeakyReLU))]
    if not layers:
        raise ValueError("activation_gradient_norms: `discriminator` has no ReLU or LeakyReLU layers to measure")
    hooks = [layer.register_forward_hook(keep) for layer in layers]
    was_training = discriminator.training
    discriminator.eval()  # measuring must not change D: in training mode spectral norm updates its estimate
    try:
        scores = discriminator(torch.cat([real, fake]))
        (scores[len(real):].mean() - scores[:len(real)].mean()).backward()
    finally:
        for hook in hooks:
            hook.remove()
        discriminator.train(was_training)
    discriminator.zero_grad(set_to_none=True)
    return [output.grad.norm().item() for output in outputs]


# --- memorisation (lessons 05 and 06) ----------------------------------------------------------------------------
@torch.no_grad()
def nearest_neighbours(queries: torch.Tensor, reference: torch.Tensor, chunk_size: int = 512) -> tuple[torch.Tensor, torch.Tensor]:
    """For each query, the Euclidean distance to its nearest reference item, and that item's index.

    Items of any shape are compared as flat vectors; a GAN that memorised its training set puts its samples
    much closer to training items than fresh real data lies.
    """
    validate.tensor(queries, "queries", "nearest_neighbours", min_ndim=2)
    validate.tensor(reference, "reference", "nearest_neighbours", min_ndim=2)
    validate.integer(chunk_size, "chunk_size", "nearest_neighbours")
    if queries.shape[1:] != reference.shape[1:]:
        raise ValueError(f"nearest_neighbours: `queries` {list(queries.shape)} and a non-empty `reference` "
                         f"{list(reference.shape)} must have items of the same shape")
    flat_reference = reference.reshape(len(reference), -1).float()
    results = [torch.cdist(chunk.reshape(len(chunk), -1).float(), flat_reference).min(dim=1)
               for chunk in queries.split(chunk_size)]
    return torch.cat([r.values for r in results]), torch.cat([r.indices for r in results])
