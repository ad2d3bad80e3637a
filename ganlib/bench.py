"""`python -m ganlib.bench`: how fast ganlib trains on this machine, against the loop the common tutorials write.

One run measures, on the same machine: training throughput against the tutorial-style loop, the achieved
GFLOP/s against this machine's matrix-product peak, the time each recipe takes to reach a quality target, and
the wall time and peak memory of every notebook. It prints a table and writes one JSON file.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Callable

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from .config import QUICK_ENV, REPO_ROOT, data_root, set_seed
from .data import load_mnist, mnist_vectors
from .metrics import generator_metrics
from .models import MLPDiscriminator, MLPGenerator
from .notebook_files import lesson_paths
from .training import Trainer, has_native_bfloat16
from .training.guard import divergence

QUALITY_THRESHOLDS = (5.0, 7.0, 8.0, 9.0)  # classifier IS; real MNIST scores about 9.7
FULL = dict(throughput_steps=300, throughput_rounds=6, ttq_seconds=420.0, eval_every_seconds=20.0, eval_samples=5000,
            matmul_seconds=1.0)
QUICK = dict(throughput_steps=10, throughput_rounds=2, ttq_seconds=2.0, eval_every_seconds=1.0, eval_samples=500,
             matmul_seconds=0.1)


def tutorial_models(seed: int = 0) -> tuple[nn.Module, nn.Module]:
    """The MLP pair of the common tutorials: G 100→128→256→512→1024→784 with BatchNorm, D 784→512→256→1."""
    set_seed(seed)
    return MLPGenerator(100, (128, 256, 512, 1024), batch_norm=True), MLPDiscriminator(784, (512, 256))


def lesson02_models(seed: int = 0) -> tuple[nn.Module, nn.Module]:
    """The smaller pair lesson 02 trains: G 100→128→256→784, D 784→256→128→1."""
    set_seed(seed)
    return MLPGenerator(100, (128, 256)), MLPDiscriminator(784, (256, 128))


class TutorialLoop:
    """The reference: a training loop written the way the common tutorials write it, deliberately as they do.

    torchvision's MNIST with ToTensor() and Normalize, a shuffling DataLoader, sigmoid outputs into BCELoss,
    a G step then a D step on the same fakes, and both losses printed with .item() every step
    (into a string buffer, which is cheaper than a terminal).
    """

    def __init__(self, generator: nn.Module, discriminator: nn.Module, batch_size: int = 64, lr: float = 2e-4):
        from torchvision import datasets, transforms  # only the reference needs torchvision's pipeline

        load_mnist(train=True)  # a clear error if the data is missing
        to_tensor = transforms.Compose([transforms.ToTensor(), transforms.Normalize([0.5], [0.5])])
        dataset = datasets.MNIST(str(data_root()), train=True, download=False, transform=to_tensor)
        self.loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=True)
        self.generator, self.probability = generator, nn.Sequential(discriminator, nn.Sigmoid())
        self.opt_g = torch.optim.Adam(generator.parameters(), lr=lr, betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(discriminator.parameters(), lr=lr, betas=(0.5, 0.999))
        self.loss, self.log, self.batches = nn.BCELoss(), io.StringIO(), iter(self.loader)
        self.step_count = 0

    def next_batch(self) -> torch.Tensor:
        """The next batch, starting a new epoch when the loader runs out."""
        try:
            images, _ = next(self.batches)
        except StopIteration:
            self.batches = iter(self.loader)
            images, _ = next(self.batches)
        return images.view(images.size(0), -1)

    def step(self) -> None:
        """One G update, then one D update, then print both losses."""
        real = self.next_batch()
        valid, fake = torch.ones(real.size(0)), torch.zeros(real.size(0))
        self.opt_g.zero_grad()
        generated = self.generator(torch.randn(real.size(0), 100))
        g_loss = self.loss(self.probability(generated), valid)
        g_loss.backward()
        self.opt_g.step()
        self.opt_d.zero_grad()
        d_loss = (self.loss(self.probability(real), valid) + self.loss(self.probability(generated.detach()), fake)) / 2
        d_loss.backward()
        self.opt_d.step()
        print(f"[step {self.step_count}] [D loss: {d_loss.item():.4f}] [G loss: {g_loss.item():.4f}]", file=self.log)
        self.step_count += 1

    def train(self, seconds: float) -> None:
        """Train for about `seconds` of wall time."""
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            self.step()


def matmul_gflops(dtype: torch.dtype, size: int = 1024, seconds: float = 1.0) -> float:
    """This machine's matrix-product throughput in GFLOP/s: square products of float32 or bfloat16."""
    a, b = torch.randn(size, size, dtype=dtype), torch.randn(size, size, dtype=dtype)
    for _ in range(3):
        a @ b
    repeats, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        a @ b
        repeats += 1
    return 2 * size**3 * repeats / (time.perf_counter() - start) / 1e9


def steps_per_second(step: Callable[[], None], steps: int, warmup: int = 10) -> float:
    """Training steps per second of a step function, after a warm-up."""
    for _ in range(warmup):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return steps / (time.perf_counter() - start)


def flops_per_step(step: Callable[[], None]) -> int:
    """Floating-point operations of one training step (forward and backward), counted by PyTorch."""
    with FlopCounterMode(display=False) as counter:
        step()
    return counter.get_total_flops()


def guard_cost(trainer: Trainer, repeats: int = 10) -> float:
    """The divergence guard's share of training time: one check and state copy per `log_every` steps."""
    rows = torch.zeros(trainer.log_every, 6)
    start = time.perf_counter()
    for _ in range(repeats):
        divergence(rows, trainer.step_count, {"generator": trainer.generator, "discriminator": trainer.discriminator},
                   trainer.step_count)
        trainer.remember_good_state()
    check_seconds = (time.perf_counter() - start) / repeats
    return check_seconds * steps_per_second(trainer.step, trainer.log_every, warmup=0) / trainer.log_every


def tutorial_trainer(fast: bool, batch_size: int = 64) -> Trainer:
    """ganlib's Trainer on the tutorial's models and settings."""
    generator, discriminator = tutorial_models()
    return Trainer(generator, discriminator, mnist_vectors(), batch_size=batch_size, lr_g=2e-4, lr_d=2e-4,
                   device="cpu", fast=fast)


def interleaved_rates(loops: dict[str, Callable[[], None]], steps: int, rounds: int,
                      warmup: int = 10) -> dict[str, list[float]]:
    """Steps per second of each loop in each of `rounds` rounds of `steps` steps, the loops taking turns within a
    round: a machine whose speed drifts (a shared VM) then slows every loop alike, and ratios compare like with like."""
    for step in loops.values():
        for _ in range(warmup):
            step()
    rates: dict[str, list[float]] = {name: [] for name in loops}
    for _ in range(rounds):
        for name, step in loops.items():
            rates[name].append(steps_per_second(step, steps, warmup=0))
    return rates


def measure_throughput(steps: int, rounds: int = 1, batch_size: int = 64) -> dict:
    """Steps per second and GFLOP/s of the tutorial loop and of the Trainer (exact and fast) on the same models,
    over `rounds` interleaved rounds of steps/rounds steps: medians, and each ratio's range over the rounds."""
    reference = TutorialLoop(*tutorial_models(), batch_size=batch_size)
    exact, fast = tutorial_trainer(False, batch_size), tutorial_trainer(True, batch_size)
    rounds_of = interleaved_rates({"reference": reference.step, "ganlib": exact.step, "ganlib_fast": fast.step},
                                  max(1, steps // rounds), rounds)
    rates = {name: statistics.median(values) for name, values in rounds_of.items()}
    flops = {name: flops_per_step(run.step) for name, run in (("reference", reference), ("ganlib", exact))}
    result = {"batch_size": batch_size, "steps": steps, "rounds": rounds, "rounds_steps_per_s": rounds_of}
    for name, rate in rates.items():
        result[f"{name}_steps_per_s"] = rate
        result[f"{name}_ms_per_step"] = 1000 / rate
    result["ganlib_guard_fraction"] = guard_cost(exact)
    result["reference_data_only_batches_per_s"] = steps_per_second(reference.next_batch, steps)
    for key, name in (("ratio", "ganlib"), ("ratio_fast", "ganlib_fast")):
        per_round = [ours / theirs for ours, theirs in zip(rounds_of[name], rounds_of["reference"])]
        result[key], result[f"{key}_range"] = statistics.median(per_round), [min(per_round), max(per_round)]
    result["reference_gflop_per_step"] = flops["reference"] / 1e9
    result["ganlib_gflop_per_step"] = flops["ganlib"] / 1e9
    result["reference_gflops"] = flops["reference"] * rates["reference"] / 1e9
    result["ganlib_gflops"] = flops["ganlib"] * rates["ganlib"] / 1e9
    result["ganlib_fast_gflops"] = flops["ganlib"] * rates["ganlib_fast"] / 1e9
    return result


def measure_conv_throughput(steps: int) -> dict:
    """Lesson 05's DCGAN at batch 64, steps per second: float32 and bfloat16 (`fast=True`), with images and
    convolution weights in the default memory format (NCHW) and in channels-last (NHWC)."""
    from .pretrain import mnist_dcgan_trainer  # pretrain imports this module: import it only when needed
    result = {"batch_size": 64, "steps": steps}
    for precision, fast in (("float32", False), ("bfloat16", True)):
        for layout, memory_format in (("nchw", torch.contiguous_format), ("channels_last", torch.channels_last)):
            trainer = mnist_dcgan_trainer(metric_every=0, fast=fast, memory_format=memory_format)
            result[f"{precision}_{layout}_steps_per_s"] = steps_per_second(trainer.step, steps)
    return result


SCALING_RECIPES = ("mnist_mlp", "mnist_dcgan")


def measure_process_scaling(steps: int, processes: tuple[int, ...] = (1, 2)) -> dict:
    """Steps per second of `python -m ganlib.train` on 1 process (all threads) and under torchrun on N processes
    (one thread each), the same global batch, from each run's own training clock (start-up excluded)."""
    result: dict = {"steps": steps, "processes": list(processes)}
    for recipe in SCALING_RECIPES:
        for count in processes:
            with tempfile.TemporaryDirectory() as out:
                launcher = ["-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={count}"] * (count > 1)
                command = [sys.executable, *launcher, "-m", "ganlib.train", recipe, "--steps", str(steps),
                           "--metric-every", "0", "--save-every", str(steps), "--out", out]
                finished = subprocess.run(command, capture_output=True, text=True, timeout=3600)
                if finished.returncode:
                    raise RuntimeError(f"{' '.join(command)} failed:\n{finished.stderr[-3000:]}")
                state = torch.load(Path(out) / recipe / "checkpoint.pt", weights_only=True)
                result[f"{recipe}_{count}_processes_steps_per_s"] = state["step"] / state["train_seconds"]
    return result


def _quality_curve(train_for: Callable[[float], None], generator: Callable[[], nn.Module], max_seconds: float,
                   eval_every: float, samples: int, label_weights: torch.Tensor | None = None,
                   setup_seconds: float = 0.0) -> dict:
    """Train in slices of `eval_every` seconds, scoring the IS after each, until IS >= 9 or `max_seconds`; the
    clock starts at `setup_seconds` (work done before training, such as clustering the data)."""
    score = generator_metrics(n=samples, label_weights=label_weights)
    curve, trained = [], setup_seconds
    while not curve or (trained < max_seconds and curve[-1][1] < QUALITY_THRESHOLDS[-1]):  # one slice at least
        start = time.perf_counter()
        train_for(min(eval_every, max_seconds - trained) if trained < max_seconds else eval_every)  # setup took it all
        trained += time.perf_counter() - start
        scores = score(generator())
        curve.append((round(trained, 2), scores["IS"]))
    reached = {f"seconds_to_IS_{threshold:g}": next((s for s, value in curve if value >= threshold), None)
               for threshold in QUALITY_THRESHOLDS}
    gap = max(abs(scores[f"class_{digit}"] - 0.1) for digit in range(10))
    return {"curve": curve, "best_IS": max(value for _, value in curve), "trained_seconds": trained, **reached,
            "last_FD": scores["FD"], "last_largest_class_gap": gap}  # at the last evaluation


def trainer_quality(trainer: Trainer, label_weights: torch.Tensor | None = None, setup_seconds: float = 0.0,
                    **budget: float) -> dict:
    """Time to quality of a Trainer recipe; evaluation time is excluded, `setup_seconds` included."""
    result = _quality_curve(lambda s: trainer.train(seconds=s, progress=False), lambda: trainer.sampling_generator,
                            label_weights=label_weights, setup_seconds=setup_seconds, **budget)
    return {**result, "steps": trainer.step_count}


def measure_time_to_quality(max_seconds: float, eval_every: float, samples: int) -> dict:
    """Wall time until classifier IS >= each threshold: the tutorial recipe against lesson 02's recommended one."""
    budget = dict(max_seconds=max_seconds, eval_every=eval_every, samples=samples)
    reference = TutorialLoop(*tutorial_models())
    results = {"reference": _quality_curve(reference.train, lambda: reference.generator, **budget)}
    results["reference"]["steps"] = reference.step_count
    for name, fast in (("lesson02_recommended", False), ("lesson02_recommended_fast", True)):
        trainer = Trainer(*lesson02_models(), mnist_vectors(), batch_size=256, lr_g=2e-3, lr_d=2e-3,
                          betas=(0.5, 0.999), ema_decay=0.999, device="cpu", fast=fast)
        results[name] = trainer_quality(trainer, **budget)
    from .pretrain import mnist_dcgan_trainer  # pretrain imports this module: import it only when needed
    results["lesson05_dcgan_fast"] = trainer_quality(mnist_dcgan_trainer(metric_every=0), **budget)
    return results


SELF_CONDITIONED_SEEDS = (0, 1, 2)


def measure_self_conditioned(max_seconds: float, eval_every: float, samples: int,
                             seeds: tuple[int, ...] = SELF_CONDITIONED_SEEDS) -> dict:
    """Time to quality of lesson 05's self-conditioned DCGAN for each seed, its clustering included."""
    from .pretrain import mnist_self_conditioned_trainer  # pretrain imports this module: import it only when needed
    results = {}
    for seed in seeds:
        start = time.perf_counter()
        trainer, cluster_sizes = mnist_self_conditioned_trainer(seed)
        results[f"lesson05_self_conditioned_seed{seed}"] = trainer_quality(
            trainer, label_weights=cluster_sizes, setup_seconds=time.perf_counter() - start,
            max_seconds=max_seconds, eval_every=eval_every, samples=samples)
    return results


_PEAK_MEMORY_WRAPPER = (
    "import platform, resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
    "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "print(peak / 2**20 if platform.system() == 'Darwin' else peak / 2**10)\n"
    "sys.stderr.write(code.stderr[-2000:])\n"
    "sys.exit(code.returncode)\n")


def notebook_cost(path: Path, quick: bool, timeout: int = 3600) -> dict:
    """Wall time and peak memory (MB, of the largest process) of one notebook run top to bottom."""
    env = {key: value for key, value in os.environ.items() if key != QUICK_ENV}
    if quick:
        env[QUICK_ENV] = "1"
    with tempfile.TemporaryDirectory() as output_dir:
        command = [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
                   f"--ExecutePreprocessor.timeout={timeout}", "--output-dir", output_dir, str(path)]
        start = time.perf_counter()
        run = subprocess.run([sys.executable, "-c", _PEAK_MEMORY_WRAPPER, *command], env=env,
                             capture_output=True, text=True)
        seconds = time.perf_counter() - start
    peak = float(run.stdout.strip().splitlines()[-1]) if run.stdout.strip() else None
    return {"notebook": path.name, "mode": "quick" if quick else "full", "seconds": seconds,
            "peak_memory_mb": peak, "ok": run.returncode == 0, "error": run.stderr[-500:] if run.returncode else ""}


def library_versions() -> dict[str, str]:
    """Versions of Python and of the packages that shape the numbers."""
    versions = {"python": platform.python_version()}
    for package in ("torch", "torchvision", "torchaudio", "numpy"):
        versions[package] = metadata.version(package)
    return versions


def machine_info() -> dict:
    """What the numbers were measured on."""
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                 if line.startswith("model name")]
        cpu = names[0] if names else cpu
    return {"cpu": cpu, "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "native_bfloat16": has_native_bfloat16(torch.device("cpu")), "torch": torch.__version__,
            "python": platform.python_version(), "system": platform.platform()}


def _seconds(value: float | None) -> str:
    """A time for the table, or 'not reached'."""
    return "not reached" if value is None else f"{value:.0f} s"


def format_report(report: dict) -> str:
    """The benchmark as a readable plain-text table."""
    machine, peak, lines = report["machine"], report["matmul_gflops"], []
    lines.append(f"Machine: {machine['cpu']}, {machine['cores']} cores, torch {machine['torch']} "
                 f"({machine['torch_threads']} threads)")
    lines.append(f"Matrix-product peak: float32 {peak['float32']:.0f} GFLOP/s, bfloat16 {peak['bfloat16']:.0f} GFLOP/s")
    t = report.get("throughput")
    if t:
        lines += ["", f"Throughput at batch size {t['batch_size']} (tutorial models, same on both sides)",
                  f"{'loop':34s} {'steps/s':>8s} {'ms/step':>8s} {'GFLOP/step':>11s} {'GFLOP/s':>8s} {'vs loop':>8s}"]
        for name, label, gflops, ratio in (
                ("reference", "tutorial loop (DataLoader, BCE)", t["reference_gflops"], 1.0),
                ("ganlib", "ganlib Trainer", t["ganlib_gflops"], t["ratio"]),
                ("ganlib_fast", "ganlib Trainer, fast=True", t["ganlib_fast_gflops"], t["ratio_fast"])):
            per_step = t["reference_gflop_per_step"] if name == "reference" else t["ganlib_gflop_per_step"]
            lines.append(f"{label:34s} {t[name + '_steps_per_s']:8.1f} {t[name + '_ms_per_step']:8.2f} "
                         f"{per_step:11.3f} {gflops:8.1f} {ratio:7.2f}x")
        lines.append(f"Medians of {t['rounds']} rounds, the three loops taking turns in each; the ratio's range over "
                     f"the rounds: {t['ratio_range'][0]:.2f}-{t['ratio_range'][1]:.2f}x (Trainer), "
                     f"{t['ratio_fast_range'][0]:.2f}-{t['ratio_fast_range'][1]:.2f}x (fast=True).")
        lines.append(f"The divergence guard (a check and a copy of the state every 50 steps) costs "
                     f"{t['ganlib_guard_fraction']:.1%} of ganlib's training time.")
        lines.append(f"The tutorial's DataLoader alone serves {t['reference_data_only_batches_per_s']:.0f} batches/s; "
                     f"ganlib's exact step reaches {t['ganlib_gflops'] / peak['float32']:.0%} of the float32 peak.")
    conv = report.get("conv_throughput")
    if conv:
        lines += ["", f"Convolutions: lesson 05's DCGAN at batch {conv['batch_size']}, steps/s",
                  f"{'precision':10s} {'NCHW':>8s} {'channels-last':>14s}"]
        for precision in ("float32", "bfloat16"):
            lines.append(f"{precision:10s} {conv[precision + '_nchw_steps_per_s']:8.1f} "
                         f"{conv[precision + '_channels_last_steps_per_s']:14.1f}")
    scaling = report.get("process_scaling")
    if scaling:
        counts = scaling["processes"]
        lines += ["", f"python -m ganlib.train on N processes (torchrun, gloo), {scaling['steps']} steps, steps/s",
                  f"{'recipe':14s} " + " ".join(f"{f'N={count}':>8s}" for count in counts)]
        for recipe in SCALING_RECIPES:
            lines.append(f"{recipe:14s} " + " ".join(f"{scaling[f'{recipe}_{count}_processes_steps_per_s']:8.1f}"
                                                    for count in counts))
    ttq = report.get("time_to_quality")
    if ttq:
        header = " ".join(f"{'IS>=' + format(th, 'g'):>12s}" for th in QUALITY_THRESHOLDS)
        lines += ["", "Time to quality (training seconds, the self-conditioned recipe's clustering included; classifier IS, "
                  "real MNIST about 9.7; FD and largest gap of a digit's share to 10% at the last evaluation)",
                  f"{'recipe':32s} {header} {'best IS':>8s} {'steps':>7s} {'last FD':>8s} {'gap':>6s}"]
        for name, result in ttq.items():
            times = " ".join(f"{_seconds(result[f'seconds_to_IS_{th:g}']):>12s}" for th in QUALITY_THRESHOLDS)
            lines.append(f"{name:32s} {times} {result['best_IS']:8.2f} {result['steps']:7d} "
                         f"{result['last_FD']:8.1f} {result['last_largest_class_gap']:6.1%}")
    if report.get("notebooks"):
        lines += ["", f"{'notebook':40s} {'mode':5s} {'wall':>8s} {'peak memory':>12s}"]
        for row in report["notebooks"]:
            status = "" if row["ok"] else "  FAILED"
            lines.append(f"{row['notebook']:40s} {row['mode']:5s} {row['seconds']:7.0f}s "
                         f"{row['peak_memory_mb'] or 0:9.0f} MB{status}")
    return "\n".join(lines)


def run_benchmark(quick: bool, notebook_modes: list[str], only: str = "", parts: tuple[str, ...] = ("all",)) -> dict:
    """Measure everything asked for and return the report as a dict."""
    settings = QUICK if quick else FULL
    wanted = lambda part: "all" in parts or part in parts  # noqa: E731
    report: dict = {"machine": machine_info(), "quick": quick, "settings": settings,
                    "matmul_gflops": {"float32": matmul_gflops(torch.float32, seconds=settings["matmul_seconds"]),
                                      "bfloat16": matmul_gflops(torch.bfloat16, seconds=settings["matmul_seconds"])}}
    if wanted("throughput"):
        report["throughput"] = measure_throughput(settings["throughput_steps"], settings["throughput_rounds"])
    if wanted("conv"):
        report["conv_throughput"] = measure_conv_throughput(settings["throughput_steps"])
    if wanted("processes"):
        report["process_scaling"] = measure_process_scaling(settings["throughput_steps"])
    budget = (settings["ttq_seconds"], settings["eval_every_seconds"], settings["eval_samples"])
    if wanted("quality"):
        report["time_to_quality"] = measure_time_to_quality(*budget)
    if wanted("quality") or wanted("self_conditioned"):
        seeds = SELF_CONDITIONED_SEEDS[:1] if quick else SELF_CONDITIONED_SEEDS  # --quick checks the plumbing
        report.setdefault("time_to_quality", {}).update(measure_self_conditioned(*budget, seeds=seeds))
    notebooks = [path for path in lesson_paths() if only in path.name]
    report["notebooks"] = [notebook_cost(path, quick=(mode == "quick")) for mode in notebook_modes
                           for path in notebooks]
    return report


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m ganlib.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny budgets, to check the plumbing (seconds)")
    parser.add_argument("--notebooks", choices=("none", "quick", "full", "both"), default="quick",
                        help="run the notebooks in quick mode (default), full mode (about an hour), both, or none")
    parser.add_argument("--only", default="", help="only notebooks whose file name contains this text")
    parser.add_argument("--parts", default="all", help="comma-separated: throughput, conv, processes, quality, "
                        "self_conditioned (lesson 05's self-conditioned DCGAN alone, over seeds) (default: all)")
    parser.add_argument("--out", default=str(REPO_ROOT / "artifacts" / "bench.json"), help="where to write the JSON")
    args = parser.parse_args(argv)
    modes = {"none": [], "quick": ["quick"], "full": ["full"], "both": ["quick", "full"]}[args.notebooks]
    report = run_benchmark(args.quick, modes, args.only, tuple(args.parts.split(",")))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1))
    print(format_report(report))
    print(f"\nJSON written to {out}")
    return 0 if all(row["ok"] for row in report["notebooks"]) else 1


if __name__ == "__main__":
    sys.exit(main())
