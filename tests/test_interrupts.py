"""Interrupting training at random moments, as JupyterLab's "Interrupt kernel" does, leaves everything usable.

Each test interrupts a long run many times, each time at a random moment (a KeyboardInterrupt raised in the main
thread by a timer, which is what a SIGINT does), and after each interrupt checks that the Trainer (or the dashboard,
or the GAN Lab view) trains on, and that it saves and loads.
"""
from __future__ import annotations

import _thread
import random
import signal
import threading
from pathlib import Path
from typing import Callable

import pytest
import torch

from ganlib.ganlab import ToyGanLab, ToyGanSettings
from ganlib.training import Trainer
from ganlib.widgets import TrainingDashboard
from test_training import small_trainer

pytestmark = pytest.mark.usefixtures("python_handles_ctrl_c")
INTERRUPTS = 50
LONGEST_DELAY_S = 0.03  # each interrupt comes at a random moment within this time of the run's start


def interrupted(run: Callable[[], object], delay: float) -> bool:
    """Start `run`, interrupt it after `delay` seconds; whether the interrupt landed inside it."""
    timer, running = threading.Timer(delay, _thread.interrupt_main), False
    try:
        timer.start()  # a very short delay can interrupt this already
        running = True
        run()
    except KeyboardInterrupt:
        return running
    finally:
        timer.join()
    return False


def assert_usable(trainer: Trainer, path: Path) -> None:
    """Ctrl-C works again; nothing is left frozen or in eval mode; a few more steps train; a save and a load work."""
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler, \
        f"the SIGINT handler was left as {signal.getsignal(signal.SIGINT)!r}: later interrupts would be lost"
    assert all(parameter.requires_grad for parameter in trainer.discriminator.parameters()), "D was left frozen"
    assert all(parameter.requires_grad for parameter in trainer.generator.parameters()), "G was left frozen"
    before = trainer.step_count
    trainer.train(steps=3, progress=False)
    assert trainer.step_count == before + 3
    assert all(len(values) == trainer.step_count for values in trainer.history.values())
    assert all(torch.isfinite(torch.tensor(trainer.history[key][-3:])).all() for key in ("loss_d", "loss_g"))
    trainer.save(path)
    weights = {name: value.clone() for name, value in trainer.generator.state_dict().items()}
    trainer.train(steps=2, progress=False)
    trainer.load(path)
    assert trainer.step_count == before + 3
    assert all(torch.equal(value, weights[name]) for name, value in trainer.generator.state_dict().items())


def interrupt_many_times(run: Callable[[], object], trainer_of: Callable[[], Trainer], tmp_path: Path) -> int:
    """Interrupt `run` at random moments until INTERRUPTS have landed inside it, checking after each; the tries."""
    delays = random.Random(0)
    landed = tries = 0
    while landed < INTERRUPTS and tries < 2 * INTERRUPTS:  # a very early interrupt may land before the run starts
        tries += 1
        landed += interrupted(run, delays.uniform(0, LONGEST_DELAY_S))
        assert_usable(trainer_of(), tmp_path / "after_interrupt.pt")
    assert landed == INTERRUPTS, f"only {landed} of {tries} interrupts landed inside the run"
    return tries


def test_a_trainer_interrupted_at_random_moments_trains_saves_and_loads(tmp_path: Path):
    trainer = small_trainer(d_steps=2, gradient_penalty=1.0, g_loss="wasserstein", ema_decay=0.9)
    interrupt_many_times(lambda: trainer.train(steps=10**6, progress=True), lambda: trainer, tmp_path)


def test_a_frozen_layer_stays_frozen_after_an_interrupted_generator_step(tmp_path: Path):
    trainer = small_trainer()
    first = next(trainer.discriminator.parameters()).requires_grad_(False)
    for delay in random.Random(1).choices([0.001, 0.003, 0.01], k=10):
        interrupted(lambda: trainer.train(steps=10**6, progress=False), delay)
        assert not first.requires_grad
        assert all(p.requires_grad for p in list(trainer.discriminator.parameters())[1:])


def test_a_dashboard_run_interrupted_at_random_moments_goes_on(tmp_path: Path):
    dash = TrainingDashboard(small_trainer(), steps=10**6, metric=None, draw_samples=lambda ax, trainer: None,
                             min_redraw_seconds=0.005)
    interrupt_many_times(lambda: dash.run(10**6), lambda: dash.trainer, tmp_path)
    assert dash.state == "paused" and dash.error is None and "interrupted" in dash.status.value
    start = dash.trainer.step_count
    dash.run(until_step=start + 5)
    assert dash.trainer.step_count == start + 5 and dash.state == "stopped"


def test_the_gan_lab_view_interrupted_at_random_moments_goes_on(tmp_path: Path):
    lab = ToyGanLab(steps=10**6, settings=ToyGanSettings(g_width=16, d_width=16), metric_every=10**6)
    interrupt_many_times(lambda: lab.run(10**6), lambda: lab.trainer, tmp_path)
    lab.run(until_step=lab.trainer.step_count + 5)
    lab.rebuild(seed=1)
    assert lab.run(5).step_count == 5


def test_a_holder_left_behind_by_a_cut_short_block_does_not_swallow_later_interrupts():
    from ganlib.training.guard import InterruptHolder, interrupts_deferred
    previous = signal.signal(signal.SIGINT, InterruptHolder(signal.default_int_handler))  # as if left behind
    try:
        with pytest.raises(KeyboardInterrupt):
            with interrupts_deferred():
                _thread.interrupt_main()
                sum(range(1000))  # the interrupt is held here, and raised as the block ends
    finally:
        signal.signal(signal.SIGINT, previous)
