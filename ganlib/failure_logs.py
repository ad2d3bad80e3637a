"""Three logged toy GAN runs, each failing in its own way, for lesson 03's Exercise 3 (name each failure):
`python -m ganlib.failure_logs` trains them and writes `results/failure_logs.json`; `load_logs` reads it and
`plot_log` draws one run as the lesson shows it.

The runs are lesson 03's ring set-up (section 4) with the changes of its sections 5 and 6. Which run fails how is
the exercise's answer, so the letters do not follow the lesson's order; the check knows the answers.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch

from .config import REPO_ROOT
from .ganlab import ToyGanSettings, build_toy_trainer
from .plotting import smooth

RESULTS = REPO_ROOT / "results" / "failure_logs.json"
STEPS = 2000
METRIC_EVERY = 50
RUNS = {  # letter: (ToyGanSettings fields, Trainer options)
    "A": ({"seed": 1}, {"lr_g": 1e-2, "lr_d": 1e-2}),
    "B": ({"seed": 2}, {"g_loss": "saturating", "d_steps": 5, "lr_d": 2e-3}),
    "C": ({"seed": 0}, {"lr_g": 1e-2, "lr_d": 1e-2}),
}
MODES = 8  # the ring's


def record_log(settings: dict, options: dict, steps: int | None = None) -> dict[str, list[float]]:
    """Train one ring GAN and keep what a learner would have logged: losses, G's gradient norm, mode shares."""
    trainer, _ = build_toy_trainer(ToyGanSettings(**settings), metric_every=METRIC_EVERY, **options)
    trainer.train(steps=STEPS if steps is None else steps, progress=False)
    log = {key: [round(value, 5) for value in trainer.history[key]] for key in ("loss_d", "loss_g", "grad_norm_g")}
    for key in ["step", "modes_covered", "high_quality"] + [f"mode_{i}" for i in range(MODES)]:
        log[key] = [round(float(value), 3) for value in trainer.metrics[key]]
    return log


def record_all(path: Path = RESULTS) -> dict[str, dict[str, list[float]]]:
    """Train every run of RUNS and write their logs to `path`."""
    logs = {}
    for letter, (settings, options) in RUNS.items():
        print(f"run {letter}: {settings} {options}", file=sys.stderr)
        logs[letter] = record_log(settings, options)
    path.write_text(json.dumps({"steps": STEPS, "runs": logs}) + "\n")
    return logs


def load_logs(path: Path = RESULTS) -> dict[str, dict[str, list[float]]]:
    """The committed logs, by letter."""
    if not path.exists():
        raise FileNotFoundError(f"load_logs: {path} is missing; make it with `python -m ganlib.failure_logs`")
    return json.loads(path.read_text())["runs"]


def plot_log(log: dict[str, list[float]], title: str) -> plt.Figure:
    """One run as four pictures: modes covered, the share at each mode, G's gradient norm, the losses."""
    fig, axes = plt.subplots(1, 4, figsize=(19, 3.4), gridspec_kw={"width_ratios": [1, 1.3, 1, 1]},
                             layout="constrained")
    steps = np.array(log["step"])
    axes[0].plot(steps, log["modes_covered"], marker=".")
    axes[0].set(title="modes covered (of 8)", xlabel="training step", ylabel="modes", ylim=(-0.3, 8.3))
    shares = np.array([log[f"mode_{i}"] for i in range(MODES)])
    image = axes[1].imshow(shares, aspect="auto", cmap="magma", vmin=0,
                           extent=(0, steps[-1], MODES - 0.5, -0.5))
    axes[1].set(title="share of samples at each mode", xlabel="training step", ylabel="ring mode")
    fig.colorbar(image, ax=axes[1], label="% of samples")
    window = 20
    for key, label, ax in (("grad_norm_g", "G's gradient norm", axes[2]), ("loss_d", "D's loss", axes[3]),
                           ("loss_g", "G's loss", axes[3])):
        curve = smooth(log[key], window)
        ax.plot(np.arange(len(curve)) + window // 2, curve, label=label)
    axes[2].set(title="G's gradient norm", xlabel="training step", ylabel=f"norm (moving average of {window})",
                yscale="log")
    axes[3].set(title="losses", xlabel="training step", ylabel=f"loss (moving average of {window})")
    axes[3].legend(fontsize="small")
    fig.suptitle(title)
    return fig


def main(argv: list[str] | None = None) -> None:
    """Train the three runs and write their logs."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=RESULTS, help="where to write the logs (JSON)")
    args = parser.parse_args(argv)
    torch.set_num_threads(min(2, torch.get_num_threads()))
    record_all(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
