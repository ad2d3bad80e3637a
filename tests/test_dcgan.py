"""Lesson 05's building blocks: DCGAN's initialisation, swapping layers for the ablations, and batch-norm statistics
that belong to the averaged generator's own weights."""
import pytest
import torch
from torch import nn

from ganlib.models import ConvDiscriminator, ConvGenerator, dcgan_initialise, replace_layers
from ganlib.training import Trainer
from ganlib.training.steps import refresh_batch_norm


def test_dcgan_initialise_draws_weights_from_n0_002_and_batch_norm_scales_near_1():
    torch.manual_seed(0)
    generator = dcgan_initialise(ConvGenerator(100, (28, 28), width=32, blocks=2))
    convolution, linear = generator.net[0], generator.project[0]
    for weight in (convolution.weight, linear.weight):
        weight = weight.detach()
        assert float(weight.std()) == pytest.approx(0.02, rel=0.05) and abs(float(weight.mean())) < 1e-3
    assert float(convolution.bias.abs().max()) == 0
    norm = generator.net[1]
    assert float(norm.weight.mean()) == pytest.approx(1.0, abs=0.01) and float(norm.bias.abs().max()) == 0
    with pytest.raises(TypeError, match="`network` must be a torch network"):
        dcgan_initialise("generator")
    with pytest.raises(ValueError, match="std"):
        dcgan_initialise(generator, std=0.0)


def test_replace_layers_swaps_at_every_depth_and_counts():
    discriminator = ConvDiscriminator((28, 28), width=8, blocks=2)
    assert replace_layers(discriminator, nn.LeakyReLU, lambda _: nn.ReLU()) == 2
    assert not any(isinstance(layer, nn.LeakyReLU) for layer in discriminator.modules())
    generator = ConvGenerator(100, (28, 28), width=8, blocks=2)
    assert replace_layers(generator, (nn.BatchNorm1d, nn.BatchNorm2d), lambda _: nn.Identity()) == 2
    assert generator(torch.randn(3, 100)).shape == (3, 1, 28, 28)
    with pytest.raises(TypeError, match="make_replacement"):
        replace_layers(generator, nn.ReLU, "identity")


def test_refresh_batch_norm_sets_the_statistics_of_the_given_batches_and_restores_the_layers():
    torch.manual_seed(0)
    network = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)).eval()
    batches = [(torch.randn(50, 3) * 2 + 1,) for _ in range(4)]
    assert refresh_batch_norm(network, batches)
    activations = network[0](torch.cat([batch[0] for batch in batches])).detach()
    norm = network[1]
    assert torch.allclose(norm.running_mean, activations.mean(0), atol=1e-5)
    assert torch.allclose(norm.running_var, activations.var(0), rtol=0.02)  # the mean of per-batch variances
    assert norm.momentum == 0.1 and not network.training
    assert not refresh_batch_norm(nn.Linear(3, 4), batches)


def _trained_with_averaging(data: torch.Tensor) -> Trainer:
    """A small DCGAN with batch norm and a weight average, trained 20 steps from seed 0."""
    torch.manual_seed(0)
    trainer = Trainer(ConvGenerator(16, (28, 28), width=8, blocks=2), ConvDiscriminator((28, 28), width=8, blocks=2),
                      data, batch_size=32, lr_g=1e-3, lr_d=1e-3, ema_decay=0.9, seed=0, device="cpu", log_every=5)
    return trainer.train(steps=20, progress=False)


def test_the_averaged_generator_samples_with_batch_norm_statistics_of_its_own_weights():
    data = torch.rand(256, 1, 28, 28, generator=torch.Generator().manual_seed(1)) * 2 - 1
    trainer = _trained_with_averaging(data)
    first = trainer.sample(16)
    live_mean = trainer.generator.project[1].running_mean
    assert not torch.equal(trainer.generator_ema.project[1].running_mean, live_mean)  # its own, not the live G's
    assert torch.equal(trainer.sample(16), first)  # the same samples every time at one step
    assert torch.equal(_trained_with_averaging(data).sample(16), first)  # and from a fresh run of the same seed
