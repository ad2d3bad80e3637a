"""Shapes, hand-computed loss values, the D* formula, and clear errors."""
import math

import pytest
import torch

from ganlib.losses import (discriminator_loss, generator_loss, non_saturating_generator_loss,
                           saturating_generator_loss)
from ganlib.models import MLPDiscriminator, MLPGenerator
from ganlib.theory import gaussian_density, js_divergence, optimal_discriminator, optimal_logit, value_on_grid


def test_model_shapes():
    generator, discriminator = MLPGenerator(100, (128, 256), 784), MLPDiscriminator(784, (256, 128))
    images = generator(torch.randn(5, 100))
    assert images.shape == (5, 784) and images.abs().max() <= 1
    assert discriminator(images).shape == (5,)


def test_latent_size_mismatch_is_named():
    with pytest.raises(ValueError, match=r"`z`.*\[batch, 100\].*\[5, 64\]"):
        MLPGenerator(latent_dim=100)(torch.randn(5, 64))


def test_wrong_image_shape_is_named():
    with pytest.raises(ValueError, match=r"\[batch, 784\]"):
        MLPDiscriminator(784)(torch.randn(5, 1, 28, 28))


def test_unknown_activation_and_loss_are_named():
    with pytest.raises(ValueError, match="activation"):
        MLPGenerator(activation="tanh")
    with pytest.raises(ValueError, match="g_loss"):
        generator_loss("hinge-ish")


def test_losses_against_hand_computed_values():
    # logit 0 means D = 0.5; logit log(3) means D = 0.75.
    real, fake = torch.tensor([0.0, math.log(3)]), torch.tensor([0.0, -math.log(3)])
    expected_d = -(math.log(0.5) + math.log(0.75)) / 2 - (math.log(0.5) + math.log(0.75)) / 2
    assert discriminator_loss(real, fake).item() == pytest.approx(expected_d, rel=1e-6)
    fake_g = torch.tensor([0.0, math.log(3)])  # D(G(z)) = 0.5 and 0.75
    assert saturating_generator_loss(fake_g).item() == pytest.approx((math.log(0.5) + math.log(0.25)) / 2, rel=1e-6)
    assert non_saturating_generator_loss(fake_g).item() == pytest.approx(-(math.log(0.5) + math.log(0.75)) / 2, rel=1e-6)


def test_losses_are_stable_for_extreme_logits():
    logits = torch.tensor([-200.0, 200.0])
    for value in (discriminator_loss(logits, logits), saturating_generator_loss(logits),
                  non_saturating_generator_loss(logits)):
        assert torch.isfinite(value)


def test_losses_refuse_wrong_shapes():
    with pytest.raises(ValueError, match="real_logits"):
        discriminator_loss(torch.zeros(4, 1), torch.zeros(4))


def test_optimal_discriminator_formula():
    p_data, p_g = torch.tensor([0.2, 0.0, 1.0]), torch.tensor([0.2, 0.5, 3.0])
    assert torch.allclose(optimal_discriminator(p_data, p_g), torch.tensor([0.5, 0.0, 0.25]))


def test_value_at_the_optimum_is_minus_log4_plus_twice_jsd():
    x = torch.linspace(-8, 10, 4001, dtype=torch.float64)
    dx = float(x[1] - x[0])
    p_data, p_g = gaussian_density(x, 0.0, 1.0), gaussian_density(x, 2.0, 0.7)
    value = value_on_grid(optimal_logit(p_data, p_g), p_data, p_g, dx)
    assert math.isfinite(value)
    assert value == pytest.approx(-math.log(4) + 2 * js_divergence(p_data, p_g, dx), abs=1e-6)
    assert value_on_grid(optimal_logit(p_data, p_data), p_data, p_data, dx) == pytest.approx(-math.log(4), abs=1e-4)
    # any other discriminator does worse
    assert value_on_grid(optimal_logit(p_data, p_g) + 0.3, p_data, p_g, dx) < value


def test_kl_divergence_of_two_gaussians_matches_the_closed_form():
    from ganlib.theory import kl_divergence
    x = torch.linspace(-15, 15, 6001, dtype=torch.float64)
    dx = float(x[1] - x[0])
    p, q = gaussian_density(x, 1.0, 0.5), gaussian_density(x, 0.0, 2.0)
    # KL(N(m1, s1²) || N(m2, s2²)) = log(s2 / s1) + (s1² + (m1 - m2)²) / (2 s2²) - 1/2
    expected = math.log(2.0 / 0.5) + (0.25 + 1.0) / 8.0 - 0.5
    assert kl_divergence(p, q, dx) == pytest.approx(expected, abs=1e-6)
    assert kl_divergence(p, p, dx) == pytest.approx(0.0, abs=1e-12)
