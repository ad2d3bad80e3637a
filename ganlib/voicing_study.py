"""Which of lesson 06's changes make its generated digits voiced: `python -m ganlib.voicing_study` trains the
headline recipe and each variant with one change taken away, and writes `results/voicing_study.json`.

Each run is scored as lesson 06's verdict scores (1,000 samples, 100 of each digit; 200 of them decoded with
Griffin-Lim for the voicing). Runs already in the results file are kept, so an interrupted study resumes.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from . import audio
from .bench import library_versions, machine_info
from .config import REPO_ROOT
from .models import generate
from .pretrain import spoken_digit_trainer

RESULTS = REPO_ROOT / "results" / "voicing_study.json"
VARIANTS: dict[str, dict] = {
    "lesson 06's recipe": {},
    "no envelope smoothing": {"envelope_smoothing": 0.0},
    "no fine-detail critic": {"detail_bins": 0},
    "plain ConvGenerator (no source-filter)": {"source_filter": False},
}
SCORED = ("IS", "FD", "label_accuracy", "voiced_share", "periodicity", "median_pitch_hz")


def run_variant(name: str, steps: int, seed: int) -> dict:
    """Train one variant for `steps` generator steps from `seed` and score its averaged generator as heard."""
    trainer = spoken_digit_trainer(metric_every=0, seed=seed, **VARIANTS[name])
    trainer.train(steps=steps, progress=False)
    generator = trainer.sampling_generator
    scores = audio.spectrogram_metrics(n=1000, voicing_clips=200)(generator)
    z = torch.randn(200, generator.latent_dim, generator=torch.Generator().manual_seed(seed))
    codec = audio.standard_codec()
    images = generate(generator, z, torch.arange(200) % 10).float()
    scores["median_pitch_hz"] = audio.voicing(codec.decode(codec.from_image(images)))["median_pitch_hz"]
    return {"variant": name, "seed": seed, "steps": steps, "train_seconds": trainer.train_seconds,
            **{key: scores[key] for key in SCORED}}


def load_runs(path: Path = RESULTS) -> list[dict]:
    """The study's runs, one dict per variant and seed, from its committed results file."""
    if not Path(path).exists():
        raise FileNotFoundError(f"no voicing study at {path}: make it with `python -m ganlib.voicing_study`")
    return json.loads(Path(path).read_text())["runs"]


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m ganlib.voicing_study", description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000, help="generator steps per run")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="seeds to run each variant with")
    parser.add_argument("--out", default=str(RESULTS), help="the results file (JSON)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    study = json.loads(out.read_text()) if out.exists() else {"runs": []}
    for seed in args.seeds:
        for name in VARIANTS:
            if any(r["variant"] == name and r["seed"] == seed and r["steps"] == args.steps for r in study["runs"]):
                continue
            start = time.perf_counter()
            study["runs"].append(run_variant(name, args.steps, seed))
            study.update(versions=library_versions(), machine=machine_info()["cpu"], cores=machine_info()["cores"])
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(study, indent=1) + "\n")
            print(f"{name}, seed {seed}: {time.perf_counter() - start:.0f} s; "
                  + ", ".join(f"{key} {study['runs'][-1][key]:.3g}" for key in SCORED), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
