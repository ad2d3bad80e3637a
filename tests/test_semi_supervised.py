"""The semi-supervised GAN: its losses against hand-computed values, the labelled/unlabelled split, its Trainer."""
import math

import pytest
import torch
import torch.nn.functional as F

from ganlib.losses import feature_matching_loss, real_logit, semi_supervised_discriminator_loss
from ganlib.models import ClassifierDiscriminator, MLPDiscriminator, MLPGenerator
from ganlib.training.semi_supervised import SemiSupervisedTrainer


def test_real_logit_is_the_k_plus_one_softmax_with_the_fake_logit_fixed_at_zero():
    logits = torch.randn(6, 10, generator=torch.Generator().manual_seed(0)) * 3
    with_fake = torch.cat([logits, torch.zeros(6, 1)], dim=1)
    p_real = 1 - torch.softmax(with_fake, dim=1)[:, -1]
    assert torch.allclose(torch.sigmoid(real_logit(logits)), p_real, atol=1e-6)


def test_semi_supervised_losses_by_hand():
    labelled, labels = torch.tensor([[2.0, 0.0], [0.0, 1.0]]), torch.tensor([0, 1])
    unlabelled = torch.tensor([[0.0, 0.0]])            # Z = 2: D = 2/3
    fake = torch.tensor([[math.log(3.0), 0.0]])          # Z = 4: D = 4/5
    supervised, unsupervised = semi_supervised_discriminator_loss(labelled, labels, unlabelled, fake)
    expected_supervised = (math.log(1 + math.exp(-2)) + math.log(1 + math.exp(-1))) / 2
    expected_unsupervised = -math.log(2 / 3) - math.log(1 - 4 / 5)
    assert supervised.item() == pytest.approx(expected_supervised, abs=1e-6)
    assert unsupervised.item() == pytest.approx(expected_unsupervised, abs=1e-6)


def test_unsupervised_loss_matches_the_explicit_k_plus_one_form():
    rng = torch.Generator().manual_seed(1)
    unlabelled, fake = torch.randn(8, 10, generator=rng) * 4, torch.randn(5, 10, generator=rng) * 4
    _, unsupervised = semi_supervised_discriminator_loss(torch.zeros(1, 10), torch.tensor([3]), unlabelled, fake)
    p_fake = lambda logits: torch.softmax(torch.cat([logits, torch.zeros(len(logits), 1)], 1), 1)[:, -1]  # noqa: E731
    explicit = -torch.log(1 - p_fake(unlabelled)).mean() - torch.log(p_fake(fake)).mean()
    assert unsupervised.item() == pytest.approx(explicit.item(), rel=1e-5)


def test_supervised_loss_is_plain_cross_entropy_and_sees_only_the_labelled_batch():
    rng = torch.Generator().manual_seed(2)
    labelled = torch.randn(4, 10, generator=rng).requires_grad_(True)
    unlabelled = torch.randn(6, 10, generator=rng).requires_grad_(True)
    labels = torch.tensor([1, 2, 3, 4])
    supervised, _ = semi_supervised_discriminator_loss(labelled, labels, unlabelled, torch.randn(3, 10, generator=rng))
    assert supervised.item() == pytest.approx(F.cross_entropy(labelled, labels).item(), abs=1e-6)
    labelled_grad, unlabelled_grad = torch.autograd.grad(supervised, [labelled, unlabelled], allow_unused=True)
    assert labelled_grad.abs().sum() > 0 and unlabelled_grad is None


def test_feature_matching_by_hand():
    real, fake = torch.tensor([[1.0, 2.0], [3.0, 4.0]]), torch.tensor([[0.0, 0.0], [2.0, 2.0]])
    assert feature_matching_loss(real, fake).item() == pytest.approx(((2 - 1) ** 2 + (3 - 1) ** 2) / 2)


def test_losses_name_bad_arguments():
    with pytest.raises(ValueError, match="labels"):
        semi_supervised_discriminator_loss(torch.zeros(2, 3), torch.tensor([0, 3]), torch.zeros(1, 3), torch.zeros(1, 3))
    with pytest.raises(ValueError, match="fake_logits"):
        semi_supervised_discriminator_loss(torch.zeros(2, 3), torch.tensor([0, 1]), torch.zeros(1, 3), torch.zeros(1, 4))
    with pytest.raises(ValueError, match="same features"):
        feature_matching_loss(torch.zeros(2, 3), torch.zeros(2, 4))


def small_trainer(n_labelled: int = 20, **options) -> SemiSupervisedTrainer:
    """A tiny semi-supervised GAN on random 12-dim data with 3 classes."""
    rng = torch.Generator().manual_seed(3)
    data = torch.rand(200, 12, generator=rng) * 2 - 1
    generator = MLPGenerator(4, (16,), out_dim=12)
    discriminator = ClassifierDiscriminator(12, (16, 8), n_classes=3)
    targets = torch.arange(n_labelled) % 3
    return SemiSupervisedTrainer(generator, discriminator, data, data[:n_labelled], targets,
                                 batch_size=32, log_every=5, **options)


def test_trainer_draws_labelled_batches_only_from_the_labelled_rows():
    trainer = small_trainer(n_labelled=20)
    seen = set()
    for _ in range(12):
        trainer.step()
        seen.update(trainer.labelled_sampler.last_index.tolist())
        assert len(trainer.labelled_sampler.last_index) == 20  # min(batch_size, labelled rows)
    assert seen == set(range(20))
    trainer.flush()
    history = trainer.history
    assert all(0 < value < 1 for value in history["d_real"] + history["d_fake"])
    assert all(math.isfinite(value) for value in history["loss_d"] + history["loss_g"])


def test_trainer_resumes_bit_identically(tmp_path):
    first = small_trainer()
    for _ in range(7):
        first.step()
    first.save(tmp_path / "ssl.pt")
    for _ in range(6):
        first.step()
    second = small_trainer(seed=0).load(tmp_path / "ssl.pt")
    for _ in range(6):
        second.step()
    for a, b in zip(first.discriminator.parameters(), second.discriminator.parameters()):
        assert torch.equal(a, b)
    assert torch.equal(first.generator.net[0].weight, second.generator.net[0].weight)


def test_trainer_names_what_does_not_apply():
    with pytest.raises(TypeError, match="features"):
        SemiSupervisedTrainer(MLPGenerator(4, (8,), out_dim=12), MLPDiscriminator(12, (8,)), torch.zeros(10, 12),
                              torch.zeros(3, 12), torch.tensor([0, 1, 0]))
    with pytest.raises(ValueError, match="g_loss"):
        small_trainer(g_loss="hinge")
    with pytest.raises(ValueError, match="labelled_targets"):
        SemiSupervisedTrainer(MLPGenerator(4, (8,), out_dim=12), ClassifierDiscriminator(12, (8,), n_classes=3),
                              torch.zeros(10, 12), torch.zeros(3, 12), torch.tensor([0, 1, 5]))


def test_an_interrupted_semi_supervised_trainer_trains_saves_and_loads(tmp_path, python_handles_ctrl_c):
    from test_interrupts import interrupt_many_times
    trainer = small_trainer()
    interrupt_many_times(lambda: trainer.train(steps=10**6, progress=False), lambda: trainer, tmp_path)
    assert all(not parameter.requires_grad for parameter in trainer.discriminator_ema.parameters())


def test_the_classifier_is_the_weight_average_of_d():
    trainer = small_trainer()
    for _ in range(5):
        trainer.step()
    assert trainer.classifier is trainer.discriminator_ema
    live, averaged = next(trainer.discriminator.parameters()), next(trainer.classifier.parameters())
    assert not torch.equal(live, averaged)
    no_average = small_trainer(classifier_decay=0.0)
    assert no_average.classifier is no_average.discriminator
