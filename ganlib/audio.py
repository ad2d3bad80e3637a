"""Spoken digits: the Free Spoken Digit Dataset (and optionally SC09) in memory, and SpecGAN's spectrograms."""
from __future__ import annotations

import math
import os
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import parselmouth
import soundfile
import torch
import torchaudio
from IPython.display import HTML, Audio

from . import validate
from .cache import load_cache
from .config import cache_root, data_root, isolated_rng, set_seed
from .data import DataNotFoundError, DownloadError, download_file, file_md5
from .models import generate
from .metrics import accuracy, fit_classifier, frechet_distance, inception_score, judge_info, load_or_train_judge

SAMPLE_RATE = 8000
FSDD_URL = "https://github.com/Jakobovski/free-spoken-digit-dataset/archive/refs/tags/v1.0.10.tar.gz"
FSDD_MANIFEST = Path(__file__).with_name("fsdd_md5sums.txt")  # MD5 of every recording of tag v1.0.10
FSDD_TEST_INDICES = range(5)  # the official split: recordings 0-4 of each speaker and digit are the test set
SC09_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


# --- the Free Spoken Digit Dataset -----------------------------------------------------------------------
def fsdd_manifest() -> dict[str, str]:
    """File name -> MD5 for the 3,000 FSDD recordings."""
    lines = FSDD_MANIFEST.read_text().splitlines()
    return {name: md5 for md5, name in (line.split() for line in lines if line.strip())}


def _bad_recordings(folder: Path, manifest: dict[str, str]) -> list[str]:
    """Recordings that are missing from `folder` or differ from the manifest."""
    return [name for name, md5 in manifest.items() if not (folder / name).is_file() or file_md5(folder / name) != md5]


def _download_fsdd(folder: Path, url: str, timeout: float) -> None:
    """Fetch the tagged release archive, check every recording in it, and only then move them into `folder`.

    GitHub makes tag archives on the fly, and their bytes (so any checksum of the archive) have changed before;
    the MD5s of the 3,000 recordings inside it are stable, and a stricter check.
    """
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder.parent) as scratch:
        archive, unpacked = Path(scratch) / "fsdd.tar.gz", Path(scratch) / "recordings"
        download_file(url, archive, timeout=timeout)
        unpacked.mkdir()
        try:
            with tarfile.open(archive) as tar:
                for member in tar.getmembers():
                    name = Path(member.name).name
                    if member.isfile() and Path(member.name).parent.name == "recordings" and name.endswith(".wav"):
                        with tar.extractfile(member) as source, open(unpacked / name, "wb") as target:
                            shutil.copyfileobj(source, target)
        except (tarfile.TarError, EOFError, OSError) as error:
            raise DownloadError(f"the archive from {url} is damaged ({error}); nothing was kept") from None
        bad = _bad_recordings(unpacked, fsdd_manifest())
        if bad:
            raise DownloadError(f"the archive from {url} lacks or alters {len(bad)} recordings (for example "
                                f"{bad[:3]}) against the MD5 manifest; nothing was kept")
        for path in unpacked.iterdir():
            os.replace(path, folder / path.name)


def fsdd_folder(download: bool = True, url: str = FSDD_URL, timeout: float = 30.0) -> Path:
    """The folder of verified FSDD recordings in the data root (or, if it is read-only and lacks them, in the cache
    root), downloading the release archive if needed."""
    folder = data_root() / "fsdd" / "recordings"
    manifest = fsdd_manifest()
    bad = _bad_recordings(folder, manifest)
    if bad and cache_root() != data_root():  # a read-only data root without FSDD: the user's cache gets it
        folder = cache_root() / "fsdd" / "recordings"
        bad = _bad_recordings(folder, manifest)
    if bad and download:
        try:
            _download_fsdd(folder, url, timeout)
        except DataNotFoundError as error:  # no network, an HTTP error, a stall, or a broken or wrong archive
            raise DataNotFoundError(
                f"FSDD is not complete in {folder} ({len(bad)} of {len(manifest)} recordings missing or changed) "
                f"and could not be downloaded: {error}.\nPut the recordings of tag v1.0.10 of "
                f"github.com/Jakobovski/free-spoken-digit-dataset there, or set GANLIB_DATA to a folder that "
                f"holds fsdd/recordings/.") from None
        bad = _bad_recordings(folder, manifest)
    if bad:
        raise DataNotFoundError(f"FSDD in {folder}: {len(bad)} recordings are missing or fail their MD5 check "
                                f"(for example {bad[:3]}); delete them to download them again")
    return folder


@dataclass
class SpokenDigits:
    """Fixed-length waveforms [N, length] in [-1, 1] at SAMPLE_RATE, with their digits and speakers."""

    waveforms: torch.Tensor
    labels: torch.Tensor
    speakers: list[str]
    lengths: torch.Tensor  # samples before padding or trimming

    def __len__(self) -> int:
        return len(self.labels)


def fit_length(waveform: torch.Tensor, length: int) -> torch.Tensor:
    """Pad with silence at the end, or trim the end, to exactly `length` samples."""
    validate.tensor(waveform, "waveform", "fit_length", ndim=1, min_rows=0)
    validate.integer(length, "length", "fit_length")
    if len(waveform) >= length:
        return waveform[:length]
    return torch.nn.functional.pad(waveform, (0, length - len(waveform)))


def read_wav(path: str | Path, sample_rate: int = SAMPLE_RATE) -> torch.Tensor:
    """A mono float32 waveform in [-1, 1], resampled to `sample_rate` if the file differs."""
    samples, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    waveform = torch.from_numpy(samples).mean(dim=1)
    if rate != sample_rate:
        waveform = torchaudio.functional.resample(waveform, rate, sample_rate)
    return waveform


@lru_cache(maxsize=4)
def load_fsdd(split: str = "train", length: int = 8192) -> SpokenDigits:
    """FSDD's official train or test split as in-memory tensors (cached after the first read, remade if damaged)."""
    if split not in ("train", "test"):
        raise ValueError(f"load_fsdd: `split` must be 'train' or 'test', got {split!r}")
    validate.integer(length, "length", "load_fsdd")
    return load_cache(f"fsdd/{split}_{length}.pt", lambda: vars(_read_fsdd(split, length)),
                      lambda content: SpokenDigits(**content))


def _read_fsdd(split: str, length: int) -> SpokenDigits:
    """One split read from the verified recordings, each padded or trimmed to `length` samples."""
    folder = fsdd_folder()
    names = sorted(name for name in fsdd_manifest() if
                   (int(Path(name).stem.split("_")[2]) in FSDD_TEST_INDICES) == (split == "test"))
    waves = [read_wav(folder / name) for name in names]
    return SpokenDigits(waveforms=torch.stack([fit_length(w, length) for w in waves]),
                        labels=torch.tensor([int(name.split("_")[0]) for name in names]),
                        speakers=[name.split("_")[1] for name in names],
                        lengths=torch.tensor([len(w) for w in waves]))


SC09_URL = "http://download.tensorflow.org/data/speech_commands_v0.02.tar.gz"
# The archive's SHA-256, as torchaudio.datasets.speechcommands records it (from TensorFlow Datasets' url_checksums).
SC09_SHA256 = "af14739ee7dc311471de98f5f9d2c9191b18aedfe957f4a6ff791c709868ff58"
SC09_FOLDER = Path("SpeechCommands") / "speech_commands_v0.02"  # where torchaudio's SPEECHCOMMANDS looks
SC09_LISTS = ("validation_list.txt", "testing_list.txt")


def fetch_sc09(root: str | Path, url: str = SC09_URL, sha256: str = SC09_SHA256, timeout: float = 30.0) -> Path:
    """Speech Commands v0.02's ten digit words in ROOT/SpeechCommands/speech_commands_v0.02, downloaded (2.4 GB)
    through `download_file` (length and SHA-256 checked) unless already there. Only the digit words and the split
    lists are unpacked; a failed, wrong or damaged download leaves nothing behind."""
    target = Path(root) / SC09_FOLDER
    if (target / SC09_LISTS[1]).is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
        archive, unpacked = Path(scratch) / "speech_commands.tar.gz", Path(scratch) / "unpacked"
        download_file(url, archive, timeout=timeout, sha256=sha256)
        try:
            with tarfile.open(archive) as tar:
                members = [member for member in tar.getmembers() if member.isfile() and _is_sc09_member(member.name)]
                tar.extractall(unpacked, members=members, filter="data")
        except (tarfile.TarError, EOFError, OSError) as error:
            raise DownloadError(f"the archive from {url} is damaged ({error}); nothing was kept") from None
        if not all((unpacked / name).is_file() for name in SC09_LISTS):
            raise DownloadError(f"the archive from {url} is not Speech Commands (no {' or '.join(SC09_LISTS)}); "
                                f"nothing was kept")
        os.replace(unpacked, target)
    return target


def _is_sc09_member(name: str) -> bool:
    """Whether an archive member is a split list or a recording of one of the digit words."""
    parts = [part for part in Path(name).parts if part != "."]
    return parts in ([SC09_LISTS[0]], [SC09_LISTS[1]]) or (len(parts) == 2 and parts[0] in SC09_WORDS)


def load_sc09(root: str | Path, subset: str = "training", length: int = 8192, download: bool = False) -> SpokenDigits:
    """The SC09 digits of Speech Commands (torchaudio.datasets.SPEECHCOMMANDS), resampled to SAMPLE_RATE.

    Large (2.4 GB to download, through `fetch_sc09`); for users with bandwidth and a GPU. Audio is read with soundfile.
    """
    if download:
        fetch_sc09(root)
    dataset = torchaudio.datasets.SPEECHCOMMANDS(str(root), download=False, subset=subset)
    base = Path(root) / "SpeechCommands"
    waves, labels, speakers = [], [], []
    for n in range(len(dataset)):
        relpath, _rate, word, speaker, _utterance = dataset.get_metadata(n)
        if word in SC09_WORDS:
            waves.append(read_wav(base / relpath))
            labels.append(SC09_WORDS.index(word))
            speakers.append(speaker)
    if not waves:
        raise DataNotFoundError(f"load_sc09: no recordings of the words zero..nine in {base} (subset {subset!r})")
    return SpokenDigits(waveforms=torch.stack([fit_length(w, length) for w in waves]), labels=torch.tensor(labels),
                        speakers=speakers, lengths=torch.tensor([len(w) for w in waves]))


SPEECH_CORPORA = ("fsdd", "sc09")  # what the spoken-digit GAN can train on: FSDD always, SC09 when in the data root


def _check_corpus(corpus: str, who: str) -> None:
    """Refuse a corpus name the course does not know, naming the ones it does."""
    if corpus not in SPEECH_CORPORA:
        raise ValueError(f"{who}: `corpus` must be one of {SPEECH_CORPORA}, got {corpus!r}")


def sc09_present() -> bool:
    """Whether SC09 (Speech Commands' digit words, as `fetch_sc09` leaves them) is in the data root."""
    return (data_root() / SC09_FOLDER / SC09_LISTS[1]).is_file()


@lru_cache(maxsize=4)
def load_spoken_digits(corpus: str = "fsdd", split: str = "train", length: int = 8192) -> SpokenDigits:
    """A spoken-digit corpus's train or test split in memory: FSDD, or SC09 from the data root (decoded once and
    cached like FSDD; SC09's validation list is not used)."""
    _check_corpus(corpus, "load_spoken_digits")
    if corpus == "fsdd":
        return load_fsdd(split, length)
    if split not in ("train", "test"):
        raise ValueError(f"load_spoken_digits: `split` must be 'train' or 'test', got {split!r}")
    if not sc09_present():
        raise DataNotFoundError(f"SC09 is not in the data root {data_root()} (no {SC09_FOLDER / SC09_LISTS[1]}); "
                                f"download it (2.4 GB) with: python -c \"from ganlib.audio import fetch_sc09; "
                                f"from ganlib.config import data_root; fetch_sc09(data_root())\"")
    subset = {"train": "training", "test": "testing"}[split]
    return load_cache(f"SpeechCommands/sc09_{split}_{length}.pt",
                      lambda: vars(load_sc09(data_root(), subset, length)), lambda content: SpokenDigits(**content))


# --- spectrograms as in SpecGAN -------------------------------------------------------------------------------
class SpectrogramCodec(torch.nn.Module):
    """Waveforms <-> normalised log-magnitude spectrograms in [-1, 1], as SpecGAN prepares them.

    Forward: STFT magnitude (or mel), log, per-frequency-bin standardisation with statistics of the training
    set (`fit`), clipping at `clip_std` standard deviations, scaling to [-1, 1]. Inverse: the same steps
    backwards, then Griffin-Lim to guess the phase the spectrogram does not keep.
    """

    def __init__(self, n_fft: int = 256, hop_length: int = 128, n_mels: int | None = None,
                 clip_std: float = 3.0, griffin_lim_iters: int = 32, sample_rate: int = SAMPLE_RATE,
                 length: int = 8192):
        super().__init__()
        who = "SpectrogramCodec"
        validate.integer(n_fft, "n_fft", who, low=2, high=2**16)
        validate.integer(hop_length, "hop_length", who, high=n_fft)
        if n_mels is not None:
            validate.integer(n_mels, "n_mels", who, high=n_fft // 2 + 1)
        validate.number(clip_std, "clip_std", who, low=0, low_open=True)
        validate.integer(griffin_lim_iters, "griffin_lim_iters", who, high=10_000)
        validate.integer(sample_rate, "sample_rate", who)
        validate.integer(length, "length", who, low=n_fft // 2 + 1)
        self.n_fft, self.hop_length, self.n_mels, self.clip_std = n_fft, hop_length, n_mels, clip_std
        self.sample_rate = sample_rate
        self.shape = (n_mels or n_fft // 2 + 1, length // hop_length + 1)  # (bins, frames) of a clip
        self.spectrogram = torchaudio.transforms.Spectrogram(n_fft=n_fft, hop_length=hop_length, power=1.0)
        self.griffin_lim = torchaudio.transforms.GriffinLim(n_fft=n_fft, hop_length=hop_length, power=1.0,
                                                            n_iter=griffin_lim_iters)
        n_bins = n_fft // 2 + 1
        if n_mels is not None:
            self.mel = torchaudio.transforms.MelScale(n_mels, sample_rate, n_stft=n_bins)
            self.inverse_mel = torchaudio.transforms.InverseMelScale(n_bins, n_mels, sample_rate, driver="gelsd")
        self.register_buffer("mean", torch.zeros(n_mels or n_bins, 1))
        self.register_buffer("std", torch.ones(n_mels or n_bins, 1))
        self.fitted = False

    def log_magnitude(self, waveforms: torch.Tensor) -> torch.Tensor:
        """log(|STFT| + 1e-6) (or of the mel spectrogram) of waveforms [N, samples] -> [N, bins, frames]."""
        validate.tensor(waveforms, "waveforms", "SpectrogramCodec", shape=("batch", "samples"))
        if waveforms.shape[1] <= self.n_fft // 2:  # the STFT pads each end by n_fft/2, reflecting the signal
            raise ValueError(f"SpectrogramCodec: `waveforms` must hold more than n_fft/2 = {self.n_fft // 2} samples "
                             f"each, got {waveforms.shape[1]}")
        magnitude = self.spectrogram(waveforms)
        if self.n_mels is not None:
            magnitude = self.mel(magnitude)
        return torch.log(magnitude + 1e-6)

    @torch.no_grad()
    def fit(self, waveforms: torch.Tensor, lengths: torch.Tensor | None = None) -> "SpectrogramCodec":
        """Per-bin mean and std of the log-magnitudes of the training waveforms.

        With `lengths` (samples before the zero padding), only frames of the recordings themselves count:
        digital silence would pull the mean far down and inflate the std, squeezing speech into a narrow band.
        """
        log_mag = self.log_magnitude(waveforms)
        if lengths is not None:
            validate.tensor(lengths, "lengths", "SpectrogramCodec.fit", ndim=1, dtype="int")
            validate.rows_match(waveforms, lengths, ("waveforms", "lengths"), "SpectrogramCodec.fit")
        inside = torch.ones(log_mag.shape[0], log_mag.shape[2], dtype=torch.bool)
        if lengths is not None:
            if lengths.shape != (len(waveforms),):
                raise ValueError(f"SpectrogramCodec.fit: `lengths` must be [{len(waveforms)}], got {list(lengths.shape)}")
            inside = torch.arange(log_mag.shape[2]) * self.hop_length < lengths[:, None]
        values = log_mag.transpose(1, 2)[inside]  # [frames inside recordings, bins]
        self.mean.copy_(values.mean(dim=0).unsqueeze(1))
        self.std.copy_(values.std(dim=0).unsqueeze(1).clamp_min(1e-3))
        self.fitted = True
        return self

    @torch.no_grad()
    def encode(self, waveforms: torch.Tensor) -> torch.Tensor:
        """Waveforms [N, samples] -> spectrograms [N, bins, frames] in [-1, 1]."""
        if not self.fitted:
            raise RuntimeError("SpectrogramCodec: call fit(training_waveforms) before encode")
        standardised = (self.log_magnitude(waveforms) - self.mean) / self.std
        return standardised.clamp(-self.clip_std, self.clip_std) / self.clip_std

    @torch.no_grad()
    def magnitude(self, spectrograms: torch.Tensor) -> torch.Tensor:
        """Undo the normalisation: spectrograms in [-1, 1] -> linear STFT magnitudes [N, n_fft/2 + 1, frames]."""
        validate.tensor(spectrograms, "spectrograms", "SpectrogramCodec", shape=("N", self.mean.shape[0], "frames"))
        magnitude = torch.exp(spectrograms * self.clip_std * self.std + self.mean) - 1e-6
        magnitude = magnitude.clamp_min(0.0)
        if self.n_mels is not None:
            magnitude = self.inverse_mel(magnitude)
        return magnitude

    @property
    def seconds_per_frame(self) -> float:
        """Time between two frames (columns) of a spectrogram, in seconds."""
        return self.hop_length / self.sample_rate

    @property
    def hz_per_bin(self) -> float | None:
        """Frequency between two bins (rows) of a linear spectrogram, in Hz; None for mel bands (not evenly spaced)."""
        return None if self.n_mels is not None else self.sample_rate / self.n_fft

    @property
    def image_scale(self) -> torch.Tensor:
        """Log-magnitude (in nats) per image unit for each image row, clip_std * std: a HarmonicGenerator's scale."""
        return self.clip_std * self.std[:self.image_shape[0], 0]

    @property
    def image_shape(self) -> tuple[int, int]:
        """(height, width) of the images a GAN trains on: bins and frames cut down to even numbers."""
        return self.shape[0] // 2 * 2, self.shape[1] // 2 * 2

    def to_image(self, spectrograms: torch.Tensor) -> torch.Tensor:
        """Spectrograms [N, bins, frames] -> one-channel images [N, 1, *image_shape] (an odd last bin or frame
        is dropped: the Nyquist bin, and the frame centred on the clip's very end)."""
        validate.tensor(spectrograms, "spectrograms", "SpectrogramCodec.to_image", shape=(None, *self.shape))
        height, width = self.image_shape
        return spectrograms[:, None, :height, :width].contiguous()

    def from_image(self, images: torch.Tensor) -> torch.Tensor:
        """Images [N, 1, *image_shape] -> spectrograms [N, bins, frames], a dropped bin or frame set to -1 (quiet)."""
        validate.tensor(images, "images", "SpectrogramCodec.from_image", shape=(None, 1, *self.image_shape))
        (bins, frames), (height, width) = self.shape, self.image_shape
        return torch.nn.functional.pad(images[:, 0], (0, frames - width, 0, bins - height), value=-1.0)

    @torch.no_grad()
    def decode(self, spectrograms: torch.Tensor, seed: int = 0) -> torch.Tensor:
        """Spectrograms in [-1, 1] -> waveforms [N, (frames - 1) * hop_length], with Griffin-Lim's phase estimate.

        Griffin-Lim starts from a random phase, drawn from `seed`, so the same spectrogram always sounds the same.
        """
        validate.integer(seed, "seed", "SpectrogramCodec.decode", low=0)
        magnitudes = self.magnitude(spectrograms)
        with isolated_rng(seed):
            return self.griffin_lim(magnitudes)


def _check_magnitudes(who: str, reference: torch.Tensor, estimate: torch.Tensor) -> None:
    """Two magnitude spectrograms [..., bins, frames] of the same shape, without negative values."""
    for name, values in (("reference", reference), ("estimate", estimate)):
        validate.tensor(values, name, who, min_ndim=2)
        if bool((values < 0).any()):
            raise ValueError(f"{who}: `{name}` must hold magnitudes (no negative values)")
    validate.same_shape(reference, estimate, ("reference", "estimate"), who)


def spectral_convergence(reference: torch.Tensor, estimate: torch.Tensor) -> float:
    """||S_ref - S_est|| / ||S_ref|| over STFT magnitudes: 0 is perfect (a standard Griffin-Lim measure)."""
    _check_magnitudes("spectral_convergence", reference, estimate)
    if not bool(reference.any()):
        raise ValueError("spectral_convergence: `reference` is all zeros (silence), so the ratio is undefined")
    return float(torch.linalg.vector_norm(reference - estimate) / torch.linalg.vector_norm(reference))


def log_spectral_distance(reference: torch.Tensor, estimate: torch.Tensor, dynamic_range_db: float = 80.0,
                          inside: torch.Tensor | None = None) -> float:
    """Root-mean-square difference of two magnitude spectrograms [N, bins, frames] in decibels.

    Both are floored at `dynamic_range_db` below the reference clip's peak, as a listener's ear and any
    recording's noise floor do: the exact depth of digital silence would otherwise dominate. With `inside`
    ([N, frames] booleans), only those frames count: for example the frames inside recordings, not their padding.
    """
    who = "log_spectral_distance"
    _check_magnitudes(who, reference, estimate)
    validate.number(dynamic_range_db, "dynamic_range_db", who, low=0, low_open=True)
    floor = reference.amax(dim=(-2, -1), keepdim=True).clamp_min(1e-12) * 10 ** (-dynamic_range_db / 20)
    to_db = lambda magnitude: 20 * torch.log10(torch.maximum(magnitude, floor))  # noqa: E731
    squared = (to_db(reference) - to_db(estimate)) ** 2
    if inside is None:
        return float(squared.mean().sqrt())
    if reference.ndim != 3:
        raise ValueError(f"{who}: with `inside`, `reference` must be [N, bins, frames], got {list(reference.shape)}")
    validate.tensor(inside, "inside", who, shape=(reference.shape[0], reference.shape[-1]), dtype="bool")
    if not bool(inside.any()):
        raise ValueError(f"{who}: `inside` selects no frame")
    return float(squared.transpose(-2, -1)[inside].mean().sqrt())


# --- voicing: is there a pitch, or is it a whisper? --------------------------------------------------------
PITCH_RANGE_HZ = (60.0, 400.0)  # adult voices; FSDD's six speakers lie well inside it
VOICING_FRAME_S = 0.01  # one pitch measurement every 10 ms
AUDIBLE_DB = 30.0  # frames within this many dB of the clip's loudest frame are the ones a listener hears


def _clip_voicing(waveform: np.ndarray, sample_rate: int) -> tuple[float, float, float]:
    """Voiced share, mean periodicity and median pitch (Hz; NaN if none is voiced) of one clip's audible frames
    (0, 0, NaN for a silent clip)."""
    sound = parselmouth.Sound(waveform.astype(np.float64), sampling_frequency=sample_rate)
    pitch = sound.to_pitch_ac(time_step=VOICING_FRAME_S, pitch_floor=PITCH_RANGE_HZ[0], pitch_ceiling=PITCH_RANGE_HZ[1])
    candidates = pitch.to_array()  # [candidates, frames] of (frequency, strength); frequency 0 is "unvoiced"
    voiced = candidates[0]["frequency"] > 0  # the tracker's path (Viterbi over frames) is the first candidate
    periodicity = np.where(candidates["frequency"] > 0, candidates["strength"], 0.0).max(axis=0)
    intensity = sound.to_intensity(minimum_pitch=PITCH_RANGE_HZ[0], time_step=VOICING_FRAME_S)
    level_db = np.array([intensity.get_value(time) for time in pitch.xs()], dtype=np.float64)
    if np.isnan(level_db).all():
        return 0.0, 0.0, math.nan
    audible = np.nan_to_num(level_db, nan=-np.inf) > np.nanmax(level_db) - AUDIBLE_DB
    pitches = candidates[0]["frequency"][voiced & audible]
    return (float(voiced[audible].mean()), float(periodicity[audible].mean()),
            float(np.median(pitches)) if len(pitches) else math.nan)


def voicing(waveforms: torch.Tensor, sample_rate: int = SAMPLE_RATE) -> dict[str, float]:
    """How voiced clips [N, samples] sound: the share of audible frames with a pitch, and their periodicity.

    Praat's autocorrelation pitch tracker (Boersma 1993, through parselmouth) decides each 10 ms frame; audible
    frames are those within 30 dB of the clip's loudest. `periodicity` is the normalised autocorrelation at the
    best pitch period, 0 to 1 (measured on FSDD's test clips: 0.77, and 0.39 for the same clips whispered).
    Returns the means over clips, `voiced_share_std` over clips, and `median_pitch_hz`, the median over clips with
    a voiced frame of each one's median pitch (NaN if no clip has one): about 120 Hz for FSDD's test clips, while a
    generator's periodic artefacts buzz at multiples of the 31.25 Hz bin spacing, such as 62.5 Hz.
    """
    who = "voicing"
    validate.tensor(waveforms, "waveforms", who, shape=("clips", "samples"))
    validate.integer(sample_rate, "sample_rate", who, low=2 * int(PITCH_RANGE_HZ[1]), high=192_000)
    minimum = math.ceil(6.4 / PITCH_RANGE_HZ[0] * sample_rate) + 1  # Praat's intensity window: 6.4 lowest periods
    if waveforms.shape[1] < minimum:
        raise ValueError(f"{who}: `waveforms` must hold at least {minimum} samples each (6.4 periods of "
                         f"{PITCH_RANGE_HZ[0]:.0f} Hz at {sample_rate} Hz), got {waveforms.shape[1]}")
    per_clip = torch.tensor([_clip_voicing(clip, sample_rate) for clip in waveforms.detach().cpu().numpy()],
                            dtype=torch.float64)
    pitches = per_clip[:, 2][~per_clip[:, 2].isnan()]
    return {"voiced_share": float(per_clip[:, 0].mean()), "periodicity": float(per_clip[:, 1].mean()),
            "voiced_share_std": float(per_clip[:, 0].std()) if len(per_clip) > 1 else 0.0,
            "median_pitch_hz": float(pitches.median()) if len(pitches) else math.nan}


def whispered(waveforms: torch.Tensor, seed: int = 0, n_fft: int = 256, smoothing_hz: float = 350.0,
              sample_rate: int = SAMPLE_RATE) -> torch.Tensor:
    """The clips [N, samples] as a whisper: white noise given each frame's spectral envelope, so the formants
    (what makes a digit recognisable) stay and the harmonic stripes (the pitch) are smoothed away.

    The envelope is the STFT magnitude averaged over `smoothing_hz`, wider than any pitch's harmonic spacing.
    """
    who = "whispered"
    validate.tensor(waveforms, "waveforms", who, shape=("clips", "samples"))
    validate.integer(seed, "seed", who, low=0)
    validate.integer(n_fft, "n_fft", who, low=4, high=2**14)
    validate.integer(sample_rate, "sample_rate", who)
    validate.number(smoothing_hz, "smoothing_hz", who, low=0, low_open=True, high=sample_rate / 2)
    if waveforms.shape[1] <= n_fft // 2:
        raise ValueError(f"{who}: `waveforms` must hold more than n_fft/2 = {n_fft // 2} samples, got {waveforms.shape[1]}")
    hop, window = n_fft // 2, torch.hann_window(n_fft)
    stft = lambda signal: torch.stft(signal, n_fft, hop, window=window, return_complex=True)  # noqa: E731
    magnitude = stft(waveforms.float()).abs()  # [N, bins, frames]
    width = 2 * round(smoothing_hz / (sample_rate / n_fft) / 2) + 1  # odd, in bins
    bins_last = magnitude.transpose(1, 2).reshape(-1, 1, magnitude.shape[1])
    envelope = torch.nn.functional.avg_pool1d(bins_last, width, 1, width // 2, count_include_pad=False)
    envelope = envelope.reshape(magnitude.shape[0], magnitude.shape[2], -1).transpose(1, 2)
    noise = torch.randn(waveforms.shape, generator=torch.Generator().manual_seed(seed))
    return torch.istft(stft(noise) * envelope, n_fft, hop, window=window, length=waveforms.shape[1])


# --- spectrograms as images, and the spoken-digit recogniser that judges generated audio ------------------
@lru_cache(maxsize=2)
def corpus_codec(corpus: str = "fsdd") -> SpectrogramCodec:
    """The course's codec (n_fft 256, hop 128), fitted on a corpus's training split."""
    digits = load_spoken_digits(corpus, "train")
    return SpectrogramCodec().fit(digits.waveforms, digits.lengths)


def standard_codec() -> SpectrogramCodec:
    """The course's codec fitted on FSDD's training split: the one the lessons use."""
    return corpus_codec("fsdd")


@lru_cache(maxsize=4)
def spoken_digit_images(corpus: str = "fsdd", split: str = "train") -> tuple[torch.Tensor, torch.Tensor]:
    """A corpus as spectrogram images [N, 1, 128, 64] in [-1, 1] (its own codec) with their digits."""
    digits, codec = load_spoken_digits(corpus, split), corpus_codec(corpus)
    chunks = digits.waveforms.split(4096)  # bounds the STFT's memory on SC09; FSDD's splits are one chunk
    return torch.cat([codec.to_image(codec.encode(chunk)) for chunk in chunks]), digits.labels


def fsdd_images(split: str = "train") -> tuple[torch.Tensor, torch.Tensor]:
    """FSDD as spectrogram images [N, 1, 128, 64] in [-1, 1] with their digits, ready to train on."""
    return spoken_digit_images("fsdd", split)


class SpokenDigitRecogniser(torch.nn.Module):
    """A small CNN that names the digit in a spectrogram image; its penultimate layer gives 128-d features."""

    def __init__(self):
        super().__init__()
        block = lambda cin, cout: [torch.nn.Conv2d(cin, cout, 3, padding=1), torch.nn.BatchNorm2d(cout),  # noqa: E731
                                   torch.nn.ReLU(), torch.nn.MaxPool2d(2)]
        self.conv = torch.nn.Sequential(*block(1, 16), *block(16, 32), *block(32, 64), *block(64, 64),
                                        torch.nn.Flatten())
        self.hidden = torch.nn.Sequential(torch.nn.Dropout(0.3), torch.nn.Linear(64 * 8 * 4, 128), torch.nn.ReLU())
        self.head = torch.nn.Linear(128, 10)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """Penultimate features [N, 128] of spectrogram images [N, 1, 128, 64]."""
        validate.tensor(images, "images", "SpokenDigitRecogniser", shape=(None, 1, 128, 64))
        return self.hidden(self.conv(images))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Digit logits [N, 10]."""
        return self.head(self.features(images))


RECOGNISER_FILES = {"fsdd": "fsdd_recogniser_v2.pt",  # v2: codec statistics exclude the zero padding
                    "sc09": "sc09_recogniser.pt"}
RECOGNISER_FILE = RECOGNISER_FILES["fsdd"]
# A judge below these test accuracies is refused. FSDD's is measured (tests/test_audio.py); SC09's is not (no copy
# of SC09 on the machines this course is built on): WaveGAN's SC09 classifier reaches 93% (Donahue et al., 2019).
MIN_RECOGNISER_ACCURACIES = {"fsdd": 0.95, "sc09": 0.80}
MIN_RECOGNISER_ACCURACY = MIN_RECOGNISER_ACCURACIES["fsdd"]


def shift_in_time(images: torch.Tensor, max_frames: int = 8, generator: torch.Generator | None = None) -> torch.Tensor:
    """Augmentation: delay each clip by 0..max_frames frames (silence, -1, comes in from the left)."""
    validate.tensor(images, "images", "shift_in_time", ndim=4)
    validate.integer(max_frames, "max_frames", "shift_in_time", low=0)
    shifts = torch.randint(0, max_frames + 1, (len(images),), generator=generator)
    padded = torch.nn.functional.pad(images, (max_frames, 0), value=-1.0)
    frames = images.shape[-1]
    index = torch.arange(frames) + max_frames - shifts[:, None]  # [N, frames] into the padded time axis
    return padded.gather(-1, index[:, None, None, :].expand(-1, images.shape[1], images.shape[2], -1))


def train_recogniser(epochs: int = 12, batch_size: int = 64, seed: int = 0,
                     corpus: str = "fsdd") -> tuple[SpokenDigitRecogniser, float]:
    """Train the spoken-digit recogniser on a corpus's training split; returns it and its test accuracy."""
    _check_corpus(corpus, "train_recogniser")
    set_seed(seed)
    images, labels = spoken_digit_images(corpus, "train")
    rng = torch.Generator().manual_seed(seed)
    model = fit_classifier(SpokenDigitRecogniser(), images, labels, epochs, batch_size, seed,
                           f"training the spoken-digit recogniser ({corpus})",
                           augment=lambda x: shift_in_time(x, generator=rng))
    test_images, test_labels = spoken_digit_images(corpus, "test")
    return model, accuracy(model, test_images, test_labels)


@lru_cache(maxsize=2)
def load_recogniser(corpus: str = "fsdd") -> SpokenDigitRecogniser:
    """The judge of generated speech, trained once per corpus (FSDD's: about 70 s on 2 CPU cores) and cached
    (ganlib.config.cache_root)."""
    _check_corpus(corpus, "load_recogniser")
    return load_or_train_judge(RECOGNISER_FILES[corpus], SpokenDigitRecogniser,
                               lambda: train_recogniser(corpus=corpus), MIN_RECOGNISER_ACCURACIES[corpus],
                               f"spoken-digit recogniser ({corpus})")


def recogniser_info(corpus: str = "fsdd") -> dict[str, float]:
    """Test accuracy and training time recorded when the cached recogniser was trained."""
    load_recogniser(corpus)
    return judge_info(RECOGNISER_FILES[corpus])


@torch.no_grad()
def _judge(images: torch.Tensor, corpus: str = "fsdd") -> tuple[torch.Tensor, torch.Tensor]:
    """The recogniser's digit probabilities [N, 10] and features [N, 128] of spectrogram images."""
    model = load_recogniser(corpus)
    features = torch.cat([model.features(chunk.float()) for chunk in images.split(1000)])
    return torch.softmax(model.head(features), dim=1), features


@lru_cache(maxsize=2)
def _real_test_features(corpus: str = "fsdd") -> torch.Tensor:
    """The recogniser's features of the corpus's real test spectrograms: the reference for the Fréchet distance."""
    return _judge(spoken_digit_images(corpus, "test")[0], corpus)[1]


def score_spectrograms(images: torch.Tensor, corpus: str = "fsdd") -> dict[str, float]:
    """Classifier IS, Fréchet distance to real test speech (recogniser features), per-digit shares and digits
    covered (>= 2% of samples) of spectrogram images in [-1, 1], judged by the corpus's recogniser."""
    validate.tensor(images, "images", "score_spectrograms", shape=(None, 1, 128, 64), min_rows=2)
    _check_corpus(corpus, "score_spectrograms")
    if images.min() < -1.001 or images.max() > 1.001:
        raise ValueError("score_spectrograms: `images` must lie in [-1, 1] (the codec's and a tanh generator's range)")
    return _scores(*_judge(images, corpus), corpus)


def _scores(probs: torch.Tensor, features: torch.Tensor, corpus: str) -> dict[str, float]:
    """IS, FD, digits covered and per-digit shares from the recogniser's outputs."""
    shares = torch.bincount(probs.argmax(1), minlength=10).float() / len(probs)
    scores = {"IS": inception_score(probs), "FD": frechet_distance(features, _real_test_features(corpus)),
              "digits_covered": float((shares >= 0.02).sum())}
    scores.update({f"digit_{d}": float(shares[d]) for d in range(10)})
    return scores


def score_waveforms(waveforms: torch.Tensor, corpus: str = "fsdd") -> dict[str, float]:
    """Judge audio as a listener hears it: the corpus codec's images of the waveforms, scored by its recogniser.

    Any generator's output (linear or mel spectrograms, after Griffin-Lim) is judged on the same scale.
    """
    codec = corpus_codec(corpus)
    return score_spectrograms(codec.to_image(codec.encode(waveforms)), corpus)


def spectrogram_metrics(n: int = 1000, seed: int = 1234, voicing_clips: int = 0,
                        corpus: str = "fsdd") -> Callable[[torch.nn.Module], dict[str, float]]:
    """A metric function for Trainer(metric_fn=...): the corpus recogniser's scores of n fresh spectrogram samples.

    A conditional generator is asked for each digit equally often, and `label_accuracy` says how often the
    recogniser hears the digit that was asked for: the evidence that the conditioning was learnt. With
    `voicing_clips`, that many samples are also decoded to audio (the corpus codec's Griffin-Lim) and their
    `voiced_share` and `periodicity` measured as heard (about 25 ms a clip).
    """
    validate.integer(n, "n", "spectrogram_metrics", low=2)
    validate.integer(seed, "seed", "spectrogram_metrics", low=0)
    validate.integer(voicing_clips, "voicing_clips", "spectrogram_metrics", low=0, high=n)
    _check_corpus(corpus, "spectrogram_metrics")
    def metric_fn(generator: torch.nn.Module) -> dict[str, float]:
        z = torch.randn(n, generator.latent_dim, generator=torch.Generator().manual_seed(seed))
        wanted = torch.arange(n) % generator.n_classes if getattr(generator, "n_classes", None) else None
        device = next(generator.parameters()).device
        images = generate(generator, z.to(device), None if wanted is None else wanted.to(device))
        probs, features = _judge(images, corpus)
        scores = _scores(probs, features, corpus)
        if wanted is not None:
            scores["label_accuracy"] = float((probs.argmax(1) == wanted).float().mean())
        if voicing_clips:
            codec = corpus_codec(corpus)
            heard = voicing(codec.decode(codec.from_image(images[:voicing_clips].float().cpu())))
            scores.update(voiced_share=heard["voiced_share"], periodicity=heard["periodicity"])
        return scores
    return metric_fn


def recognise(images: torch.Tensor, corpus: str = "fsdd") -> torch.Tensor:
    """The digit the corpus's recogniser hears in each spectrogram image [N, 1, 128, 64]."""
    return _judge(images, corpus)[0].argmax(1)


def trim_trailing_silence(waveform: torch.Tensor, threshold: float = 0.01, keep_seconds: float = 0.05,
                          sample_rate: int = SAMPLE_RATE) -> torch.Tensor:
    """Cut a waveform [samples] `keep_seconds` after its last sample louder than `threshold` x its peak."""
    who = "trim_trailing_silence"
    validate.tensor(waveform, "waveform", who, ndim=1)
    validate.number(threshold, "threshold", who, low=0, high=1, high_open=True)
    validate.number(keep_seconds, "keep_seconds", who, low=0)
    validate.integer(sample_rate, "sample_rate", who)
    loud = (waveform.abs() > threshold * waveform.abs().max()).nonzero()
    end = int(loud[-1]) + 1 + round(keep_seconds * sample_rate) if len(loud) else 1
    return waveform[:end]


def wav_player(waveform: torch.Tensor, sample_rate: int = SAMPLE_RATE) -> Audio:
    """A notebook audio player for one waveform [samples], trailing silence cut (to keep notebooks small),
    scaled to full volume (silence stays silent)."""
    validate.tensor(waveform, "waveform", "wav_player", ndim=1)
    validate.integer(sample_rate, "sample_rate", "wav_player")
    waveform = trim_trailing_silence(waveform, sample_rate=sample_rate)
    return Audio(waveform.numpy(), rate=sample_rate, normalize=bool(waveform.abs().max() > 0))


def audio_players(waveforms: torch.Tensor, captions: Sequence[str], sample_rate: int = SAMPLE_RATE) -> HTML:
    """A row of small audio players, one per waveform [N, samples], each under its caption."""
    validate.tensor(waveforms, "waveforms", "audio_players", ndim=2)
    if not isinstance(captions, (list, tuple)) or len(waveforms) != len(captions):
        raise ValueError(f"audio_players: `captions` must be a list with one caption per row of `waveforms` "
                         f"({len(waveforms)}), got {captions!r}")
    players = [wav_player(wave, sample_rate)._repr_html_().replace("<audio ", "<audio style='width:150px' ")
               for wave in waveforms]
    cells = "".join(f"<div style='display:inline-block;margin:4px;text-align:center;font-size:12px'>{caption}<br>"
                    f"{player}</div>" for player, caption in zip(players, captions))
    return HTML(f"<div>{cells}</div>")
