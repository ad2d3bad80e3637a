"""Two processes under torchrun (gloo, on the CPU) train as one process with the same global batch would.

Each run is the real command line, `torchrun --nproc_per_node=2 -m ganlib.train ...` against `python -m ganlib.train
...`. Weights are compared by how far apart the two runs end, relative to how far training moved them from their
start: 0 means the same run; two runs from different seeds end about as far apart as training moved them.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ganlib.distributed import Shard

STEPS = 20
# Measured when this test was written (relative distances, see above): MLP 2e-7, MLP with the gradient penalty 2e-7;
# the DCGAN (batch norm, bfloat16 products) 0.01. Batch norm normalises each process's half of the batch on its
# own (no SyncBatchNorm on CPUs), and bfloat16 rounds differently on half a batch, hence its wider margin.
TOLERANCE = {"mlp": 1e-4, "gradient_penalty": 1e-4, "dcgan": 0.1}
RECIPES = {"mlp": ["mnist_mlp"], "gradient_penalty": ["mnist_mlp", "--gradient-penalty", "10"],
           "dcgan": ["mnist_dcgan"]}


def train(out: Path, arguments: list[str], processes: int, steps: int = STEPS) -> dict[str, torch.Tensor]:
    """Run the command line on `processes` processes; the generator's weights at its end."""
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}"] \
        if processes > 1 else [sys.executable]
    command = [*launcher, "-m", "ganlib.train", *arguments, "--steps", str(steps), "--out", str(out)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    state = torch.load(out / arguments[0] / "checkpoint.pt", weights_only=True)
    assert state["step"] == steps
    return state


def relative_distance(a: dict, b: dict, start: dict) -> float:
    """|a - b| / |a - start| over the generator's and discriminator's weights."""
    keys = [(net, key) for net in ("generator", "discriminator") for key, value in a[net].items()
            if value.is_floating_point() and "running" not in key]
    apart = sum(float((a[n][k] - b[n][k]).pow(2).sum()) for n, k in keys) ** 0.5
    moved = sum(float((a[n][k] - start[n][k]).pow(2).sum()) for n, k in keys) ** 0.5
    return apart / moved


@pytest.mark.parametrize("recipe", sorted(RECIPES))
def test_two_processes_make_the_updates_of_one_process_with_the_whole_batch(tmp_path, recipe):
    arguments = RECIPES[recipe]
    start = train(tmp_path / "start", arguments, 1, steps=1)  # weights after one step: the scale of "moved"
    one, two = train(tmp_path / "one", arguments, 1), train(tmp_path / "two", arguments, 2)
    distance = relative_distance(one, two, start)
    print(f"{recipe}: two processes end {distance:.2g} of training's movement away from one process")
    assert distance < TOLERANCE[recipe]


def test_a_stopped_two_process_run_resumed_is_the_run_without_the_stop(tmp_path):
    whole = train(tmp_path / "whole", ["mnist_mlp"], 2)
    train(tmp_path / "stopped", ["mnist_mlp"], 2, steps=STEPS // 2)
    resumed = train(tmp_path / "stopped", ["mnist_mlp"], 2)
    for net in ("generator", "discriminator"):
        assert all(torch.equal(whole[net][key], resumed[net][key]) for key in whole[net] if "running" not in key)


def test_a_shard_takes_its_equal_part_of_a_batch_and_refuses_an_unequal_one():
    batch = torch.arange(8)
    assert Shard(1, 2).part(batch).tolist() == [4, 5, 6, 7] and Shard().part(batch) is batch
    with pytest.raises(ValueError, match="divisible by the number of processes"):
        Shard(0, 3).part(batch)
