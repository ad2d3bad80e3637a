"""Learning with few labels on MNIST (lesson 07): the semi-supervised GAN against the same network on the labels alone.

The split never lets a test image or a test label into training: the labelled examples are a balanced subset of
MNIST's training set (drawn by `seed`), the unlabelled data is the whole training set with its labels dropped, and
accuracy is measured once, at the end of a fixed budget, on the 10,000 test images (no early stopping on the test
set, which would leak it into the result).
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterator

import torch
from tqdm.std import tqdm

from . import validate
from .bench import library_versions, machine_info
from .config import REPO_ROOT, isolated_rng, set_seed
from .data import load_mnist, to_model_range
from .metrics import accuracy, fit_classifier
from .models import ClassifierDiscriminator, MLPGenerator
from .training.semi_supervised import SemiSupervisedTrainer
from .transfer import balanced_subset

MNIST_LABEL_COUNTS = (20, 100, 1000)  # labelled training images in all, balanced over the 10 digits
SALIMANS_ERRORS = {20: (1677, 452), 100: (93, 6.5)}  # their test errors out of 10,000, mean and std (Table 1)


@dataclass(frozen=True)
class FewLabelSplit:
    """MNIST for a few-label run: the labelled subset, every training image unlabelled, and the test set."""

    labelled_index: torch.Tensor  # rows of the training set whose labels are used
    labelled: torch.Tensor
    targets: torch.Tensor
    unlabelled: torch.Tensor  # all 60,000 training images; their labels are not given to the learner
    test: torch.Tensor
    test_targets: torch.Tensor


def mnist_split(n_labels: int, seed: int) -> FewLabelSplit:
    """`n_labels` labelled training images, n_labels/10 of each digit (the subset drawn by `seed`)."""
    validate.integer(n_labels, "n_labels", "mnist_split", low=10)
    if n_labels % 10:
        raise ValueError(f"mnist_split: `n_labels` must be a multiple of 10 (balanced over the digits), got {n_labels}")
    images, labels = load_mnist(train=True)
    test_images, test_labels = load_mnist(train=False)
    unlabelled = to_model_range(images)
    index = balanced_subset(labels, n_labels // 10, seed)
    return FewLabelSplit(index, unlabelled[index], labels[index], unlabelled, to_model_range(test_images), test_labels)


def classifier(seed: int) -> ClassifierDiscriminator:
    """Salimans et al.'s MNIST discriminator (784-1000-500-250-250-250-10, Gaussian noise), drawn from `seed`."""
    with isolated_rng(seed):
        return ClassifierDiscriminator()


@dataclass(frozen=True)
class SemiSupervisedRecipe:
    """The semi-supervised GAN's settings for MNIST, in one place."""

    steps: int = 6000
    batch_size: int = 100
    lr: float = 1e-3  # G's and D's, constant (Adam, beta1 0.5)
    generator_hidden: tuple[int, ...] = (500, 500)


def semi_supervised_trainer(split: FewLabelSplit, seed: int, recipe: SemiSupervisedRecipe = SemiSupervisedRecipe(),
                            discriminator: ClassifierDiscriminator | None = None,
                            **options: object) -> SemiSupervisedTrainer:
    """The semi-supervised GAN on `split`, with G (and D, unless `discriminator` is given) drawn from `seed`."""
    set_seed(seed)
    generator = MLPGenerator(100, recipe.generator_hidden, activation="relu", batch_norm=True)
    discriminator = classifier(seed) if discriminator is None else discriminator
    return SemiSupervisedTrainer(generator, discriminator, split.unlabelled, split.labelled, split.targets,
                                 batch_size=recipe.batch_size, lr_g=recipe.lr, lr_d=recipe.lr, betas=(0.5, 0.999),
                                 seed=seed, **options)


def measure_on_test(network: torch.nn.Module, split: FewLabelSplit, train_seconds: float) -> dict[str, float]:
    """Test accuracy, errors out of the test set's size, and the training time."""
    test_accuracy = accuracy(network, split.test, split.test_targets)
    return {"accuracy": test_accuracy, "errors": round((1 - test_accuracy) * len(split.test)),
            "train_seconds": train_seconds}


def run_semi_supervised(split: FewLabelSplit, seed: int, recipe: SemiSupervisedRecipe = SemiSupervisedRecipe(),
                        progress: bool = True) -> dict[str, float]:
    """Train the semi-supervised GAN for `recipe.steps` and measure its discriminator on the test set."""
    trainer = semi_supervised_trainer(split, seed, recipe)
    trainer.train(steps=recipe.steps, progress=progress)
    return measure_on_test(trainer.classifier, split, trainer.train_seconds)


def run_labels_only(split: FewLabelSplit, seed: int, steps: int = 2000, batch_size: int = 100,
                    lr: float = 3e-3, network: ClassifierDiscriminator | None = None) -> dict[str, float]:
    """The same network, with the same noise, trained with cross-entropy on the labelled examples alone
    (from `network`'s weights if given, else from fresh ones drawn from `seed`).

    Its schedule was chosen to favour it: on 100 labels (seed 0), peak learning rates 1e-3, 3e-3 and 1e-2 gave
    73.2%, 75.4% and 10% (diverged) test accuracy, and 6,000 steps instead of 2,000 gave nothing more (73.0%)."""
    network, start = classifier(seed) if network is None else network, time.perf_counter()
    with isolated_rng(seed):
        fit_classifier(network, split.labelled, split.targets, epochs=1, batch_size=min(batch_size, len(split.labelled)),
                       seed=seed, description="labels only", max_lr=lr, steps=steps, progress=False)
    return measure_on_test(network, split, time.perf_counter() - start)


# --- the grid: every label count, every seed, both methods, written to a committed results file -----------------
RESULTS_FILE = REPO_ROOT / "results" / "few_labels_mnist.json"
METHODS = ("semi_supervised", "labels_only")


@contextmanager
def one_thread() -> Iterator[None]:
    """Run a block on one thread, then restore the thread count: the grids run cells side by side, one per core,
    and one thread keeps every cell repeatable."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def run_cell(method: str, n_labels: int, seed: int, steps: int | None = None) -> dict:
    """One cell of the grid: `method` with `n_labels` labels on label subset (and GAN seed) `seed`, on one thread."""
    validate.choice(method, "method", "run_cell", METHODS)
    split = mnist_split(n_labels, seed)
    with one_thread():
        if method == "semi_supervised":
            recipe = SemiSupervisedRecipe() if steps is None else SemiSupervisedRecipe(steps=steps)
            result = run_semi_supervised(split, seed, recipe, progress=False)
        else:
            result = run_labels_only(split, seed)
    return {"method": method, "labels": n_labels, "seed": seed, **result}


def run_grid(cell_function: Callable[..., dict], cells: list[dict], jobs: int, description: str) -> list[dict]:
    """`cell_function(**cell)` for every cell, `jobs` at a time in separate processes, with one progress line."""
    context = multiprocessing.get_context("spawn")  # a fresh interpreter per worker: no inherited threads or state
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures = [pool.submit(cell_function, **cell) for cell in cells]
        for _ in tqdm(as_completed(futures), total=len(futures), desc=description, file=sys.stdout):
            pass
    return [future.result() for future in futures]


def summarise(runs: list[dict]) -> dict[str, dict[int, dict[str, float]]]:
    """Mean and std (over seeds) of accuracy and of errors, per method and label count."""
    table: dict[str, dict[int, dict[str, float]]] = {}
    for method in sorted({run["method"] for run in runs}):
        for n in sorted({run["labels"] for run in runs if run["method"] == method}):
            rows = [run for run in runs if run["method"] == method and run["labels"] == n]
            accuracy_values = torch.tensor([row["accuracy"] for row in rows], dtype=torch.float64)
            errors = torch.tensor([row["errors"] for row in rows], dtype=torch.float64)
            spread = lambda values: float(values.std()) if len(values) > 1 else 0.0  # noqa: E731
            table.setdefault(method, {})[n] = {"accuracy_mean": float(accuracy_values.mean()),
                                               "accuracy_std": spread(accuracy_values),
                                               "errors_mean": float(errors.mean()), "errors_std": spread(errors),
                                               "seeds": len(rows)}
    return table


def paired_difference(a: list[float], b: list[float], confidence: float = 0.95) -> dict[str, float]:
    """Mean of the per-seed differences a - b and its `confidence` interval (Student's t with n - 1 degrees of
    freedom). Pairing removes what both runs of a seed share (the label subset); a conclusion is drawn only when
    the interval excludes 0."""
    from scipy.stats import t  # a well-tested quantile; only this function needs scipy

    validate.number(confidence, "confidence", "paired_difference", low=0, high=1, low_open=True, high_open=True)
    for name, values in (("a", a), ("b", b)):
        if not isinstance(values, (list, tuple)) or len(values) < 2:
            raise ValueError(f"paired_difference: `{name}` must be a list of at least 2 values, one per seed, "
                             f"got {values!r}")
        for value in values:
            validate.number(value, name, "paired_difference")
    if len(a) != len(b):
        raise ValueError(f"paired_difference: `a` and `b` must be paired values of the same seeds, got {len(a)} "
                         f"values in `a` and {len(b)} in `b`")
    differences = torch.tensor(a, dtype=torch.float64) - torch.tensor(b, dtype=torch.float64)
    mean, sem = float(differences.mean()), float(differences.std() / len(differences) ** 0.5)
    half_width = float(t.ppf(0.5 + confidence / 2, len(differences) - 1)) * sem
    return {"mean": mean, "low": mean - half_width, "high": mean + half_width, "n": len(differences),
            "excludes_zero": bool(mean - half_width > 0 or mean + half_width < 0)}


def semi_supervised_gain(runs: list[dict]) -> dict[int, dict[str, float]]:
    """Per label count: the semi-supervised GAN's accuracy minus the labels-only network's, paired by seed."""
    gains = {}
    for n in sorted({run["labels"] for run in runs}):
        by_seed = {(run["method"], run["seed"]): run["accuracy"] for run in runs if run["labels"] == n}
        seeds = sorted(seed for method, seed in by_seed if method == "semi_supervised" and ("labels_only", seed) in by_seed)
        gains[n] = paired_difference([by_seed["semi_supervised", s] for s in seeds], [by_seed["labels_only", s] for s in seeds])
    return gains


def load_results(path: Path = RESULTS_FILE) -> dict:
    """The committed results of `python -m ganlib.few_labels`."""
    if not Path(path).exists():
        raise FileNotFoundError(f"load_results: no results file at {path}; run `python -m ganlib.few_labels`")
    return json.loads(Path(path).read_text())


def mnist_table(record: dict) -> str:
    """A Markdown table of the MNIST grid: accuracy (mean ± std over label subsets), errors out of 10,000, the
    paired gain with its 95% interval, and Salimans et al.'s errors where they report the same label count."""
    lines = ["| labels | labels only | semi-supervised GAN | its errors of 10,000 | Salimans et al. errors | "
             "gain, points [95% interval] |", "|---:|---:|---:|---:|---:|---:|"]
    summary, gains = record["summary"], record["semi_supervised_gain"]
    for n in record["label_counts"]:
        alone, gan, gain = summary["labels_only"][str(n)], summary["semi_supervised"][str(n)], gains[str(n)]
        theirs = f"{SALIMANS_ERRORS[n][0]} ± {SALIMANS_ERRORS[n][1]}" if n in SALIMANS_ERRORS else "–"
        lines.append(f"| {n} | {100 * alone['accuracy_mean']:.2f} ± {100 * alone['accuracy_std']:.2f} % | "
                     f"{100 * gan['accuracy_mean']:.2f} ± {100 * gan['accuracy_std']:.2f} % | "
                     f"{gan['errors_mean']:.0f} ± {gan['errors_std']:.0f} | {theirs} | "
                     f"{100 * gain['mean']:+.1f} [{100 * gain['low']:+.1f}, {100 * gain['high']:+.1f}] |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """`python -m ganlib.few_labels`: run the MNIST grid and write the results file."""
    parser = argparse.ArgumentParser(prog="python -m ganlib.few_labels", description=main.__doc__)
    parser.add_argument("--labels", default=",".join(map(str, MNIST_LABEL_COUNTS)), help="label counts, comma-separated")
    parser.add_argument("--seeds", type=int, default=5, help="label subsets (and GAN seeds) 0..N-1")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="cells run side by side")
    parser.add_argument("--out", default=str(RESULTS_FILE), help="where to write the JSON")
    args = parser.parse_args(argv)
    label_counts = tuple(int(n) for n in args.labels.split(","))
    start = time.perf_counter()
    cells = [{"method": method, "n_labels": n, "seed": seed}
             for n in label_counts for seed in range(args.seeds) for method in METHODS]
    runs = run_grid(run_cell, cells, args.jobs, "few-label grid")
    arguments = " ".join(argv if argv is not None else sys.argv[1:])
    record = {"command": f"python -m ganlib.few_labels {arguments}".strip(),
              "seeds": list(range(args.seeds)), "label_counts": list(label_counts),
              "semi_supervised_recipe": asdict(SemiSupervisedRecipe()), "wall_seconds": time.perf_counter() - start,
              "versions": library_versions(), "machine": machine_info(), "summary": summarise(runs),
              "semi_supervised_gain": semi_supervised_gain(runs), "runs": runs}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=1) + "\n")
    for method, per_count in record["summary"].items():
        for n, row in per_count.items():
            print(f"{method:16s} {n:5d} labels: {100 * row['accuracy_mean']:.2f} ± {100 * row['accuracy_std']:.2f} % "
                  f"({row['errors_mean']:.0f} ± {row['errors_std']:.0f} errors of 10,000)")
    for n, gain in record["semi_supervised_gain"].items():
        print(f"gain at {n} labels: {100 * gain['mean']:+.2f} points, 95% interval "
              f"[{100 * gain['low']:+.2f}, {100 * gain['high']:+.2f}]")
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
