"""One Trainer for every lesson: alternating D and G updates on in-memory data."""
from __future__ import annotations

import copy
import math
import os
import pickle
import sys
import time
from pathlib import Path
from typing import Callable

import torch
from torch import nn
from tqdm.std import tqdm

from . import validate
from .config import default_device, set_seed
from .data import BatchSampler
from .losses import discriminator_loss_for, generator_loss, gradient_penalty
from .models import check_labels, generate

MetricFn = Callable[[nn.Module], dict[str, float]]
CHECKPOINT_FORMAT = "ganlib-checkpoint-v1"
SAMPLE_SEED_OFFSET = 1_000_003  # Trainer.sample's noise: away from the seeds training itself uses
# d_real, d_fake: mean sigmoid of D's outputs (probabilities for the cross-entropy losses only);
# score_gap: mean D(real) - mean D(fake) on raw outputs, the critic's Wasserstein estimate in a WGAN.
LOGGED = ("loss_d", "loss_g", "d_real", "d_fake", "grad_norm_g", "score_gap")
OPTIMIZERS = ("adam", "sgd", "rmsprop")
DIVERGED_WHAT = {"loss_d": "the discriminator's loss", "loss_g": "the generator's loss",
                 "d_real": "D's output on real data", "d_fake": "D's output on fakes",
                 "grad_norm_g": "the generator's gradient norm", "score_gap": "the critic's score gap"}


class TrainingDiverged(FloatingPointError):
    """Training produced NaN or infinite values; the trainer has gone back to its last good state."""


def has_native_bfloat16(device: torch.device) -> bool:
    """Whether bfloat16 matrix products are fast here: a GPU, or a CPU with AVX512-BF16 or AMX."""
    if device.type == "cuda":
        return True
    return device.type == "cpu" and (torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())


def _positive(name: str, value: float, kind: type = float) -> None:
    """Raise a clear error unless `value` is a finite positive number (a positive int if `kind` is int)."""
    if kind is int:
        validate.integer(value, name, "Trainer")
    else:
        validate.number(value, name, "Trainer", low=0, low_open=True)


def _check_betas(betas: tuple[float, float]) -> None:
    """Adam's betas: two numbers in [0, 1)."""
    if not (isinstance(betas, (tuple, list)) and len(betas) == 2):
        raise ValueError(f"Trainer: `betas` must be two numbers in [0, 1), got {betas!r}")
    for beta in betas:
        validate.number(beta, "betas", "Trainer", low=0, high=1, high_open=True)


def _non_negative(name: str, value: float) -> None:
    """Raise a clear error unless `value` is a finite number >= 0 (0 turns the option off)."""
    validate.number(value, name, "Trainer", low=0)


def _check_label_smoothing(value: float) -> None:
    """One-sided label smoothing: real samples get the target 1 - value."""
    validate.number(value, "label_smoothing", "Trainer", low=0, high=0.5, high_open=True)


# The hyperparameters that may change while training runs, each with its check.
LIVE_HYPERPARAMETERS: dict[str, Callable[[object], None]] = {
    "lr_g": lambda value: _positive("lr_g", value),
    "lr_d": lambda value: _positive("lr_d", value),
    "lr_decay": lambda value: _positive("lr_decay", value),
    "betas": _check_betas,
    "d_steps": lambda value: _positive("d_steps", value, int),
    "batch_size": lambda value: _positive("batch_size", value, int),
    "g_loss": lambda value: generator_loss(value),
    "label_smoothing": lambda value: _check_label_smoothing(value),
    "gradient_penalty": lambda value: _non_negative("gradient_penalty", value),
    "clip_weights": lambda value: _non_negative("clip_weights", value),
}


class Trainer:
    """Trains a generator against a discriminator; every lesson reuses it.

    Hyperparameters are plain attributes (lr_g, lr_d, betas, d_steps, g_loss, label_smoothing, lr_decay),
    so they can be changed between steps and take effect at the next one.
    `fast=True` trades bit-for-bit reproducibility for speed: a fused Adam, and bfloat16 matrix products where the
    hardware has them natively (results then differ from `fast=False` at the level of rounding).
    """

    def __init__(self, generator: nn.Module, discriminator: nn.Module, data: torch.Tensor, *,
                 batch_size: int = 64, lr_g: float = 2e-4, lr_d: float = 2e-4,
                 betas: tuple[float, float] = (0.5, 0.999), d_steps: int = 1,
                 g_loss: str = "non_saturating", label_smoothing: float = 0.0, optimizer: str = "adam",
                 gradient_penalty: float = 0.0, clip_weights: float = 0.0,
                 lr_decay: float = 1.0, decay_every: int = 1000,
                 ema_decay: float = 0.0, seed: int = 0, device: str | torch.device | None = None, n_fixed: int = 64,
                 snapshot_every: int = 0, metric_fn: MetricFn | None = None, metric_every: int = 0,
                 log_every: int = 50, labels: torch.Tensor | None = None, fast: bool = False):
        live = dict(lr_g=lr_g, lr_d=lr_d, lr_decay=lr_decay, betas=betas, d_steps=d_steps,
                    batch_size=batch_size, g_loss=g_loss, label_smoothing=label_smoothing,
                    gradient_penalty=gradient_penalty, clip_weights=clip_weights)
        for name, value in live.items():
            LIVE_HYPERPARAMETERS[name](value)
        for name, value in (("decay_every", decay_every), ("n_fixed", n_fixed), ("log_every", log_every)):
            _positive(name, value, int)
        for name, value in (("snapshot_every", snapshot_every), ("metric_every", metric_every)):
            validate.integer(value, name, "Trainer", low=0)
        validate.integer(seed, "seed", "Trainer", low=0, high=2**62)
        validate.choice(optimizer, "optimizer", "Trainer", OPTIMIZERS)
        validate.number(ema_decay, "ema_decay", "Trainer", low=0, high=1, high_open=True)
        validate.flag(fast, "fast", "Trainer")
        if metric_fn is not None and not callable(metric_fn):
            raise TypeError(f"Trainer: `metric_fn` must be a function of the generator, got {type(metric_fn).__name__}")
        for name, network in (("generator", generator), ("discriminator", discriminator)):
            if not isinstance(network, nn.Module):
                raise TypeError(f"Trainer: `{name}` must be a torch network (nn.Module), got {type(network).__name__}")
        if not isinstance(getattr(generator, "latent_dim", None), int):
            raise TypeError("Trainer: `generator` must have an int attribute `latent_dim` (the size of z)")
        validate.tensor(data, "data", "Trainer", min_ndim=2)
        self.n_classes: int | None = getattr(generator, "n_classes", None)
        self._check_conditioning(generator, discriminator, data, labels)
        self.device = torch.device(device) if device is not None else default_device()
        self.generator = generator.to(self.device)
        self.discriminator = discriminator.to(self.device)
        self._check_networks_fit(data, labels)
        self.latent_dim: int = generator.latent_dim
        self.lr_g, self.lr_d, self.betas, self.d_steps = lr_g, lr_d, betas, d_steps
        self.g_loss, self.lr_decay, self.decay_every = g_loss, lr_decay, decay_every
        self.label_smoothing = label_smoothing
        self.gradient_penalty, self.clip_weights = gradient_penalty, clip_weights
        self.batch_size, self.seed, self.log_every = batch_size, seed, log_every
        self.snapshot_every, self.metric_fn, self.metric_every = snapshot_every, metric_fn, metric_every

        set_seed(seed)
        self.rng = torch.Generator(device=self.device).manual_seed(seed)
        self.sampler = BatchSampler(data.to(self.device), batch_size,
                                    torch.Generator().manual_seed(seed + 1))
        self.fixed_noise = torch.randn(n_fixed, self.latent_dim, generator=self.rng, device=self.device)
        # A conditional GAN: real batches carry their labels, and the fixed samples cycle through the classes.
        self.labels = labels.to(self.device) if self.n_classes else None
        self.fixed_labels = torch.arange(n_fixed, device=self.device) % self.n_classes if self.n_classes else None
        self.ema_decay = ema_decay
        # An exponential moving average of G's weights: smoother, often much better samples.
        self.generator_ema = copy.deepcopy(self.generator).requires_grad_(False) if ema_decay else None
        self.optimizer = optimizer
        self.fast = fast
        self._bfloat16 = fast and has_native_bfloat16(self.device)  # asked once, not every step
        self.opt_g = self._make_optimizer(self.generator, lr_g)
        self.opt_d = self._make_optimizer(self.discriminator, lr_d)

        self.step_count = 0
        self.train_seconds = 0.0
        self.history: dict[str, list[float]] = {key: [] for key in LOGGED}
        self.metrics: dict[str, list[float]] = {"step": [], "train_seconds": []}
        self.snapshots: list[tuple[int, torch.Tensor]] = []
        self._pending: list[torch.Tensor] = []
        self._remember_good_state()

    def _check_conditioning(self, generator: nn.Module, discriminator: nn.Module, data: torch.Tensor,
                            labels: torch.Tensor | None) -> None:
        """A class-conditional generator needs a conditional discriminator and one label per data row."""
        if not self.n_classes:
            if labels is not None:
                raise ValueError("Trainer: `labels` were given, but the generator is not class-conditional "
                                 "(it has no `n_classes`)")
            return
        if getattr(discriminator, "n_classes", None) != self.n_classes:
            raise ValueError(f"Trainer: the generator is conditional on {self.n_classes} classes, so `discriminator` "
                             f"must be too (its n_classes is {getattr(discriminator, 'n_classes', None)})")
        check_labels(labels, len(data), self.n_classes, "Trainer")

    @torch.no_grad()
    def _check_networks_fit(self, data: torch.Tensor, labels: torch.Tensor | None) -> None:
        """Score two rows of `data` and make two fakes, in eval mode (no state changes): do the shapes fit?"""
        rows = data[:2].to(self.device)
        classes = None if labels is None else labels[:2].to(self.device)
        networks = (self.generator, self.discriminator)
        modes = [network.training for network in networks]
        try:
            for network in networks:
                network.eval()
            try:
                self._score(rows, classes)
            except (ValueError, RuntimeError) as error:
                raise ValueError(f"Trainer: `discriminator` cannot score rows of `data` (shape "
                                 f"{list(data.shape)}): {str(error).splitlines()[0]}") from None
            fakes = self._generate(torch.zeros(2, self.generator.latent_dim, device=self.device), classes)
            if fakes.shape[1:] != data.shape[1:]:
                raise ValueError(f"Trainer: `generator` makes samples of shape {list(fakes.shape[1:])}, but rows "
                                 f"of `data` have shape {list(data.shape[1:])}")
        finally:
            for network, mode in zip(networks, modes):
                network.train(mode)

    def _generate(self, z: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        """G(z), or G(z, labels) for a conditional GAN."""
        return self.generator(z) if labels is None else self.generator(z, labels)

    def _score(self, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        """D(x), or D(x, labels) for a conditional GAN."""
        return self.discriminator(x) if labels is None else self.discriminator(x, labels)

    def random_labels(self, n: int) -> torch.Tensor | None:
        """Uniformly drawn classes for n fakes (None for an unconditional GAN)."""
        if not self.n_classes:
            return None
        return torch.randint(self.n_classes, (n,), generator=self.rng, device=self.device)

    def _make_optimizer(self, model: nn.Module, lr: float) -> torch.optim.Optimizer:
        """Adam with the trainer's betas, plain SGD, or RMSprop (the original WGAN's choice)."""
        if self.optimizer == "sgd":
            return torch.optim.SGD(model.parameters(), lr=lr)
        if self.optimizer == "rmsprop":
            return torch.optim.RMSprop(model.parameters(), lr=lr)
        return torch.optim.Adam(model.parameters(), lr=lr, betas=self.betas, fused=self.fast or None)

    def _precision(self) -> torch.autocast:
        """bfloat16 matrix products when `fast` and the hardware has them natively; float32 otherwise."""
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self._bfloat16)

    # --- one iteration -------------------------------------------------------------
    def noise(self, n: int) -> torch.Tensor:
        """Draw n latent vectors from the trainer's own seeded generator."""
        return torch.randn(n, self.latent_dim, generator=self.rng, device=self.device)

    def set_hyperparameters(self, **values: object) -> None:
        """Change live hyperparameters (lr_g, lr_d, betas, ...); each is checked, all apply at the next step."""
        for name, value in values.items():
            if name not in LIVE_HYPERPARAMETERS:
                raise ValueError(f"Trainer.set_hyperparameters: unknown hyperparameter `{name}`; "
                                 f"choose from {sorted(LIVE_HYPERPARAMETERS)}")
            LIVE_HYPERPARAMETERS[name](value)
            if name == "batch_size":
                self._check_batch_fits(value)
        for name, value in values.items():
            setattr(self, name, tuple(value) if name == "betas" else value)

    def set_fixed_noise_seed(self, seed: int) -> None:
        """Draw new fixed noise from `seed`, to watch other latent points (earlier snapshots keep the old ones)."""
        if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**63:
            raise ValueError(f"Trainer: `seed` for the fixed noise must be a non-negative int, got {seed!r}")
        rng = torch.Generator(device=self.device).manual_seed(seed)
        self.fixed_noise = torch.randn(len(self.fixed_noise), self.latent_dim, generator=rng, device=self.device)

    def _check_batch_fits(self, batch_size: int) -> None:
        """A batch cannot be larger than the data set."""
        if batch_size > len(self.sampler.data):
            raise ValueError(f"Trainer: `batch_size` must be at most the data size {len(self.sampler.data)}, "
                             f"got {batch_size}")

    def _apply_hyperparameters(self) -> None:
        """Write the current learning rates (with exponential decay) and betas into the optimizers."""
        for name in ("lr_g", "lr_d", "d_steps", "batch_size", "gradient_penalty", "clip_weights"):  # set directly?
            LIVE_HYPERPARAMETERS[name](getattr(self, name))
        self._check_batch_fits(self.batch_size)
        self.sampler.batch_size = self.batch_size
        factor = self.lr_decay ** (self.step_count / self.decay_every)
        for optimizer, lr in ((self.opt_g, self.lr_g), (self.opt_d, self.lr_d)):
            for group in optimizer.param_groups:
                group["lr"] = lr * factor
                if "betas" in group:
                    group["betas"] = tuple(self.betas)

    def discriminator_step(self) -> tuple[torch.Tensor, ...]:
        """One D update on a real batch and a detached fake batch; returns (loss, D(real), D(fake), score gap)."""
        real = self.sampler.next()
        # Fakes get the real batch's labels, so the penalty's in-between points have one label each.
        labels = self.labels[self.sampler.last_index] if self.n_classes else None
        with self._precision():
            with torch.no_grad():
                fake = self._generate(self.noise(self.batch_size), labels)
            real_logits, fake_logits = self._score(real, labels), self._score(fake, labels)
            loss_fn = discriminator_loss_for(self.g_loss)
            loss = loss_fn(real_logits.float(), fake_logits.float(), real_label=1.0 - self.label_smoothing)
            if self.gradient_penalty:
                critic = lambda x: self._score(x, labels).float()  # noqa: E731
                loss = loss + self.gradient_penalty * gradient_penalty(critic, real, fake.float(), self.rng)
        self.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_d.step()
        if self.clip_weights:
            self._clip_discriminator_weights()
        real_logits, fake_logits = real_logits.detach(), fake_logits.detach()
        return (loss.detach(), torch.sigmoid(real_logits).mean(), torch.sigmoid(fake_logits).mean(),
                real_logits.mean() - fake_logits.mean())

    @torch.no_grad()
    def _clip_discriminator_weights(self) -> None:
        """The original WGAN's crude Lipschitz constraint: every weight of D into [-c, c]."""
        for parameter in self.discriminator.parameters():
            parameter.clamp_(-self.clip_weights, self.clip_weights)

    def generator_step(self) -> tuple[torch.Tensor, torch.Tensor]:
        """One G update through a frozen D; returns the loss and the norm of G's gradient."""
        self.discriminator.requires_grad_(False)  # no wasted gradients for D's weights
        z = self.noise(self.batch_size)
        labels = self.random_labels(self.batch_size)
        with self._precision():
            fake_logits = self._score(self._generate(z, labels), labels).float()
        loss = generator_loss(self.g_loss)(fake_logits)
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        grads = [p.grad for p in self.generator.parameters() if p.grad is not None]
        grad_norm = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))
        self.opt_g.step()
        self.discriminator.requires_grad_(True)
        if self.generator_ema is not None:
            self._update_ema()
        return loss.detach(), grad_norm

    @torch.no_grad()
    def _update_ema(self) -> None:
        """Move the averaged generator's weights a small step towards the live generator's."""
        torch._foreach_lerp_(list(self.generator_ema.parameters()), list(self.generator.parameters()),
                             1.0 - self.ema_decay)
        for averaged, live in zip(self.generator_ema.buffers(), self.generator.buffers()):
            averaged.copy_(live)

    @property
    def sampling_generator(self) -> nn.Module:
        """The generator to sample from: the weight average when there is one."""
        return self.generator_ema if self.generator_ema is not None else self.generator

    def step(self) -> None:
        """One iteration: `d_steps` discriminator updates, then one generator update."""
        self._apply_hyperparameters()
        self.generator.train()
        self.discriminator.train()
        with validate.skip_nan_scan():  # the divergence guard in _flush checks for NaN and Inf instead
            for _ in range(self.d_steps):
                loss_d, d_real, d_fake, score_gap = self.discriminator_step()
            loss_g, grad_norm = self.generator_step()
        self._pending.append(torch.stack([loss_d, loss_g, d_real, d_fake, grad_norm, score_gap]))
        self.step_count += 1
        if len(self._pending) >= self.log_every:
            self._flush()

    def _flush(self) -> None:
        """Move logged values to the history in one transfer; stop and restore if anything diverged."""
        if not self._pending:
            return
        rows = torch.stack(self._pending).cpu()
        first_step = self.step_count - len(self._pending)
        self._pending = []
        for column, key in enumerate(LOGGED):
            self.history[key].extend(rows[:, column].tolist())
        problem = self._divergence(rows, first_step)
        if problem:
            bad_step = self.step_count
            self._restore_good_state()
            raise TrainingDiverged(f"Trainer: {problem}. Training stopped, and the models were restored to their "
                                   f"last good state, step {self.step_count} (bad by step {bad_step}). "
                                   f"{self._advice()}")
        self._remember_good_state()

    def _divergence(self, rows: torch.Tensor, first_step: int) -> str:
        """What became NaN or infinite, and when: a logged loss or gradient, or a network's weights ('' if none)."""
        bad = ~torch.isfinite(rows)
        if bad.any():
            row, column = (int(i) for i in bad.nonzero()[0])
            value = float(rows[row, column])
            became = "NaN" if math.isnan(value) else f"{'-' if value < 0 else ''}infinite"
            return f"{DIVERGED_WHAT[LOGGED[column]]} became {became} at step {first_step + row + 1}"
        for name, network in (("generator", self.generator), ("discriminator", self.discriminator)):
            norms = torch._foreach_norm([p.detach() for p in network.parameters()])
            if norms and not bool(torch.isfinite(torch.stack(norms)).all()):
                return f"the {name}'s weights became NaN or infinite by step {self.step_count}"
        return ""

    def _advice(self) -> str:
        """What to try after a divergence, for this trainer's settings."""
        tips = [f"lower the learning rates (now lr_g={self.lr_g}, lr_d={self.lr_d}), for example tenfold"]
        if self.g_loss == "wasserstein" and not self.gradient_penalty and not self.clip_weights:
            tips.append("give the Wasserstein critic a Lipschitz constraint (gradient_penalty=10)")
        elif self.gradient_penalty:
            tips.append(f"check the gradient penalty's weight (now {self.gradient_penalty}; 10 is usual)")
        return "Try: " + "; or ".join(tips) + "."

    def _training_state(self) -> dict:
        """Everything a step changes: weights, optimizer moments, random states and counters."""
        return {"generator": self.generator.state_dict(), "discriminator": self.discriminator.state_dict(),
                "generator_ema": self.generator_ema.state_dict() if self.generator_ema else None,
                "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(), "rng": self.rng.get_state(),
                "sampler": self.sampler.state_dict(), "step": self.step_count, "train_seconds": self.train_seconds}

    def _remember_good_state(self) -> None:
        """Keep a copy of the current state (checked finite), to go back to if training diverges."""
        self._good_state = copy.deepcopy(self._training_state())

    def _restore_good_state(self) -> None:
        """Go back to the last state that was checked finite, history included."""
        self._load_training_state(copy.deepcopy(self._good_state))
        for key in LOGGED:
            del self.history[key][self.step_count:]

    def _load_training_state(self, state: dict) -> None:
        """Put a state from `_training_state` (or a checkpoint) into this trainer."""
        self.generator.load_state_dict(state["generator"])
        self.discriminator.load_state_dict(state["discriminator"])
        if self.generator_ema is not None:
            self.generator_ema.load_state_dict(state["generator_ema"] or state["generator"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.rng.set_state(state["rng"].cpu())
        self.sampler.load_state_dict(state["sampler"])
        self.step_count, self.train_seconds = state["step"], state["train_seconds"]

    # --- longer runs ---------------------------------------------------------------
    def train(self, steps: int | None = None, seconds: float | None = None, progress: bool = True) -> "Trainer":
        """Train for a number of steps or of training seconds (metrics excluded), with a progress bar."""
        if (steps is None) == (seconds is None):
            raise ValueError("Trainer.train: give exactly one of `steps` or `seconds`")
        validate.flag(progress, "progress", "Trainer.train")
        if steps is not None:
            _positive("steps", steps, int)
        else:
            _positive("seconds", seconds)
        total = steps if steps is not None else math.ceil(seconds)
        counter = "{n}/{total} steps" if steps is not None else "{n}/{total} training s"
        bar = tqdm(total=total, disable=not progress, file=sys.stdout, mininterval=2.0,
                   desc=f"training from step {self.step_count}",
                   bar_format="{desc}: {percentage:3.0f}%|{bar}| " + counter + " [{elapsed}<{remaining}{postfix}]")
        start_step, start_seconds = self.step_count, self.train_seconds
        self._record_extras()  # metrics and a snapshot at the start
        while True:
            done, elapsed = self.step_count - start_step, self.train_seconds - start_seconds
            if (steps is not None and done >= steps) or (seconds is not None and elapsed >= seconds):
                break
            self.advance()
            bar.update(1 if steps is not None else min(total, int(elapsed)) - bar.n)
        self.finish()
        bar.update(bar.total - bar.n)
        bar.set_postfix(loss_d=f"{self.history['loss_d'][-1]:.3f}", loss_g=f"{self.history['loss_g'][-1]:.3f}")
        bar.close()
        return self

    def advance(self) -> None:
        """One timed step, then the snapshots and metrics that are due: the body of every training loop."""
        tick = time.perf_counter()
        self.step()
        self.train_seconds += time.perf_counter() - tick
        self._record_extras()

    def finish(self) -> None:
        """End a run: flush the logged values and take a final snapshot and metric."""
        self._flush()
        self._record_extras(force=True)

    def _record_extras(self, force: bool = False) -> None:
        """Take fixed-noise snapshots and evaluate metrics on their schedules."""
        last_snapshot = self.snapshots[-1][0] if self.snapshots else -1
        if self.snapshot_every and last_snapshot != self.step_count and \
                (force or self.step_count % self.snapshot_every == 0):
            self.snapshots.append((self.step_count, self.sample_fixed()))
        last_metric = self.metrics["step"][-1] if self.metrics["step"] else -1
        if self.metric_fn and self.metric_every and last_metric != self.step_count and \
                (force or self.step_count % self.metric_every == 0):
            values = self.metric_fn(self.sampling_generator)
            self.metrics["step"].append(self.step_count)
            self.metrics["train_seconds"].append(self.train_seconds)
            for key, value in values.items():
                self.metrics.setdefault(key, []).append(value)

    # --- sampling and checkpoints ----------------------------------------------------
    def sample(self, n: int, noise: torch.Tensor | None = None, labels: torch.Tensor | None = None,
               seed: int = 0) -> torch.Tensor:
        """n generated samples on the CPU, from the sampling generator in eval mode.

        The noise comes from `seed` (or is given as `noise`), never from the training's random stream: asking
        for samples twice gives the same samples and leaves training untouched, so a notebook cell can be re-run.
        A conditional GAN makes the classes in `labels` (default: 0, 1, 2, ... cycling through the classes).
        """
        validate.integer(n, "n", "Trainer.sample")
        if noise is None:
            validate.integer(seed, "seed", "Trainer.sample", low=0, high=2**62)
            rng = torch.Generator(device=self.device).manual_seed(SAMPLE_SEED_OFFSET + seed)
            noise = torch.randn(n, self.latent_dim, generator=rng, device=self.device)
        validate.tensor(noise, "noise", "Trainer.sample", shape=(n, self.latent_dim))
        if self.n_classes:
            labels = torch.arange(n, device=self.device) % self.n_classes if labels is None else labels.to(self.device)
            return generate(self.sampling_generator, noise, check_labels(labels, n, self.n_classes, "Trainer.sample"))
        if labels is not None:
            raise ValueError("Trainer.sample: `labels` need a class-conditional generator")
        return generate(self.sampling_generator, noise)

    def sample_fixed(self) -> torch.Tensor:
        """Samples from the fixed noise (and fixed labels), to watch the same latent points over training."""
        return self.sample(len(self.fixed_noise), self.fixed_noise, self.fixed_labels)

    def save(self, path: str | Path) -> None:
        """Write a checkpoint: weights, optimizer and random states, step, history, metrics and snapshots.

        The file is written next to its destination and then renamed, so a crash never leaves half a checkpoint.
        """
        self._flush()
        state = {"format": CHECKPOINT_FORMAT, **self._training_state(), "history": self.history,
                 "metrics": self.metrics, "snapshots": self.snapshots, "fixed_noise": self.fixed_noise}
        path = Path(path)
        partial = path.with_name(path.name + ".partial")
        try:
            torch.save(state, partial)
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)

    def load(self, path: str | Path) -> "Trainer":
        """Restore a checkpoint written by `save` into this trainer's models and optimizers."""
        # weights_only: tensors and plain containers only, so a checkpoint can never run code.
        try:
            state = torch.load(path, map_location=self.device, weights_only=True)
        except pickle.UnpicklingError as error:
            raise ValueError(f"Trainer.load: {path} holds more than tensors and plain containers (possibly code), "
                             f"so it was refused: {str(error).splitlines()[0]}") from None
        if not isinstance(state, dict) or not str(state.get("format", "")).startswith("ganlib-checkpoint"):
            raise ValueError(f"Trainer.load: {path} is not a ganlib checkpoint (written by Trainer.save)")
        if state["format"] != CHECKPOINT_FORMAT:
            raise ValueError(f"Trainer.load: {path} is in format {state['format']!r}, but this version of ganlib "
                             f"reads {CHECKPOINT_FORMAT!r}: re-make the checkpoint with this version")
        before = copy.deepcopy(self._training_state())
        try:
            self._load_training_state(state)
        except (RuntimeError, KeyError, ValueError) as error:
            self._load_training_state(before)  # a checkpoint that does not fit changes nothing
            raise ValueError(f"Trainer.load: {path} does not fit this trainer: it was saved from networks of "
                             f"another architecture or settings. {str(error).splitlines()[0]}") from None
        self.history, self.metrics = state["history"], state["metrics"]
        self.snapshots = state.get("snapshots", [])
        self.fixed_noise = state["fixed_noise"].to(self.device)
        self._remember_good_state()
        return self
