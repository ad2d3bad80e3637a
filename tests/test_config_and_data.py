"""Data root, quick-mode budget, and the in-memory MNIST loader."""
import os
import subprocess
import sys

import pytest
import torch

import ganlib
from ganlib.config import REPO_ROOT
from ganlib.data import BatchSampler, DataNotFoundError, load_mnist, mnist_vectors, pixel_clusters, to_model_range


def test_budget_follows_quick_mode(monkeypatch):
    monkeypatch.setenv("GANLIB_QUICK", "1")
    assert ganlib.budget(full=1000, quick=10) == 10
    monkeypatch.delenv("GANLIB_QUICK")
    assert ganlib.budget(full=1000, quick=10) == 1000
    with pytest.raises(ValueError, match="quick"):
        ganlib.budget(full=10, quick=0)


def test_data_root_defaults_to_repo_data_from_any_directory(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "GANLIB_DATA"}
    out = subprocess.run([sys.executable, "-c", "import ganlib; print(ganlib.data_root())"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == str((REPO_ROOT / "data").resolve())


def test_mnist_shapes_dtype_and_range(mnist):
    images, labels = mnist
    assert images.shape == (60000, 28, 28) and images.dtype == torch.uint8
    assert labels.shape == (60000,) and labels.dtype == torch.int64
    counts = torch.bincount(labels, minlength=10).tolist()
    assert counts == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]  # data README
    test_images, _ = load_mnist(train=False)
    assert test_images.shape == (10000, 28, 28)
    x = mnist_vectors()
    assert x.shape == (60000, 784) and x.dtype == torch.float32
    assert x.min().item() == -1.0 and x.max().item() == 1.0


def test_missing_data_offline_gives_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("GANLIB_DATA", str(tmp_path))
    monkeypatch.setattr("torchvision.datasets.mnist.MNIST.mirrors", ["http://127.0.0.1:9/"])
    load_mnist.cache_clear()
    try:
        with pytest.raises(DataNotFoundError) as info:
            load_mnist(train=True)
    finally:
        load_mnist.cache_clear()
    message = str(info.value)
    assert str(tmp_path) in message and "train-images-idx3-ubyte.gz" in message and "GANLIB_DATA" in message


def test_to_model_range_refuses_floats():
    with pytest.raises(TypeError, match="uint8"):
        to_model_range(torch.zeros(2, 28, 28))


def test_pixel_clusters_find_separated_groups_the_same_way_for_a_seed():
    rng = torch.Generator().manual_seed(0)
    centres = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    group = torch.arange(300) % 3
    points = centres[group] + 0.5 * torch.randn(300, 2, generator=rng)
    clusters = pixel_clusters(points, k=3, seed=1)
    # one cluster per group: each group's points share a cluster, and the three clusters differ
    assert all(len(clusters[group == g].unique()) == 1 for g in range(3)) and len(clusters.unique()) == 3
    assert torch.equal(clusters, pixel_clusters(points, k=3, seed=1))
    for k in (1, 301):
        with pytest.raises(ValueError, match="`k`"):
            pixel_clusters(points, k=k)


def test_batch_sampler_covers_every_row_once_per_epoch():
    data = torch.arange(10).unsqueeze(1).float()
    sampler = BatchSampler(data, 5, torch.Generator().manual_seed(0))
    epoch = torch.cat([sampler.next(), sampler.next()]).squeeze(1)
    assert sorted(epoch.tolist()) == list(range(10))
    with pytest.raises(ValueError, match="batch_size"):
        BatchSampler(data, 0)


def test_isolated_rng_runs_from_its_seed_and_restores_every_global_rng():
    import random

    import numpy as np
    ganlib.set_seed(3)
    states = random.getstate(), np.random.get_state()[1].copy(), torch.get_rng_state()
    with ganlib.isolated_rng(seed=7):
        inside = torch.rand(2), np.random.rand(), random.random()
    with ganlib.isolated_rng(seed=7):
        assert torch.equal(torch.rand(2), inside[0]) and np.random.rand() == inside[1]
        assert random.random() == inside[2]
    assert random.getstate() == states[0] and (np.random.get_state()[1] == states[1]).all()
    assert torch.equal(torch.get_rng_state(), states[2])
