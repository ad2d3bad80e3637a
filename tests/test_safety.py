"""Nothing lost, nothing silent: divergence guards, safe checkpoints and determinism for every model family."""
import math

import pytest
import torch

import ganlib
from ganlib.data import mnist_vectors, toy_distribution
from ganlib.models import ConvDiscriminator, ConvGenerator, MLPDiscriminator, MLPGenerator
from ganlib.training import TrainingDiverged


def toy_trainer(seed=0, **options):
    """A small GAN on the ring of Gaussians, checked every 5 steps."""
    ganlib.set_seed(seed)
    data = toy_distribution("ring").sample(1024, seed=1)
    settings = {"batch_size": 64, "seed": seed, "device": "cpu", "log_every": 5, **options}
    return ganlib.Trainer(MLPGenerator(2, (32, 32), 2, tanh_output=False), MLPDiscriminator(2, (32, 32)), data,
                          **settings)


def _all_finite(trainer):
    networks = (trainer.generator, trainer.discriminator)
    return all(torch.isfinite(p).all() for network in networks for p in network.parameters())


def _first_parameter(network):
    return next(iter(network.parameters()))


# --- training guards: faults injected at each place a GAN can blow up -----------------------------------
def _nan_in_discriminator(trainer):
    with torch.no_grad():
        _first_parameter(trainer.discriminator)[0, 0] = float("nan")


def _inf_in_generator(trainer):
    with torch.no_grad():
        _first_parameter(trainer.generator)[0, 0] = float("inf")


def _nan_in_data(trainer):
    trainer.sampler.data[:] = float("nan")


def _nan_gradient_in_generator(trainer):
    _first_parameter(trainer.generator).register_hook(lambda grad: torch.full_like(grad, float("nan")))


def _weight_blows_up_after_the_last_checked_step(trainer):
    """Once, a G weight turns infinite after step 15's last update: no logged value shows it, the weight check does."""
    fired = []

    def hook(optimizer, args, kwargs):
        if trainer.step_count == 14 and not fired:  # G's update inside step 15, the last step before the check
            fired.append(True)
            with torch.no_grad():
                _first_parameter(trainer.generator).fill_(float("inf"))
    trainer.opt_g.register_step_post_hook(hook)


FAULTS = {
    "NaN weight in D": (_nan_in_discriminator, "the discriminator's loss became NaN at step 11"),
    "inf weight in G": (_inf_in_generator, "at step 11"),
    "NaN in the data": (_nan_in_data, "the discriminator's loss became NaN at step 11"),
    "NaN gradient in G": (_nan_gradient_in_generator, "the generator's gradient norm became NaN at step 11"),
    "G's weights blow up unseen": (_weight_blows_up_after_the_last_checked_step,
                                   "the generator's weights became NaN or infinite by step 15"),
}


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("loss", ["non_saturating", "wasserstein"])
def test_a_divergence_stops_training_says_what_and_restores_the_last_good_state(fault, loss):
    inject, message = FAULTS[fault]
    options = {"g_loss": loss, "gradient_penalty": 10.0} if loss == "wasserstein" else {}
    trainer = toy_trainer(**options)
    trainer.train(steps=10, progress=False)
    good_weights = {k: v.clone() for k, v in trainer.generator.state_dict().items()}
    inject(trainer)
    with pytest.raises(TrainingDiverged, match="lower the learning rates") as error:
        trainer.train(steps=10, progress=False)
    assert message in str(error.value) and "restored to their last good state, step 10" in str(error.value)
    assert trainer.step_count == 10 and all(len(values) == 10 for values in trainer.history.values())
    assert all(torch.equal(good_weights[k], v) for k, v in trainer.generator.state_dict().items())


def test_after_a_restore_training_goes_on_from_the_good_state():
    trainer = toy_trainer()
    trainer.train(steps=10, progress=False)
    _weight_blows_up_after_the_last_checked_step(trainer)
    with pytest.raises(TrainingDiverged):
        trainer.train(steps=10, progress=False)
    assert _all_finite(trainer)
    trainer.train(steps=10, progress=False)  # through step 15 again; the fault was a one-off
    assert trainer.step_count == 20 and all(math.isfinite(v) for v in trainer.history["loss_d"])


def test_an_unconstrained_wasserstein_critic_is_advised_a_gradient_penalty():
    trainer = toy_trainer(g_loss="wasserstein")
    _nan_in_discriminator(trainer)
    with pytest.raises(TrainingDiverged, match=r"gradient_penalty=10"):
        trainer.train(steps=5, progress=False)


def test_a_real_divergence_from_an_absurd_learning_rate_is_caught():
    trainer = toy_trainer(optimizer="sgd", lr_g=1e30, lr_d=1e30)
    with pytest.raises(TrainingDiverged, match="lr_d=1e\\+30"):
        trainer.train(steps=50, progress=False)
    assert _all_finite(trainer) and trainer.step_count % 5 == 0


# --- checkpoints ------------------------------------------------------------------------------------------
def conditional_conv_trainer(seed=0, **options):
    """A tiny class-conditional convolutional WGAN-GP with EMA: the most state a checkpoint must carry."""
    ganlib.set_seed(seed)
    images = torch.rand(64, 1, 32, 16, generator=torch.Generator().manual_seed(5)) * 2 - 1
    labels = torch.arange(64) % 4
    settings = {"batch_size": 8, "seed": seed, "device": "cpu", "log_every": 2, "ema_decay": 0.9,
                "g_loss": "wasserstein", "gradient_penalty": 10.0, "d_steps": 2, **options}
    return ganlib.Trainer(ConvGenerator(8, (32, 16), width=4, blocks=2, n_classes=4),
                          ConvDiscriminator((32, 16), width=4, blocks=2, n_classes=4), images, labels=labels,
                          **settings)


def test_a_resumed_run_continues_bit_identically(tmp_path):
    uninterrupted = conditional_conv_trainer().train(steps=6, progress=False)
    first_half = conditional_conv_trainer().train(steps=3, progress=False)
    first_half.save(tmp_path / "half.pt")
    resumed = conditional_conv_trainer(seed=7).load(tmp_path / "half.pt").train(steps=3, progress=False)
    assert resumed.history == uninterrupted.history
    for a, b in zip(resumed.generator_ema.state_dict().values(), uninterrupted.generator_ema.state_dict().values()):
        assert torch.equal(a, b)
    assert torch.equal(resumed.sample_fixed(), uninterrupted.sample_fixed())


def test_a_crash_while_saving_leaves_the_previous_checkpoint_intact(tmp_path, monkeypatch):
    trainer = toy_trainer()
    trainer.train(steps=5, progress=False)
    path = tmp_path / "run.pt"
    trainer.save(path)
    trainer.train(steps=5, progress=False)

    def crash_halfway(state, file):
        file.write(b"half a checkpoint")  # torch.save is given the open temporary file
        raise OSError("disk full")
    monkeypatch.setattr(torch, "save", crash_halfway)
    with pytest.raises(OSError, match="disk full"):
        trainer.save(path)
    monkeypatch.undo()
    assert toy_trainer().load(path).step_count == 5 and list(tmp_path.iterdir()) == [path]


def test_a_checkpoint_of_another_architecture_is_refused_and_changes_nothing(tmp_path):
    toy_trainer().save(tmp_path / "toy.pt")
    # the generator fits, the discriminator does not: the generator must not be left half-loaded
    other = ganlib.Trainer(MLPGenerator(2, (32, 32), 2, tanh_output=False), MLPDiscriminator(2, (16,)),
                           torch.randn(64, 2), batch_size=8, device="cpu", seed=3)
    before = {k: v.clone() for k, v in other.generator.state_dict().items()}
    with pytest.raises(ValueError, match="does not fit this trainer"):
        other.load(tmp_path / "toy.pt")
    assert all(torch.equal(before[k], v) for k, v in other.generator.state_dict().items())


def test_a_checkpoint_of_another_format_version_is_refused(tmp_path):
    trainer = toy_trainer()
    trainer.save(tmp_path / "run.pt")
    state = torch.load(tmp_path / "run.pt", weights_only=True)
    state["format"] = "ganlib-checkpoint-v0"
    torch.save(state, tmp_path / "old.pt")
    with pytest.raises(ValueError, match="format 'ganlib-checkpoint-v0'.*re-make"):
        trainer.load(tmp_path / "old.pt")


# --- determinism: the same seed gives the same run, for each model family ---------------------------------
def _mnist_mlp(seed):
    ganlib.set_seed(seed)
    return ganlib.Trainer(MLPGenerator(16, (32,)), MLPDiscriminator(784, (32,)), mnist_vectors()[:2048],
                          batch_size=32, seed=seed, device="cpu", ema_decay=0.9)


def _spectral_norm_hinge(seed):
    ganlib.set_seed(seed)
    return ganlib.Trainer(MLPGenerator(2, (16,), 2, tanh_output=False), MLPDiscriminator(2, (16,), spectral_norm=True),
                          toy_distribution("grid").sample(512, seed=1), batch_size=32, seed=seed, device="cpu",
                          g_loss="hinge")


FAMILIES = {
    "MLP GAN on MNIST (EMA)": _mnist_mlp,
    "MLP GAN on 2-D toy data": toy_trainer,
    "WGAN with weight clipping (RMSprop)": lambda seed: toy_trainer(seed, g_loss="wasserstein", clip_weights=0.01,
                                                                    optimizer="rmsprop", d_steps=3),
    "spectral-norm critic, hinge loss": _spectral_norm_hinge,
    "conditional conv WGAN-GP (EMA)": conditional_conv_trainer,
    "conditional conv, fast=True": lambda seed: conditional_conv_trainer(seed, fast=True),
}


@pytest.mark.parametrize("family", FAMILIES)
def test_the_same_seed_gives_identical_losses_and_samples(family):
    def run(seed):
        trainer = FAMILIES[family](seed).train(steps=4, progress=False)
        return trainer.history, trainer.sample(6, noise=torch.zeros(6, trainer.latent_dim) + 0.1)
    (history_a, samples_a), (history_b, samples_b), (history_c, _) = run(0), run(0), run(1)
    assert history_a == history_b and torch.equal(samples_a, samples_b)
    assert history_a["loss_d"] != history_c["loss_d"]  # and the seed matters
