"""The GAN step as plain functions: read this page beside lesson 02's hand-written loop.

One training iteration is `d_steps` calls of `discriminator_update`, then one `generator_update`
(and `ema_update` when G's weights are averaged). The Trainer only wires these together: it draws
the noise and the batches, makes the fakes, sets the learning rates, and logs what the updates return.
As in the PyTorch DCGAN tutorial, the generator's update reuses the fakes of the last discriminator
update: D learned on them detached, and G now learns through the updated D on the same fakes, so G's
forward pass runs once per iteration, not twice.
A new objective (for example a semi-supervised discriminator) is a new function here.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Callable

import torch
from torch import nn

from ..losses import (discriminator_loss_for, feature_matching_loss, generator_loss, gradient_penalty, real_logit,
                      semi_supervised_discriminator_loss)

Precision = Callable[[], AbstractContextManager]


def forward(network: nn.Module, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
    """network(x), or network(x, labels) for a class-conditional network."""
    return network(x) if labels is None else network(x, labels)


@contextmanager
def frozen(network: nn.Module) -> Iterator[nn.Module]:
    """Inside the block, `network` collects no gradients; each parameter's flag is restored on every exit path.

    Restoring happens in `finally`, so an interrupt (Ctrl-C, JupyterLab's "Interrupt kernel") in the middle
    of a step cannot leave the discriminator frozen.
    """
    parameters = list(network.parameters())
    flags = [parameter.requires_grad for parameter in parameters]
    try:
        for parameter in parameters:
            parameter.requires_grad_(False)
        yield network
    finally:
        for parameter, flag in zip(parameters, flags):
            parameter.requires_grad_(flag)


def make_optimizer(name: str, network: nn.Module, lr: float, betas: tuple[float, float],
                   fused: bool = False) -> torch.optim.Optimizer:
    """Adam with `betas`, plain SGD, or RMSprop (the original WGAN's choice).

    `fused`: Adam's update in one pass over the weights, rather than several (the same arithmetic, rounded in
    another order; 1.2x the whole step's speed on a 2-core CPU, measured with ganlib.bench).
    """
    if name == "sgd":
        return torch.optim.SGD(network.parameters(), lr=lr)
    if name == "rmsprop":
        return torch.optim.RMSprop(network.parameters(), lr=lr)
    return torch.optim.Adam(network.parameters(), lr=lr, betas=betas, fused=fused or None)


def discriminator_update(discriminator: nn.Module, optimizer: torch.optim.Optimizer, real: torch.Tensor,
                         fake: torch.Tensor, *, g_loss: str, labels: torch.Tensor | None = None,
                         real_label: float = 1.0, penalty_weight: float = 0.0, rng: torch.Generator | None = None,
                         penalty_mix: torch.Tensor | None = None,
                         precision: Precision = nullcontext) -> tuple[torch.Tensor, ...]:
    """One D update on a real batch and a fake batch (made without gradients).

    The gradient penalty's interpolation weights are `penalty_mix` (one per row), or drawn from `rng` when None.

    Returns (loss, mean D(real), mean D(fake), score gap) as tensors: D's outputs as probabilities
    (sigmoid of the logits) and the gap mean D(real) - mean D(fake) on raw scores (a critic's W1 estimate).
    """
    with precision():
        real_logits, fake_logits = forward(discriminator, real, labels), forward(discriminator, fake, labels)
        loss = discriminator_loss_for(g_loss)(real_logits.float(), fake_logits.float(), real_label=real_label)
        if penalty_weight:
            def critic(x: torch.Tensor) -> torch.Tensor:
                return forward(discriminator, x, labels).float()
            loss = loss + penalty_weight * gradient_penalty(critic, real, fake.float(), rng, mix=penalty_mix)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    real_logits, fake_logits = real_logits.detach(), fake_logits.detach()
    return (loss.detach(), torch.sigmoid(real_logits).mean(), torch.sigmoid(fake_logits).mean(),
            real_logits.mean() - fake_logits.mean())


def generator_update(generator: nn.Module, discriminator: nn.Module, optimizer: torch.optim.Optimizer,
                     fake: torch.Tensor, *, g_loss: str, labels: torch.Tensor | None = None,
                     precision: Precision = nullcontext) -> tuple[torch.Tensor, torch.Tensor]:
    """One G update through a frozen D, on fakes G made with gradients; returns the loss and G's gradient norm."""
    with frozen(discriminator):  # no wasted gradients for D's weights
        with precision():
            fake_logits = forward(discriminator, fake, labels).float()
        loss = generator_loss(g_loss)(fake_logits)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
    grad_norm = gradient_norm(generator)
    optimizer.step()
    return loss.detach(), grad_norm


def semi_supervised_discriminator_update(discriminator: nn.Module, optimizer: torch.optim.Optimizer,
                                         labelled: torch.Tensor, labels: torch.Tensor, unlabelled: torch.Tensor,
                                         fake: torch.Tensor, *, unsupervised_weight: float = 0.5,
                                         precision: Precision = nullcontext) -> tuple[torch.Tensor, ...]:
    """One update of a K-class discriminator (Salimans et al., 2016): cross-entropy on the labelled batch plus
    `unsupervised_weight` times the real-vs-fake loss on the unlabelled batch and the fakes (made without gradients).

    The three batches go through D in one pass. Returns (loss, mean D(unlabelled), mean D(fake), score gap) as
    `discriminator_update` does, with D = sigmoid(logsumexp of the class logits), and the supervised loss alone.
    """
    with precision():
        logits = discriminator(torch.cat([labelled, unlabelled, fake])).float()
    labelled_logits, unlabelled_logits, fake_logits = logits.split([len(labelled), len(unlabelled), len(fake)])
    supervised, unsupervised = semi_supervised_discriminator_loss(labelled_logits, labels, unlabelled_logits,
                                                                  fake_logits)
    loss = supervised + unsupervised_weight * unsupervised
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    real_scores, fake_scores = real_logit(unlabelled_logits.detach()), real_logit(fake_logits.detach())
    return (loss.detach(), torch.sigmoid(real_scores).mean(), torch.sigmoid(fake_scores).mean(),
            real_scores.mean() - fake_scores.mean(), supervised.detach())


def feature_matching_update(generator: nn.Module, discriminator: nn.Module, optimizer: torch.optim.Optimizer,
                            real: torch.Tensor, fake: torch.Tensor, *,
                            precision: Precision = nullcontext) -> tuple[torch.Tensor, torch.Tensor]:
    """One G update by feature matching: bring the mean of D's `features` on the fakes (made with gradients) to
    their mean on the real batch, through a frozen D. Returns the loss and G's gradient norm."""
    with frozen(discriminator):
        with precision():
            with torch.no_grad():
                real_features = discriminator.features(real)
            fake_features = discriminator.features(fake)
        loss = feature_matching_loss(real_features.float(), fake_features.float())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
    grad_norm = gradient_norm(generator)
    optimizer.step()
    return loss.detach(), grad_norm


def gradient_norm(network: nn.Module) -> torch.Tensor:
    """The L2 norm of all of a network's gradients together (0 when it has none)."""
    grads = [parameter.grad for parameter in network.parameters() if parameter.grad is not None]
    if not grads:
        return torch.zeros(())
    return torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))


@torch.no_grad()
def clip_weights(network: nn.Module, limit: float) -> None:
    """The original WGAN's crude Lipschitz constraint: every weight of the network into [-limit, limit]."""
    for parameter in network.parameters():
        parameter.clamp_(-limit, limit)


@torch.no_grad()
def ema_update(averaged: nn.Module, live: nn.Module, decay: float) -> None:
    """Move the averaged network's weights a step towards the live one's: averaged = decay·averaged + (1-decay)·live."""
    torch._foreach_lerp_(list(averaged.parameters()), list(live.parameters()), 1.0 - decay)
    for averaged_buffer, live_buffer in zip(averaged.buffers(), live.buffers()):
        averaged_buffer.copy_(live_buffer)


@torch.no_grad()
def refresh_batch_norm(network: nn.Module, batches: Iterable[tuple[torch.Tensor, ...]]) -> bool:
    """Re-estimate every batch-norm layer's running mean and variance from the network's own activations on
    `batches` (each a tuple of forward arguments), as SWA's `update_bn` does: averaged weights need statistics of
    their own, not those the live network collected. Returns whether the network has batch norm at all."""
    layers = [layer for layer in network.modules() if isinstance(layer, nn.modules.batchnorm._BatchNorm)]
    if not layers:
        return False
    momenta, was_training = [layer.momentum for layer in layers], network.training
    try:
        for layer in layers:
            layer.reset_running_stats()
            layer.momentum = None  # None: a plain average over all the batches, not a running one
        network.train()
        for batch in batches:
            network(*batch)
    finally:
        for layer, momentum in zip(layers, momenta):
            layer.momentum = momentum
        network.train(was_training)
    return True
