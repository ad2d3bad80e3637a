"""The ablation behind lesson 06's "which changes mattered": it trains, scores as heard, and resumes."""
import json

import pytest

from ganlib import voicing_study


def test_a_variant_trains_and_is_scored_as_heard():
    run = voicing_study.run_variant("no fine-detail critic", steps=2, seed=3)
    assert run["variant"] == "no fine-detail critic" and run["steps"] == 2 and run["train_seconds"] > 0
    assert 1 <= run["IS"] <= 10 and run["FD"] > 0 and 0 <= run["label_accuracy"] <= 1
    assert 0 <= run["voiced_share"] <= 1 and 0 <= run["periodicity"] <= 1


def test_the_study_keeps_the_runs_it_has_and_trains_none_again(tmp_path, monkeypatch):
    done = [{"variant": name, "seed": 3, "steps": 2} for name in voicing_study.VARIANTS]
    out = tmp_path / "study.json"
    out.write_text(json.dumps({"runs": done}))
    monkeypatch.setattr(voicing_study, "run_variant", lambda *args: pytest.fail("a finished run was trained again"))
    assert voicing_study.main(["--steps", "2", "--seeds", "3", "--out", str(out)]) == 0
    assert json.loads(out.read_text())["runs"] == done


def test_every_variant_changes_one_thing_from_the_recipe():
    assert voicing_study.VARIANTS["lesson 06's recipe"] == {}
    assert all(len(change) == 1 for name, change in voicing_study.VARIANTS.items() if name != "lesson 06's recipe")


def test_a_missing_study_says_how_to_make_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="python -m ganlib.voicing_study"):
        voicing_study.load_runs(tmp_path / "none.json")
