"""Learning with few labels on spoken digits (lesson 07): do MNIST and the semi-supervised GAN help recognise speech?

Four methods, one network (Salimans et al.'s MNIST discriminator, `few_labels.classifier`), one change at a time:
  from_scratch                fresh weights, cross-entropy on the labelled clips alone;
  from_mnist                  the same, but the hidden layers start from an MLP trained on all of MNIST's labels;
  semi_supervised             the semi-supervised GAN (labelled clips + every training clip unlabelled), fresh D;
  semi_supervised_from_mnist  the semi-supervised GAN whose D starts from the MNIST MLP: images and GANs together.
Clips are 28 x 28 log-mel thumbnails (28 mel bands x the clip's duration resampled to 28 steps, each band's mean
over the clip removed), so MNIST's 784 inputs line up with them one to one: the MNIST weights load unchanged. Two test protocols: FSDD's official split (recordings 0-4 of
every speaker are the test set, so test voices were heard in training) and `new_speaker` (leave one speaker out:
train on five speakers, test on all 500 clips of the sixth; fold = seed). Normalisation statistics come from the
training clips only, and accuracy is measured once, at the end of a fixed budget (curves are recorded, never used
to pick a step).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import torch

from . import validate
from .audio import SpectrogramCodec, load_fsdd
from .bench import library_versions, machine_info
from .config import REPO_ROOT, set_seed
from .data import load_mnist, to_model_range
from .few_labels import (FewLabelSplit, SemiSupervisedRecipe, classifier, one_thread, paired_difference, run_grid,
                         run_labels_only, semi_supervised_trainer)
from .metrics import accuracy, fit_classifier, judge_info, load_or_train_judge
from .models import ClassifierDiscriminator
from .transfer import balanced_subset

PER_DIGIT = (1, 3, 10, 45)  # labelled clips of each digit
PROTOCOLS = ("official", "new_speaker")
METHODS = ("from_scratch", "from_mnist", "semi_supervised", "semi_supervised_from_mnist")
SPEAKERS = ("george", "jackson", "lucas", "nicolas", "theo", "yweweler")  # FSDD's six; fold k holds out SPEAKERS[k]
THUMBNAIL_CODEC = {"n_fft": 512, "hop_length": 128, "n_mels": 28}  # 28 mel bands, a frame every 16 ms
THUMBNAIL_STD = 0.5  # each clip's std after normalisation; beyond 2 std is clipped to [-1, 1]
RESULTS_FILE = REPO_ROOT / "results" / "few_labels_speech.json"
MNIST_MLP_FILE = "mnist_mlp_classifier.pt"


@dataclass(frozen=True)
class SpeechRecipe:
    """Every training setting of the speech grid, in one place."""

    gan_steps: int = 2000  # semi-supervised GAN steps (batch 100): 74-80 passes over the unlabelled clips
    supervised_steps: int = 2000  # from_scratch and from_mnist: one-cycle Adam, as on MNIST
    supervised_lr: float = 3e-3
    batch_size: int = 100
    curve_every: int = 100  # test accuracy is recorded this often (for the convergence plots only)


def thumbnails(waveforms: torch.Tensor, lengths: torch.Tensor, codec: SpectrogramCodec) -> torch.Tensor:
    """Clips [N, 8192] -> log-mel thumbnails [N, 784] in [-1, 1]: 28 mel bands, and each clip's own duration (its
    frames before the zero padding) stretched or squeezed to 28 time steps, so every word fills the picture the
    way a digit fills MNIST's."""
    spectrograms = codec.encode(waveforms)  # [N, 28 mel bands, frames]
    frames = ((lengths.clamp(max=waveforms.shape[1]) + codec.hop_length - 1) // codec.hop_length + 1).clamp(2, spectrograms.shape[2])
    resized = [torch.nn.functional.interpolate(spectrogram[None, :, :n], size=28, mode="linear", align_corners=True)[0]
               for spectrogram, n in zip(spectrograms, frames.tolist())]
    return torch.stack(resized).flatten(1)


def normalised_per_clip(thumbnails: torch.Tensor) -> torch.Tensor:
    """Per clip, subtract each mel band's mean over time and scale to a std of THUMBNAIL_STD, clipping beyond
    [-1, 1] (mean and variance normalisation, as speech recognisers do): what a microphone, a voice or a loudness
    adds to every frame goes; the changes over time that make the word stay."""
    bands = thumbnails.reshape(len(thumbnails), 28, 28)
    centred = (bands - bands.mean(dim=2, keepdim=True)).flatten(1)
    return (centred / centred.std(dim=1, keepdim=True).clamp_min(1e-3) * THUMBNAIL_STD).clamp(-1, 1)


@lru_cache(maxsize=1)
def all_clips() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, list[str], torch.Tensor]:
    """Every FSDD clip: waveforms, digits, lengths, speakers and whether it is in the official test split."""
    train, test = load_fsdd("train"), load_fsdd("test")
    return (torch.cat([train.waveforms, test.waveforms]), torch.cat([train.labels, test.labels]),
            torch.cat([train.lengths, test.lengths]), train.speakers + test.speakers,
            torch.cat([torch.zeros(len(train), dtype=torch.bool), torch.ones(len(test), dtype=torch.bool)]))


@lru_cache(maxsize=8)
def _pool_and_test(protocol: str, fold: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Training thumbnails and labels, test thumbnails and labels, for a protocol (and held-out speaker)."""
    waveforms, labels, lengths, speakers, official_test = all_clips()
    if protocol == "official":
        is_test = official_test
    else:
        is_test = torch.tensor([speaker == SPEAKERS[fold] for speaker in speakers])
    codec = SpectrogramCodec(**THUMBNAIL_CODEC).fit(waveforms[~is_test], lengths[~is_test])
    return (normalised_per_clip(thumbnails(waveforms[~is_test], lengths[~is_test], codec)), labels[~is_test],
            normalised_per_clip(thumbnails(waveforms[is_test], lengths[is_test], codec)), labels[is_test])


def speech_split(per_digit: int, seed: int, protocol: str = "new_speaker") -> FewLabelSplit:
    """`per_digit` labelled clips of every digit (drawn by `seed`) and every training clip unlabelled; in
    `new_speaker`, seed k also holds out speaker k % 6, whose clips are the test set and never enter training."""
    who = "speech_split"
    validate.integer(per_digit, "per_digit", who, high=250)
    validate.integer(seed, "seed", who, low=0)
    validate.choice(protocol, "protocol", who, PROTOCOLS)
    pool, pool_labels, test, test_labels = _pool_and_test(protocol, seed % len(SPEAKERS))
    index = balanced_subset(pool_labels, per_digit, seed)
    return FewLabelSplit(index, pool[index], pool_labels[index], pool, test, test_labels)


def _train_mnist_mlp() -> tuple[ClassifierDiscriminator, float]:
    """Salimans et al.'s MLP trained on all 60,000 MNIST labels (3 epochs), and its test accuracy."""
    images, labels = load_mnist(train=True)
    test_images, test_labels = load_mnist(train=False)
    network = classifier(seed=0)
    set_seed(0)  # the noise layers draw from the global generator (the caller restores it afterwards)
    with one_thread():
        fit_classifier(network, to_model_range(images), labels, epochs=3, batch_size=100, seed=0,
                       description="MNIST MLP", max_lr=1e-3)
    return network, accuracy(network, to_model_range(test_images), test_labels)


def mnist_mlp() -> ClassifierDiscriminator:
    """The MNIST-trained MLP whose hidden layers `from_mnist` methods start from (cached in the data root)."""
    return load_or_train_judge(MNIST_MLP_FILE, lambda: classifier(seed=0), _train_mnist_mlp, min_accuracy=0.95,
                               what="MNIST MLP classifier")


def mnist_mlp_info() -> dict[str, float]:
    """Test accuracy (on MNIST) and training time recorded when the MNIST MLP was trained."""
    mnist_mlp()
    return judge_info(MNIST_MLP_FILE)


def starting_network(method: str, seed: int) -> ClassifierDiscriminator:
    """The network a method starts from: fresh weights drawn from `seed`, with MNIST's hidden layers if it says so."""
    validate.choice(method, "method", "starting_network", METHODS)
    network = classifier(seed)
    if method.endswith("from_mnist"):
        network.body.load_state_dict(mnist_mlp().body.state_dict())  # the head (10 spoken digits) stays fresh
    return network


def run_speech_cell(method: str, protocol: str, per_digit: int, seed: int, gan_seed: int | None = None,
                    recipe: SpeechRecipe = SpeechRecipe()) -> dict:
    """One cell of the speech grid, on one thread: test accuracy at the end of the budget, and a curve.

    `seed` draws the labelled clips (and, in `new_speaker`, the held-out speaker); `gan_seed` (default: `seed`)
    draws the network's fresh weights and the GAN's randomness, so runs on one label subset measure GAN variance."""
    validate.choice(method, "method", "run_speech_cell", METHODS)
    split = speech_split(per_digit, seed, protocol)
    gan_seed = seed if gan_seed is None else validate.integer(gan_seed, "gan_seed", "run_speech_cell", low=0)
    with one_thread():
        network = starting_network(method, gan_seed)
        if method.startswith("semi_supervised"):
            result = _semi_supervised_with_curve(split, gan_seed, network, recipe)
        else:
            result = run_labels_only(split, gan_seed, steps=recipe.supervised_steps, batch_size=recipe.batch_size,
                                     lr=recipe.supervised_lr, network=network)
    return {"method": method, "protocol": protocol, "per_digit": per_digit, "seed": seed, "gan_seed": gan_seed,
            "accuracy": result["accuracy"], "train_seconds": result["train_seconds"], "curve": result.get("curve", [])}


def _semi_supervised_with_curve(split: FewLabelSplit, seed: int, network: ClassifierDiscriminator,
                                recipe: SpeechRecipe) -> dict:
    """Train the semi-supervised GAN for `recipe.gan_steps`, recording test accuracy every `curve_every` steps."""
    gan_recipe = SemiSupervisedRecipe(steps=recipe.gan_steps, batch_size=recipe.batch_size)
    trainer = semi_supervised_trainer(split, seed, gan_recipe, discriminator=network)
    curve = []
    while trainer.step_count < recipe.gan_steps:
        trainer.train(steps=min(recipe.curve_every, recipe.gan_steps - trainer.step_count), progress=False)
        curve.append([trainer.step_count, accuracy(trainer.classifier, split.test, split.test_targets)])
    return {"accuracy": curve[-1][1], "train_seconds": trainer.train_seconds, "curve": curve}


def supervised_budget_curve(method: str, per_digit: int, seed: int, budgets: tuple[int, ...],
                            recipe: SpeechRecipe = SpeechRecipe()) -> dict:
    """Test accuracy of a supervised method (official split) trained with each total step budget: a one-cycle
    schedule cannot be read off part-way, so convergence is shown by longer budgets that no longer help."""
    curve = [[steps, run_speech_cell(method, "official", per_digit, seed,
                                     recipe=SpeechRecipe(**{**asdict(recipe), "supervised_steps": steps}))["accuracy"]]
             for steps in budgets]
    return {"method": method, "protocol": "official", "per_digit": per_digit, "seed": seed, "curve": curve}


# --- the grid -------------------------------------------------------------------------------------------------
SEEDS = {"official": tuple(range(5)), "new_speaker": tuple(range(len(SPEAKERS)))}
GAN_VARIANCE_CELL = {"protocol": "new_speaker", "per_digit": 10, "seed": 0}  # one label subset, GAN seeds 0-4
SUPERVISED_BUDGETS = (500, 2000, 8000)


def grid_cells() -> list[dict]:
    """Every method, label count, protocol and seed; then more GAN seeds on one label subset."""
    cells = [{"method": method, "protocol": protocol, "per_digit": count, "seed": seed}
             for protocol in PROTOCOLS for count in PER_DIGIT for seed in SEEDS[protocol] for method in METHODS]
    return cells + [{"method": method, **GAN_VARIANCE_CELL, "gan_seed": gan_seed}
                    for method in METHODS[2:] for gan_seed in range(1, 5)]


def budget_cells() -> list[dict]:
    """The supervised methods' budget curves at the smallest and largest label count, three label subsets."""
    return [{"method": method, "per_digit": count, "seed": seed, "budgets": SUPERVISED_BUDGETS}
            for method in METHODS[:2] for count in (PER_DIGIT[0], PER_DIGIT[-1]) for seed in range(3)]


def cell_runs(runs: list[dict], protocol: str, method: str, per_digit: int) -> dict[int, float]:
    """Accuracy per seed of the grid's main runs (GAN seed = label seed) for one protocol, method and count."""
    return {run["seed"]: run["accuracy"] for run in runs if run["protocol"] == protocol and run["method"] == method
            and run["per_digit"] == per_digit and run["gan_seed"] == run["seed"]}


def comparison(runs: list[dict], protocol: str, better: str, baseline: str) -> dict[int, dict[str, float]]:
    """Per label count: `better` minus `baseline`, paired by seed, with its 95% interval."""
    result = {}
    for count in PER_DIGIT:
        a, b = cell_runs(runs, protocol, better, count), cell_runs(runs, protocol, baseline, count)
        seeds = sorted(set(a) & set(b))
        if len(seeds) >= 2:
            result[count] = paired_difference([a[s] for s in seeds], [b[s] for s in seeds])
    return result


COMPARISONS = (("from_mnist", "from_scratch"), ("semi_supervised", "from_scratch"),
               ("semi_supervised_from_mnist", "semi_supervised"), ("semi_supervised_from_mnist", "from_scratch"))


def summary(runs: list[dict]) -> dict:
    """Mean and std over seeds per protocol, method and count, and the paired comparisons the lesson draws on."""
    table = {protocol: {method: {} for method in METHODS} for protocol in PROTOCOLS}
    for protocol in PROTOCOLS:
        for method in METHODS:
            for count in PER_DIGIT:
                values = torch.tensor(list(cell_runs(runs, protocol, method, count).values()), dtype=torch.float64)
                if len(values):
                    table[protocol][method][count] = {"mean": float(values.mean()), "seeds": len(values),
                                                      "std": float(values.std()) if len(values) > 1 else 0.0}
    comparisons = {protocol: {f"{a} - {b}": comparison(runs, protocol, a, b) for a, b in COMPARISONS}
                   for protocol in PROTOCOLS}
    return {"accuracy": table, "comparisons": comparisons}


# --- reading the results file (the lesson's tables and plots) ------------------------------------------------
METHOD_NAMES = {"from_scratch": "(a) from scratch", "from_mnist": "(b) from MNIST",
                "semi_supervised": "(e) semi-supervised GAN", "semi_supervised_from_mnist": "(b+e) semi-supervised GAN from MNIST"}
PROTOCOL_NAMES = {"official": "official split (test voices heard in training)",
                  "new_speaker": "new speaker (leave one speaker out)"}


def load_results(path: Path = RESULTS_FILE) -> dict:
    """The committed results of `python -m ganlib.few_labels_speech`."""
    if not Path(path).exists():
        raise FileNotFoundError(f"load_results: no results file at {path}; run `python -m ganlib.few_labels_speech`")
    return json.loads(Path(path).read_text())


def accuracies(record: dict, protocol: str) -> dict[str, dict[int, list[float]]]:
    """Test accuracy per seed, by method (its display name) and clips per digit, for one protocol."""
    validate.choice(protocol, "protocol", "accuracies", PROTOCOLS)
    return {METHOD_NAMES[method]: {count: list(cell_runs(record["runs"], protocol, method, count).values())
                                   for count in PER_DIGIT} for method in METHODS}


def comparison_table(record: dict, protocol: str) -> str:
    """A Markdown table of the paired differences (points of accuracy) with their 95% intervals; a bold cell's
    interval excludes 0, so it supports a conclusion."""
    validate.choice(protocol, "protocol", "comparison_table", PROTOCOLS)
    lines = ["| comparison | " + " | ".join(f"{count} per digit" for count in PER_DIGIT) + " |",
             "|---" * (len(PER_DIGIT) + 1) + "|"]
    for name, per_count in record["summary"]["comparisons"][protocol].items():
        a, b = name.split(" - ")
        cells = []
        for count in PER_DIGIT:
            d = per_count[str(count)] if str(count) in per_count else per_count[count]
            text = f"{100 * d['mean']:+.1f} [{100 * d['low']:+.1f}, {100 * d['high']:+.1f}]"
            cells.append(f"**{text}**" if d["excludes_zero"] else text)
        lines.append(f"| {METHOD_NAMES[a].split(' ')[0]} − {METHOD_NAMES[b].split(' ')[0]} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def curves(record: dict, method: str, per_digit: int, protocol: str = "official") -> list[list[list[float]]]:
    """Accuracy-against-steps curves of one cell, one per seed: the GAN's own, or the supervised budget sweeps."""
    validate.choice(method, "method", "curves", METHODS)
    if method.startswith("semi_supervised"):
        return [run["curve"] for run in record["runs"] if (run["method"], run["protocol"], run["per_digit"]) ==
                (method, protocol, per_digit) and run["gan_seed"] == run["seed"]]
    return [run["curve"] for run in record["supervised_budgets"]
            if (run["method"], run["protocol"], run["per_digit"]) == (method, protocol, per_digit)]


def mean_curve(record: dict, method: str, per_digit: int, protocol: str = "official") -> list[list[float]]:
    """`curves` averaged over runs: [step, mean test accuracy] at each recorded step."""
    runs = curves(record, method, per_digit, protocol)
    if not runs:
        raise ValueError(f"mean_curve: the results hold no curve for {method!r} at {per_digit} per digit ({protocol})")
    values = torch.tensor([[accuracy for _, accuracy in run] for run in runs], dtype=torch.float64).mean(0)
    return [[step, float(value)] for (step, _), value in zip(runs[0], values)]


def gan_variance(record: dict) -> dict[str, dict[str, float]]:
    """Per GAN method: the std of accuracy over GAN seeds on one label subset, beside the std over label subsets."""
    cell = GAN_VARIANCE_CELL
    result = {}
    for method in METHODS[2:]:
        over_gan_seeds = torch.tensor([run["accuracy"] for run in record["runs"] if run["method"] == method and
                                       all(run[key] == value for key, value in cell.items())], dtype=torch.float64)
        over_subsets = torch.tensor(list(cell_runs(record["runs"], cell["protocol"], method, cell["per_digit"]).values()),
                                    dtype=torch.float64)
        result[METHOD_NAMES[method]] = {"gan_seeds": len(over_gan_seeds), "std_over_gan_seeds": float(over_gan_seeds.std()),
                                        "mean_over_gan_seeds": float(over_gan_seeds.mean()),
                                        "std_over_label_subsets": float(over_subsets.std())}
    return result


def main(argv: list[str] | None = None) -> int:
    """`python -m ganlib.few_labels_speech`: run the spoken-digit grid and write the results file."""
    parser = argparse.ArgumentParser(prog="python -m ganlib.few_labels_speech", description=main.__doc__)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="cells run side by side")
    parser.add_argument("--out", default=str(RESULTS_FILE), help="where to write the JSON")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    mnist_mlp()  # trained once here, not in every worker
    runs = run_grid(run_speech_cell, grid_cells(), args.jobs, "speech grid")
    budgets = run_grid(supervised_budget_curve, budget_cells(), args.jobs, "supervised budgets")
    arguments = " ".join(argv if argv is not None else sys.argv[1:])
    record = {"command": f"python -m ganlib.few_labels_speech {arguments}".strip(), "seeds": SEEDS,
              "per_digit": list(PER_DIGIT), "recipe": asdict(SpeechRecipe()), "thumbnail_codec": THUMBNAIL_CODEC,
              "wall_seconds": time.perf_counter() - start, "versions": library_versions(), "machine": machine_info(),
              "summary": summary(runs), "runs": runs, "supervised_budgets": budgets}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=1) + "\n")
    for protocol, per_method in record["summary"]["accuracy"].items():
        for method, per_count in per_method.items():
            cells = "  ".join(f"{count}: {100 * row['mean']:5.1f} ± {100 * row['std']:4.1f}" for count, row in per_count.items())
            print(f"{protocol:12s} {method:27s} {cells}")
    print(f"written to {out} in {record['wall_seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
