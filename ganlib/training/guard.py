"""The logging buffer and the divergence guard: values logged each step reach the history in one transfer every
`log_every` steps, and are checked then for NaN and infinities (a check each step would cost a sync each step)."""
from __future__ import annotations

import math
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
from torch import nn

# d_real, d_fake: mean sigmoid of D's outputs (probabilities for the cross-entropy losses only);
# score_gap: mean D(real) - mean D(fake) on raw outputs, the critic's Wasserstein estimate in a WGAN.
LOGGED = ("loss_d", "loss_g", "d_real", "d_fake", "grad_norm_g", "score_gap")
DIVERGED_WHAT = {"loss_d": "the discriminator's loss", "loss_g": "the generator's loss",
                 "d_real": "D's output on real data", "d_fake": "D's output on fakes",
                 "grad_norm_g": "the generator's gradient norm", "score_gap": "the critic's score gap"}


class InterruptHolder:
    """A SIGINT handler that holds an interrupt instead of raising it, and knows the handler it stands in for."""

    def __init__(self, replaced: Callable) -> None:
        self.replaced, self.received = replaced, []

    def __call__(self, signum: int, frame: object) -> None:
        self.received.append(frame)


@contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Inside the block Ctrl-C (or JupyterLab's "Interrupt kernel") waits, and takes effect as the block ends.

    A training step is run inside it, so an interrupt never cuts a step in half: no parameter is left frozen,
    no optimizer half-updated. Off the main thread, where Python delivers no signals, it does nothing.
    """
    previous = signal.getsignal(signal.SIGINT) if threading.current_thread() is threading.main_thread() else None
    # `signal.signal` runs pending handlers before it swaps, so another signal's exception (a timeout's SIGALRM)
    # can stop a block from putting its holder back: a holder found here is such a leftover, and is skipped.
    while isinstance(previous, InterruptHolder):
        previous = previous.replaced
    if not callable(previous):  # not the main thread, or a handler Python does not manage: nothing to defer
        yield
        return
    holder = InterruptHolder(previous)
    signal.signal(signal.SIGINT, holder)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if holder.received:
            previous(signal.SIGINT, holder.received[0])  # the usual handler raises KeyboardInterrupt now


class TrainingDiverged(FloatingPointError):
    """Training produced NaN or infinite values; the trainer has gone back to its last good state."""


class TrainingLog:
    """Per-step values (LOGGED) kept as tensors until `flush` moves them to `history` as Python floats."""

    def __init__(self) -> None:
        self.history: dict[str, list[float]] = {key: [] for key in LOGGED}
        self.pending: list[torch.Tensor] = []

    def append(self, *values: torch.Tensor) -> None:
        """One step's values, in the order of LOGGED."""
        self.pending.append(torch.stack(values))

    def flush(self, step_count: int) -> tuple[torch.Tensor, int] | None:
        """Move pending values to the history; returns (rows, number of the first row's step - 1), or None."""
        if not self.pending:
            return None
        with interrupts_deferred():  # cut in half, the history's columns would lose rows, and _align pad the end
            rows = torch.stack(self.pending).cpu()
            self.pending = []
            for column, key in enumerate(LOGGED):
                self.history[key].extend(rows[:, column].tolist())
            self._align(step_count)
        return rows, step_count - len(rows)

    def _align(self, step_count: int) -> None:
        """Keep one value per step: an interrupt between logging a step and counting it can leave one too many
        or too few (a lost value is NaN, which plots as a gap)."""
        for values in self.history.values():
            del values[step_count:]
            values.extend([math.nan] * (step_count - len(values)))

    def truncate(self, steps: int) -> None:
        """Forget logged values past `steps` (after going back to an earlier state)."""
        self.pending = []
        for key in LOGGED:
            del self.history[key][steps:]


def divergence(rows: torch.Tensor, first_step: int, networks: dict[str, nn.Module], step_count: int) -> str:
    """What became NaN or infinite, and when: a logged value or a network's weights ('' if nothing did)."""
    bad = ~torch.isfinite(rows)
    if bad.any():
        row, column = (int(i) for i in bad.nonzero()[0])
        value = float(rows[row, column])
        became = "NaN" if math.isnan(value) else f"{'-' if value < 0 else ''}infinite"
        return f"{DIVERGED_WHAT[LOGGED[column]]} became {became} at step {first_step + row + 1}"
    for name, network in networks.items():
        norms = torch._foreach_norm([parameter.detach() for parameter in network.parameters()])
        if norms and not bool(torch.isfinite(torch.stack(norms)).all()):
            return f"the {name}'s weights became NaN or infinite by step {step_count}"
    return ""


def advice(lr_g: float, lr_d: float, g_loss: str, gradient_penalty: float, clip_weights: float) -> str:
    """What to try after a divergence, for these settings."""
    tips = [f"lower the learning rates (now lr_g={lr_g}, lr_d={lr_d}), for example tenfold"]
    if g_loss == "wasserstein" and not gradient_penalty and not clip_weights:
        tips.append("give the Wasserstein critic a Lipschitz constraint (gradient_penalty=10)")
    elif gradient_penalty:
        tips.append(f"check the gradient penalty's weight (now {gradient_penalty}; 10 is usual)")
    return "Try: " + "; or ".join(tips) + "."
