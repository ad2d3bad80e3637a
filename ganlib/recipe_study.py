"""From the common tutorial recipe to lesson 02's, one change at a time: `python -m ganlib.recipe_study` trains
each step of the path over seeds, on equal CPU time, and writes `results/mnist_recipes.json`.

The path: the tutorial recipe (G 100→128→256→512→1024→784 with batch norm, D 784→512→256→1, batch 64, Adam at
2e-4 with beta1 0.5), then lesson 02's smaller networks, then batch 256, then a learning rate of 2e-3, then the
weight average (EMA) of G. Each run gets the steps it makes in about 180 s on 2 cores (`--measure` prints the
rates these step counts come from). The weight average does not change training (the live generator is the same
with or without it), so the last two rows are one run, scored on its live and on its averaged weights.
Runs already in the results file are kept, so an interrupted study resumes.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path


from .bench import library_versions, machine_info, tutorial_models
from .config import REPO_ROOT, set_seed
from .data import mnist_vectors
from .metrics import generator_metrics
from .models import MLPDiscriminator, MLPGenerator
from .training import Trainer

RESULTS = REPO_ROOT / "results" / "mnist_recipes.json"
METRIC_POINTS = 10  # metric evaluations per run, evenly spaced, besides the one at step 0
BUDGET_SECONDS = 180  # each run's steps take about this long on 2 cores
METRIC_SAMPLES = 5000  # samples each evaluation scores, as lesson 02's runs do
EMA_DECAY = 0.999


@dataclass(frozen=True)
class RecipeStep:
    """One step on the path from the tutorial recipe to lesson 02's: what it changes, and its settings."""

    name: str
    change: str
    small_networks: bool
    batch_size: int
    lr: float
    steps: int  # about 180 s of training on 2 cores (see `measure_rates`)


PATH = (
    RecipeStep("tutorial recipe", "(the starting point)", False, 64, 2e-4, 12_500),
    RecipeStep("+ smaller networks", "lesson 02's G 100→128→256→784 and D 784→256→128→1", True, 64, 2e-4, 31_000),
    RecipeStep("+ batch 256", "batch size 64 → 256", True, 256, 2e-4, 17_000),
    RecipeStep("+ learning rate 2e-3", "learning rate 2e-4 → 2e-3 (live weights)", True, 256, 2e-3, 17_000),
)
AVERAGED = "+ weight average (lesson 02's recipe)"  # the last run of PATH, scored on its EMA weights


def recipe_trainer(step: RecipeStep, seed: int, metric_every: int = 0, **options) -> Trainer:
    """A seeded Trainer for one step of the path (with lesson 02's weight average on the last one)."""
    set_seed(seed)
    generator, discriminator = (MLPGenerator(100, (128, 256)), MLPDiscriminator(784, (256, 128))) \
        if step.small_networks else tutorial_models(seed)
    ema_decay = EMA_DECAY if step is PATH[-1] else 0.0
    return Trainer(generator, discriminator, mnist_vectors(), seed=seed, batch_size=step.batch_size, lr_g=step.lr,
                   lr_d=step.lr, betas=(0.5, 0.999), ema_decay=ema_decay, metric_every=metric_every, **options)


def live_and_averaged_metrics(trainer: Trainer) -> None:
    """Make the trainer's metric score its live generator too, as `live_IS`, `live_FD`, ... beside the average's."""
    score = generator_metrics(METRIC_SAMPLES)
    trainer.metric_fn = lambda averaged: {**score(averaged),
                                          **{f"live_{key}": value for key, value in score(trainer.generator).items()}}


def summary(metrics: dict[str, list[float]], prefix: str = "") -> dict:
    """The final scores and the IS and FD curves of one generator (`prefix` 'live_' for the live weights)."""
    final = {key: metrics[prefix + key][-1] for key in ("IS", "FD", "classes_covered")}
    final["smallest_class"] = min(metrics[f"{prefix}class_{digit}"][-1] for digit in range(10))
    final["best_IS"] = max(metrics[prefix + "IS"])
    curves = {"step": metrics["step"], "train_seconds": metrics["train_seconds"], "IS": metrics[prefix + "IS"],
              "FD": metrics[prefix + "FD"]}
    return {**final, "curves": curves}


def run_path(seed: int) -> list[dict]:
    """Train every step of the path from `seed`; one result per row (the last run gives two)."""
    rows = []
    for step in PATH:
        averaged = step is PATH[-1]
        trainer = recipe_trainer(step, seed, metric_every=step.steps // METRIC_POINTS,
                                 metric_fn=None if averaged else generator_metrics(METRIC_SAMPLES))
        if averaged:
            live_and_averaged_metrics(trainer)
        trainer.train(steps=step.steps, progress=False)
        common = {"seed": seed, "steps": step.steps, "train_seconds": trainer.train_seconds}
        live = summary(trainer.metrics, "live_" if averaged else "")
        rows.append({"recipe": step.name, "change": step.change, **common, **live})
        if averaged:
            rows.append({"recipe": AVERAGED, "change": f"sample from an EMA of G's weights, decay {EMA_DECAY}",
                         **common, **summary(trainer.metrics)})
    return rows


def measure_rates(steps: int = 600) -> dict[str, float]:
    """Training steps per second of each distinct step of the path, on this machine."""
    rates = {}
    for step in PATH[:3]:
        trainer = recipe_trainer(step, seed=0)
        trainer.train(steps=50, progress=False)  # warm-up
        start = trainer.train_seconds
        trainer.train(steps=steps, progress=False)
        rates[step.name] = steps / (trainer.train_seconds - start)
    return rates


def load_runs(path: Path = RESULTS) -> list[dict]:
    """The study's runs, one dict per recipe and seed, from its committed results file.

    Each curve gets `budget_seconds`: where its evaluations fall in the run's budget of BUDGET_SECONDS on 2 cores.
    It is the x-axis to compare runs on; the measured `train_seconds` also count whatever else ran on the machine.
    """
    if not Path(path).exists():
        raise FileNotFoundError(f"no recipe study at {path}: make it with `python -m ganlib.recipe_study`")
    runs = json.loads(Path(path).read_text())["runs"]
    for run in runs:
        points = len(run["curves"]["IS"])
        run["curves"]["budget_seconds"] = [BUDGET_SECONDS * index / (points - 1) for index in range(points)]
    return runs


def table(runs: list[dict]) -> str:
    """The study as a text table: mean ± std over seeds of each row's final scores."""
    lines = [f"{'recipe':40s} {'seeds':>5s} {'steps':>7s} {'IS':>12s} {'best IS':>12s} {'FD':>12s} "
             f"{'digits':>7s} {'rarest digit':>13s}"]
    for name in [step.name for step in PATH] + [AVERAGED]:
        rows = [run for run in runs if run["recipe"] == name]
        if not rows:
            continue
        def spread(key: str, digits: int) -> str:
            values = [run[key] for run in rows]
            deviation = statistics.stdev(values) if len(values) > 1 else 0.0
            return f"{statistics.mean(values):.{digits}f} ± {deviation:.{digits}f}"
        lines.append(f"{name:40s} {len(rows):5d} {rows[0]['steps']:7,d} "
                     f"{spread('IS', 2):>12s} {spread('best_IS', 2):>12s} {spread('FD', 0):>12s} "
                     f"{statistics.mean(r['classes_covered'] for r in rows):7.1f} "
                     f"{statistics.mean(r['smallest_class'] for r in rows):13.1%}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m ganlib.recipe_study", description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds to run the path with")
    parser.add_argument("--measure", action="store_true", help="only print each recipe's steps per second here")
    parser.add_argument("--out", default=str(RESULTS), help="the results file (JSON)")
    args = parser.parse_args(argv)
    if args.measure:
        for name, rate in measure_rates().items():
            print(f"{name:24s} {rate:6.1f} steps/s: {180 * rate:,.0f} steps in 180 s")
        return 0
    out = Path(args.out)
    study = json.loads(out.read_text()) if out.exists() else {"runs": []}
    for seed in args.seeds:
        if any(run["seed"] == seed for run in study["runs"]):
            continue
        start = time.perf_counter()
        study["runs"] += run_path(seed)
        study.update(versions=library_versions(), machine=machine_info()["cpu"], cores=machine_info()["cores"])
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(study, indent=1) + "\n")
        print(f"seed {seed}: {time.perf_counter() - start:.0f} s", flush=True)
    print(table(study["runs"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
