"""Figures the lessons share: sample grids, loss curves, metric curves, class histograms."""
from __future__ import annotations

import math
from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

from . import validate


def image_grid(images: torch.Tensor, ncols: int = 8, background: float = 1.0) -> np.ndarray:
    """Tile images [N, 784], [N, 1, H, W] or [N, H, W] in [-1, 1] into one [0, 1] array for imshow."""
    validate.tensor(images, "images", "image_grid", min_ndim=2)
    if images.ndim == 2 and images.shape[1] != 784 or images.ndim == 4 and images.shape[1] != 1 or images.ndim > 4:
        raise ValueError(f"image_grid: `images` must be [N, 784], [N, 1, H, W] or [N, H, W], got {list(images.shape)}")
    validate.integer(ncols, "ncols", "image_grid", high=1000)
    validate.number(background, "background", "image_grid", low=0, high=1)
    images = images.detach().cpu()
    images = images.reshape(len(images), 28, 28) if images.ndim == 2 else images.reshape(len(images), *images.shape[-2:])
    height, width = images.shape[1:]
    nrows = -(-len(images) // ncols)
    grid = np.full((nrows * (height + 2), ncols * (width + 2)), background, dtype=np.float32)
    for i, image in enumerate(images):
        row, col = divmod(i, ncols)
        top, left = row * (height + 2) + 1, col * (width + 2) + 1
        grid[top : top + height, left : left + width] = (image.numpy() + 1) / 2
    return grid


def show_spectrograms(images: torch.Tensor, title: str, captions: Sequence[str] | None = None, ncols: int = 5,
                      ax_size: float = 1.5, seconds_per_frame: float | None = None,
                      hz_per_bin: float | None = None) -> plt.Figure:
    """Spectrogram images [N, 1, bins, frames] in [-1, 1], low frequencies at the bottom, one panel each.

    With `seconds_per_frame` and `hz_per_bin` (a linear spectrogram's hop / sample rate and sample rate / n_fft,
    `SpectrogramCodec.seconds_per_frame` and `.hz_per_bin`), the axes are in seconds and kHz.
    """
    who = "show_spectrograms"
    validate.tensor(images, "images", who, shape=("N", 1, "bins", "frames"))
    validate.integer(ncols, "ncols", who, high=100)
    if (seconds_per_frame is None) != (hz_per_bin is None):
        raise ValueError(f"{who}: give both `seconds_per_frame` and `hz_per_bin` for axes in seconds and kHz, or neither")
    if seconds_per_frame is not None:
        validate.number(seconds_per_frame, "seconds_per_frame", who, low=0, low_open=True)
        validate.number(hz_per_bin, "hz_per_bin", who, low=0, low_open=True)
    if captions is not None and len(captions) < len(images):
        raise ValueError(f"{who}: `captions` must have one caption per image ({len(images)}), got {len(captions)}")
    nrows = -(-len(images) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * ax_size, nrows * ax_size * 1.25 + 0.5), squeeze=False,
                             sharex=True, sharey=True)
    bins, frames = images.shape[2:]
    scaled = seconds_per_frame is not None
    extent = (0, frames * seconds_per_frame, 0, bins * hz_per_bin / 1000) if scaled else None
    for i, ax in enumerate(axes.flat):
        if i < len(images):
            ax.imshow(images[i, 0].cpu().numpy(), origin="lower", aspect="auto", cmap="magma", vmin=-1, vmax=1,
                      interpolation="nearest", extent=extent)  # smoothing would blur the pixels and bloat the PNG
            ax.set_title(captions[i] if captions else "", fontsize=9)
            if not scaled:
                ax.set(xticks=[], yticks=[])
            ax.tick_params(labelsize=7)
        else:
            ax.axis("off")
    for ax in axes[:, 0]:
        ax.set_ylabel("frequency (kHz)" if scaled else "frequency →")
    for ax in axes[-1]:
        ax.set_xlabel("time (s)" if scaled else "time →")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def show_images(images: torch.Tensor, title: str, ncols: int = 8, ax: plt.Axes | None = None) -> plt.Axes:
    """Show a grid of MNIST-sized images with a title."""
    if ax is None:
        _, ax = plt.subplots(figsize=(ncols * 0.6, -(-len(images) // ncols) * 0.6 + 0.4))
    ax.imshow(image_grid(images, ncols), cmap="gray_r", vmin=0, vmax=1)
    ax.set_title(title)
    ax.axis("off")
    return ax


def show_snapshots(snapshots: Sequence[tuple[int, torch.Tensor]], title: str, n_images: int = 16,
                   max_panels: int = 6) -> plt.Figure:
    """Fixed-noise samples at several points of training, side by side."""
    chosen = [snapshots[round(i)] for i in np.linspace(0, len(snapshots) - 1, min(max_panels, len(snapshots)))]
    fig, axes = plt.subplots(1, len(chosen), figsize=(2.2 * len(chosen), 2.6), squeeze=False)
    for ax, (step, images) in zip(axes[0], chosen):
        show_images(images[:n_images], f"step {step}", ncols=4, ax=ax)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def smooth(values: Sequence[float], window: int) -> np.ndarray:
    """Moving average, so that noisy per-step losses show their trend."""
    validate.integer(window, "window", "smooth")
    try:
        values = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as error:
        raise TypeError(f"smooth: `values` must be a sequence of numbers ({error})") from None
    if values.ndim != 1:
        raise ValueError(f"smooth: `values` must be 1-D, got shape {list(values.shape)}")
    window = max(1, min(window, len(values)))
    return np.convolve(values, np.ones(window) / window, mode="valid")


# Where the standard GAN's curves settle when D cannot tell real from fake (D = 1/2 everywhere, lesson 01).
EQUILIBRIUM_LOSSES = {"non_saturating": {"loss_d": 2 * math.log(2), "loss_g": math.log(2)},
                      "minimax": {"loss_d": 2 * math.log(2), "loss_g": -math.log(2)}}


def plot_losses(history: dict[str, list[float]], title: str, window: int = 100, ax: plt.Axes | None = None,
                equilibrium_of: str | None = None) -> plt.Axes:
    """Discriminator and generator loss per step, smoothed; `equilibrium_of` a generator loss draws its equilibrium."""
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.5))
    equilibrium = EQUILIBRIUM_LOSSES[equilibrium_of] if equilibrium_of else {}
    for key, label in (("loss_d", "discriminator"), ("loss_g", "generator")):
        curve = smooth(history[key], window)
        line, = ax.plot(np.arange(len(curve)) + window // 2, curve, label=f"{label} loss")
        if key in equilibrium:
            ax.axhline(equilibrium[key], color=line.get_color(), linestyle=":",
                       label=f"{label}'s at equilibrium, {equilibrium[key]:.3f}")
    ax.set(title=title, xlabel="training step", ylabel=f"loss (moving average of {window})")
    ax.legend(fontsize="small")
    return ax


def plot_discriminator_outputs(history: dict[str, list[float]], title: str, window: int = 100,
                               ax: plt.Axes | None = None) -> plt.Axes:
    """D's mean probability on real and on fake batches per step, smoothed, with the equilibrium value 1/2."""
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.5))
    for key, label in (("d_real", "D(x), real"), ("d_fake", "D(G(z)), fake")):
        curve = smooth(history[key], window)
        ax.plot(np.arange(len(curve)) + window // 2, curve, label=label)
    ax.axhline(0.5, color="gray", linestyle=":", label="equilibrium, 1/2")
    ax.set(title=title, xlabel="training step", ylabel=f"mean probability (moving average of {window})", ylim=(0, 1))
    ax.legend(fontsize="small")
    return ax


def plot_runs_over_seeds(runs: dict[str, list[dict[str, list[float]]]], key: str, title: str,
                         baseline: float | None = None, x: str = "train_seconds",
                         ax: plt.Axes | None = None) -> plt.Axes:
    """A metric against training seconds (or another `x` of the curves), one thin line per seed, a colour per recipe."""
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.8))
    for index, (name, curves) in enumerate(runs.items()):
        for seed, curve in enumerate(curves):
            ax.plot(curve[x], curve[key], color=f"C{index}", linewidth=1, alpha=0.8,
                    label=f"{name} ({len(curves)} seeds)" if seed == 0 else None)
    if baseline is not None:
        ax.axhline(baseline, color="gray", linestyle="--", label="real data")
    ax.set(title=title, xlabel="training seconds" if x == "train_seconds" else x.replace("_", " "), ylabel=key)
    ax.legend(fontsize="small")
    return ax


def plot_seed_results(results: dict[str, list[float]], title: str, xlabel: str, baseline: float | None = None,
                      ax: plt.Axes | None = None) -> plt.Axes:
    """One row per recipe: each seed's value as a dot and their mean as a bar."""
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.2))
    names = list(results)[::-1]  # the first recipe on top
    for row, name in enumerate(names):
        values = results[name]
        ax.barh(row, float(np.mean(values)), color=f"C{len(names) - 1 - row}", alpha=0.35)
        ax.plot(values, [row] * len(values), "o", color=f"C{len(names) - 1 - row}", markersize=5)
    if baseline is not None:
        ax.axvline(baseline, color="gray", linestyle="--", label="real data")
        ax.legend(fontsize="small", loc="lower right")
    ax.set_yticks(range(len(names)), names)
    ax.set(title=title, xlabel=f"{xlabel} (dots: seeds; bars: mean)")
    return ax


def plot_metric(runs: dict[str, dict[str, list[float]]], key: str, title: str, baseline: float | None = None,
                baseline_label: str = "real data", x: str = "train_seconds", ax: plt.Axes | None = None) -> plt.Axes:
    """One metric over training for several runs, with a real-data baseline as a dashed line."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    for name, metrics in runs.items():
        ax.plot(metrics[x], metrics[key], marker="o", markersize=3, label=name)
    if baseline is not None:
        ax.axhline(baseline, color="gray", linestyle="--", label=baseline_label)
    ax.set(title=title, xlabel="training seconds" if x == "train_seconds" else "training step", ylabel=key)
    ax.legend()
    return ax


def plot_class_histogram(fractions: dict[str, Sequence[float]], title: str, ax: plt.Axes | None = None) -> plt.Axes:
    """Share of samples the classifier puts in each digit class, one bar group per run."""
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.2))
    width = 0.8 / len(fractions)
    for i, (name, values) in enumerate(fractions.items()):
        ax.bar(np.arange(10) + (i - (len(fractions) - 1) / 2) * width, values, width, label=name)
    ax.axhline(0.1, color="gray", linestyle="--", label="uniform (10%)")
    ax.set(title=title, xlabel="digit class (by the classifier)", ylabel="fraction of samples", xticks=range(10))
    ax.legend(fontsize="small")
    return ax


def plot_class_fractions_over_training(metrics: dict[str, list[float]], title: str,
                                       ax: plt.Axes | None = None) -> plt.Axes:
    """A heat map of the share of each digit class among samples, at each evaluation."""
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.2))
    fractions = np.array([metrics[f"class_{digit}"] for digit in range(10)])
    image = ax.imshow(fractions, aspect="auto", cmap="viridis", vmin=0, vmax=max(0.3, fractions.max()),
                      extent=(-0.5, len(metrics["step"]) - 0.5, 9.5, -0.5))
    ticks = np.linspace(0, len(metrics["step"]) - 1, min(6, len(metrics["step"]))).round().astype(int)
    ax.set_xticks(ticks, [f"{metrics['train_seconds'][i]:.0f}" for i in ticks])
    ax.set(title=title, xlabel="training seconds", ylabel="digit class", yticks=range(10))
    plt.colorbar(image, ax=ax, label="fraction of samples")
    return ax


def plot_accuracy_vs_labels(results: dict[str, dict[int, list[float]]], title: str, chance: float = 0.1,
                            ax: plt.Axes | None = None) -> plt.Axes:
    """Test accuracy against labelled examples per class, mean ± std over seeds, one line per method."""
    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 4.2))
    for method, per_count in results.items():
        counts = sorted(per_count)
        values = [torch.tensor(per_count[count], dtype=torch.float64) for count in counts]
        means = [float(v.mean()) for v in values]
        stds = [float(v.std(unbiased=len(v) > 1)) for v in values]
        ax.errorbar(counts, means, yerr=stds, marker="o", capsize=3, label=method)
    ax.axhline(chance, color="gray", linestyle=":", label="chance")
    all_counts = sorted({count for per_count in results.values() for count in per_count})
    ax.set(xscale="log", xticks=all_counts, xticklabels=[str(c) for c in all_counts], ylim=(0, 1), title=title,
           xlabel="labelled clips per digit (log scale)", ylabel="test accuracy")
    ax.legend(loc="upper left", fontsize=8)
    return ax


def plot_accuracy_vs_steps(curves: dict[str, list[list[list[float]]]], title: str, xlabel: str = "training steps",
                           chance: float = 0.1, ax: plt.Axes | None = None) -> plt.Axes:
    """Test accuracy against steps, mean ± std over runs (each run a list of [step, accuracy]), one line per label."""
    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 4.2))
    for label, runs in curves.items():
        if not runs:
            continue
        steps = [step for step, _ in runs[0]]
        values = torch.tensor([[value for _, value in run] for run in runs], dtype=torch.float64)
        mean = values.mean(0).numpy()
        std = values.std(0, unbiased=len(runs) > 1).numpy()
        line, = ax.plot(steps, mean, marker="o", markersize=3, label=f"{label} ({len(runs)} runs)")
        ax.fill_between(steps, mean - std, mean + std, color=line.get_color(), alpha=0.2)
    ax.axhline(chance, color="gray", linestyle=":", label="chance")
    ax.set(ylim=(0, 1), title=title, xlabel=xlabel, ylabel="test accuracy")
    ax.legend(loc="lower right", fontsize=8)
    return ax


def plot_memorisation_check(generated: torch.Tensor, training: torch.Tensor, held_out: torch.Tensor,
                            n_pairs: int = 8) -> dict[str, float]:
    """Distances to the nearest training item of generated and of held-out real items, as histograms, with the
    closest generated items beside their nearest training items; returns the medians and the share of generated
    items closer than the closest 1% of held-out ones (a GAN that copies its training set scores far above 1%)."""
    from .metrics import nearest_neighbours  # metrics loads judges and data; plotting alone should not need them
    generated_distance, match = nearest_neighbours(generated, training)
    held_out_distance, _ = nearest_neighbours(held_out, training)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(14, 3.6), gridspec_kw={"width_ratios": [1.2, 1]})
    bins = np.linspace(0, float(torch.cat([generated_distance, held_out_distance]).max()), 40)
    ax1.hist(held_out_distance.numpy(), bins=bins, alpha=0.6, density=True, label="real digits not trained on")
    ax1.hist(generated_distance.numpy(), bins=bins, alpha=0.6, density=True, label="generated")
    ax1.set(title="Distance to the nearest training digit", xlabel="Euclidean distance (pixels in [-1, 1])",
            ylabel="density")
    ax1.legend(fontsize="small")
    closest = generated_distance.argsort()[:n_pairs]
    show_images(torch.cat([generated[closest].reshape(n_pairs, -1), training[match[closest]].reshape(n_pairs, -1)]),
                f"{n_pairs} closest generated digits (top) and their nearest training digits", ncols=n_pairs, ax=ax2)
    return {"generated_median": float(generated_distance.median()),
            "held_out_median": float(held_out_distance.median()),
            "closer_than_closest_1pct": float((generated_distance < held_out_distance.quantile(0.01)).float().mean())}
