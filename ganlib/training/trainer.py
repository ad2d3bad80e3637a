"""The Trainer: wires the GAN step (steps.py) to in-memory batches, seeded noise, logging, the divergence guard,
snapshots, metrics and checkpoints. Every lesson trains through it."""
from __future__ import annotations

import copy
import math
import sys
import time
from pathlib import Path
from typing import Callable

import torch
from torch import nn
from tqdm.std import tqdm

from .. import validate
from ..config import default_device, set_seed
from ..data import BatchSampler, Shard
from ..models import check_labels, generate
from . import checks, steps
from .checkpoint import (checkpoint_state, load_training_state, read_checkpoint, restore_checkpoint,
                         training_state, write_checkpoint)
from .guard import TrainingDiverged, TrainingLog, advice, divergence, interrupts_deferred
from .settings import SETTINGS, Hyperparameters, LiveSetting

MetricFn = Callable[[nn.Module], dict[str, float]]
SAMPLE_SEED_OFFSET = 1_000_003  # Trainer.sample's noise: away from the seeds training itself uses
BATCH_NORM_SAMPLES = 512  # fakes from which the averaged generator's batch-norm statistics are re-estimated


def has_native_bfloat16(device: torch.device) -> bool:
    """Whether bfloat16 matrix products are fast here: a GPU, or a CPU with AVX512-BF16 or AMX."""
    if device.type == "cuda":
        return True
    return device.type == "cpu" and (torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())


def seeded_noise(n: int, latent_dim: int, seed: int, device: torch.device) -> torch.Tensor:
    """n latent vectors drawn from their own seed, never from the training's random stream."""
    return torch.randn(n, latent_dim, generator=torch.Generator(device=device).manual_seed(seed), device=device)


def due(step: int, every: int, last: list[int], force: bool) -> bool:
    """Whether a scheduled record (every `every` steps; 0 is never) is due at `step`, given the `last` one taken."""
    return bool(every) and last != [step] and (force or step % every == 0)


def progress_bar(total: int, unit: str, first_step: int, show: bool) -> tqdm:
    """One progress line for a training run, in steps or in training seconds."""
    return tqdm(total=total, disable=not show, file=sys.stdout, mininterval=2.0, desc=f"training from step {first_step}",
                bar_format="{desc}: {percentage:3.0f}%|{bar}| {n}/{total} " + unit + " [{elapsed}<{remaining}{postfix}]")


class Trainer:
    """Trains a generator against a discriminator; every lesson reuses it.

    The live hyperparameters (see `ganlib.training.SETTINGS`: lr_g, lr_d, betas, d_steps, g_loss, ...) are
    attributes, checked when set, that take effect at the next step. `fast=True` trades float32 precision for
    speed: bfloat16 matrix products where the hardware has them natively (results differ at the level of rounding).
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
        live = dict(lr_g=lr_g, lr_d=lr_d, lr_decay=lr_decay, betas=betas, d_steps=d_steps, batch_size=batch_size,
                    g_loss=g_loss, label_smoothing=label_smoothing, gradient_penalty=gradient_penalty,
                    clip_weights=clip_weights)
        checks.check_options(seed=seed, optimizer=optimizer, ema_decay=ema_decay, fast=fast, metric_fn=metric_fn,
                             positive=dict(decay_every=decay_every, n_fixed=n_fixed, log_every=log_every),
                             non_negative=dict(snapshot_every=snapshot_every, metric_every=metric_every))
        self.n_classes: int | None = checks.check_networks(generator, discriminator, data, labels)
        Hyperparameters(**live)  # each value on its own first; the batch size against the data once the data fit
        self.device = torch.device(device) if device is not None else default_device()
        self.generator, self.discriminator = generator.to(self.device), discriminator.to(self.device)
        checks.check_networks_fit(self.generator, self.discriminator, data, labels, self.device)
        self.hyperparameters = Hyperparameters(data_size=len(data), **live)
        checks.warn_if_data_out_of_range(generator, data)
        self.latent_dim: int = generator.latent_dim
        self.decay_every, self.seed, self.log_every = decay_every, seed, log_every
        self.snapshot_every, self.metric_fn, self.metric_every = snapshot_every, metric_fn, metric_every
        self.optimizer, self.fast, self.ema_decay = optimizer, fast, ema_decay

        set_seed(seed)
        self.rng = torch.Generator(device=self.device).manual_seed(seed)
        self.sampler = BatchSampler(data.to(self.device), batch_size, torch.Generator().manual_seed(seed + 1))
        self.shard = Shard()  # one process; ganlib.distributed.distribute makes it one of several
        self.fixed_noise = torch.randn(n_fixed, self.latent_dim, generator=self.rng, device=self.device)
        # A conditional GAN: real batches carry their labels, and the fixed samples cycle through the classes.
        self.labels = labels.to(self.device) if self.n_classes else None
        self.fixed_labels = torch.arange(n_fixed, device=self.device) % self.n_classes if self.n_classes else None
        # An exponential moving average of G's weights: smoother, often much better samples.
        self.generator_ema = copy.deepcopy(self.generator).requires_grad_(False) if ema_decay else None
        self._ema_statistics_step = -1  # the step at which its batch-norm statistics were last re-estimated
        self._native_bfloat16 = has_native_bfloat16(self.device)  # asked once, not every step
        self.opt_g = steps.make_optimizer(optimizer, self.generator, lr_g, self.betas, fused=True)
        self.opt_d = steps.make_optimizer(optimizer, self.discriminator, lr_d, self.betas, fused=True)

        self.step_count, self.train_seconds, self.log = 0, 0.0, TrainingLog()
        self._kept_fakes: tuple[torch.Tensor, torch.Tensor | None] | None = None  # D's fakes, for G's update
        self.metrics: dict[str, list[float]] = {"step": [], "train_seconds": []}
        self.snapshots: list[tuple[int, torch.Tensor]] = []
        self.remember_good_state()

    @property
    def history(self) -> dict[str, list[float]]:
        """Logged values per step (loss_d, loss_g, d_real, d_fake, grad_norm_g, score_gap), up to the last flush."""
        return self.log.history

    @property
    def data(self) -> torch.Tensor:
        """The training data, as held on the trainer's device."""
        return self.sampler.data

    def precision(self) -> torch.autocast:
        """bfloat16 matrix products when `fast` and the hardware has them natively; float32 otherwise."""
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.fast and self._native_bfloat16)

    # --- one iteration -------------------------------------------------------------
    def noise(self, n: int) -> torch.Tensor:
        """Draw n latent vectors from the trainer's own seeded generator (this process's share of them, when
        several processes train together)."""
        return self.shard.part(torch.randn(n, self.latent_dim, generator=self.rng, device=self.device))

    def random_labels(self, n: int) -> torch.Tensor | None:
        """Uniformly drawn classes for n fakes (None for an unconditional GAN)."""
        if not self.n_classes:
            return None
        return self.shard.part(torch.randint(self.n_classes, (n,), generator=self.rng, device=self.device))

    def set_hyperparameters(self, **values: object) -> None:
        """Change live hyperparameters (see SETTINGS); all are checked before any is set, and apply at the next step."""
        self.hyperparameters.update(**values)

    def set_fixed_noise_seed(self, seed: int) -> None:
        """Draw new fixed noise from `seed`, to watch other latent points (earlier snapshots keep the old ones)."""
        validate.integer(seed, "seed", "Trainer.set_fixed_noise_seed", low=0, high=2**63 - 1)
        self.fixed_noise = seeded_noise(len(self.fixed_noise), self.latent_dim, seed, self.device)

    def _apply_learning_rates(self) -> None:
        """Write the current learning rates (with exponential decay), betas and batch size where they are used."""
        self.sampler.batch_size = self.batch_size
        factor = self.lr_decay ** (self.step_count / self.decay_every)
        for optimizer, lr in ((self.opt_g, self.lr_g), (self.opt_d, self.lr_d)):
            for group in optimizer.param_groups:
                group["lr"] = lr * factor
                if "betas" in group:
                    group["betas"] = self.betas

    def discriminator_step(self, keep_fakes: bool = False) -> tuple[torch.Tensor, ...]:
        """One D update on a real batch and a fake batch; returns (loss, D(real), D(fake), score gap).

        `keep_fakes`: make the fakes with gradients and keep them for the next `generator_step` to reuse.
        """
        real = self.sampler.next()
        # Fakes get the real batch's labels, so the penalty's in-between points have one label each.
        labels = self.labels[self.sampler.last_index] if self.n_classes else None
        with self.precision(), torch.set_grad_enabled(keep_fakes):
            fake = steps.forward(self.generator, self.noise(self.batch_size), labels)
        self._kept_fakes = (fake, labels) if keep_fakes else None
        result = steps.discriminator_update(
            self.discriminator, self.opt_d, real, fake.detach(), g_loss=self.g_loss, labels=labels,
            real_label=1.0 - self.label_smoothing, penalty_weight=self.gradient_penalty,
            penalty_mix=self.penalty_mix() if self.gradient_penalty else None, precision=self.precision)
        if self.clip_weights:
            steps.clip_weights(self.discriminator, self.clip_weights)
        return result

    def penalty_mix(self) -> torch.Tensor:
        """The gradient penalty's interpolation weights, one per row of this process's batch, from the trainer's
        seeded generator (drawn for the global batch, so that several processes draw what one process draws)."""
        return self.shard.part(torch.rand(self.batch_size, generator=self.rng, device=self.device))

    def generator_step(self) -> tuple[torch.Tensor, torch.Tensor]:
        """One G update through a frozen D (and the weight average's update); returns the loss and G's gradient norm.

        It reuses the fakes the last discriminator step kept, or makes new ones from fresh noise.
        """
        kept, self._kept_fakes = self._kept_fakes, None
        if kept is None:
            labels = self.random_labels(self.batch_size)
            with self.precision():
                kept = (steps.forward(self.generator, self.noise(self.batch_size), labels), labels)
        fake, labels = kept
        result = steps.generator_update(self.generator, self.discriminator, self.opt_g, fake, g_loss=self.g_loss,
                                        labels=labels, precision=self.precision)
        if self.generator_ema is not None:
            steps.ema_update(self.generator_ema, self.generator, self.ema_decay)
        return result

    @property
    def sampling_generator(self) -> nn.Module:
        """The generator to sample from: the weight average when there is one.

        Averaged weights make other activations than the live ones, so when the generator has batch norm, the
        average's running statistics are re-estimated from its own fakes (seeded, so always the same) once per step.
        """
        if self.generator_ema is None:
            return self.generator
        if self._ema_statistics_step != self.step_count:
            self._refresh_ema_statistics()
        return self.generator_ema

    def _refresh_ema_statistics(self) -> None:
        """Re-estimate the averaged generator's batch-norm statistics for its own weights, as samples are drawn."""
        noise = seeded_noise(BATCH_NORM_SAMPLES, self.latent_dim, SAMPLE_SEED_OFFSET - 1, self.device).split(256)
        if self.n_classes:
            labels = (torch.arange(BATCH_NORM_SAMPLES, device=self.device) % self.n_classes).split(256)
            batches = list(zip(noise, labels))
        else:
            batches = [(chunk,) for chunk in noise]
        steps.refresh_batch_norm(self.generator_ema, batches)
        self._ema_statistics_step = self.step_count

    def step(self) -> None:
        """One iteration: `d_steps` discriminator updates, then one generator update.

        An interrupt waits for the step to end, so a step is never cut in half. Gradients are on whatever an
        interrupted cell may have left switched off (a `no_grad` block cut short); each forward pass sets its own
        precision (`precision`).
        """
        with interrupts_deferred(), torch.enable_grad():
            self._apply_learning_rates()
            self.generator.train()
            self.discriminator.train()
            with validate.skip_nan_scan():  # the divergence guard in `flush` checks for NaN and Inf instead
                for d_step in range(self.d_steps):
                    loss_d, d_real, d_fake, score_gap = self.discriminator_step(keep_fakes=d_step == self.d_steps - 1)
                loss_g, grad_norm = self.generator_step()
            self.log.append(loss_d, loss_g, d_real, d_fake, grad_norm, score_gap)
            self.step_count += 1
        if len(self.log.pending) >= self.log_every:
            self.flush()

    def flush(self) -> None:
        """Move logged values to the history in one transfer; stop and restore if anything diverged."""
        flushed = self.log.flush(self.step_count)
        if flushed is None:
            return
        networks = {"generator": self.generator, "discriminator": self.discriminator}
        problem = divergence(*flushed, networks, self.step_count)
        if problem:
            bad_step = self.step_count
            self.restore_good_state()
            tips = advice(self.lr_g, self.lr_d, self.g_loss, self.gradient_penalty, self.clip_weights)
            raise TrainingDiverged(f"Trainer: {problem}. Training stopped, and the models were restored to their "
                                   f"last good state, step {self.step_count} (bad by step {bad_step}). {tips}")
        self.remember_good_state()

    def remember_good_state(self) -> None:
        """Keep a copy of the current state (checked finite), to go back to if training diverges."""
        self._good_state = copy.deepcopy(training_state(self))

    def restore_good_state(self) -> None:
        """Go back to the last state that was checked finite, history included."""
        load_training_state(self, copy.deepcopy(self._good_state))
        self.log.truncate(self.step_count)
        self._ema_statistics_step = -1

    # --- longer runs ---------------------------------------------------------------
    def train(self, steps: int | None = None, seconds: float | None = None, progress: bool = True) -> "Trainer":
        """Train for a number of steps or of training seconds (metrics excluded), with a progress bar."""
        if (steps is None) == (seconds is None):
            raise ValueError("Trainer.train: give exactly one of `steps` or `seconds`")
        validate.flag(progress, "progress", "Trainer.train")
        budget = validate.integer(steps, "steps", "Trainer.train") if steps is not None else \
            validate.number(seconds, "seconds", "Trainer.train", low=0, low_open=True)
        total, unit = (steps, "steps") if steps is not None else (math.ceil(seconds), "training s")
        bar = progress_bar(total, unit, self.step_count, progress)
        start_step, start_seconds = self.step_count, self.train_seconds
        with bar:  # closed on every exit path, an interrupt included
            self.record_extras()  # metrics and a snapshot at the start
            while (self.step_count - start_step if steps is not None else self.train_seconds - start_seconds) < budget:
                self.advance()
                bar.update(1 if steps is not None else min(total, int(self.train_seconds - start_seconds)) - bar.n)
            self.finish()
            bar.update(bar.total - bar.n)
            bar.set_postfix(loss_d=f"{self.history['loss_d'][-1]:.3f}", loss_g=f"{self.history['loss_g'][-1]:.3f}")
        return self

    def advance(self) -> None:
        """One timed step, then the snapshots and metrics that are due: the body of every training loop."""
        tick = time.perf_counter()
        self.step()
        self.train_seconds += time.perf_counter() - tick
        self.record_extras()

    def finish(self) -> None:
        """End a run: flush the logged values and take a final snapshot and metric."""
        self.flush()
        self.record_extras(force=True)

    def record_extras(self, force: bool = False) -> None:
        """Take fixed-noise snapshots and evaluate metrics when due (`force`: now, unless already done this step)."""
        if due(self.step_count, self.snapshot_every, [step for step, _ in self.snapshots[-1:]], force):
            self.snapshots.append((self.step_count, self.sample_fixed()))
        if self.metric_fn and due(self.step_count, self.metric_every, self.metrics["step"][-1:], force):
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
            noise = seeded_noise(n, self.latent_dim, SAMPLE_SEED_OFFSET + seed, self.device)
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

    def extra_state(self) -> dict:
        """What a kind of Trainer adds to its training state and checkpoints (nothing, here)."""
        return {}

    def load_extra_state(self, state: dict) -> None:
        """Restore what `extra_state` added (nothing, here)."""

    def save(self, path: str | Path) -> None:
        """Write a checkpoint: weights, optimizer and random states, step, history, metrics and snapshots."""
        self.flush()
        write_checkpoint(checkpoint_state(self), path)

    def load(self, path: str | Path) -> "Trainer":
        """Restore a checkpoint written by `save` into this trainer's models and optimizers."""
        restore_checkpoint(self, read_checkpoint(path, self.device), path)
        self._ema_statistics_step = -1
        self.remember_good_state()
        return self


# trainer.lr_g, trainer.betas and every other live setting read and write the checked `trainer.hyperparameters`.
for _name in SETTINGS:
    _attribute = LiveSetting()
    _attribute.__set_name__(Trainer, _name)
    setattr(Trainer, _name, _attribute)
