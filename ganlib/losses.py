"""GAN losses on the discriminator's raw outputs: cross-entropy on logits (softplus form), least squares,
Wasserstein and hinge; the WGAN-GP gradient penalty; and the semi-supervised GAN's losses (Salimans et al., 2016)."""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from . import validate


def _check_logits(logits: torch.Tensor, argument: str, who: str) -> None:
    """Raise a clear error unless `logits` is a non-empty 1-D float tensor [batch] without NaN or Inf."""
    validate.tensor(logits, argument, who, shape=("batch",))


def _check_real_label(real_label: float, who: str) -> None:
    """The target for real samples: 1, or a little less with one-sided label smoothing."""
    validate.number(real_label, "real_label", who, low=0.5, high=1.0, low_open=True)


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor, real_label: float = 1.0) -> torch.Tensor:
    """Binary cross-entropy: -[log D(x) + log(1 - D(G(z)))], averaged (= -V(D, G)).

    With `real_label` < 1 (one-sided label smoothing) real samples are scored against that target.
    """
    _check_logits(real_logits, "real_logits", "discriminator_loss")
    _check_logits(fake_logits, "fake_logits", "discriminator_loss")
    _check_real_label(real_label, "discriminator_loss")
    # log D = -softplus(-logit) and log(1 - D) = -softplus(logit)
    real_term = real_label * F.softplus(-real_logits) + (1 - real_label) * F.softplus(real_logits)
    return real_term.mean() + F.softplus(fake_logits).mean()


def least_squares_discriminator_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor,
                                     real_label: float = 1.0) -> torch.Tensor:
    """LSGAN (Mao et al., 2017): D's raw score is pushed to 1 on real data and to 0 on fakes."""
    _check_logits(real_scores, "real_scores", "least_squares_discriminator_loss")
    _check_logits(fake_scores, "fake_scores", "least_squares_discriminator_loss")
    _check_real_label(real_label, "least_squares_discriminator_loss")
    return 0.5 * ((real_scores - real_label) ** 2).mean() + 0.5 * (fake_scores ** 2).mean()


def saturating_generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """The minimax generator loss: mean log(1 - D(G(z))), which G minimises."""
    _check_logits(fake_logits, "fake_logits", "saturating_generator_loss")
    return -F.softplus(fake_logits).mean()


def non_saturating_generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """The non-saturating generator loss: mean -log D(G(z))."""
    _check_logits(fake_logits, "fake_logits", "non_saturating_generator_loss")
    return F.softplus(-fake_logits).mean()


def least_squares_generator_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """LSGAN's generator loss: push D's score on fakes towards the real target 1."""
    _check_logits(fake_scores, "fake_scores", "least_squares_generator_loss")
    return 0.5 * ((fake_scores - 1) ** 2).mean()


def _no_label_smoothing(real_label: float, loss: str) -> None:
    """Critic losses have no labels to smooth."""
    if real_label != 1.0:
        raise ValueError(f"`label_smoothing` applies to the cross-entropy and least-squares losses only; "
                         f"the {loss} loss has no labels (got real_label={real_label!r})")


def wasserstein_critic_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor,
                            real_label: float = 1.0) -> torch.Tensor:
    """WGAN (Arjovsky et al., 2017): the critic maximises mean f(x) - mean f(G(z)), so it minimises the negative."""
    _check_logits(real_scores, "real_scores", "wasserstein_critic_loss")
    _check_logits(fake_scores, "fake_scores", "wasserstein_critic_loss")
    _no_label_smoothing(real_label, "wasserstein")
    return fake_scores.mean() - real_scores.mean()


def hinge_discriminator_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor,
                             real_label: float = 1.0) -> torch.Tensor:
    """Hinge loss (as in SN-GAN): real scores are pushed above +1 and fake scores below -1, no further."""
    _check_logits(real_scores, "real_scores", "hinge_discriminator_loss")
    _check_logits(fake_scores, "fake_scores", "hinge_discriminator_loss")
    _no_label_smoothing(real_label, "hinge")
    return F.relu(1 - real_scores).mean() + F.relu(1 + fake_scores).mean()


def critic_generator_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """The generator's loss against a critic (Wasserstein and hinge alike): raise the fakes' scores."""
    _check_logits(fake_scores, "fake_scores", "critic_generator_loss")
    return -fake_scores.mean()


def gradient_penalty(critic: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor, fake: torch.Tensor,
                     rng: torch.Generator | None = None, mix: torch.Tensor | None = None) -> torch.Tensor:
    """WGAN-GP (Gulrajani et al., 2017): mean (||grad_x critic(x)|| - 1)^2 at random points between real and fake.

    `mix` holds the interpolation weights in [0, 1], one per row; None draws them from `rng`.
    """
    validate.tensor(real, "real", "gradient_penalty", min_ndim=2)
    validate.tensor(fake, "fake", "gradient_penalty", min_ndim=2)
    validate.same_shape(real, fake, ("real", "fake"), "gradient_penalty")
    if not callable(critic):
        raise TypeError(f"gradient_penalty: `critic` must be callable (a network), got {type(critic).__name__}")
    shape = (real.shape[0], *([1] * (real.ndim - 1)))
    if mix is None:
        mix = torch.rand(shape, generator=rng, device=real.device, dtype=real.dtype)
    else:
        validate.tensor(mix, "mix", "gradient_penalty", shape=(real.shape[0],))
        mix = mix.to(real.dtype).view(shape)
    between = (mix * real + (1 - mix) * fake.detach()).requires_grad_(True)
    # create_graph: the penalty itself is differentiated with respect to the critic's weights.
    grad, = torch.autograd.grad(critic(between).sum(), between, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


def real_logit(class_logits: torch.Tensor) -> torch.Tensor:
    """A K-class discriminator's real-vs-fake logit, log-sum-exp of its K class logits.

    The fake class (class K+1) has its logit fixed at 0 (Salimans et al., 2016, section 5), so
    D(x) = P(real | x) = Z / (Z + 1) with Z = sum_k exp(l_k): D(x) = sigmoid(logsumexp(l)).
    """
    validate.tensor(class_logits, "class_logits", "real_logit", shape=("batch", None))
    return torch.logsumexp(class_logits, dim=1)


def semi_supervised_discriminator_loss(labelled_logits: torch.Tensor, labels: torch.Tensor,
                                       unlabelled_logits: torch.Tensor, fake_logits: torch.Tensor
                                       ) -> tuple[torch.Tensor, torch.Tensor]:
    """The K+1-class discriminator's two losses, (supervised, unsupervised), each averaged over its batch.

    supervised: cross-entropy of the labelled batch over the K real classes, -log p(y | x, x is real).
    unsupervised: -log D(x) on the unlabelled batch and -log(1 - D(G(z))) on the fakes, with D = sigmoid(logsumexp),
    that is softplus(-lse(l_unl)) + softplus(lse(l_fake)): the ordinary GAN loss on the log-sum-exp logit.
    Salimans et al. weight the unsupervised loss by 1/2 (their code); `SemiSupervisedTrainer` does too.
    """
    who = "semi_supervised_discriminator_loss"
    validate.tensor(labelled_logits, "labelled_logits", who, shape=("batch", None))
    validate.labels(labels, len(labelled_logits), labelled_logits.shape[1], who, rows_of="labelled_logits")
    for name, logits in (("unlabelled_logits", unlabelled_logits), ("fake_logits", fake_logits)):
        validate.tensor(logits, name, who, shape=("batch", labelled_logits.shape[1]))
    supervised = F.cross_entropy(labelled_logits, labels)
    unsupervised = discriminator_loss(real_logit(unlabelled_logits), real_logit(fake_logits))
    return supervised, unsupervised


def feature_matching_loss(real_features: torch.Tensor, fake_features: torch.Tensor) -> torch.Tensor:
    """Feature matching (Salimans et al., 2016): the mean squared difference between the batch means of an
    intermediate layer of D on real data and on fakes. The generator minimises it instead of fooling D."""
    validate.tensor(real_features, "real_features", "feature_matching_loss", min_ndim=2)
    validate.tensor(fake_features, "fake_features", "feature_matching_loss", min_ndim=2)
    if real_features.shape[1:] != fake_features.shape[1:]:
        raise ValueError(f"feature_matching_loss: `real_features` and `fake_features` must have the same features "
                         f"per row, got {list(real_features.shape[1:])} and {list(fake_features.shape[1:])}")
    return (real_features.mean(dim=0) - fake_features.mean(dim=0)).pow(2).mean()


GENERATOR_LOSSES: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "saturating": saturating_generator_loss,
    "non_saturating": non_saturating_generator_loss,
    "least_squares": least_squares_generator_loss,
    "wasserstein": critic_generator_loss,
    "hinge": critic_generator_loss,
}
# Each generator loss plays against one discriminator loss; the two cross-entropy variants share one.
DISCRIMINATOR_LOSSES: dict[str, Callable[..., torch.Tensor]] = {
    "saturating": discriminator_loss,
    "non_saturating": discriminator_loss,
    "least_squares": least_squares_discriminator_loss,
    "wasserstein": wasserstein_critic_loss,
    "hinge": hinge_discriminator_loss,
}


def discriminator_loss_for(g_loss: str) -> Callable[..., torch.Tensor]:
    """The discriminator loss that goes with a generator loss (see DISCRIMINATOR_LOSSES)."""
    generator_loss(g_loss)  # fails clearly on an unknown name
    return DISCRIMINATOR_LOSSES[g_loss]


def generator_loss(g_loss: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """Look up a generator loss by its name, `g_loss` (as the Trainer's option of that name)."""
    validate.choice(g_loss, "g_loss", "generator_loss", sorted(GENERATOR_LOSSES))
    return GENERATOR_LOSSES[g_loss]
