"""Fuzzed inputs (issue 9): each public function of ganlib, called with one bad argument at a time (drawn by
hypothesis), must raise ValueError or TypeError whose message names that argument within a few seconds:
never a silent wrong result, never a hang. The other arguments stay valid, and a valid call is checked to work.
"""
from __future__ import annotations

import collections
import signal
from dataclasses import dataclass
from typing import Callable

import hypothesis.strategies as st
import matplotlib.pyplot as plt
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from torch import nn

from fuzz_kinds import Choice, Flag, Int, Num, Tensor, Values, labels_kind, setting_kind
from ganlib import audio, config, data, few_labels, few_labels_speech, losses, metrics, models, plotting, theory, transfer
from ganlib.training import SETTINGS, Trainer

EXAMPLES_PER_ARGUMENT = 12
TOP_UP_EXAMPLES = 4  # per argument the tests above left unfuzzed (run alone, deselected, or in another order)
TIME_LIMIT_S = 20  # a call that takes longer counts as a hang
TRIED: collections.Counter = collections.Counter()  # (function, argument, category) -> bad inputs tried and handled
FUZZ_SETTINGS = settings(max_examples=EXAMPLES_PER_ARGUMENT, deadline=None, derandomize=True, database=None,
                         suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@dataclass(frozen=True)
class Case:
    """A public function, a factory of valid keyword arguments, and the kind of each argument fuzzed."""

    name: str
    call: Callable[..., object]
    valid: Callable[[], dict]
    kinds: dict


def _logits() -> dict:
    return {"real_logits": torch.randn(5), "fake_logits": torch.randn(5)}


def _scores() -> dict:
    return {"real_scores": torch.randn(5), "fake_scores": torch.randn(5)}


LOGITS, REAL_LABEL = Tensor(ndims=(1,)), Num(0.5, 1.0, low_open=True)
BATCH = Tensor(min_ndim=2)
SIZE, WIDTHS = Int(1), Values(((0,), (-3, 4), (2.5,), "64", None, 64), "bad layer widths")
IMAGE_SHAPE = Values(((15, 8), (16,), (0, 8), (-16, 8), (16.0, 8), "16x8", None), "bad image shape")
N_CLASSES = Values((0, 1, -2, 2.5, "3"), "bad number of classes")
DENSITY = Tensor(ndims=(1,), fixed=(0,), extra=(("negative density", lambda valid: valid - 1.0),))
STEP = Num(0, low_open=True)
NON_NEGATIVE = (("negative values", lambda valid: -valid - 0.1),)


def _mlp_pair() -> tuple[nn.Module, nn.Module]:
    return models.MLPGenerator(4, (8,), 6), models.MLPDiscriminator(6, (8,))


def _conditional_conv_pair() -> tuple[nn.Module, nn.Module]:
    return (models.ConvGenerator(4, (16, 8), width=4, blocks=2, n_classes=3),
            models.ConvDiscriminator((16, 8), width=4, blocks=2, n_classes=3))


def _harmonic_generator() -> models.HarmonicGenerator:
    """A tiny conditional source-filter generator (3 classes, 16 x 8 images)."""
    return models.HarmonicGenerator(4, (16, 8), width=4, blocks=2, n_classes=3, hz_per_bin=250.0,
                                    image_scale=torch.ones(16), knots=4)


def _trainer_args() -> dict:
    generator, discriminator = _mlp_pair()
    return {"generator": generator, "discriminator": discriminator, "data": torch.rand(32, 6) * 2 - 1, "batch_size": 8}


def _small_trainer() -> Trainer:
    return Trainer(**_trainer_args(), device="cpu")


def _codec() -> audio.SpectrogramCodec:
    return audio.SpectrogramCodec(n_fft=64, hop_length=32, griffin_lim_iters=2, length=1024)


def _fitted_codec() -> audio.SpectrogramCodec:
    return _codec().fit(torch.randn(3, 1024))


CODEC_ARGS = {"n_fft": 64, "hop_length": 32, "n_mels": None, "clip_std": 3.0, "griffin_lim_iters": 2,
              "sample_rate": 8000, "length": 1024}
# Derived from the settings' one definition, for the 32 rows of data of _trainer_args.
TRAINER_HYPERPARAMETERS = {name: setting_kind(setting, data_size=32) for name, setting in SETTINGS.items()}

CASES = [
    # --- config ---
    Case("budget", config.budget, lambda: {"full": 10, "quick": 1}, {"full": STEP, "quick": STEP}),
    Case("set_seed", config.set_seed, lambda: {"seed": 3}, {"seed": Int(0, 2**63 - 1)}),
    # --- losses ---
    Case("discriminator_loss", losses.discriminator_loss, lambda: {**_logits(), "real_label": 0.9},
         {"real_logits": LOGITS, "fake_logits": LOGITS, "real_label": REAL_LABEL}),
    Case("least_squares_discriminator_loss", losses.least_squares_discriminator_loss,
         lambda: {**_scores(), "real_label": 1.0}, {"real_scores": LOGITS, "fake_scores": LOGITS, "real_label": REAL_LABEL}),
    Case("saturating_generator_loss", losses.saturating_generator_loss, lambda: {"fake_logits": torch.randn(5)},
         {"fake_logits": LOGITS}),
    Case("non_saturating_generator_loss", losses.non_saturating_generator_loss, lambda: {"fake_logits": torch.randn(5)},
         {"fake_logits": LOGITS}),
    Case("least_squares_generator_loss", losses.least_squares_generator_loss, lambda: {"fake_scores": torch.randn(5)},
         {"fake_scores": LOGITS}),
    Case("wasserstein_critic_loss", losses.wasserstein_critic_loss, _scores, {"real_scores": LOGITS, "fake_scores": LOGITS}),
    Case("hinge_discriminator_loss", losses.hinge_discriminator_loss, _scores,
         {"real_scores": LOGITS, "fake_scores": LOGITS}),
    Case("critic_generator_loss", losses.critic_generator_loss, lambda: {"fake_scores": torch.randn(5)},
         {"fake_scores": LOGITS}),
    Case("gradient_penalty", losses.gradient_penalty,
         lambda: {"critic": nn.Linear(3, 1), "real": torch.randn(4, 3), "fake": torch.randn(4, 3)},
         {"critic": Values((None, 3, "critic"), "not callable"), "real": Tensor(min_ndim=2, fixed=(1,)),
          "fake": Tensor(min_ndim=2, fixed=(0, 1))}),
    Case("real_logit", losses.real_logit, lambda: {"class_logits": torch.randn(4, 3)},
         {"class_logits": Tensor(ndims=(2,))}),
    Case("semi_supervised_discriminator_loss", losses.semi_supervised_discriminator_loss,
         lambda: {"labelled_logits": torch.randn(4, 3), "labels": torch.tensor([0, 1, 2, 0]),
                  "unlabelled_logits": torch.randn(5, 3), "fake_logits": torch.randn(2, 3)},
         {"labelled_logits": Tensor(ndims=(2,), fixed=(0,)), "labels": labels_kind(),
          "unlabelled_logits": Tensor(ndims=(2,), fixed=(1,)), "fake_logits": Tensor(ndims=(2,), fixed=(1,))}),
    Case("feature_matching_loss", losses.feature_matching_loss,
         lambda: {"real_features": torch.randn(4, 3), "fake_features": torch.randn(5, 3)},
         {"real_features": Tensor(min_ndim=2, fixed=(1,)), "fake_features": Tensor(min_ndim=2, fixed=(1,))}),
    Case("generator_loss", losses.generator_loss, lambda: {"g_loss": "hinge"},
         {"g_loss": Choice(tuple(losses.GENERATOR_LOSSES))}),
    Case("discriminator_loss_for", losses.discriminator_loss_for, lambda: {"g_loss": "least_squares"},
         {"g_loss": Choice(tuple(losses.GENERATOR_LOSSES))}),
    # --- models ---
    Case("MLPGenerator", models.MLPGenerator,
         lambda: {"latent_dim": 4, "hidden": (8,), "out_dim": 6, "activation": "relu", "batch_norm": True,
                  "tanh_output": False},
         {"latent_dim": SIZE, "hidden": WIDTHS, "out_dim": SIZE, "activation": Choice(tuple(models.ACTIVATIONS)),
          "batch_norm": Flag(), "tanh_output": Flag()}),
    Case("MLPGenerator.forward", lambda z: models.MLPGenerator(4, (8,), 6)(z), lambda: {"z": torch.randn(3, 4)},
         {"z": Tensor(ndims=(2,), fixed=(1,))}),
    Case("MLPDiscriminator", models.MLPDiscriminator,
         lambda: {"in_dim": 6, "hidden": (8,), "activation": "leaky_relu", "dropout": 0.3, "spectral_norm": True},
         {"in_dim": SIZE, "hidden": WIDTHS, "activation": Choice(tuple(models.ACTIVATIONS)),
          "dropout": Num(0, 1, high_open=True), "spectral_norm": Flag()}),
    Case("GaussianNoise", models.GaussianNoise, lambda: {"std": 0.3}, {"std": Num(0)}),
    Case("ClassifierDiscriminator", models.ClassifierDiscriminator,
         lambda: {"in_dim": 6, "hidden": (8, 4), "n_classes": 3, "input_noise": 0.6, "hidden_noise": 0.5,
                  "weight_norm": True},
         {"in_dim": SIZE, "hidden": WIDTHS, "n_classes": N_CLASSES, "input_noise": Num(0), "hidden_noise": Num(0),
          "weight_norm": Flag()}),
    Case("ClassifierDiscriminator.forward", lambda x: models.ClassifierDiscriminator(6, (8,), 3)(x),
         lambda: {"x": torch.randn(3, 6)}, {"x": Tensor(ndims=(2,), fixed=(1,))}),
    Case("MLPDiscriminator.forward", lambda x: models.MLPDiscriminator(6, (8,))(x), lambda: {"x": torch.randn(3, 6)},
         {"x": Tensor(ndims=(2,), fixed=(1,))}),
    Case("ConvGenerator", models.ConvGenerator,
         lambda: {"latent_dim": 4, "image_shape": (16, 8), "width": 4, "blocks": 2, "n_classes": 3, "hidden": 8},
         {"latent_dim": SIZE, "image_shape": IMAGE_SHAPE, "width": SIZE, "blocks": Int(1, 8), "n_classes": N_CLASSES,
          "hidden": Int(0)}),
    Case("ConvGenerator.forward", lambda z, labels: _conditional_conv_pair()[0](z, labels),
         lambda: {"z": torch.randn(3, 4), "labels": torch.tensor([0, 1, 2])},
         {"z": Tensor(ndims=(2,), fixed=(0, 1)), "labels": labels_kind()}),
    Case("ConvDiscriminator", models.ConvDiscriminator,
         lambda: {"image_shape": (16, 8), "width": 4, "blocks": 2, "spectral_norm": False, "n_classes": None,
                  "hidden": 8, "detail_bins": 3},
         {"image_shape": IMAGE_SHAPE, "width": SIZE, "blocks": Int(1, 8), "spectral_norm": Flag(), "n_classes": N_CLASSES,
          "hidden": Int(0), "detail_bins": Values((-1, 2, 2.5, "3", None, True), "not 0 or an odd count")}),
    Case("HarmonicGenerator", models.HarmonicGenerator,
         lambda: {"latent_dim": 4, "image_shape": (16, 8), "width": 4, "blocks": 2, "n_classes": 3, "hz_per_bin": 250.0,
                  "image_scale": torch.ones(16), "pitch_range": (60.0, 400.0), "knots": 4, "glide": 0.2, "floor": 0.03,
                  "envelope_smoothing": 1.0, "pitch_hidden": 8},
         {"hz_per_bin": Num(0, low_open=True),
          "image_scale": Tensor(ndims=(1,), fixed=(0,), extra=(("not positive", lambda scale: -scale),)),
          "pitch_range": Values(((400.0, 60.0), (60.0,), (0.0, 100.0), (60.0, 5000.0), None, "60-400"), "bad range"),
          "knots": Int(2, 8), "glide": Num(0), "floor": Num(0, 1, low_open=True),
          "envelope_smoothing": Num(0, 2.0), "pitch_hidden": Int(1)}),
    Case("HarmonicGenerator.forward", lambda z, labels: _harmonic_generator()(z, labels),
         lambda: {"z": torch.randn(3, 4), "labels": torch.tensor([0, 1, 2])},
         {"z": Tensor(ndims=(2,), fixed=(0, 1)), "labels": labels_kind()}),
    Case("dcgan_initialise", models.dcgan_initialise, lambda: {"network": _conditional_conv_pair()[0], "std": 0.02},
         {"network": Values(("generator", None, 3, torch.randn(3)), "not a network"), "std": Num(0, low_open=True)}),
    Case("replace_layers", models.replace_layers,
         lambda: {"network": _conditional_conv_pair()[1], "layer_type": nn.LeakyReLU,
                  "make_replacement": lambda layer: nn.ReLU()},
         {"network": Values(("discriminator", None, 3), "not a network"),
          "layer_type": Values(("LeakyReLU", None, 3, nn.LeakyReLU(), (nn.ReLU, "x")), "not a layer type"),
          "make_replacement": Values(("identity", None, 3), "not a function")}),
    Case("ConvDiscriminator.forward", lambda x, labels: _conditional_conv_pair()[1](x, labels),
         lambda: {"x": torch.randn(3, 1, 16, 8), "labels": torch.tensor([2, 1, 0])},
         {"x": Tensor(ndims=(4,), fixed=(0, 1, 2, 3)), "labels": labels_kind()}),
    Case("generate", models.generate,
         lambda: {"generator": _conditional_conv_pair()[0], "z": torch.randn(3, 4), "labels": torch.tensor([0, 1, 2]),
                  "chunk_size": 2},
         {"generator": Values((None, "G", lambda z: z), "not a network"), "z": Tensor(ndims=(2,), fixed=(0, 1)),
          "labels": labels_kind(), "chunk_size": SIZE}),
    # --- metrics ---
    Case("inception_score", metrics.inception_score, lambda: {"probs": torch.softmax(torch.randn(6, 10), dim=1)},
         {"probs": Tensor(ndims=(2,), extra=(("not probabilities", lambda valid: valid * 2),) + NON_NEGATIVE)}),
    Case("frechet_distance", metrics.frechet_distance,
         lambda: {"features_a": torch.randn(8, 3), "features_b": torch.randn(9, 3)},
         {"features_a": Tensor(ndims=(2,), fixed=(1,), extra=(("one row", lambda valid: valid[:1]),)),
          "features_b": Tensor(ndims=(2,), fixed=(1,))}),
    Case("classify", metrics.classify, lambda: {"images": torch.rand(3, 784) * 2 - 1},
         {"images": Tensor(ndims=(2, 4), fixed=(1,), extra=(("outside [-1, 1]", lambda valid: valid + 2),))}),
    Case("score_samples", metrics.score_samples, lambda: {"images": torch.rand(20, 1, 28, 28) * 2 - 1},
         {"images": Tensor(ndims=(2, 4), fixed=(1, 2, 3))}),
    Case("accuracy", metrics.accuracy,
         lambda: {"model": nn.Linear(3, 2), "images": torch.randn(4, 3), "labels": torch.tensor([0, 1, 1, 0])},
         {"images": Tensor(min_ndim=2, fixed=(0,)), "labels": Tensor(ndims=(1,), fixed=(0,), dtype="int")}),
    Case("generator_metrics", metrics.generator_metrics, lambda: {"n": 10}, {"n": Int(2)}),
    Case("mode_metrics", metrics.mode_metrics,
         lambda: {"samples": torch.randn(20, 2), "centers": data.ring_of_gaussians().centers, "std": 0.02,
                  "n_std": 3.0, "min_fraction": 0.01},
         {"samples": Tensor(ndims=(2,), fixed=(1,)), "centers": Tensor(ndims=(2,), fixed=(1,)), "std": STEP,
          "n_std": STEP, "min_fraction": Num(0, 1)}),
    Case("grid_divergences", metrics.grid_divergences,
         lambda: {"real": torch.randn(20, 2), "fake": torch.randn(20, 2), "bins": 10, "extent": (-3.0, 3.0)},
         {"real": Tensor(ndims=(2,), fixed=(1,)), "fake": Tensor(ndims=(2,), fixed=(1,)), "bins": Int(1, 10_000),
          "extent": Values(((1.0, 0.0), (0.0,), "wide", (float("nan"), 1.0), (0.0, float("inf"))), "bad extent")}),
    Case("activation_gradient_norms", metrics.activation_gradient_norms,
         lambda: {"discriminator": models.MLPDiscriminator(3, (4,)), "real": torch.randn(4, 3), "fake": torch.randn(4, 3)},
         {"discriminator": Values((None, "D", nn.Linear(3, 1)), "not a network with activations"),
          "real": Tensor(min_ndim=2, fixed=(0, 1)), "fake": Tensor(min_ndim=2, fixed=(0, 1))}),
    Case("nearest_neighbours", metrics.nearest_neighbours,
         lambda: {"queries": torch.randn(4, 3), "reference": torch.randn(5, 3), "chunk_size": 2},
         {"queries": Tensor(min_ndim=2, fixed=(1,)), "reference": Tensor(min_ndim=2, fixed=(1,)), "chunk_size": SIZE}),
    # --- theory ---
    Case("gaussian_density", theory.gaussian_density, lambda: {"x": torch.linspace(-1, 1, 5), "mean": 0.0, "std": 1.0},
         {"x": Tensor(empty_ok=True), "mean": Num(), "std": STEP}),
    Case("optimal_discriminator", theory.optimal_discriminator,
         lambda: {"p_data": torch.rand(7), "p_g": torch.rand(7)}, {"p_data": DENSITY, "p_g": DENSITY}),
    Case("optimal_logit", theory.optimal_logit, lambda: {"p_data": torch.rand(7), "p_g": torch.rand(7)},
         {"p_data": DENSITY, "p_g": DENSITY}),
    Case("value_on_grid", theory.value_on_grid,
         lambda: {"logits": torch.randn(7), "p_data": torch.rand(7), "p_g": torch.rand(7), "dx": 0.1},
         {"logits": Tensor(ndims=(1,), fixed=(0,), extra=(("NaN", lambda valid: valid * float("nan")),), nan_ok=True),
          "p_data": DENSITY, "p_g": DENSITY, "dx": STEP}),
    Case("kl_divergence", theory.kl_divergence, lambda: {"p": torch.rand(7), "q": torch.rand(7), "dx": 0.1},
         {"p": DENSITY, "q": DENSITY, "dx": STEP}),
    Case("js_divergence", theory.js_divergence, lambda: {"p": torch.rand(7), "q": torch.rand(7), "dx": 0.1},
         {"p": DENSITY, "q": DENSITY, "dx": STEP}),
    Case("wasserstein_1d", theory.wasserstein_1d, lambda: {"p": torch.rand(7), "q": torch.rand(7), "dx": 0.1},
         {"p": DENSITY, "q": DENSITY, "dx": STEP}),
    # --- data ---
    Case("to_model_range", data.to_model_range, lambda: {"images": torch.zeros(3, 28, 28, dtype=torch.uint8)},
         {"images": Tensor(min_ndim=2, dtype="uint8", empty_ok=True)}),
    Case("BatchSampler", data.BatchSampler, lambda: {"data": torch.randn(10, 3), "batch_size": 4, "generator": None},
         {"data": Values((None, [[1.0]], torch.zeros(5), torch.zeros(0, 3)), "bad data"), "batch_size": Int(1, 10),
          "generator": Values((3, "seed", torch.zeros(1)), "not a torch.Generator")}),
    Case("ToyDistribution.sample", data.ring_of_gaussians().sample, lambda: {"n": 10, "seed": 1},
         {"n": SIZE, "seed": Int(0)}),
    Case("ring_of_gaussians", data.ring_of_gaussians, lambda: {"modes": 8, "radius": 2.0, "std": 0.02},
         {"modes": Int(1, 10_000), "radius": STEP, "std": STEP}),
    Case("grid_of_gaussians", data.grid_of_gaussians, lambda: {"side": 5, "spacing": 2.0, "std": 0.05},
         {"side": Int(1, 100), "spacing": STEP, "std": STEP}),
    Case("swiss_roll", data.swiss_roll, lambda: {"noise": 0.25}, {"noise": Num(0)}),
    Case("toy_distribution", data.toy_distribution, lambda: {"name": "grid"}, {"name": Choice(("ring", "grid", "swiss_roll"))}),
    # --- audio ---
    Case("fit_length", audio.fit_length, lambda: {"waveform": torch.randn(100), "length": 50},
         {"waveform": Tensor(ndims=(1,), empty_ok=True), "length": SIZE}),
    Case("SpectrogramCodec", audio.SpectrogramCodec, lambda: dict(CODEC_ARGS),
         {"n_fft": Int(2, 2**16), "hop_length": Int(1, 64), "n_mels": Values((0, -1, 1000, 2.5, "8"), "bad n_mels"),
          "clip_std": STEP, "griffin_lim_iters": Int(1, 10_000), "sample_rate": SIZE, "length": Int(33)}),
    Case("SpectrogramCodec.fit", lambda waveforms, lengths: _codec().fit(waveforms, lengths),
         lambda: {"waveforms": torch.randn(2, 1024), "lengths": torch.tensor([1024, 500])},
         {"waveforms": Tensor(ndims=(2,), fixed=(0,), extra=(("too short", lambda valid: valid[:, :20]),)),
          "lengths": Tensor(ndims=(1,), fixed=(0,), dtype="int", optional=True)}),
    Case("SpectrogramCodec.encode", lambda waveforms: _fitted_codec().encode(waveforms),
         lambda: {"waveforms": torch.randn(2, 1024)}, {"waveforms": Tensor(ndims=(2,))}),
    Case("SpectrogramCodec.decode", lambda spectrograms: _fitted_codec().decode(spectrograms),
         lambda: {"spectrograms": torch.rand(2, 33, 33) * 2 - 1}, {"spectrograms": Tensor(ndims=(3,), fixed=(1,))}),
    Case("SpectrogramCodec.to_image", lambda spectrograms: _codec().to_image(spectrograms),
         lambda: {"spectrograms": torch.rand(2, 33, 33)}, {"spectrograms": Tensor(ndims=(3,), fixed=(1, 2))}),
    Case("SpectrogramCodec.from_image", lambda images: _codec().from_image(images),
         lambda: {"images": torch.rand(2, 1, 32, 32)}, {"images": Tensor(ndims=(4,), fixed=(1, 2, 3))}),
    Case("spectral_convergence", audio.spectral_convergence,
         lambda: {"reference": torch.rand(2, 5, 6) + 0.1, "estimate": torch.rand(2, 5, 6)},
         {"reference": Tensor(min_ndim=2, fixed=(0, 1, 2), extra=NON_NEGATIVE + (("silence", torch.zeros_like),)),
          "estimate": Tensor(min_ndim=2, fixed=(0, 1, 2), extra=NON_NEGATIVE)}),
    Case("log_spectral_distance", audio.log_spectral_distance,
         lambda: {"reference": torch.rand(2, 5, 6), "estimate": torch.rand(2, 5, 6), "dynamic_range_db": 60.0},
         {"reference": Tensor(min_ndim=2, fixed=(0, 1, 2), extra=NON_NEGATIVE),
          "estimate": Tensor(min_ndim=2, fixed=(0, 1, 2), extra=NON_NEGATIVE), "dynamic_range_db": STEP}),
    Case("shift_in_time", audio.shift_in_time, lambda: {"images": torch.randn(2, 1, 8, 6), "max_frames": 3},
         {"images": Tensor(ndims=(4,)), "max_frames": Int(0)}),
    Case("trim_trailing_silence", audio.trim_trailing_silence,
         lambda: {"waveform": torch.randn(800), "threshold": 0.01, "keep_seconds": 0.05, "sample_rate": 8000},
         {"waveform": Tensor(ndims=(1,)), "threshold": Num(0, 1, high_open=True), "keep_seconds": Num(0),
          "sample_rate": SIZE}),
    Case("wav_player", audio.wav_player, lambda: {"waveform": torch.randn(800), "sample_rate": 8000},
         {"waveform": Tensor(ndims=(1,)), "sample_rate": SIZE}),
    Case("audio_players", audio.audio_players,
         lambda: {"waveforms": torch.randn(2, 800), "captions": ["one", "two"], "sample_rate": 8000},
         {"waveforms": Tensor(ndims=(2,), fixed=(0,)), "captions": Values((["one"], "ab", None), "bad captions"),
          "sample_rate": SIZE}),
    Case("score_spectrograms", audio.score_spectrograms, lambda: {"images": torch.rand(4, 1, 128, 64) * 2 - 1},
         {"images": Tensor(ndims=(4,), fixed=(1, 2, 3), extra=(("outside [-1, 1]", lambda valid: valid * 3 + 3),
                                                              ("one clip", lambda valid: valid[:1])))}),
    Case("voicing", audio.voicing, lambda: {"waveforms": torch.randn(2, 1000) * 0.1, "sample_rate": 8000},
         {"waveforms": Tensor(ndims=(2,), extra=(("too short", lambda valid: valid[:, :100]),)),
          "sample_rate": Int(800, 192_000)}),
    Case("whispered", audio.whispered,
         lambda: {"waveforms": torch.randn(2, 800), "seed": 0, "n_fft": 64, "smoothing_hz": 350.0, "sample_rate": 8000},
         {"waveforms": Tensor(ndims=(2,), extra=(("too short", lambda valid: valid[:, :20]),)), "seed": Int(0),
          "n_fft": Int(4, 2**14), "smoothing_hz": Num(0, 4000, low_open=True), "sample_rate": SIZE}),
    Case("spectrogram_metrics", audio.spectrogram_metrics, lambda: {"n": 10, "seed": 0, "voicing_clips": 2},
         {"n": Int(2), "seed": Int(0), "voicing_clips": Int(0, 10)}),
    # --- plotting ---
    Case("image_grid", plotting.image_grid, lambda: {"images": torch.zeros(5, 784), "ncols": 4, "background": 1.0},
         {"images": Tensor(ndims=(2, 3, 4), fixed=(1,)), "ncols": Int(1, 1000), "background": Num(0, 1)}),
    Case("smooth", plotting.smooth, lambda: {"values": [1.0, 2.0, 4.0], "window": 2},
         {"values": Values(("abc", [[1.0, 2.0], [3.0, 4.0]], [None, "x"]), "not a sequence of numbers"), "window": SIZE}),
    Case("show_spectrograms", plotting.show_spectrograms,
         lambda: {"images": torch.rand(2, 1, 8, 6), "title": "t", "captions": ["a", "b"], "ncols": 2},
         {"images": Tensor(ndims=(4,), fixed=(1,)), "captions": Values((["a"],), "too few captions"),
          "ncols": Int(1, 100)}),
    # --- transfer ---
    Case("balanced_subset", transfer.balanced_subset,
         lambda: {"labels": torch.tensor([0, 0, 1, 1, 2, 2]), "per_class": 1, "seed": 0},
         {"labels": Tensor(ndims=(1,), dtype="int"), "per_class": SIZE, "seed": Int(0)}),
    Case("speech_split", few_labels_speech.speech_split, lambda: {"per_digit": 1, "seed": 0, "protocol": "official"},
         {"per_digit": Int(1, 250), "seed": Int(0), "protocol": Values(("all", 1, None), "unknown protocol")}),
    Case("mnist_split", few_labels.mnist_split, lambda: {"n_labels": 20, "seed": 0},
         {"n_labels": Values((0, 5, 25, -10, 2.5, "100", None), "bad label count"), "seed": Int(0)}),
    Case("paired_difference", few_labels.paired_difference,
         lambda: {"a": [0.9, 0.8, 0.85], "b": [0.7, 0.75, 0.7], "confidence": 0.95},
         {"a": Values(([0.9], [0.9, 0.8], [], None), "not paired with b"),
          "b": Values(([0.7], [0.7, 0.75, 0.7, 0.7], None), "not paired with a"),
          "confidence": Num(0, 1, low_open=True, high_open=True)}),
    # --- training ---
    Case("Trainer", lambda **kwargs: Trainer(**kwargs, device="cpu"),
         lambda: {**_trainer_args(), "optimizer": "adam", "ema_decay": 0.0, "seed": 0, "n_fixed": 8, "log_every": 5,
                  "decay_every": 100, "snapshot_every": 0, "metric_every": 0, "metric_fn": None, "fast": False},
         {**TRAINER_HYPERPARAMETERS,
          "generator": Values((None, nn.Linear(4, 6)), "not a generator"),
          "discriminator": Values((None, "D"), "not a network"),
          "data": Tensor(ndims=(2,), fixed=(1,)), "optimizer": Choice(("adam", "sgd", "rmsprop")),
          "ema_decay": Num(0, 1, high_open=True), "seed": Int(0, 2**62), "n_fixed": SIZE, "log_every": SIZE,
          "decay_every": SIZE, "snapshot_every": Int(0), "metric_every": Int(0),
          "metric_fn": Values((3, "IS"), "not a function"), "fast": Flag()}),
    Case("Trainer.set_hyperparameters", lambda **values: _small_trainer().set_hyperparameters(**values),
         lambda: {"lr_g": 1e-3, "d_steps": 2, "betas": (0.5, 0.99), "g_loss": "hinge"}, TRAINER_HYPERPARAMETERS),
    Case("Trainer.train", lambda steps, progress: _small_trainer().train(steps=steps, progress=progress),
         lambda: {"steps": 2, "progress": False}, {"steps": SIZE, "progress": Flag()}),
    Case("Trainer.train(seconds)", lambda seconds: _small_trainer().train(seconds=seconds, progress=False),
         lambda: {"seconds": 0.01}, {"seconds": STEP}),
    Case("Trainer.sample", lambda n, noise: _small_trainer().sample(n, noise), lambda: {"n": 3, "noise": torch.randn(3, 4)},
         {"n": SIZE, "noise": Tensor(ndims=(2,), fixed=(0, 1), optional=True)}),
    Case("Trainer.sample(seed)", lambda n, seed: _small_trainer().sample(n, seed=seed), lambda: {"n": 3, "seed": 2},
         {"seed": Int(0, 2**62)}),
    Case("Trainer.set_fixed_noise_seed", lambda seed: _small_trainer().set_fixed_noise_seed(seed), lambda: {"seed": 5},
         {"seed": Values((-1, 2.5, "3", None, 2**64), "bad seed")}),
]
ARGUMENTS = [(case, argument) for case in CASES for argument in case.kinds]


class Hung(Exception):
    """A call ran past TIME_LIMIT_S."""


def _call_with_time_limit(function: Callable[[], object]) -> object:
    """Run a call, failing it if it takes more than TIME_LIMIT_S (SIGALRM, so the main thread only)."""
    def alarm(_signal: int, _frame: object) -> None:
        raise Hung(f"no answer after {TIME_LIMIT_S} s")
    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(TIME_LIMIT_S)
    try:
        return function()
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        plt.close("all")


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_valid_call_works(case: Case):
    """The valid arguments the fuzzer starts from are accepted, so each error below is the bad argument's."""
    _call_with_time_limit(lambda: case.call(**case.valid()))


def _try_bad_argument(case: Case, argument: str, data: st.DataObject) -> None:
    """One bad argument: a ValueError or TypeError that names it, within the time limit."""
    kwargs = case.valid()
    category, kwargs[argument] = case.kinds[argument].bad(data, kwargs.get(argument))
    try:
        result = _call_with_time_limit(lambda: case.call(**kwargs))
    except (ValueError, TypeError) as error:
        assert f"`{argument}`" in str(error), (
            f"{case.name}: the error for a bad `{argument}` ({category}) does not name it: {error}")
        TRIED[(case.name, argument, category)] += 1
        return
    pytest.fail(f"{case.name} accepted a bad `{argument}` ({category}: {kwargs[argument]!r:.80}) "
                f"and returned {result!r:.80}")


@pytest.mark.parametrize("case, argument", ARGUMENTS, ids=[f"{case.name}-{argument}" for case, argument in ARGUMENTS])
@FUZZ_SETTINGS
@given(data=st.data())
def test_bad_argument_is_named(case: Case, argument: str, data: st.DataObject):
    """One bad argument: a ValueError or TypeError that names it, within the time limit."""
    _try_bad_argument(case, argument, data)


def test_fuzzing_covered_every_function():
    """Every function and argument was fuzzed: those the tests above did not reach are fuzzed here, a little."""
    top_up = settings(FUZZ_SETTINGS, max_examples=TOP_UP_EXAMPLES)(given(data=st.data())(_try_bad_argument))
    for case, argument in ARGUMENTS:
        if not any(key[:2] == (case.name, argument) for key in TRIED):
            top_up(case, argument)
    fuzzed = {name for name, _, _ in TRIED}
    assert fuzzed == {case.name for case in CASES}, f"never fuzzed: {sorted({c.name for c in CASES} - fuzzed)}"
    by_category = collections.Counter()
    for (_, _, category), count in TRIED.items():
        by_category[category] += count
    print(f"\n{sum(TRIED.values())} bad inputs to {len(fuzzed)} functions ({len(ARGUMENTS)} arguments), "
          f"all refused with a named argument:")
    for category, count in by_category.most_common():
        print(f"  {count:5d}  {category}")
