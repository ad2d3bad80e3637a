"""The one checkpoint format: a dict of tensors and plain containers, written atomically, read with
`weights_only=True` so that a checkpoint can never run code."""
from __future__ import annotations

import copy
import pickle
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from ..cache import atomic_save

if TYPE_CHECKING:
    from .trainer import Trainer

CHECKPOINT_FORMAT = "ganlib-checkpoint-v1"


def training_state(trainer: "Trainer") -> dict:
    """Everything a step changes: weights, optimizer moments, random states and counters."""
    return {"generator": trainer.generator.state_dict(), "discriminator": trainer.discriminator.state_dict(),
            "generator_ema": trainer.generator_ema.state_dict() if trainer.generator_ema else None,
            "opt_g": trainer.opt_g.state_dict(), "opt_d": trainer.opt_d.state_dict(), "rng": trainer.rng.get_state(),
            "sampler": trainer.sampler.state_dict(), "step": trainer.step_count, "train_seconds": trainer.train_seconds,
            **trainer.extra_state()}


def load_training_state(trainer: "Trainer", state: dict) -> None:
    """Put a state from `training_state` (or a checkpoint) into a trainer."""
    trainer.generator.load_state_dict(state["generator"])
    trainer.discriminator.load_state_dict(state["discriminator"])
    if trainer.generator_ema is not None:
        trainer.generator_ema.load_state_dict(state["generator_ema"] or state["generator"])
    trainer.opt_g.load_state_dict(state["opt_g"])
    trainer.opt_d.load_state_dict(state["opt_d"])
    trainer.rng.set_state(state["rng"].cpu())
    trainer.sampler.load_state_dict(state["sampler"])
    trainer.step_count, trainer.train_seconds = state["step"], state["train_seconds"]
    trainer.load_extra_state(state)


def checkpoint_state(trainer: "Trainer") -> dict:
    """Everything a checkpoint holds: the training state, and the history, metrics, snapshots and fixed noise."""
    return {**training_state(trainer), "history": trainer.history, "metrics": trainer.metrics,
            "snapshots": trainer.snapshots, "fixed_noise": trainer.fixed_noise}


def restore_checkpoint(trainer: "Trainer", state: dict, path: str | Path) -> None:
    """Put a checkpoint's contents into a trainer; one that does not fit changes nothing and says why."""
    before = copy.deepcopy(training_state(trainer))
    try:
        load_training_state(trainer, state)
    except (RuntimeError, KeyError, ValueError) as error:
        load_training_state(trainer, before)
        raise ValueError(f"Trainer.load: {path} does not fit this trainer: it was saved from networks of "
                         f"another architecture or settings. {str(error).splitlines()[0]}") from None
    trainer.log.history.clear()
    trainer.log.history.update(state["history"])
    trainer.log.pending = []
    trainer.metrics, trainer.snapshots = state["metrics"], state.get("snapshots", [])
    trainer.fixed_noise = state["fixed_noise"].to(trainer.device)


def write_checkpoint(state: dict, path: str | Path) -> None:
    """Write `state` atomically (a temporary file, then a rename): a crash or an interrupt never leaves half of one."""
    atomic_save({"format": CHECKPOINT_FORMAT, **state}, path)


def read_checkpoint(path: str | Path, device: torch.device) -> dict:
    """A checkpoint written by `write_checkpoint`; a clear ValueError for anything else."""
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except pickle.UnpicklingError as error:
        raise ValueError(f"Trainer.load: {path} holds more than tensors and plain containers (possibly code), "
                         f"so it was refused: {str(error).splitlines()[0]}") from None
    if not isinstance(state, dict) or not str(state.get("format", "")).startswith("ganlib-checkpoint"):
        raise ValueError(f"Trainer.load: {path} is not a ganlib checkpoint (written by Trainer.save)")
    if state["format"] != CHECKPOINT_FORMAT:
        raise ValueError(f"Trainer.load: {path} is in format {state['format']!r}, but this version of ganlib "
                         f"reads {CHECKPOINT_FORMAT!r}: re-make the checkpoint with this version")
    return state
