"""GAN Lab in a notebook: a 2-D GAN you can rebuild and steer, drawn as GAN Lab draws it.

The picture shows the discriminator's output D(x) as a heat map, real and generated points, how
the generator bends a grid of noise, and the gradient arrows that move each fake point. The
training controls (Start, Pause, Step, learning rates, loss, D-steps) are the TrainingDashboard's;
the distribution, optimizer, activation and network sizes rebuild the GAN when changed.
"""
from __future__ import annotations

import sys
from dataclasses import asdict, dataclass, replace
from typing import Sequence

import ipywidgets as widgets
import matplotlib.axes
import torch
from tqdm.std import tqdm

from .config import set_seed
from .data import ToyDistribution, toy_distribution
from .losses import generator_loss
from .metrics import grid_divergences, mode_metrics
from .models import MLPDiscriminator, MLPGenerator, eval_mode
from .training import OPTIMIZERS, Trainer
from .widgets import TrainingDashboard, widget_bundle

N_REAL = 20_000  # training points drawn from the distribution
N_SHOWN = 512  # points drawn in the picture (and the fixed noise)


@dataclass(frozen=True)
class ToyGanSettings:
    """What defines a toy GAN before training: changing any of these builds a new one."""

    distribution: str = "ring"
    optimizer: str = "adam"
    activation: str = "relu"
    g_width: int = 128
    g_depth: int = 2
    d_width: int = 128
    d_depth: int = 2
    spectral_norm: bool = False
    seed: int = 0


def build_toy_trainer(settings: ToyGanSettings, **trainer_options) -> tuple[Trainer, ToyDistribution]:
    """A Trainer for a 2-D GAN (2-d noise, MLPs of the given sizes) on a toy distribution."""
    for name in ("g_width", "g_depth", "d_width", "d_depth"):
        value = getattr(settings, name)
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise ValueError(f"ToyGanSettings: `{name}` must be a positive int, got {value!r}")
    distribution = toy_distribution(settings.distribution)
    set_seed(settings.seed)
    generator = MLPGenerator(2, [settings.g_width] * settings.g_depth, 2, settings.activation, tanh_output=False)
    discriminator = MLPDiscriminator(2, [settings.d_width] * settings.d_depth, settings.activation,
                                     spectral_norm=settings.spectral_norm)
    options = {"batch_size": 256, "lr_g": 1e-3, "lr_d": 1e-3, "n_fixed": N_SHOWN, "log_every": 25,
               "metric_fn": toy_metric_fn(distribution), "metric_every": 250, **trainer_options}
    trainer = Trainer(generator, discriminator, distribution.sample(N_REAL, seed=settings.seed),
                      optimizer=settings.optimizer, seed=settings.seed, device="cpu", **options)
    return trainer, distribution


def toy_metric_fn(distribution: ToyDistribution, n: int = 2500):
    """Trainer metric: modes covered and high-quality share (mixtures), and grid JS to real data."""
    real = distribution.sample(20_000, seed=12345)

    def metric_fn(generator: torch.nn.Module) -> dict[str, float]:
        with torch.no_grad(), eval_mode(generator):
            fake = generator(torch.randn(n, 2, generator=torch.Generator().manual_seed(1234)))
        scores = grid_divergences(real, fake)
        if distribution.centers is not None:
            scores.update(mode_metrics(fake, distribution.centers, distribution.std))
        return scores
    return metric_fn


def view_extent(trainer: Trainer, margin: float = 0.25) -> tuple[float, float]:
    """A square region around the real data, shared by both axes."""
    data = trainer.data
    low, high = float(data.min()), float(data.max())
    pad = margin * (high - low)
    return low - pad, high + pad


@torch.no_grad()
def _draw_heat_map(ax: matplotlib.axes.Axes, trainer: Trainer, extent: tuple[float, float], cells: int = 60) -> None:
    """D(x) on a grid: blue where D says real, red where it says fake."""
    axis = torch.linspace(extent[0], extent[1], cells)
    xx, yy = torch.meshgrid(axis, axis, indexing="xy")
    with eval_mode(trainer.discriminator):
        scores = torch.sigmoid(trainer.discriminator(torch.stack([xx.flatten(), yy.flatten()], 1))).reshape(cells, cells)
    ax.imshow(scores.numpy(), extent=(*extent, *extent), origin="lower", cmap="RdBu", vmin=0, vmax=1, alpha=0.55)


@torch.no_grad()
def _draw_noise_grid(ax: matplotlib.axes.Axes, trainer: Trainer, lines: int = 9, points: int = 40) -> None:
    """Lines of a grid in noise space [-2, 2]^2, mapped through the generator."""
    generator = trainer.sampling_generator
    ticks, path = torch.linspace(-2, 2, lines), torch.linspace(-2, 2, points)
    with eval_mode(generator):
        for tick in ticks:
            for z in (torch.stack([path, tick.expand(points)], 1), torch.stack([tick.expand(points), path], 1)):
                mapped = generator(z)
                ax.plot(mapped[:, 0], mapped[:, 1], color="grey", lw=0.5, alpha=0.6)


def _gradient_arrows(trainer: Trainer, fake: torch.Tensor) -> torch.Tensor:
    """Minus the gradient of the generator's loss at each fake point: where G is pushed to move it."""
    points = fake.clone().requires_grad_(True)
    with eval_mode(trainer.discriminator):
        loss = generator_loss(trainer.g_loss)(trainer.discriminator(points)) * len(points)
    (gradient,) = torch.autograd.grad(loss, points)
    return -gradient


def draw_toy_gan(ax: matplotlib.axes.Axes, trainer: Trainer, n_arrows: int = 64) -> None:
    """GAN Lab's picture: D(x) heat map, real (green) and fake (purple) points, the noise grid, gradient arrows."""
    extent = view_extent(trainer)
    _draw_heat_map(ax, trainer, extent)
    _draw_noise_grid(ax, trainer)
    real = trainer.data[:N_SHOWN]
    fake = trainer.sample_fixed()
    ax.scatter(real[:, 0], real[:, 1], s=3, color="tab:green", label="real")
    ax.scatter(fake[:, 0], fake[:, 1], s=3, color="purple", label="generated")
    arrows = _gradient_arrows(trainer, fake[:n_arrows])
    lengths = arrows.norm(dim=1, keepdim=True)
    scale = 0.08 * (extent[1] - extent[0]) / lengths.max().clamp_min(1e-12)  # longest arrow: 8% of the view
    shown = arrows * scale
    ax.quiver(fake[:n_arrows, 0], fake[:n_arrows, 1], shown[:, 0], shown[:, 1], angles="xy", scale_units="xy",
              scale=1, color="black", width=0.004, label="G's gradient")
    ax.set(xlim=extent, ylim=extent, xlabel="$x_1$", ylabel="$x_2$", aspect="equal",
           title=f"D(x): blue real, red fake · step {trainer.step_count:,}")
    ax.legend(loc="upper right", fontsize=7, markerscale=3)


class ToyGanLab:
    """A GAN Lab-style view: pick distribution, optimizer, activation and sizes; train with the dashboard."""

    def __init__(self, steps: int = 2000, settings: ToyGanSettings | None = None, **trainer_options):
        self.steps, self.trainer_options = steps, trainer_options
        self.settings = settings or ToyGanSettings()
        self._build_controls()
        self.dashboard_box = widgets.Box()
        self.widget = widgets.VBox([self.setup_box, self.dashboard_box]).add_class("ganlib-ganlab")
        self.rebuild()

    def _build_controls(self) -> None:
        """Controls that define the GAN (applied by Rebuild)."""
        s = self.settings
        self.setup = {
            "distribution": widgets.Dropdown(options=["ring", "grid", "swiss_roll"], value=s.distribution,
                                             description="data"),
            "optimizer": widgets.Dropdown(options=list(OPTIMIZERS), value=s.optimizer, description="optimizer"),
            "activation": widgets.Dropdown(options=["relu", "leaky_relu"], value=s.activation,
                                           description="activation"),
            "g_width": widgets.IntSlider(value=s.g_width, min=8, max=512, step=8, description="G width"),
            "g_depth": widgets.IntSlider(value=s.g_depth, min=1, max=6, description="G depth"),
            "d_width": widgets.IntSlider(value=s.d_width, min=8, max=512, step=8, description="D width"),
            "d_depth": widgets.IntSlider(value=s.d_depth, min=1, max=6, description="D depth"),
            "spectral_norm": widgets.Checkbox(value=s.spectral_norm, description="spectral norm in D"),
            "seed": widgets.BoundedIntText(value=s.seed, min=0, max=2**31 - 1, description="seed"),
        }
        self.rebuild_button = widgets.Button(description="Rebuild", icon="refresh",
                                             tooltip="Build a new GAN with these settings")
        self.rebuild_button.on_click(lambda _button: self.rebuild(**{k: c.value for k, c in self.setup.items()}))
        controls = list(self.setup.values())
        self.setup_box = widgets.HBox([widgets.VBox(controls[:4]), widgets.VBox(controls[4:8]),
                                       widgets.VBox(controls[8:] + [self.rebuild_button])])

    def rebuild(self, **changes) -> TrainingDashboard:
        """Build a fresh GAN (new weights) from the current settings with `changes` applied."""
        unknown = set(changes) - set(asdict(self.settings))
        if unknown:
            raise ValueError(f"ToyGanLab.rebuild: unknown setting(s) {sorted(unknown)}; "
                             f"choose from {sorted(asdict(self.settings))}")
        settings = replace(self.settings, **changes)
        trainer, self.distribution = build_toy_trainer(settings, **self.trainer_options)
        if getattr(self, "dashboard", None) is not None:
            self.dashboard.stop()
        self.settings, self.trainer = settings, trainer
        metric = "modes_covered" if self.distribution.centers is not None else "js"
        self.dashboard = TrainingDashboard(trainer, self.steps, metric=metric, draw_samples=draw_toy_gan,
                                           samples_figsize=(5.2, 5.2))
        self.dashboard_box.children = [self.dashboard.widget]
        for name, control in self.setup.items():
            control.value = getattr(settings, name)
        return self.dashboard

    def run(self, steps: int | None = None, *, until_step: int | None = None) -> Trainer:
        """Train headless, as pressing Start does (see TrainingDashboard.run)."""
        return self.dashboard.run(steps, until_step=until_step)

    def _repr_mimebundle_(self, **kwargs) -> dict:
        """Show the view; a saved notebook that has not run shows a hint instead."""
        self.dashboard.displayed = True  # so that a headless `run` ends with a picture of its final state
        return widget_bundle(self.widget, "GAN Lab view", picture=self.dashboard.picture(), **kwargs)


# --- experiments over several seeds (lesson 03's tables) ---------------------------------------------
def train_toy_gan(steps: int | None = None, settings: ToyGanSettings = ToyGanSettings(), *,
                  seconds: float | None = None, **trainer_options) -> Trainer:
    """Build and train a toy GAN for `steps` steps or `seconds` of training; metrics at the start and the end."""
    metric_every = steps if steps is not None else 10**9  # only the forced metric at the end of a timed run
    trainer, _ = build_toy_trainer(settings, **{"metric_every": metric_every, **trainer_options})
    return trainer.train(steps=steps, seconds=seconds, progress=False)


def compare_over_seeds(variants: dict[str, dict], seeds: Sequence[int], steps: int | dict[str, int] | None = None, *,
                       seconds: float | None = None, **shared_options) -> dict[str, list[Trainer]]:
    """Train every variant (ToyGanSettings fields and Trainer options, over `shared_options`) once per seed,
    each for `steps` steps (one number, or one per variant name) or for `seconds` of training time."""
    if isinstance(steps, dict) and set(steps) != set(variants):
        raise ValueError(f"compare_over_seeds: `steps` per variant must name exactly the variants {sorted(variants)}, "
                         f"got {sorted(steps)}")
    runs: dict[str, list[Trainer]] = {}
    with tqdm(total=len(variants) * len(seeds), desc="toy GAN runs", file=sys.stdout, mininterval=5) as bar:
        for name, variant_options in variants.items():
            options = {**shared_options, **variant_options}
            setting_names = set(asdict(ToyGanSettings()))
            settings = {key: value for key, value in options.items() if key in setting_names}
            trainer_options = {key: value for key, value in options.items() if key not in setting_names}
            runs[name] = []
            for seed in seeds:
                settings_for_seed = ToyGanSettings(**{**settings, "seed": seed})
                budget = steps[name] if isinstance(steps, dict) else steps
                runs[name].append(train_toy_gan(budget, settings_for_seed, seconds=seconds, **trainer_options))
                bar.update(1)
    return runs


def final_value(trainer: Trainer, key: str) -> float:
    """A run's final metric, or for a logged value (loss, gradient norm) its mean over the last 10% of steps."""
    if key in trainer.metrics:
        return trainer.metrics[key][-1]
    if key in trainer.history:
        values = trainer.history[key]
        return float(torch.tensor(values[-max(1, len(values) // 10):]).mean())
    raise KeyError(f"final_value: `{key}` is neither a metric {sorted(trainer.metrics)} "
                   f"nor a logged value {sorted(trainer.history)}")


def seed_table(runs: dict[str, list[Trainer]], columns: dict[str, str]) -> str:
    """A Markdown table of final values (see `final_value`), mean ± std over seeds, one row per variant."""
    lines = ["| variant | seeds | " + " | ".join(columns.values()) + " |", "|---" * (len(columns) + 2) + "|"]
    for name, trainers in runs.items():
        cells = []
        for key in columns:
            values = torch.tensor([float(final_value(trainer, key)) for trainer in trainers])
            cells.append(f"{values.mean():.2f} ± {values.std(unbiased=len(values) > 1):.2f}")
        lines.append(f"| {name} | {len(trainers)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
