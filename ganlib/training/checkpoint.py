"""The one checkpoint format: a dict of tensors and plain containers, written atomically, read with
`weights_only=True` so that a checkpoint can never run code."""
from __future__ import annotations

import os
import pickle
from pathlib import Path

import torch

CHECKPOINT_FORMAT = "ganlib-checkpoint-v1"


def write_checkpoint(state: dict, path: str | Path) -> None:
    """Write `state` next to `path` and then rename it, so a crash or an interrupt never leaves half a checkpoint."""
    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    try:
        torch.save({"format": CHECKPOINT_FORMAT, **state}, partial)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


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
