"""Class-conditional GANs: conditional conv networks, and the Trainer feeding labels through them."""
import pytest
import torch

import ganlib
from ganlib.models import ConvDiscriminator, ConvGenerator, generate


def small_pair(n_classes=3):
    """A tiny conditional generator and projection critic on 16 x 8 images."""
    torch.manual_seed(0)
    return (ConvGenerator(8, image_shape=(16, 8), width=4, blocks=2, n_classes=n_classes),
            ConvDiscriminator(image_shape=(16, 8), width=4, blocks=2, n_classes=n_classes))


def test_the_label_changes_what_a_conditional_generator_makes():
    generator, critic = small_pair()
    generator.eval()
    z = torch.randn(1, 8).expand(3, -1)
    images = generator(z, torch.tensor([0, 1, 2]))
    assert images.shape == (3, 1, 16, 8)
    assert not torch.allclose(images[0], images[1]) and not torch.allclose(images[1], images[2])
    scores = critic(images, torch.tensor([0, 1, 2]))
    assert scores.shape == (3,) and not torch.allclose(scores, critic(images, torch.tensor([1, 2, 0])))
    assert torch.equal(generate(generator, z, torch.tensor([0, 1, 2])), images.detach())


@pytest.mark.parametrize("labels, message", [(None, "pass `labels`"), (torch.tensor([0, 1]), r"\[3\]"),
                                             (torch.tensor([0, 1, 3]), "0..2"), (torch.zeros(3), "integer tensor")])
def test_conditional_networks_check_their_labels(labels, message):
    generator, critic = small_pair()
    with pytest.raises((ValueError, TypeError), match=message):
        generator(torch.randn(3, 8), labels)
    with pytest.raises((ValueError, TypeError), match=message):
        critic(torch.zeros(3, 1, 16, 8), labels)


def conditional_trainer(**options):
    """A conditional WGAN-GP on random 16 x 8 'images' with 3 classes."""
    generator, critic = small_pair()
    data = torch.rand(60, 1, 16, 8) * 2 - 1
    labels = torch.arange(60) % 3
    settings = dict(batch_size=12, g_loss="wasserstein", gradient_penalty=10.0, d_steps=2, device="cpu",
                    n_fixed=6, log_every=1, labels=labels)
    return ganlib.Trainer(generator, critic, data, **{**settings, **options})


def test_the_trainer_passes_each_real_batch_its_own_labels():
    trainer = conditional_trainer()
    seen = []
    original = trainer.discriminator.forward
    trainer.discriminator.forward = lambda x, labels=None: (seen.append((x.detach().clone(), labels)), original(x, labels))[1]
    trainer.discriminator_step()
    real, real_labels = seen[0]
    rows = trainer.sampler.last_index
    assert torch.equal(real, trainer.sampler.data[rows]) and torch.equal(real_labels, trainer.labels[rows])
    assert torch.equal(seen[1][1], real_labels), "fakes in the D step share the real batch's labels"


def test_a_conditional_gan_trains_and_samples_by_class():
    trainer = conditional_trainer().train(steps=3, progress=False)
    assert len(trainer.history["loss_d"]) == 3
    assert trainer.fixed_labels.tolist() == [0, 1, 2, 0, 1, 2] and trainer.sample_fixed().shape == (6, 1, 16, 8)
    twos = trainer.sample(4, noise=trainer.fixed_noise[:4], labels=torch.full((4,), 2))
    ones = trainer.sample(4, noise=trainer.fixed_noise[:4], labels=torch.ones(4, dtype=torch.long))
    assert not torch.allclose(twos, ones)
    with pytest.raises(ValueError, match="0..2"):
        trainer.sample(2, labels=torch.tensor([0, 5]))


def test_a_conditional_checkpoint_restores_the_same_samples(tmp_path):
    trainer = conditional_trainer().train(steps=2, progress=False)
    trainer.save(tmp_path / "conditional.pt")
    restored = conditional_trainer().load(tmp_path / "conditional.pt")
    assert torch.equal(restored.sample_fixed(), trainer.sample_fixed())


def test_the_trainer_refuses_mismatched_conditioning():
    generator, critic = small_pair()
    data, labels = torch.zeros(30, 1, 16, 8), torch.arange(30) % 3
    with pytest.raises(ValueError, match="`discriminator`"):
        ganlib.Trainer(generator, ConvDiscriminator(image_shape=(16, 8), width=4, blocks=2), data, labels=labels,
                       batch_size=10, device="cpu")
    with pytest.raises(ValueError, match=r"\[30\]"):
        ganlib.Trainer(generator, critic, data, labels=labels[:20], batch_size=10, device="cpu")
    with pytest.raises(ValueError, match="not class-conditional"):
        ganlib.Trainer(ConvGenerator(8, image_shape=(16, 8), width=4, blocks=2),
                       ConvDiscriminator(image_shape=(16, 8), width=4, blocks=2), data, labels=labels,
                       batch_size=10, device="cpu")
