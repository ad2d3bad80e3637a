"""2-D toy distributions, their mode metrics and divergences, and the losses lesson 03 compares."""
import math

import pytest
import torch
import torch.nn.functional as F

import ganlib
from ganlib.data import grid_of_gaussians, ring_of_gaussians, swiss_roll, toy_distribution
from ganlib.losses import discriminator_loss, least_squares_discriminator_loss, least_squares_generator_loss
from ganlib.metrics import grid_divergences, mode_metrics
from ganlib.models import MLPDiscriminator, MLPGenerator

WITHIN_3_STD_2D = 1 - math.exp(-4.5)  # P(|x - mode| <= 3 std) for an isotropic 2-D Gaussian: 98.9%


def test_ring_has_eight_equal_modes_at_radius_two():
    ring = ring_of_gaussians()
    points = ring.sample(40_000)
    assert ring.centers.shape == (8, 2) and ring.std == 0.02
    assert torch.allclose(ring.centers.norm(dim=1), torch.full((8,), 2.0))
    nearest = torch.cdist(points, ring.centers).argmin(dim=1)
    shares = torch.bincount(nearest, minlength=8) / len(points)
    assert torch.allclose(shares, torch.full((8,), 1 / 8), atol=0.01)
    offsets = points - ring.centers[nearest]
    assert offsets.std(dim=0) == pytest.approx(torch.tensor([0.02, 0.02]), rel=0.05)


def test_grid_has_25_modes_two_apart():
    grid = grid_of_gaussians()
    assert grid.centers.shape == (25, 2) and grid.std == 0.05
    assert sorted(set(grid.centers[:, 0].tolist())) == [-4.0, -2.0, 0.0, 2.0, 4.0]
    points = grid.sample(50_000, seed=3)
    offsets = points - grid.centers[torch.cdist(points, grid.centers).argmin(dim=1)]
    assert offsets.std(dim=0) == pytest.approx(torch.tensor([0.05, 0.05]), rel=0.05)


def test_swiss_roll_is_a_noisy_spiral_without_modes():
    roll = swiss_roll()
    points = roll.sample(20_000)
    assert roll.centers is None and points.shape == (20_000, 2)
    radius = points.norm(dim=1) * 7.5  # the spiral's radius equals its angle t in [1.5 pi, 4.5 pi]
    assert 1.5 * math.pi - 1.5 < radius.min() and radius.max() < 4.5 * math.pi + 1.5
    assert radius.mean() == pytest.approx(3 * math.pi, rel=0.05)


def test_toy_samples_are_reproducible_and_names_are_checked():
    assert torch.equal(toy_distribution("ring").sample(100, seed=1), toy_distribution("ring").sample(100, seed=1))
    assert not torch.equal(toy_distribution("ring").sample(100, seed=1), toy_distribution("ring").sample(100, seed=2))
    with pytest.raises(ValueError, match="`name`"):
        toy_distribution("moons")
    with pytest.raises(ValueError, match="`n`"):
        toy_distribution("grid").sample(0)


@pytest.mark.parametrize("make", [ring_of_gaussians, grid_of_gaussians])
def test_mode_metrics_on_samples_from_all_modes(make):
    data = make()
    scores = mode_metrics(data.sample(2500), data.centers, data.std)
    assert scores["modes_covered"] == scores["modes_total"] == len(data.centers)
    assert scores["high_quality"] == pytest.approx(100 * WITHIN_3_STD_2D, abs=0.8)


def test_mode_metrics_on_one_mode_and_on_off_mode_noise():
    ring = ring_of_gaussians()
    one_mode = ring.centers[3] + ring.std * torch.randn(2500, 2, generator=torch.Generator().manual_seed(0))
    scores = mode_metrics(one_mode, ring.centers, ring.std)
    assert scores["modes_covered"] == 1 and scores["high_quality"] > 97
    assert scores["mode_3"] == pytest.approx(scores["high_quality"]) and scores["mode_0"] == 0
    noise = 4 * torch.rand(2500, 2, generator=torch.Generator().manual_seed(0)) - 2  # uniform on [-2, 2]^2
    scores = mode_metrics(noise, ring.centers, ring.std)
    assert scores["modes_covered"] == 0 and scores["high_quality"] < 1
    with pytest.raises(ValueError, match="`centers`"):
        mode_metrics(noise, None, 0.1)


def test_grid_divergences_are_small_for_the_same_distribution_and_large_for_a_collapse():
    ring = ring_of_gaussians()
    real = ring.sample(10_000, seed=1)
    same = grid_divergences(real, ring.sample(10_000, seed=2))
    collapsed = grid_divergences(real, ring.centers[0] + ring.std * torch.randn(10_000, 2))
    assert same["js"] < 0.01 and same["kl"] < 0.02
    # one mode of eight: JS = (1/8 log(2/9) + 7/8 log 2 + log(16/9)) / 2 = 0.497 nats exactly (disjoint modes)
    assert collapsed["js"] == pytest.approx(0.497, abs=0.01) and collapsed["kl"] > math.log(8)
    noise = grid_divergences(real, 5 * torch.rand(10_000, 2, generator=torch.Generator().manual_seed(4)) - 2.5)
    # uniform noise shares almost no cell with the ring: its JS is near log 2, well apart from one mode's
    assert noise["js"] > collapsed["js"] + 0.1 and noise["js"] <= math.log(2)


def test_label_smoothing_and_least_squares_losses():
    real, fake = torch.tensor([2.0, -1.0, 0.5]), torch.tensor([-3.0, 0.2, 1.0])
    smoothed = discriminator_loss(real, fake, real_label=0.9)
    expected = (F.binary_cross_entropy_with_logits(real, torch.full_like(real, 0.9))
                + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))
    assert smoothed == pytest.approx(float(expected), rel=1e-6)
    assert least_squares_discriminator_loss(torch.ones(4), torch.zeros(4)) == 0
    assert least_squares_generator_loss(torch.ones(4)) == 0
    assert least_squares_generator_loss(torch.zeros(4)) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="`real_label`"):
        discriminator_loss(real, fake, real_label=0.3)


@pytest.mark.parametrize("options", [{"g_loss": "least_squares"}, {"label_smoothing": 0.1},
                                     {"optimizer": "sgd", "lr_g": 0.05, "lr_d": 0.05}])
def test_trainer_runs_with_each_lesson_03_option(options):
    ring = ring_of_gaussians()
    ganlib.set_seed(0)
    trainer = ganlib.Trainer(MLPGenerator(2, (64, 64), 2, tanh_output=False), MLPDiscriminator(2, (64, 64)),
                             ring.sample(4096), batch_size=256, device="cpu", **options)
    trainer.train(steps=5, progress=False)
    assert len(trainer.history["loss_d"]) == 5 and all(map(math.isfinite, trainer.history["loss_d"]))
    with pytest.raises(ValueError, match="`label_smoothing`"):
        trainer.set_hyperparameters(label_smoothing=0.6)
