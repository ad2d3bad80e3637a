"""Wasserstein fixes: critic losses, the gradient penalty, weight clipping and spectral normalisation."""
import pytest
import torch
from torch import nn
from torch.func import functional_call

from ganlib.losses import (critic_generator_loss, discriminator_loss_for, gradient_penalty, hinge_discriminator_loss,
                           wasserstein_critic_loss)
from ganlib.models import MLPDiscriminator
from test_training import small_trainer


def test_critic_losses_on_known_scores():
    real, fake = torch.tensor([2.0, 0.5]), torch.tensor([-3.0, 0.0])
    assert wasserstein_critic_loss(real, fake) == pytest.approx(-1.5 - 1.25)
    # hinge: real scores below 1 and fake scores above -1 are penalised linearly, the rest not at all
    assert hinge_discriminator_loss(real, fake) == pytest.approx((0 + 0.5) / 2 + (0 + 1) / 2)
    assert critic_generator_loss(fake) == pytest.approx(1.5)
    assert discriminator_loss_for("wasserstein") is wasserstein_critic_loss
    assert discriminator_loss_for("hinge") is hinge_discriminator_loss


def test_critic_losses_refuse_label_smoothing():
    with pytest.raises(ValueError, match="label_smoothing"):
        wasserstein_critic_loss(torch.zeros(3), torch.zeros(3), real_label=0.9)
    trainer = small_trainer(g_loss="hinge", label_smoothing=0.1)
    with pytest.raises(ValueError, match="label_smoothing"):
        trainer.step()


def test_gradient_penalty_of_a_linear_critic_is_exact():
    # f(x) = w.x has gradient w everywhere, so the penalty is (|w| - 1)^2 wherever it is evaluated.
    critic = nn.Linear(5, 1, bias=False).double()
    real, fake = torch.randn(16, 5, dtype=torch.double), torch.randn(16, 5, dtype=torch.double)
    expected = (critic.weight.norm() - 1).item() ** 2
    assert gradient_penalty(lambda x: critic(x).squeeze(1), real, fake).item() == pytest.approx(expected, rel=1e-12)


def test_gradient_penalty_matches_finite_differences():
    """The penalty's gradient with respect to the critic's weights (a second derivative) against finite differences."""
    critic = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1)).double()
    real, fake = torch.randn(10, 3, dtype=torch.double), torch.randn(10, 3, dtype=torch.double)
    names = [name for name, _ in critic.named_parameters()]

    def penalty(*weights: torch.Tensor) -> torch.Tensor:
        score = lambda x: functional_call(critic, dict(zip(names, weights)), (x,)).squeeze(1)
        return gradient_penalty(score, real, fake, rng=torch.Generator().manual_seed(0))  # same points each call

    weights = tuple(p.detach().clone().requires_grad_(True) for p in critic.parameters())
    assert torch.autograd.gradcheck(penalty, weights, eps=1e-6, atol=1e-6)
    # and the penalty's value: the input gradient by central differences at the same interpolated points
    mix = torch.rand(10, 1, generator=torch.Generator().manual_seed(0), dtype=torch.double)
    between, h = mix * real + (1 - mix) * fake, 1e-6
    grads = torch.stack([(critic(between + h * e) - critic(between - h * e)).squeeze(1) / (2 * h)
                         for e in torch.eye(3, dtype=torch.double)], dim=1)
    expected = ((grads.norm(dim=1) - 1) ** 2).mean()
    assert penalty(*weights).item() == pytest.approx(expected.item(), rel=1e-6)


def test_gradient_penalty_checks_shapes():
    with pytest.raises(ValueError, match="same shape"):
        gradient_penalty(lambda x: x.sum(1), torch.zeros(4, 2), torch.zeros(3, 2))


def test_weight_clipping_keeps_every_weight_within_c():
    def largest_weight(clip: float) -> float:
        trainer = small_trainer(g_loss="wasserstein", optimizer="rmsprop", lr_d=5e-5, lr_g=5e-5, d_steps=5,
                                clip_weights=clip)
        trainer.train(steps=20, progress=False)
        return max(p.detach().abs().max().item() for p in trainer.discriminator.parameters())

    assert largest_weight(0.01) <= 0.01
    assert largest_weight(0.0) > 0.1, "unclipped, the same critic has weights far above c"


def test_gradient_penalty_pulls_the_critics_gradient_norm_towards_one():
    def mean_input_gradient_norm(trainer) -> float:
        x = trainer.sampler.data[:256].clone().requires_grad_(True)
        grad, = torch.autograd.grad(trainer.discriminator(x).sum(), x)
        return grad.norm(dim=1).mean().item()

    runs = {}
    for penalty in (0.0, 10.0):
        trainer = small_trainer(g_loss="wasserstein", lr_d=1e-3, lr_g=1e-4, betas=(0.0, 0.9), d_steps=5,
                                gradient_penalty=penalty)
        runs[penalty] = mean_input_gradient_norm(trainer.train(steps=150, progress=False))
    assert abs(runs[10.0] - 1) < 0.3, runs
    assert runs[0.0] > 2, "without the penalty the critic's slope grows, which is what the penalty prevents"


def test_trainer_refuses_bad_wasserstein_options():
    for name in ("gradient_penalty", "clip_weights"):
        for value in (-1.0, float("nan"), "10"):
            with pytest.raises((ValueError, TypeError), match=name):
                small_trainer(**{name: value})
    with pytest.raises(ValueError, match="optimizer"):
        small_trainer(optimizer="adagrad")


def test_score_gap_is_the_critics_wasserstein_estimate():
    trainer = small_trainer(g_loss="wasserstein", log_every=1)
    trainer.step()
    # with one D step and no penalty, the critic loss is exactly minus the score gap
    assert trainer.history["score_gap"][-1] == pytest.approx(-trainer.history["loss_d"][-1], abs=1e-6)


def test_spectral_norm_makes_each_layer_one_lipschitz():
    torch.manual_seed(0)
    critic = MLPDiscriminator(20, (64, 32), spectral_norm=True)
    x = torch.randn(128, 20)
    for _ in range(30):  # each training-mode forward pass runs one power iteration
        critic(x)
    critic.eval()
    linears = [module for module in critic.modules() if isinstance(module, nn.Linear)]
    assert len(linears) == 3
    for layer in linears:
        largest = torch.linalg.matrix_norm(layer.weight.detach(), ord=2)
        assert largest == pytest.approx(1.0, abs=0.02)
    torch.manual_seed(0)
    plain = MLPDiscriminator(20, (64, 32))
    first = torch.linalg.matrix_norm(plain.net[0].weight.detach(), ord=2)
    assert abs(first - 1) > 0.2, "without normalisation the same layer is far from 1-Lipschitz"


def test_wasserstein_1d_of_shifted_and_of_scaled_gaussians():
    from ganlib.theory import gaussian_density, wasserstein_1d
    x = torch.linspace(-10, 14, 24001, dtype=torch.float64)
    dx = float(x[1] - x[0])
    base = gaussian_density(x, 0.0, 1.0)
    for shift in (0.0, 0.5, 3.0):  # a shift moves every grain of earth by the shift
        assert wasserstein_1d(base, gaussian_density(x, shift, 1.0), dx) == pytest.approx(shift, abs=1e-3)
    # N(0, 1) against N(0, 2^2): W1 = E|X| (2 - 1) = sqrt(2 / pi) for same-mean Gaussians
    assert wasserstein_1d(base, gaussian_density(x, 0.0, 2.0), dx) == pytest.approx((2 / torch.pi) ** 0.5, abs=1e-3)


def test_activation_gradient_norms_explode_or_vanish_with_clipping_as_in_wgan_gp():
    from ganlib.metrics import activation_gradient_norms
    torch.manual_seed(0)
    critic = MLPDiscriminator(2, [64] * 6, activation="relu")
    real, fake = torch.randn(128, 2), torch.randn(128, 2) + 1
    assert len(activation_gradient_norms(critic, real, fake)) == 6
    with torch.no_grad():
        for p in critic.parameters():
            p.clamp_(-0.01, 0.01)
    norms = activation_gradient_norms(critic, real, fake)
    # every layer of tiny weights shrinks the backward signal: the input side gets the least
    assert all(earlier < later for earlier, later in zip(norms, norms[1:])), norms
    assert all(p.grad is None for p in critic.parameters()), "measuring must leave no gradients behind"
    with pytest.raises(ValueError, match="same shape"):
        activation_gradient_norms(critic, real, fake[:5])


def test_activation_gradient_norms_leave_a_spectral_norm_critic_unchanged():
    from ganlib.metrics import activation_gradient_norms
    torch.manual_seed(0)
    critic = MLPDiscriminator(4, (16, 8), spectral_norm=True)
    real, fake = torch.randn(32, 4), torch.randn(32, 4) + 1
    before = {name: value.clone() for name, value in critic.state_dict().items()}
    first = activation_gradient_norms(critic, real, fake)
    assert activation_gradient_norms(critic, real, fake) == first, "measuring twice must give the same norms"
    assert all(torch.equal(before[name], value) for name, value in critic.state_dict().items()), \
        "the power iteration's vectors must not move while measuring"
    assert critic.training, "the critic's training mode must be restored"
