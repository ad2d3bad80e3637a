"""ganlib.failure_logs: lesson 03's three logged runs are recorded, read back and drawn."""
import json

import matplotlib
import pytest

from ganlib import failure_logs

matplotlib.use("Agg")


def test_a_short_recorded_log_holds_every_curve_the_lesson_draws(tmp_path, monkeypatch):
    monkeypatch.setattr(failure_logs, "STEPS", 60)
    monkeypatch.setattr(failure_logs, "METRIC_EVERY", 20)
    monkeypatch.setattr(failure_logs, "RUNS", {"A": ({"seed": 0}, {}), "B": ({"seed": 1}, {"g_loss": "saturating"})})
    path = tmp_path / "logs.json"
    failure_logs.record_all(path)
    logs = failure_logs.load_logs(path)
    assert sorted(logs) == ["A", "B"] and json.loads(path.read_text())["steps"] == 60
    for log in logs.values():
        assert len(log["loss_d"]) == len(log["grad_norm_g"]) == 60
        assert log["step"] == [0, 20, 40, 60]
        assert all(len(log[f"mode_{i}"]) == 4 for i in range(failure_logs.MODES))
    figure = failure_logs.plot_log(logs["A"], "run A")
    assert [ax.get_title() for ax in figure.axes[:4]] == ["modes covered (of 8)", "share of samples at each mode",
                                                           "G's gradient norm", "losses"]


def test_the_committed_logs_are_the_three_runs_of_the_exercise():
    logs = failure_logs.load_logs()
    assert sorted(logs) == sorted(failure_logs.RUNS)
    assert all(log["step"][-1] == failure_logs.STEPS for log in logs.values())


def test_a_missing_logs_file_says_how_to_make_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="python -m ganlib.failure_logs"):
        failure_logs.load_logs(tmp_path / "none.json")
