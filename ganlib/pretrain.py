"""Pretrained checkpoints of the lessons' headline models: `python -m ganlib.pretrain NAME` trains and writes one.

Each checkpoint is an ordinary Trainer checkpoint (`checkpoints/NAME.pt`, loaded with weights_only=True), so a
lesson can load it into the same Trainer it would otherwise train, and go on training it in the dashboard.
`checkpoints/NAME.json` records the recipe, the metrics, the wall time, the seed and the library versions.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from . import audio
from . import few_labels
from .bench import library_versions, machine_info
from .config import REPO_ROOT, set_seed
from .data import mnist_vectors, pixel_clusters
from .metrics import accuracy, generator_metrics
from .models import (ConvDiscriminator, ConvGenerator, HarmonicGenerator, MLPDiscriminator, MLPGenerator,
                     dcgan_initialise)
from .training import Trainer

CHECKPOINT_DIR = REPO_ROOT / "checkpoints"
SEED = 0


@dataclass(frozen=True)
class Recipe:
    """A lesson's headline model: how to build its Trainer, how long to train it, and how to score it."""

    lesson: str
    description: str
    build: Callable[..., Trainer]  # build(device="cpu")
    steps: int
    evaluate: Callable[[Trainer], dict[str, float]]
    committed: bool = True  # False: only its JSON record is committed (the checkpoint would break the size cap)
    corpora: tuple[str, ...] = ()  # the data sets build(corpus=...) accepts, the first the default; () if no choice


def scored_samples(metric: Callable[[nn.Module], dict[str, float]]) -> Callable[[Trainer], dict[str, float]]:
    """Score a trained GAN by `metric` on its sampling generator's samples."""
    return lambda trainer: metric(trainer.sampling_generator)


def _mnist_mlp(device: str = "cpu") -> Trainer:
    """Lesson 02's recommended recipe, with the lesson's metric and snapshot schedule."""
    set_seed(SEED)
    return Trainer(MLPGenerator(100, (128, 256)), MLPDiscriminator(784, (256, 128)), mnist_vectors(), seed=SEED,
                   batch_size=256, lr_g=2e-3, lr_d=2e-3, betas=(0.5, 0.999), ema_decay=0.999,
                   metric_fn=generator_metrics(n=5000), metric_every=1500, snapshot_every=1500, device=device)


DCGAN_WIDTH, DCGAN_G_HIDDEN, DCGAN_D_HIDDEN = 32, 192, 64  # lesson 05: finest map's channels; hidden units of G and D


def _mnist_dcgan_pair(n_classes: int | None = None) -> tuple[ConvGenerator, ConvDiscriminator]:
    """Lesson 05's `dcgan()`: the DCGAN pair for 28 x 28 digits with DCGAN's initialisation (G's draws, then D's)."""
    generator = ConvGenerator(100, (28, 28), width=DCGAN_WIDTH, blocks=2, hidden=DCGAN_G_HIDDEN, n_classes=n_classes)
    discriminator = ConvDiscriminator((28, 28), width=DCGAN_WIDTH, blocks=2, hidden=DCGAN_D_HIDDEN, n_classes=n_classes)
    return dcgan_initialise(generator), dcgan_initialise(discriminator)


def mnist_dcgan_trainer(metric_every: int = 500, fast: bool = True,
                        memory_format: torch.memory_format = torch.contiguous_format, device: str = "cpu") -> Trainer:
    """Lesson 05's DCGAN, built as the lesson builds it (the same random draws in the same order); scored on
    5,000 samples every `metric_every` steps (0: never). `fast` and `memory_format` are for the benchmark."""
    set_seed(SEED)
    generator, discriminator = _mnist_dcgan_pair()
    images = mnist_vectors().reshape(-1, 1, 28, 28).contiguous(memory_format=memory_format)
    return Trainer(generator.to(memory_format=memory_format), discriminator.to(memory_format=memory_format), images,
                   seed=SEED, batch_size=64, lr_g=1e-3, lr_d=1e-3, betas=(0.5, 0.999), ema_decay=0.999, fast=fast,
                   metric_fn=generator_metrics(n=5000) if metric_every else None, metric_every=metric_every,
                   snapshot_every=0, device=device)


SELF_CONDITIONED_CLUSTERS = 30  # lesson 05: k-means clusters of the pixels that stand in for labels


def mnist_self_conditioned_trainer(seed: int = SEED) -> tuple[Trainer, torch.Tensor]:
    """Lesson 05's self-conditioned DCGAN, built as the lesson builds it: the DCGAN recipe made conditional on
    k-means clusters of the pixels (no digit labels). Returns the trainer and the clusters' sizes (how often to
    ask for each cluster when sampling)."""
    images = mnist_vectors().reshape(-1, 1, 28, 28)
    clusters = pixel_clusters(images, SELF_CONDITIONED_CLUSTERS, seed=seed)
    set_seed(seed)
    trainer = Trainer(*_mnist_dcgan_pair(SELF_CONDITIONED_CLUSTERS), images, labels=clusters,
                      seed=seed, batch_size=64, lr_g=1e-3, lr_d=1e-3, betas=(0.5, 0.999), ema_decay=0.999,
                      fast=True, snapshot_every=0)
    return trainer, torch.bincount(clusters, minlength=SELF_CONDITIONED_CLUSTERS).float()


SPOKEN_DIGIT_STEPS = 4_000  # lesson 06's headline model: 931 s of training on 2 cores (its JSON record)


def spoken_digit_trainer(metric_every: int = 500, *, source_filter: bool = True, envelope_smoothing: float = 1.5,
                         detail_bins: int = 7, seed: int = SEED, device: str = "cpu", corpus: str = "fsdd") -> Trainer:
    """Lesson 06's class-conditional spectrogram GAN, built as the lesson builds it: a source-filter generator
    (HarmonicGenerator) against an SN-GAN projection discriminator with a fine-detail critic, hinge loss. `corpus`
    "sc09" trains it on SC09 (when in the data root), with a codec and a judging recogniser of SC09's own.

    The keywords take one change away at a time (`python -m ganlib.voicing_study`): `source_filter=False` draws the
    image with a plain ConvGenerator, `envelope_smoothing=0` leaves the envelope unsmoothed, `detail_bins=0` drops
    the fine-detail critic.
    """
    images, labels = audio.spoken_digit_images(corpus, "train")
    codec = audio.corpus_codec(corpus)
    set_seed(seed)
    if source_filter:
        generator = HarmonicGenerator(100, (128, 64), width=16, n_classes=10, hz_per_bin=codec.hz_per_bin,
                                      image_scale=codec.image_scale, envelope_smoothing=envelope_smoothing)
    else:
        generator = ConvGenerator(100, (128, 64), width=16, n_classes=10)
    discriminator = ConvDiscriminator((128, 64), width=16, spectral_norm=True, n_classes=10, detail_bins=detail_bins)
    return Trainer(generator, discriminator, images, labels=labels, seed=seed, g_loss="hinge", lr_g=2e-4, lr_d=2e-4,
                   betas=(0.5, 0.999), ema_decay=0.995, fast=True,
                   metric_fn=(audio.spectrogram_metrics(n=1000, voicing_clips=100, corpus=corpus)
                              if metric_every else None), metric_every=metric_every, snapshot_every=0, device=device)


def _score_spoken_digits(generator: nn.Module) -> dict[str, float]:
    """Lesson 06's verdict: IS, FD and label accuracy on 2,000 samples, 200 of each digit; voicing of 200 as heard."""
    return audio.spectrogram_metrics(n=2000, voicing_clips=200)(generator)


def _mnist_semi_supervised(device: str = "cpu") -> Trainer:
    """Lesson 07's semi-supervised GAN on MNIST with 100 labels (label subset and GAN seed 0)."""
    return few_labels.semi_supervised_trainer(few_labels.mnist_split(100, SEED), SEED, device=device)


def _score_classifier(trainer: Trainer) -> dict[str, float]:
    """The semi-supervised GAN's verdict: its averaged discriminator's accuracy on MNIST's 10,000 test digits."""
    split = few_labels.mnist_split(100, SEED)
    test_accuracy = accuracy(trainer.classifier, split.test, split.test_targets)
    return {"test_accuracy": test_accuracy, "test_errors": round((1 - test_accuracy) * len(split.test))}


RECIPES: dict[str, Recipe] = {
    "mnist_mlp": Recipe("02", "MLP GAN on MNIST, lesson 02's recommended recipe (batch 256, lr 2e-3, EMA 0.999)",
                        _mnist_mlp, 17_000, scored_samples(generator_metrics(n=5000))),
    "mnist_dcgan": Recipe("05", "DCGAN on MNIST, lesson 05's headline recipe (batch 64, lr 1e-3, EMA 0.999, fast=True)",
                          mnist_dcgan_trainer, 3_000, scored_samples(generator_metrics(n=5000))),
    "spoken_digits": Recipe("06", "class-conditional spectrogram GAN on FSDD, lesson 06's source-filter generator "
                                  "against an SN-GAN with a fine-detail critic, hinge loss (fast=True)",
                            spoken_digit_trainer, SPOKEN_DIGIT_STEPS, scored_samples(_score_spoken_digits),
                            corpora=audio.SPEECH_CORPORA),
    # Its checkpoint (G, D, D's average and both optimizers: about 33 MB) would break the 40 MB cap on all
    # checkpoints together, and a 5-minute run fits in lesson 07's budget, so only its record is committed.
    "mnist_semi_supervised": Recipe("07", "semi-supervised GAN on MNIST with 100 labels (Salimans et al.'s MLP "
                                          "discriminator, feature matching, 6,000 steps)",
                                    _mnist_semi_supervised, few_labels.SemiSupervisedRecipe().steps, _score_classifier,
                                    committed=False),
}


def _recipe(name: str) -> Recipe:
    """The recipe called `name`, or a clear error listing the names there are."""
    if name not in RECIPES:
        raise ValueError(f"pretrained model `name` must be one of {sorted(RECIPES)}, got {name!r}")
    return RECIPES[name]


def checkpoint_paths(name: str, folder: Path = CHECKPOINT_DIR) -> tuple[Path, Path]:
    """Where the checkpoint and its JSON record live."""
    _recipe(name)
    return folder / f"{name}.pt", folder / f"{name}.json"


def _sha256(path: Path) -> str:
    """The file's SHA-256, so a shared checkpoint can be checked."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def pretrain(name: str, folder: Path = CHECKPOINT_DIR, steps: int | None = None) -> dict:
    """Train `name` at full settings, save the checkpoint and its JSON record, and return the record."""
    recipe = _recipe(name)
    steps = recipe.steps if steps is None else steps
    start = time.perf_counter()
    trainer = recipe.build()
    trainer.train(steps=steps)
    wall_seconds = time.perf_counter() - start
    scores = recipe.evaluate(trainer)
    checkpoint, record_path = checkpoint_paths(name, folder)
    folder.mkdir(parents=True, exist_ok=True)
    trainer.save(checkpoint)
    record = {"name": name, "lesson": recipe.lesson, "description": recipe.description, "steps": trainer.step_count,
              "seed": SEED, "train_seconds": trainer.train_seconds, "wall_seconds": wall_seconds, "metrics": scores,
              "versions": library_versions(), "machine": machine_info()["cpu"], "cores": machine_info()["cores"],
              "sha256": _sha256(checkpoint), "bytes": checkpoint.stat().st_size}
    record_path.write_text(json.dumps(record, indent=1) + "\n")
    return record


def pretrained_record(name: str, folder: Path = CHECKPOINT_DIR) -> dict:
    """The JSON record of a committed checkpoint."""
    checkpoint, record_path = checkpoint_paths(name, folder)
    if not record_path.exists() or (_recipe(name).committed and not checkpoint.exists()):
        raise FileNotFoundError(f"no pretrained `{name}` in {folder}: make it with `python -m ganlib.pretrain {name}`")
    return json.loads(record_path.read_text())


def load_pretrained(name: str, trainer: Trainer | None = None, folder: Path = CHECKPOINT_DIR) -> Trainer:
    """The pretrained Trainer `name`: loaded into `trainer` (built by the recipe if None), checksum verified."""
    record = pretrained_record(name, folder)
    checkpoint, _ = checkpoint_paths(name, folder)
    if not checkpoint.exists():
        raise FileNotFoundError(f"{checkpoint} is not committed (too large; its record is): make it with "
                                f"`python -m ganlib.pretrain {name}` (about {record['wall_seconds'] / 60:.0f} min)")
    if _sha256(checkpoint) != record["sha256"]:
        raise ValueError(f"{checkpoint} does not match the SHA-256 in its JSON record: re-download or re-make it "
                         f"with `python -m ganlib.pretrain {name}`")
    trainer = _recipe(name).build() if trainer is None else trainer
    return trainer.load(checkpoint)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m ganlib.pretrain", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="+", choices=sorted(RECIPES), help="which headline model(s) to train")
    parser.add_argument("--out", default=str(CHECKPOINT_DIR), help="folder for NAME.pt and NAME.json")
    args = parser.parse_args(argv)
    for name in args.names:
        record = pretrain(name, Path(args.out))
        print(f"{name}: {record['steps']} steps in {record['wall_seconds']:.0f} s, {record['bytes'] / 1e6:.1f} MB; "
              + ", ".join(f"{key} {value:.3g}" for key, value in record["metrics"].items() if "class_" not in key))
    return 0


if __name__ == "__main__":
    sys.exit(main())
