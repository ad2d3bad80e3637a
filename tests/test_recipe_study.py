"""ganlib.recipe_study: the committed study is complete and reads back; a run of the path gives every row."""
import dataclasses

import pytest

from ganlib import recipe_study


def test_the_committed_study_has_every_row_for_three_seeds():
    runs = recipe_study.load_runs()
    rows = [step.name for step in recipe_study.PATH] + [recipe_study.AVERAGED]
    for row in rows:
        seeds = sorted(run["seed"] for run in runs if run["recipe"] == row)
        assert seeds == [0, 1, 2], f"{row}: seeds {seeds}"
    for run in runs:
        curves = run["curves"]
        assert len(curves["IS"]) == len(curves["FD"]) == len(curves["budget_seconds"]) == recipe_study.METRIC_POINTS + 1
        assert curves["budget_seconds"][-1] == recipe_study.BUDGET_SECONDS
        assert 1.0 <= run["IS"] <= 10.0 and run["FD"] > 0 and 0.0 <= run["smallest_class"] <= 0.1
    table = recipe_study.table(runs)
    assert all(row in table for row in rows) and "±" in table


def test_the_live_and_averaged_rows_are_one_run():
    runs = recipe_study.load_runs()
    for seed in (0, 1, 2):
        live, averaged = (next(run for run in runs if run["recipe"] == row and run["seed"] == seed)
                          for row in (recipe_study.PATH[-1].name, recipe_study.AVERAGED))
        assert live["train_seconds"] == averaged["train_seconds"] and live["steps"] == averaged["steps"]
        assert live["IS"] != averaged["IS"]  # scored on different weights


def test_a_short_path_gives_one_row_per_step_and_the_average(monkeypatch, tmp_path):
    monkeypatch.setattr(recipe_study, "PATH", tuple(dataclasses.replace(step, steps=4) for step in recipe_study.PATH))
    monkeypatch.setattr(recipe_study, "METRIC_POINTS", 2)
    monkeypatch.setattr(recipe_study, "METRIC_SAMPLES", 100)
    rows = recipe_study.run_path(seed=0)
    assert [row["recipe"] for row in rows] == [step.name for step in recipe_study.PATH] + [recipe_study.AVERAGED]
    assert all(row["steps"] == 4 and len(row["curves"]["IS"]) == 3 for row in rows)


def test_load_runs_names_the_command_when_the_file_is_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="python -m ganlib.recipe_study"):
        recipe_study.load_runs(tmp_path / "missing.json")
