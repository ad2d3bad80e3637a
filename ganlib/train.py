"""Train a lesson's headline model from the command line, longer than a lesson does: `python -m ganlib.train NAME`.

The recipes are `ganlib.pretrain.RECIPES` (the definitions the lessons and the pretrained checkpoints use), with
overrides on the command line or in a small TOML file. A run lives in one folder (`runs/NAME` by default):

- `checkpoint.pt`: the ordinary Trainer checkpoint, written atomically every `--save-every` steps, at the end, and
  when the run is interrupted (Ctrl-C). Running the same command again resumes from it, and a resumed run is
  the run you would have had without the stop (the checkpoint holds the weights, optimizers and random states).
- `losses.csv` (one row per step) and `metrics.csv` (one row per evaluation): plain CSV, rewritten with each
  checkpoint so that they always agree with it. CSV rather than TensorBoard's event files: it needs no extra
  package or server, and pandas, a spreadsheet or `ganlib.plotting` read it in one line.
- `run.json`: the recipe and the overrides, so that a resumed run keeps its settings.

Example: `python -m ganlib.train mnist_dcgan --steps 20000 --batch-size 128 --lr-g 5e-4`.

The spoken-digit recipe trains on FSDD, or with `--corpus sc09` on SC09 (Speech Commands'
digit words, once `ganlib.audio.fetch_sc09` has put them in the data root), with a codec and a judging recogniser
fitted to SC09 (trained once, cached like FSDD's), in its own run folder `runs/spoken_digits-sc09`.

On several processes: `torchrun --nproc_per_node=2 -m ganlib.train mnist_dcgan ...` (see `ganlib.distributed`):
`--batch-size` is then the global batch, split equally between the processes, and the learning rates stay those of
one process with that batch, because every update is the one that process would make.
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import sys
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import audio, distributed
from .config import REPO_ROOT
from .data import DataNotFoundError, Shard
from .pretrain import RECIPES
from .training import Trainer
from .training.guard import LOGGED
from .training.trainer import progress_bar

DEFAULT_OUT = REPO_ROOT / "runs"
# Live settings a run may change, each checked as the Trainer checks it.
OVERRIDABLE = ("batch_size", "lr_g", "lr_d", "gradient_penalty")
RUN_KEYS = {"recipe", "corpus", "steps", "device", "out", "save_every", "float32", "metric_every", *OVERRIDABLE}


@dataclass
class RunConfig:
    """One run: which recipe, how long, where, and the settings that differ from the recipe's."""

    recipe: str
    corpus: str | None = None  # the data set, for recipes that offer a choice (spoken_digits: fsdd or sc09)
    steps: int | None = None  # the step to train to; None: the recipe's own length
    device: str | None = None  # None: the CPU
    out: str = str(DEFAULT_OUT)
    save_every: int = 500
    float32: bool = False  # True: no bfloat16 products even where the recipe asks for them (fast=True)
    metric_every: int | None = None  # steps between sample scores; None: the recipe's, 0: never
    overrides: dict[str, float | int] = field(default_factory=dict)

    @property
    def folder(self) -> Path:
        """The run's folder: OUT/RECIPE, or OUT/RECIPE-CORPUS on a data set other than the recipe's own."""
        default = (RECIPES[self.recipe].corpora or (None,))[0]
        return Path(self.out) / (self.recipe if self.corpus in (None, default) else f"{self.recipe}-{self.corpus}")


def read_config_file(path: str | Path) -> dict[str, object]:
    """A run's settings from a TOML file (keys as the command line's options, with underscores)."""
    with open(path, "rb") as file:
        values = tomllib.load(file)
    unknown = set(values) - RUN_KEYS
    if unknown:
        raise ValueError(f"ganlib.train: unknown keys {sorted(unknown)} in {path}; allowed: {sorted(RUN_KEYS)}")
    return values


def make_config(values: dict[str, object]) -> RunConfig:
    """A checked RunConfig from the merged file and command-line values."""
    name = values.get("recipe")
    if name not in RECIPES:
        raise ValueError(f"ganlib.train: `recipe` must be one of {sorted(RECIPES)}, got {name!r}")
    for key, low in (("steps", 1), ("save_every", 1), ("metric_every", 0)):
        value = values.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < low):
            kind = "a positive int" if low else "an int >= 0"
            raise ValueError(f"ganlib.train: `{key}` must be {kind}, got {value!r}")
    corpus, corpora = values.get("corpus"), RECIPES[name].corpora
    if corpus is not None and corpus not in corpora:
        offered = f"one of {list(corpora)}" if corpora else "left out: this recipe trains on one data set"
        raise ValueError(f"ganlib.train: `corpus` for {name} must be {offered}, got {corpus!r}")
    if not isinstance(values.get("float32", False), bool):
        raise ValueError(f"ganlib.train: `float32` must be true or false, got {values['float32']!r}")
    overrides = {key: values[key] for key in OVERRIDABLE if values.get(key) is not None}
    plain = {key: values[key] for key in ("corpus", "steps", "device", "out", "save_every", "float32", "metric_every")
             if values.get(key) is not None}
    return RunConfig(recipe=name, overrides=overrides, **plain)


def build_trainer(config: RunConfig) -> Trainer:
    """The recipe's Trainer on `config.device`, with the overrides applied (each checked by the Trainer)."""
    choice = {"corpus": config.corpus} if config.corpus else {}
    trainer = RECIPES[config.recipe].build(device=config.device or "cpu", **choice)
    trainer.set_hyperparameters(**config.overrides)
    if config.float32:
        trainer.fast = False  # float32 products throughout: slower, and no bfloat16 rounding
    if config.metric_every is not None:
        trainer.metric_every = config.metric_every
    return trainer


def write_logs(trainer: Trainer, folder: Path) -> None:
    """losses.csv and metrics.csv from the trainer's history, each written whole and then renamed into place."""
    history = trainer.history
    _write_csv(folder / "losses.csv", ["step", *LOGGED],
               zip(range(1, len(history["loss_d"]) + 1), *(history[key] for key in LOGGED)))
    metric_columns = [key for key in trainer.metrics if key != "step"]
    _write_csv(folder / "metrics.csv", ["step", *metric_columns],
               zip(trainer.metrics["step"], *(trainer.metrics[key] for key in metric_columns)))


def _write_csv(path: Path, header: list[str], rows) -> None:
    """Write a CSV through a temporary file, so a reader never sees half of one."""
    temporary = path.with_name(f".{path.name}.partial")
    with open(temporary, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows(rows)
    temporary.replace(path)


def save(trainer: Trainer, folder: Path, together: bool = True) -> None:
    """The checkpoint, then the logs that agree with it; on several processes, rank 0 writes them once every
    process has averaged its batch-norm statistics (`together`; not after an interrupt, when some may be gone)."""
    if together:
        distributed.average_buffers(*trainer_networks(trainer))
    if trainer.shard.is_main:
        trainer.save(folder / "checkpoint.pt")
        write_logs(trainer, folder)
    if together:
        distributed.barrier()


def trainer_networks(trainer: Trainer) -> list:
    """The networks whose batch-norm statistics each process collects on its own."""
    return [network for network in (trainer.generator, trainer.discriminator, trainer.generator_ema) if network]


def with_earlier_settings(config: RunConfig) -> RunConfig:
    """`config` completed by the settings its folder's run.json recorded: a resumed run keeps its overrides, its
    length and its device unless the command line changes them."""
    path = config.folder / "run.json"
    if not path.exists():
        return config
    earlier = json.loads(path.read_text())
    if earlier.get("recipe") != config.recipe:
        raise ValueError(f"ganlib.train: {config.folder} holds a run of {earlier.get('recipe')!r}, not {config.recipe!r}")
    return RunConfig(recipe=config.recipe, corpus=config.corpus or earlier.get("corpus"),
                     steps=config.steps or earlier.get("steps"),
                     device=config.device or earlier.get("device"), out=config.out, save_every=config.save_every,
                     float32=config.float32 or earlier.get("float32", False),
                     metric_every=config.metric_every if config.metric_every is not None else earlier.get("metric_every"),
                     overrides={**earlier.get("overrides", {}), **config.overrides})


def prepare(config: RunConfig, shard: Shard = Shard()) -> tuple[Trainer, RunConfig]:
    """The run's trainer and settings: resumed from its folder's checkpoint when there is one, else fresh; one of
    `shard.world_size` processes when launched by torchrun."""
    config = with_earlier_settings(config)
    folder = config.folder
    folder.mkdir(parents=True, exist_ok=True)
    trainer = distributed.distribute(build_trainer(config), shard)
    checkpoint = folder / "checkpoint.pt"
    if checkpoint.exists():
        trainer.load(checkpoint)
        if shard.is_main:
            print(f"resuming {config.recipe} from step {trainer.step_count:,} ({checkpoint})")
    distributed.barrier()  # every process has read the old run.json and checkpoint before rank 0 writes
    if shard.is_main:
        (folder / "run.json").write_text(json.dumps(asdict(config), indent=1) + "\n")
        if "sc09" in RECIPES[config.recipe].corpora and config.corpus in (None, "fsdd") and audio.sc09_present():
            print("SC09 is in the data root: add --corpus sc09 to train on it (in its own run folder)")
    return trainer, config


def train(trainer: Trainer, config: RunConfig, progress: bool = True) -> Trainer:
    """Train the run to `config.steps` (the recipe's length by default), saving as it goes; Ctrl-C saves and stops."""
    target, main = config.steps or RECIPES[config.recipe].steps, trainer.shard.is_main
    if trainer.step_count >= target:
        if main:
            print(f"{config.recipe} is already at step {trainer.step_count:,} (asked for {target:,}): nothing to do")
        return trainer
    bar = progress_bar(target - trainer.step_count, "steps", trainer.step_count, progress and main)
    try:
        with bar:
            trainer.record_extras()
            while trainer.step_count < target:
                trainer.advance()
                bar.update(1)
                if trainer.step_count % config.save_every == 0:
                    save(trainer, config.folder)
                    if main:  # rank 0 flushed its history to save it; another rank's may still be empty
                        bar.set_postfix(loss_d=f"{trainer.history['loss_d'][-1]:.3f}",
                                        loss_g=f"{trainer.history['loss_g'][-1]:.3f}")
            trainer.finish()
    except KeyboardInterrupt:  # a step is never cut in half (the Trainer defers interrupts), so this state is whole
        save(trainer, config.folder, together=trainer.shard.world_size == 1)
        if main:
            print(f"\ninterrupted: saved step {trainer.step_count:,} in {config.folder}; run the same command to go on")
        raise
    save(trainer, config.folder)
    if main:
        print(summary(trainer, config))
    return trainer


def summary(trainer: Trainer, config: RunConfig) -> str:
    """One line: where the run is, how long it took, and its last metrics."""
    last = {key: values[-1] for key, values in trainer.metrics.items()
            if key not in ("step", "train_seconds") and values and not key.startswith("class_")}
    scores = ", ".join(f"{key} {value:.3g}" for key, value in last.items() if math.isfinite(value))
    return (f"{config.recipe}: step {trainer.step_count:,}, {trainer.train_seconds:.0f} s of training"
            f"{'; ' + scores if scores else ''}; saved in {config.folder}")


def parse_arguments(argv: list[str] | None) -> RunConfig:
    """The command line (and the TOML file it may name) as a RunConfig; the command line wins over the file."""
    parser = argparse.ArgumentParser(prog="python -m ganlib.train", description=__doc__.splitlines()[0])
    parser.add_argument("recipe", nargs="?", choices=sorted(RECIPES), help="which lesson's headline model")
    parser.add_argument("--config", help="a TOML file with any of the options below (and `recipe`)")
    parser.add_argument("--corpus", help="spoken_digits only: fsdd (default) or sc09, once fetched into the data "
                                         "root (ganlib.audio.fetch_sc09)")
    parser.add_argument("--steps", type=int, help="train up to this step (default: the recipe's length)")
    parser.add_argument("--batch-size", type=int, help="batch size (default: the recipe's)")
    parser.add_argument("--lr-g", type=float, help="generator's learning rate (default: the recipe's)")
    parser.add_argument("--lr-d", type=float, help="discriminator's learning rate (default: the recipe's)")
    parser.add_argument("--gradient-penalty", type=float, help="WGAN-GP's weight λ (default: the recipe's, 0)")
    parser.add_argument("--metric-every", type=int, help="steps between sample scores (default: the recipe's; 0: never)")
    parser.add_argument("--float32", action="store_true", default=None,
                        help="float32 products throughout, even where the recipe uses bfloat16 (fast=True)")
    parser.add_argument("--device", help="cpu (default), cuda, cuda:1, ...")
    parser.add_argument("--out", help=f"folder for the run's folder (default: {DEFAULT_OUT})")
    parser.add_argument("--save-every", type=int, help="steps between checkpoints (default: 500)")
    args = vars(parser.parse_args(argv))
    values = read_config_file(args.pop("config")) if args.get("config") else {}
    values.update({key: value for key, value in args.items() if value is not None})
    if "recipe" not in values:
        parser.error(f"name a recipe ({', '.join(sorted(RECIPES))}) or a --config file with `recipe`")
    return make_config(values)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    try:
        config = parse_arguments(argv)
        trainer, config = prepare(config, distributed.start(config.device or "cpu"))
    except (ValueError, TypeError, OSError, DataNotFoundError, tomllib.TOMLDecodeError) as error:
        print(f"error: {error}", file=sys.stderr)
        distributed.stop()
        return 2
    try:
        train(trainer, config)
    except KeyboardInterrupt:
        return 130
    finally:
        distributed.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
