"""Pretrained checkpoints: every committed one re-scores as its JSON claims, and loading never runs code."""
import json
import os

import pytest
import torch

from ganlib import pretrain
from ganlib.models import MLPDiscriminator, MLPGenerator
from ganlib.training import Trainer

MAX_TOTAL_BYTES = 40 * 10**6  # issue 19: every checkpoint together under 40 MB
# Scores are deterministic on one machine; other CPUs round differently, hence the margins. The judges are trained
# on the machine that runs the tests, and a judge trained on another CPU has other weights: for the committed
# spoken_digits checkpoint, a recogniser trained on an Intel Xeon (AVX-512, AMX) gives FD 66.4 where the record,
# made with one trained on an AMD EPYC, says 77.9 (-15%), while IS (7.835 against 7.854) and label accuracy (0.896
# against 0.898) agree within 0.3%. FD is measured in the judge's own feature space, so its margin is 25%; an
# untrained or broken generator is off by far more (FD in the hundreds, IS near 1).
# The voicing is measured by Praat on Griffin-Lim's audio of 200 clips, a frame's decision flipping with rounding.
TOLERANCE = {"IS": 0.02, "FD": 0.25, "label_accuracy": 0.02, "digits_covered": 0.0, "classes_covered": 0.0,
             "voiced_share": 0.05, "periodicity": 0.03}


COMMITTED = sorted(name for name, recipe in pretrain.RECIPES.items() if recipe.committed)


@pytest.mark.parametrize("name", COMMITTED)
def test_every_committed_checkpoint_scores_what_its_record_claims(name):
    record = pretrain.pretrained_record(name)
    trainer = pretrain.load_pretrained(name)
    assert trainer.step_count == record["steps"] == pretrain.RECIPES[name].steps
    scores = pretrain.RECIPES[name].evaluate(trainer)
    for key, tolerance in TOLERANCE.items():
        if key in record["metrics"]:
            assert scores[key] == pytest.approx(record["metrics"][key], rel=tolerance, abs=1e-6), key
    assert {"torch", "torchvision", "torchaudio", "numpy", "python"} <= set(record["versions"])
    assert record["seed"] == pretrain.SEED and record["wall_seconds"] > 0


def test_all_checkpoints_together_fit_in_40_mb():
    sizes = [pretrain.checkpoint_paths(name)[0].stat().st_size for name in COMMITTED]
    assert sum(sizes) <= MAX_TOTAL_BYTES


def test_a_record_only_recipe_has_its_record_and_says_how_to_make_its_checkpoint(tmp_path):
    record = pretrain.pretrained_record("mnist_semi_supervised")
    assert record["steps"] == pretrain.RECIPES["mnist_semi_supervised"].steps and record["lesson"] == "07"
    assert 0.95 < record["metrics"]["test_accuracy"] < 1  # issue 20's target is 0.97 (mean over label subsets)
    _, record_path = pretrain.checkpoint_paths("mnist_semi_supervised")
    (tmp_path / record_path.name).write_text(record_path.read_text())  # a clone: the record, not the checkpoint
    with pytest.raises(FileNotFoundError, match="python -m ganlib.pretrain mnist_semi_supervised"):
        pretrain.load_pretrained("mnist_semi_supervised", folder=tmp_path)


def test_pretrain_writes_a_checkpoint_and_a_record_that_load_back(tmp_path):
    record = pretrain.pretrain("mnist_mlp", tmp_path, steps=3)
    assert json.loads((tmp_path / "mnist_mlp.json").read_text()) == record
    assert record["steps"] == 3 and {"IS", "FD", "classes_covered"} <= set(record["metrics"])
    loaded = pretrain.load_pretrained("mnist_mlp", folder=tmp_path)
    assert loaded.step_count == 3 and len(loaded.history["loss_d"]) == 3 and loaded.metrics["step"] == [0, 3]
    assert len(loaded.snapshots) == 2  # step 0 and the last step, as the lesson's plots expect


def test_a_tampered_checkpoint_is_refused(tmp_path):
    pretrain.pretrain("mnist_mlp", tmp_path, steps=1)
    with open(tmp_path / "mnist_mlp.pt", "ab") as file:
        file.write(b"tampered")
    with pytest.raises(ValueError, match="SHA-256"):
        pretrain.load_pretrained("mnist_mlp", folder=tmp_path)


def test_unknown_names_and_missing_checkpoints_are_explained(tmp_path):
    with pytest.raises(ValueError, match="`name` must be one of"):
        pretrain.load_pretrained("mnist_gan")
    with pytest.raises(FileNotFoundError, match="python -m ganlib.pretrain mnist_mlp"):
        pretrain.load_pretrained("mnist_mlp", folder=tmp_path)


class _CodePayload:
    """Unpickling this would run a shell command."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_a_checkpoint_carrying_code_is_refused_and_the_code_never_runs(tmp_path):
    marker, path = tmp_path / "code_ran", tmp_path / "evil.pt"
    torch.save({"format": "ganlib-checkpoint-v1", "generator": _CodePayload(marker)}, path)
    trainer = Trainer(MLPGenerator(8, (16,), out_dim=4), MLPDiscriminator(4, (16,)), torch.rand(32, 4) * 2 - 1,
                      batch_size=8, device="cpu")
    with pytest.raises(ValueError, match="refused"):
        trainer.load(path)
    assert not marker.exists()
