"""Spoken digits: the FSDD loader on the real files, its download path, SC09, and the spectrogram codec."""
import functools
import http.server
import io
import math
import shutil
import tarfile
import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

import ganlib
from ganlib.audio import (MIN_RECOGNISER_ACCURACY, SAMPLE_RATE, SpectrogramCodec, fsdd_folder, fsdd_images,
                          fsdd_manifest, load_fsdd, load_recogniser, load_sc09, log_spectral_distance,
                          recogniser_info, score_spectrograms, score_waveforms, shift_in_time, spectral_convergence,
                          voicing, whispered)
from ganlib.metrics import accuracy
from ganlib.models import ConvDiscriminator, ConvGenerator
from ganlib.data import DataNotFoundError


@pytest.fixture(scope="module")
def fsdd_train():
    return load_fsdd("train")


@pytest.fixture(scope="module")
def fitted_codec(fsdd_train):
    return SpectrogramCodec().fit(fsdd_train.waveforms, fsdd_train.lengths)


def test_fsdd_loads_the_official_split(fsdd_train):
    test = load_fsdd("test")
    assert (len(fsdd_train), len(test)) == (2700, 300)
    assert torch.equal(torch.bincount(fsdd_train.labels), torch.full((10,), 270))
    assert sorted(set(fsdd_train.speakers)) == ["george", "jackson", "lucas", "nicolas", "theo", "yweweler"]
    assert fsdd_train.waveforms.shape == (2700, 8192) and fsdd_train.waveforms.dtype == torch.float32
    assert fsdd_train.waveforms.abs().max() <= 1.0
    # the data set's README: durations from 0.14 s to 2.28 s, mean 0.44 s
    seconds = torch.cat([fsdd_train.lengths, test.lengths]).float() / SAMPLE_RATE
    assert 0.13 < seconds.min() < 0.15 and 2.2 < seconds.max() < 2.3 and abs(seconds.mean() - 0.44) < 0.01
    with pytest.raises(ValueError, match="`split`"):
        load_fsdd("validation")


def copy_of_fsdd(root: Path) -> Path:
    """A data root holding a private copy of the real recordings."""
    folder = root / "fsdd" / "recordings"
    shutil.copytree(fsdd_folder(download=False), folder)
    return folder


def test_a_changed_recording_fails_its_checksum(tmp_path, monkeypatch):
    folder = copy_of_fsdd(tmp_path)
    monkeypatch.setenv("GANLIB_DATA", str(tmp_path))
    assert fsdd_folder(download=False) == folder.resolve()
    (folder / "3_theo_7.wav").write_bytes(b"not audio")
    with pytest.raises(DataNotFoundError, match="3_theo_7.wav"):
        fsdd_folder(download=False)


def serve(directory: Path):
    """An HTTP server for `directory` on 127.0.0.1, in a thread; returns (base URL, server)."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(directory))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}", server


def test_download_fetches_the_release_archive_and_verifies_every_file(tmp_path, monkeypatch):
    source, site = fsdd_folder(download=False), tmp_path / "site"
    site.mkdir()
    with tarfile.open(site / "v1.0.10.tar.gz", "w:gz", compresslevel=1) as tar:  # the release's layout
        tar.add(source, arcname="free-spoken-digit-dataset-1.0.10/recordings")
        readme = b"a file outside recordings/ that must not be unpacked"
        info = tarfile.TarInfo("free-spoken-digit-dataset-1.0.10/README.md")
        info.size = len(readme)
        tar.addfile(info, io.BytesIO(readme))
    url, server = serve(site)
    root = tmp_path / "data"
    monkeypatch.setenv("GANLIB_DATA", str(root))
    try:
        folder = fsdd_folder(url=f"{url}/v1.0.10.tar.gz")
        assert sorted(p.name for p in folder.iterdir()) == sorted(fsdd_manifest())  # README.md was left out
        (folder / "0_george_0.wav").unlink()
        with pytest.raises(DataNotFoundError, match="could not be downloaded"):  # a 404
            fsdd_folder(url=f"{url}/missing.tar.gz")
    finally:
        server.shutdown()


def test_sc09_reads_only_the_digit_words_of_a_speech_commands_folder(tmp_path):
    base = tmp_path / "SpeechCommands" / "speech_commands_v0.02"
    tone = (0.5 * np.sin(np.linspace(0, 2000 * np.pi, 16000))).astype(np.float32)  # 1 s at 16 kHz
    for word in ("zero", "seven", "bed"):
        (base / word).mkdir(parents=True)
        for speaker in ("aaaa1111", "bbbb2222"):
            soundfile.write(base / word / f"{speaker}_nohash_0.wav", tone, 16000)
    (base / "validation_list.txt").write_text("zero/bbbb2222_nohash_0.wav\n")
    (base / "testing_list.txt").write_text("seven/bbbb2222_nohash_0.wav\n")
    train = load_sc09(tmp_path, subset="training", length=8000)
    assert sorted(train.labels.tolist()) == [0, 7] and train.waveforms.shape == (2, 8000)
    assert train.lengths.tolist() == [8000, 8000]  # resampled from 16 kHz to 8 kHz
    test = load_sc09(tmp_path, subset="testing", length=8000)
    assert test.labels.tolist() == [7] and test.speakers == ["bbbb2222"]


def test_the_codec_scales_to_minus_one_one_and_undoes_its_normalisation_exactly(fsdd_train, fitted_codec):
    waves = load_fsdd("test").waveforms[:50]
    spectrograms = fitted_codec.encode(waves)
    assert spectrograms.shape == (50, 129, 65) and spectrograms.abs().max() <= 1.0
    magnitude = fitted_codec.spectrogram(waves)
    unclipped = spectrograms.abs() < 1.0
    restored = fitted_codec.magnitude(spectrograms)
    assert torch.allclose(restored[unclipped], magnitude[unclipped], rtol=1e-3, atol=1e-5)
    # training statistics: each frequency bin is standardised over the frames inside the recordings,
    # and the zero padding after a recording is clipped to -1 (silence)
    train_spec = fitted_codec.encode(fsdd_train.waveforms[:1000]) * fitted_codec.clip_std
    frame_starts = torch.arange(65) * fitted_codec.hop_length
    inside = frame_starts < fsdd_train.lengths[:1000, None]
    assert train_spec.transpose(1, 2)[inside].mean(dim=0).abs().max() < 0.3
    # frames whose (centred) window lies wholly in the padding are silence at the clip
    padding = frame_starts - fitted_codec.n_fft // 2 >= fsdd_train.lengths[:1000, None]
    assert (train_spec.transpose(1, 2)[padding] == -fitted_codec.clip_std).float().mean() > 0.99


def test_griffin_lim_round_trip_stays_within_its_measured_ceiling(fitted_codec):
    torch.manual_seed(0)  # Griffin-Lim starts from a random phase
    waves = load_fsdd("test").waveforms[:40]
    decoded = fitted_codec.decode(fitted_codec.encode(waves))
    assert decoded.shape == waves.shape
    original, again = fitted_codec.spectrogram(waves), fitted_codec.spectrogram(decoded)
    # Measured on these 40 test recordings (32 Griffin-Lim iterations): spectral convergence 0.056 and
    # log-spectral distance 1.98 dB (80 dB dynamic range). The codec's clipping alone (exact magnitudes
    # back, no Griffin-Lim) costs 0.003 and 1.26 dB: the rest is the phase Griffin-Lim invents. The bounds
    # leave a margin.
    assert spectral_convergence(original, again) < 0.09
    assert log_spectral_distance(original, again) < 3.0
    clipped_only = fitted_codec.magnitude(fitted_codec.encode(waves))
    assert spectral_convergence(original, clipped_only) < 0.01 and log_spectral_distance(original, clipped_only) < 2.0
    # ... and nearly all of those 1.26 dB lie in the zero padding after each recording, where the -3σ floor turns
    # digital silence into a faint noise: inside the recordings clipping costs 0.06 dB (all 300 test clips).
    inside = torch.arange(original.shape[-1]) * fitted_codec.hop_length < load_fsdd("test").lengths[:40, None]
    assert log_spectral_distance(original, clipped_only, inside=inside) < 0.2
    with pytest.raises(ValueError, match="`inside` selects no frame"):
        log_spectral_distance(original, clipped_only, inside=torch.zeros_like(inside))
    with pytest.raises(TypeError, match="`inside` must be a boolean tensor"):
        log_spectral_distance(original, clipped_only, inside=inside.long())
    assert spectral_convergence(original, original) == 0.0


def test_the_mel_variant_encodes_and_decodes(fsdd_train):
    codec = SpectrogramCodec(n_mels=64).fit(fsdd_train.waveforms, fsdd_train.lengths)
    waves = load_fsdd("test").waveforms[:40]
    spectrograms = codec.encode(waves)
    assert spectrograms.shape == (40, 64, 65)
    torch.manual_seed(0)
    decoded = codec.decode(spectrograms)
    assert decoded.shape == (40, 8192)
    # 64 mel bands keep less than the linear spectrogram: measured spectral convergence 0.121 and
    # log-spectral distance 4.03 dB on these 40 clips (linear: 0.056 and 1.98 dB)
    original, again = codec.spectrogram(waves), codec.spectrogram(decoded)
    assert spectral_convergence(original, again) < 0.2 and 3.0 < log_spectral_distance(original, again) < 6.0


def test_codec_errors_name_what_is_wrong(fsdd_train):
    with pytest.raises(RuntimeError, match="fit"):
        SpectrogramCodec().encode(fsdd_train.waveforms[:2])
    with pytest.raises(ValueError, match="hop_length"):
        SpectrogramCodec(n_fft=64, hop_length=128)
    with pytest.raises(ValueError, match=r"\[batch, samples\]"):
        SpectrogramCodec().fit(fsdd_train.waveforms[0])
    with pytest.raises(ValueError, match="129"):
        SpectrogramCodec().decode(torch.zeros(1, 64, 65))


def test_spectrogram_images_drop_one_bin_and_one_frame_and_come_back(fitted_codec):
    spectrograms = fitted_codec.encode(load_fsdd("test").waveforms[:3])
    images = fitted_codec.to_image(spectrograms)
    assert images.shape == (3, 1, 128, 64) and fitted_codec.image_shape == (128, 64)
    back = fitted_codec.from_image(images)
    assert torch.equal(back[:, :128, :64], spectrograms[:, :128, :64])
    assert (back[:, 128] == -1).all() and (back[:, :, 64] == -1).all()
    with pytest.raises(ValueError, match=r"\[N, 1, 128, 64\]"):
        fitted_codec.from_image(spectrograms)
    mel = SpectrogramCodec(n_mels=64)
    assert mel.image_shape == (64, 64)  # 64 mel bands are kept, only the odd last frame goes
    assert mel.from_image(torch.zeros(2, 1, 64, 64)).shape == (2, 64, 65)
    with pytest.raises(ValueError, match=r"\[N, 64, 65\]"):
        mel.to_image(spectrograms)


def test_shift_in_time_delays_each_clip_and_fills_with_silence():
    images = torch.arange(2 * 3 * 6, dtype=torch.float32).reshape(2, 1, 3, 6)
    shifted = shift_in_time(images, max_frames=2, generator=torch.Generator().manual_seed(0))
    for clip, original in zip(shifted, images):
        delay = int((clip[0, 0] == -1).sum())
        assert 0 <= delay <= 2 and torch.equal(clip[..., delay:], original[..., :6 - delay])


def test_conv_gan_shapes_and_a_wgan_gp_step_on_spectrograms():
    generator, critic = ConvGenerator(16, width=8), ConvDiscriminator(width=8, spectral_norm=True)
    fake = generator(torch.randn(5, 16))
    assert fake.shape == (5, 1, 128, 64) and fake.abs().max() <= 1
    assert critic(fake).shape == (5,)
    images, _ = fsdd_images("train")
    trainer = ganlib.Trainer(ConvGenerator(16, width=8), ConvDiscriminator(width=8), images[:256], batch_size=8,
                             g_loss="wasserstein", gradient_penalty=10.0, d_steps=2, device="cpu", log_every=1)
    trainer.train(steps=2, progress=False)
    assert len(trainer.history["score_gap"]) == 2 and trainer.sample(3).shape == (3, 1, 128, 64)
    with pytest.raises(ValueError, match="divisible"):
        ConvGenerator(image_shape=(100, 64))
    with pytest.raises(ValueError, match=r"\[N, 1, 128, 64\]"):
        critic(torch.zeros(2, 1, 64, 64))


def test_the_recogniser_is_accurate_and_scores_real_speech_high_and_one_clip_low():
    # Measured: 0.9967 on FSDD's 300 test clips (1 error). Training refuses a recogniser under
    # MIN_RECOGNISER_ACCURACY = 0.95; here the network as loaded now must reach 0.97 (9 errors): lost or mixed-up
    # weights, or a codec that changed since it was trained, fail this, while a retraining elsewhere that lands
    # a few clips lower does not.
    real, labels = fsdd_images("test")
    measured = accuracy(load_recogniser(), real, labels)  # trains it on first use
    assert measured >= MIN_RECOGNISER_ACCURACY + 0.02
    assert recogniser_info()["test_accuracy"] == pytest.approx(measured, abs=0.004)  # the record: one clip at most
    scores = score_spectrograms(real)
    assert scores["IS"] > 8.5 and scores["digits_covered"] == 10
    assert score_waveforms(load_fsdd("test").waveforms) == scores  # the same images, by the same path
    one_clip = score_spectrograms(real[:1].expand(300, -1, -1, -1))
    assert one_clip["IS"] == pytest.approx(1.0, abs=1e-3) and one_clip["digits_covered"] == 1
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        score_spectrograms(2 * real[:2])


def test_the_griffin_lim_round_trip_barely_changes_what_the_recogniser_hears(fitted_codec):
    # Measured: real test set IS 9.35; after the linear codec's round trip 9.34; after the mel-64 codec's 9.28.
    # That is the ceiling for generated audio on this judge.
    torch.manual_seed(0)
    waves = load_fsdd("test").waveforms
    real = score_waveforms(waves)["IS"]
    for codec in (fitted_codec, SpectrogramCodec(n_mels=64).fit(load_fsdd("train").waveforms, load_fsdd("train").lengths)):
        round_trip = score_waveforms(codec.decode(codec.encode(waves)))
        assert round_trip["IS"] > 0.95 * real and round_trip["digits_covered"] == 10


def test_decoding_repeats_from_its_seed_and_leaves_the_global_rng_alone(fitted_codec, fsdd_train):
    spectrograms = fitted_codec.encode(fsdd_train.waveforms[:3])
    torch.manual_seed(5)
    before = torch.get_rng_state()
    first, again = fitted_codec.decode(spectrograms), fitted_codec.decode(spectrograms)
    assert torch.equal(first, again)  # Griffin-Lim's random starting phase is drawn from seed 0 each time
    assert not torch.equal(first, fitted_codec.decode(spectrograms, seed=1))
    assert torch.equal(torch.get_rng_state(), before)


def test_voicing_tells_speech_from_a_whisper_of_the_same_clips(fitted_codec):
    # Measured on FSDD's 300 test clips: voiced share 0.760 real, 0.722 after the codec's Griffin-Lim round trip,
    # 0.001 whispered (the same envelopes, no harmonics); periodicity 0.772, 0.714 and 0.388.
    waves = load_fsdd("test").waveforms[::3]
    real, heard = voicing(waves), voicing(fitted_codec.decode(fitted_codec.encode(waves)))
    whisper = voicing(whispered(waves))
    assert real["voiced_share"] > 0.65 and heard["voiced_share"] > 0.6 and whisper["voiced_share"] < 0.05
    assert real["periodicity"] > 0.7 and heard["periodicity"] > 0.65 and whisper["periodicity"] < 0.5
    # Median pitch over all 300: 118 Hz real, 122 Hz after the round trip (speakers' medians 106 to 160 Hz)
    assert 100 < real["median_pitch_hz"] < 140 and abs(heard["median_pitch_hz"] - real["median_pitch_hz"]) < 10
    # The recogniser still hears digits in a whisper (measured IS 5.88 against 9.55 real), so IS alone cannot
    # tell a whispering generator from a speaking one.
    assert 0.5 * score_waveforms(waves)["IS"] < score_waveforms(whispered(waves))["IS"] < 0.8 * score_waveforms(waves)["IS"]


def test_voicing_of_silence_and_of_a_pure_tone():
    time = torch.arange(8192) / SAMPLE_RATE
    tone = 0.5 * torch.sin(2 * torch.pi * 150 * time)
    sung = voicing(torch.stack([tone, tone]))
    assert sung["voiced_share"] > 0.95 and abs(sung["median_pitch_hz"] - 150) < 1
    silent = voicing(torch.zeros(2, 8192))
    assert math.isnan(silent.pop("median_pitch_hz"))
    assert silent == {"voiced_share": 0.0, "periodicity": 0.0, "voiced_share_std": 0.0}
    with pytest.raises(ValueError, match="`waveforms`"):
        voicing(torch.zeros(2, 100))
