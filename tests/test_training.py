"""The Trainer: determinism, schedules, snapshots, checkpoints, clear errors."""
import pytest
import torch

import ganlib
from ganlib.models import MLPDiscriminator, MLPGenerator


def small_trainer(seed: int = 0, **options) -> ganlib.Trainer:
    """A tiny GAN on random 8-d data, fast enough for unit tests."""
    ganlib.set_seed(seed)
    data = torch.randn(512, 8, generator=torch.Generator().manual_seed(123))
    settings = {"batch_size": 32, "seed": seed, "device": "cpu", "log_every": 7, **options}
    return ganlib.Trainer(MLPGenerator(4, (16,), 8, tanh_output=False), MLPDiscriminator(8, (16,)), data, **settings)


def test_same_seed_gives_identical_losses():
    first = small_trainer(seed=3).train(steps=30, progress=False)
    second = small_trainer(seed=3).train(steps=30, progress=False)
    assert first.history["loss_d"] == second.history["loss_d"]
    assert first.history["loss_g"] == second.history["loss_g"]
    other = small_trainer(seed=4).train(steps=30, progress=False)
    assert other.history["loss_d"] != first.history["loss_d"]


def test_history_has_one_entry_per_step_and_d_steps_are_taken():
    trainer = small_trainer(d_steps=3)
    trainer.train(steps=20, progress=False)
    assert trainer.step_count == 20
    assert all(len(values) == 20 for values in trainer.history.values())
    assert trainer.opt_d.state[next(iter(trainer.discriminator.parameters()))]["step"] == 60
    assert trainer.opt_g.state[next(iter(trainer.generator.parameters()))]["step"] == 20


def test_exponential_learning_rate_decay():
    trainer = small_trainer(lr_g=1e-3, lr_d=2e-3, lr_decay=0.9, decay_every=10)
    trainer.train(steps=21, progress=False)  # the 21st step runs with step_count 20
    assert trainer.opt_g.param_groups[0]["lr"] == pytest.approx(1e-3 * 0.9**2)
    assert trainer.opt_d.param_groups[0]["lr"] == pytest.approx(2e-3 * 0.9**2)


def test_changed_hyperparameters_apply_at_the_next_step():
    trainer = small_trainer()
    trainer.train(steps=2, progress=False)
    trainer.lr_g, trainer.betas = 5e-3, (0.0, 0.9)
    trainer.step()
    assert trainer.opt_g.param_groups[0]["lr"] == pytest.approx(5e-3)
    assert trainer.opt_d.param_groups[0]["betas"] == (0.0, 0.9)


def test_snapshots_metrics_and_fixed_noise():
    calls = []
    trainer = small_trainer(snapshot_every=10, metric_every=10,
                            metric_fn=lambda g: calls.append(1) or {"mean": 0.5})
    trainer.train(steps=25, progress=False)
    assert [step for step, _ in trainer.snapshots] == [0, 10, 20, 25]
    assert trainer.metrics["step"] == [0, 10, 20, 25] and trainer.metrics["mean"] == [0.5] * 4
    assert trainer.snapshots[0][1].shape == (64, 8)
    assert torch.equal(trainer.sample_fixed(), trainer.sample_fixed())


def test_ema_generator_lags_behind_the_live_one():
    trainer = small_trainer(ema_decay=0.9)
    trainer.train(steps=10, progress=False)
    live, averaged = (torch.cat([p.flatten() for p in m.parameters()])
                      for m in (trainer.generator, trainer.generator_ema))
    assert not torch.equal(live, averaged)
    assert trainer.sampling_generator is trainer.generator_ema


def test_checkpoint_round_trip(tmp_path):
    trainer = small_trainer(ema_decay=0.5)
    trainer.train(steps=15, progress=False)
    path = tmp_path / "run.pt"
    trainer.save(str(path))
    fixed_samples = trainer.sample_fixed()
    trainer.train(steps=5, progress=False)
    restored = small_trainer(seed=9, ema_decay=0.5).load(str(path))
    assert restored.step_count == 15 and len(restored.history["loss_d"]) == 15
    assert torch.equal(restored.sample_fixed(), fixed_samples)
    restored.train(steps=5, progress=False)  # resumes exactly where the original went on
    assert restored.history["loss_d"] == trainer.history["loss_d"]
    torch.save({"weights": 1}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="checkpoint"):
        restored.load(str(tmp_path / "other.pt"))


def test_train_by_seconds_counts_training_time():
    trainer = small_trainer()
    trainer.train(seconds=0.3, progress=False)
    assert 0.3 <= trainer.train_seconds < 1.0 and trainer.step_count > 5


@pytest.mark.parametrize("option, value", [("lr_g", 0.0), ("lr_d", -1e-3), ("batch_size", 0), ("d_steps", 0),
                                           ("d_steps", 1.5), ("g_loss", "wasserstein?"), ("optimizer", "lbfgs"),
                                           ("ema_decay", 1.0)])
def test_bad_hyperparameters_are_refused_by_name(option, value):
    with pytest.raises((ValueError, TypeError), match=option):
        small_trainer(**{option: value})


def test_train_needs_steps_or_seconds():
    with pytest.raises(ValueError, match="steps"):
        small_trainer().train()


def test_nan_loss_stops_training_with_a_clear_error():
    trainer = small_trainer()
    with torch.no_grad():
        next(iter(trainer.discriminator.parameters())).fill_(float("nan"))
    with pytest.raises(FloatingPointError, match="NaN"):
        trainer.train(steps=10, progress=False)


def test_sampling_is_repeatable_and_leaves_training_alone():
    trainer = small_trainer()
    trainer.train(steps=20, progress=False)
    rng_before = trainer.rng.get_state()
    first = trainer.sample(16)
    assert torch.equal(first, trainer.sample(16)), "the same call must give the same samples (re-runnable cells)"
    assert not torch.equal(first, trainer.sample(16, seed=1))
    assert torch.equal(trainer.rng.get_state(), rng_before), "sampling must not move the training's random stream"


@pytest.mark.parametrize("scale, says", [(255.0, "can never match"), (1.0, "images in \\[0, 1\\]")])
def test_data_outside_a_tanh_generators_range_is_named(scale: float, says: str):
    images = torch.rand(64, 8, generator=torch.Generator().manual_seed(0)) * scale  # [0, 255] or [0, 1]
    with pytest.warns(UserWarning, match=f"`data`.*{says}.*to_model_range"):
        ganlib.Trainer(MLPGenerator(4, (16,), 8), MLPDiscriminator(8, (16,)), images, batch_size=8, device="cpu")


def test_data_in_a_tanh_generators_range_trains_without_a_warning(recwarn):
    images = torch.rand(64, 8, generator=torch.Generator().manual_seed(0)) * 2 - 1
    ganlib.Trainer(MLPGenerator(4, (16,), 8), MLPDiscriminator(8, (16,)), images, batch_size=8, device="cpu")
    small_trainer()  # no tanh output: any range is the generator's to learn
    assert not [warning for warning in recwarn if "`data`" in str(warning.message)]
