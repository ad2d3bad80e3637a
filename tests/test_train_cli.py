"""python -m ganlib.train: a recipe trained from the command line, saved as it goes, resumed as if never stopped."""
import csv
import json

import pytest
import torch

from ganlib import train
from ganlib.training import Trainer


def run(tmp_path, *options: str) -> int:
    """The command line, with its output folder in tmp_path."""
    return train.main(["mnist_mlp", "--out", str(tmp_path), *options])


def weights(folder) -> dict[str, torch.Tensor]:
    """The generator's weights in a run folder's checkpoint."""
    return torch.load(folder / "mnist_mlp" / "checkpoint.pt", weights_only=True)["generator"]


def rows(path) -> list[dict[str, str]]:
    """A CSV file's rows as dicts."""
    with open(path, newline="") as file:
        return list(csv.DictReader(file))


def test_a_run_writes_its_checkpoint_logs_and_settings(tmp_path):
    assert run(tmp_path, "--steps", "6", "--save-every", "4", "--batch-size", "32", "--lr-g", "1e-3") == 0
    folder = tmp_path / "mnist_mlp"
    losses = rows(folder / "losses.csv")
    assert [int(row["step"]) for row in losses] == list(range(1, 7))
    assert {"loss_d", "loss_g", "d_real", "d_fake"} <= set(losses[0])
    metrics = rows(folder / "metrics.csv")
    assert [int(row["step"]) for row in metrics] == [0, 6] and 1 < float(metrics[-1]["IS"]) < 10
    settings = json.loads((folder / "run.json").read_text())
    assert settings["overrides"] == {"batch_size": 32, "lr_g": 1e-3} and settings["steps"] == 6
    trainer, _ = train.prepare(train.parse_arguments(["mnist_mlp", "--out", str(tmp_path)]))  # a resumed run
    assert trainer.step_count == 6 and trainer.batch_size == 32 and trainer.lr_g == 1e-3


def test_an_interrupted_run_resumed_by_the_same_command_is_the_run_without_the_stop(tmp_path, monkeypatch):
    assert run(tmp_path / "whole", "--steps", "7", "--save-every", "3") == 0
    advance = Trainer.advance

    def interrupted_at_step_5(self: Trainer) -> None:
        advance(self)
        if self.step_count == 5:
            raise KeyboardInterrupt

    monkeypatch.setattr(Trainer, "advance", interrupted_at_step_5)
    assert run(tmp_path / "stopped", "--steps", "7", "--save-every", "3") == 130  # Ctrl-C: saved, then stopped
    assert torch.load(tmp_path / "stopped" / "mnist_mlp" / "checkpoint.pt", weights_only=True)["step"] == 5
    monkeypatch.setattr(Trainer, "advance", advance)
    assert run(tmp_path / "stopped", "--steps", "7", "--save-every", "3") == 0
    whole, resumed = weights(tmp_path / "whole"), weights(tmp_path / "stopped")
    assert all(torch.equal(whole[key], resumed[key]) for key in whole)
    assert rows(tmp_path / "whole" / "mnist_mlp" / "losses.csv") == \
        rows(tmp_path / "stopped" / "mnist_mlp" / "losses.csv")


def test_a_finished_run_is_not_trained_further(tmp_path, capsys):
    assert run(tmp_path, "--steps", "2") == 0
    before = weights(tmp_path)
    assert run(tmp_path, "--steps", "2") == 0
    assert "nothing to do" in capsys.readouterr().out
    assert all(torch.equal(before[key], value) for key, value in weights(tmp_path).items())


def test_a_config_file_sets_the_run_and_the_command_line_wins(tmp_path):
    config = tmp_path / "run.toml"
    config.write_text('recipe = "mnist_dcgan"\nsteps = 9\nbatch_size = 16\nlr_d = 5e-4\n')
    settings = train.parse_arguments(["--config", str(config), "--steps", "3"])
    assert (settings.recipe, settings.steps, settings.overrides) == ("mnist_dcgan", 3, {"batch_size": 16, "lr_d": 5e-4})


@pytest.mark.parametrize("options, message", [
    (["--batch-size", "0"], "batch_size"),
    (["--lr-g", "-1"], "lr_g"),
    (["--steps", "0"], "`steps` must be a positive int"),
    (["--save-every", "-5"], "`save_every` must be a positive int"),
    (["--metric-every", "-1"], "`metric_every` must be an int >= 0"),
])
def test_bad_settings_are_refused_by_name(tmp_path, capsys, options, message):
    assert run(tmp_path, *options) == 2
    assert message in capsys.readouterr().err


def test_a_config_file_with_an_unknown_key_is_refused(tmp_path, capsys):
    config = tmp_path / "run.toml"
    config.write_text('recipe = "mnist_mlp"\nlearning_rate = 1e-3\n')
    assert train.main(["--config", str(config)]) == 2
    assert "unknown keys ['learning_rate']" in capsys.readouterr().err
    config.write_text('recipe = "mnist_mlp"\nfloat32 = "yes"\n')
    assert train.main(["--config", str(config)]) == 2
    assert "`float32` must be true or false" in capsys.readouterr().err
