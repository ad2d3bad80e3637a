"""The spoken-digit recipe on SC09: `python -m ganlib.train spoken_digits --corpus sc09`, with SC09's own codec and judge.

SC09 (2.4 GB) cannot be downloaded here, so the tests build a miniature Speech Commands folder laid out as
`fetch_sc09` leaves it, from FSDD recordings written at SC09's 16 kHz under the digit words' names, in a data root
that holds nothing else: any fallback to FSDD would fail there.
"""
import csv

import pytest
import soundfile
import torch
import torchaudio

import ganlib.audio as audio
from ganlib import train
from ganlib.audio import SC09_FOLDER, SC09_WORDS

SPEAKERS = ("george", "jackson", "theo")
RECORDINGS = range(15)  # 0-4 are FSDD's test recordings: they go in SC09's testing list
SC09_LOADERS = (audio.load_spoken_digits, audio.corpus_codec, audio.spoken_digit_images, audio.load_recogniser)


@pytest.fixture(scope="module")
def sc09_root(tmp_path_factory):
    """A data root holding only a miniature SC09: 3 speakers x 10 digits x 15 recordings at 16 kHz."""
    root = tmp_path_factory.mktemp("sc09_root")
    base = root / SC09_FOLDER
    testing = []
    folder = audio.fsdd_folder()
    for word_index, word in enumerate(SC09_WORDS):
        (base / word).mkdir(parents=True)
        for speaker in SPEAKERS:
            for number in RECORDINGS:
                wave, rate = soundfile.read(folder / f"{word_index}_{speaker}_{number}.wav", dtype="float32")
                at_16k = torchaudio.functional.resample(torch.from_numpy(wave), rate, 16000).numpy()
                name = f"{word}/{speaker}_nohash_{number}.wav"
                soundfile.write(base / name, at_16k, 16000)
                if number in audio.FSDD_TEST_INDICES:
                    testing.append(name)
    (base / "validation_list.txt").write_text("")
    (base / "testing_list.txt").write_text("\n".join(testing) + "\n")
    return root


@pytest.fixture
def on_sc09_root(sc09_root, monkeypatch):
    """The miniature SC09 root as the data root, with the loaders forgetting what they loaded before and after."""
    monkeypatch.setenv("GANLIB_DATA", str(sc09_root))
    for loader in SC09_LOADERS:
        loader.cache_clear()
    yield sc09_root
    for loader in SC09_LOADERS:
        loader.cache_clear()


def rows(path) -> list[dict[str, str]]:
    """A CSV file's rows as dicts."""
    with open(path, newline="") as file:
        return list(csv.DictReader(file))


def test_the_spoken_digit_recipe_trains_on_sc09_with_a_codec_and_a_judge_of_its_own(on_sc09_root, tmp_path):
    options = ["spoken_digits", "--corpus", "sc09", "--out", str(tmp_path)]
    assert train.main([*options, "--steps", "3", "--save-every", "3", "--metric-every", "3"]) == 0
    folder = tmp_path / "spoken_digits-sc09"  # its own folder: an FSDD run is never resumed on SC09
    metrics = rows(folder / "metrics.csv")
    assert [int(row["step"]) for row in metrics] == [0, 3]
    assert 1 < float(metrics[-1]["IS"]) < 10 and 0 <= float(metrics[-1]["label_accuracy"]) <= 1
    # the judge was trained on the miniature SC09 and cached in the data root. On its 150 test clips: 0.887 trained on
    # a 2-core Intel Xeon, 0.847 on a 2-core AMD EPYC (the CPU's own rounding); chance is 0.1
    assert (on_sc09_root / audio.RECOGNISER_FILES["sc09"]).is_file()
    assert audio.recogniser_info("sc09")["test_accuracy"] >= 0.8
    trainer, config = train.prepare(train.parse_arguments(options))  # resumed: run.json kept the corpus
    assert config.corpus == "sc09" and trainer.step_count == 3
    assert trainer.data.shape == (300, 1, 128, 64) and torch.bincount(trainer.labels).tolist() == [30] * 10
    codec = audio.corpus_codec("sc09")
    waves = audio.load_spoken_digits("sc09", "train")
    assert torch.equal(codec.mean, audio.SpectrogramCodec().fit(waves.waveforms, waves.lengths).mean)


def test_sc09_missing_from_the_data_root_is_named_with_the_command_that_fetches_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GANLIB_DATA", str(tmp_path / "empty"))
    audio.load_spoken_digits.cache_clear()
    assert train.main(["spoken_digits", "--corpus", "sc09", "--out", str(tmp_path / "runs")]) == 2
    error = capsys.readouterr().err
    assert "SC09 is not in the data root" in error and "fetch_sc09(data_root())" in error


@pytest.mark.parametrize("options, message", [
    (["mnist_mlp", "--corpus", "sc09"], "trains on one data set"),
    (["spoken_digits", "--corpus", "librispeech"], r"one of \['fsdd', 'sc09'\]"),
])
def test_a_corpus_the_recipe_does_not_offer_is_refused(options, message):
    with pytest.raises(ValueError, match=message):
        train.parse_arguments(options)
