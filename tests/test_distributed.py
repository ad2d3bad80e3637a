"""Two processes under torchrun (gloo, on the CPU) train as one process with the same global batch would.

Each run is the real command line, `torchrun --nproc_per_node=2 -m ganlib.train ...` against `python -m ganlib.train
...`. Runs are compared by what their networks compute (G on fixed noise, D on real digits, in eval mode), as the
distance between the two runs' outputs relative to how far training moved the outputs from the start: 0 is the same
run. Weights are a poor yardstick here: batch norm makes the weights before it free to drift in directions that
change nothing, and Adam turns rounding noise in those directions into steps of the learning rate's size.
"""
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ganlib.distributed import Shard
from ganlib.pretrain import RECIPES

# Measured when this test was written (2-core AMD EPYC): the MLP 0.00013 and with the gradient penalty 0.00032 after
# 20 steps; the DCGAN 0.0059 after 5 steps in float32. For the DCGAN, measured from step 1 instead of the start: two
# processes 0.0062, one process with 2 threads instead of 1 already 0.0056 (rounding alone, which batch norm and
# Adam amplify), and two processes that normalise each half batch on its own (batch norm not synchronised) 0.023.
# Rounding grows during these first steps, and how fast depends on the CPU: on a 2-core Intel Xeon without AMX the
# MLP's two processes ended 0.0002 apart after 5 steps, 0.0055 after 10 and 0.15 after 20, and one process on 2
# threads instead of 1 (rounding alone) 0.0001 after 5 steps and 0.14 after 20. So every run is 5 steps long,
# where rounding is still about 50 times below the tolerance.
TOLERANCE = {"mlp": 0.01, "gradient_penalty": 0.01, "dcgan": 0.012}
RUNS = {"mlp": (["mnist_mlp"], 5), "gradient_penalty": (["mnist_mlp", "--gradient-penalty", "10"], 5),
        "dcgan": (["mnist_dcgan", "--float32"], 5)}


def train(out: Path, arguments: list[str], processes: int, steps: int) -> Path:
    """Run the command line on `processes` processes for `steps` steps; its checkpoint."""
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}"] \
        if processes > 1 else [sys.executable]
    command = [*launcher, "-m", "ganlib.train", *arguments, "--steps", str(steps), "--metric-every", "0",
               "--out", str(out)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return out / arguments[0] / "checkpoint.pt"


def outputs(recipe: str, checkpoint: Path | None) -> torch.Tensor:
    """What a checkpoint's networks compute (the recipe's untrained ones if None), in eval mode: G on 512 fixed
    noise vectors, D on 512 real rows."""
    trainer = RECIPES[recipe].build()
    if checkpoint is not None:
        state = torch.load(checkpoint, weights_only=True)
        trainer.generator.load_state_dict(state["generator"])
        trainer.discriminator.load_state_dict(state["discriminator"])
    noise = torch.randn(512, trainer.latent_dim, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        return torch.cat([trainer.generator.eval()(noise).flatten(),
                          trainer.discriminator.eval()(trainer.data[:512]).flatten()])


@pytest.mark.parametrize("name", sorted(RUNS))
def test_two_processes_make_the_updates_of_one_process_with_the_whole_batch(tmp_path, name):
    arguments, steps = RUNS[name]
    start = outputs(arguments[0], None)
    one = outputs(arguments[0], train(tmp_path / "one", arguments, 1, steps))
    two = outputs(arguments[0], train(tmp_path / "two", arguments, 2, steps))
    distance = float((one - two).norm() / (one - start).norm())
    print(f"{name}: two processes end {distance:.2g} of training's movement away from one process")
    assert distance < TOLERANCE[name]


def free_port() -> int:
    """A TCP port nothing listens on now, for a rendezvous."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_two_machines_joined_by_a_rendezvous_train_as_one_process(tmp_path):
    """The README's several-machines command, with both "machines" on this one: two torchrun agents of one process
    each meet at a c10d rendezvous. Each process must take the slice of its global rank (both have local rank 0)."""
    arguments, steps = RUNS["mlp"]
    endpoint = f"127.0.0.1:{free_port()}"
    command = [sys.executable, "-m", "torch.distributed.run", "--nnodes=2", "--nproc_per_node=1",
               "--rdzv-backend=c10d", f"--rdzv-endpoint={endpoint}", "--rdzv-id=two-machines",
               "-m", "ganlib.train", *arguments, "--steps", str(steps), "--metric-every", "0"]
    agents = [subprocess.Popen([*command, "--out", str(tmp_path / f"machine{n}")], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
              for n in range(2)]
    logs = [agent.communicate(timeout=600)[0] for agent in agents]
    assert all(agent.returncode == 0 for agent in agents), "\n".join(log[-3000:] for log in logs)
    saved = [path for n in range(2) if (path := tmp_path / f"machine{n}" / arguments[0] / "checkpoint.pt").exists()]
    assert len(saved) == 1  # rank 0 alone saves, on whichever machine it landed
    start = outputs(arguments[0], None)
    one = outputs(arguments[0], train(tmp_path / "one", arguments, 1, steps))
    distance = float((one - outputs(arguments[0], saved[0])).norm() / (one - start).norm())
    print(f"two machines end {distance:.2g} of training's movement away from one process")
    assert distance < TOLERANCE["mlp"]


def test_a_stopped_two_process_run_resumed_is_the_run_without_the_stop(tmp_path):
    # saving every 4 steps too: only rank 0 writes, and the other ranks must go on without its flushed history
    whole = torch.load(train(tmp_path / "whole", ["mnist_mlp", "--save-every", "4"], 2, 12), weights_only=True)
    train(tmp_path / "stopped", ["mnist_mlp"], 2, 6)
    resumed = torch.load(train(tmp_path / "stopped", ["mnist_mlp"], 2, 12), weights_only=True)
    for net in ("generator", "discriminator"):
        assert all(torch.equal(whole[net][key], resumed[net][key]) for key in whole[net] if "running" not in key)


def test_a_shard_takes_its_equal_part_of_a_batch_and_refuses_an_unequal_one():
    batch = torch.arange(8)
    assert Shard(1, 2).part(batch).tolist() == [4, 5, 6, 7] and Shard().part(batch) is batch
    with pytest.raises(ValueError, match="divisible by the number of processes"):
        Shard(0, 3).part(batch)
