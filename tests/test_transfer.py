"""Lesson 07's few-label tools: balanced subsets and the table and plot of accuracy over seeds."""
import pytest
import torch

from ganlib.transfer import balanced_subset


def test_balanced_subset_takes_the_same_number_of_each_class_and_repeats_per_seed():
    labels = torch.arange(10).repeat_interleave(30)[torch.randperm(300, generator=torch.Generator().manual_seed(0))]
    for per_class in (1, 3, 10):
        chosen = balanced_subset(labels, per_class, seed=4)
        assert len(chosen) == 10 * per_class and len(chosen.unique()) == len(chosen)
        assert torch.bincount(labels[chosen], minlength=10).tolist() == [per_class] * 10
        assert torch.equal(chosen, balanced_subset(labels, per_class, seed=4))
    assert not torch.equal(balanced_subset(labels, 3, seed=4), balanced_subset(labels, 3, seed=5))


def test_balanced_subset_names_what_is_wrong():
    labels = torch.tensor([0, 0, 1])
    with pytest.raises(ValueError, match="class 1 has only 1"):
        balanced_subset(labels, 2, seed=0)
    with pytest.raises(ValueError, match="`per_class`"):
        balanced_subset(labels, 0, seed=0)
    with pytest.raises(TypeError, match="`labels` must be an integer tensor"):
        balanced_subset(labels.float(), 1, seed=0)


def test_the_accuracy_table_and_plot_show_mean_and_std_over_seeds():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from ganlib.plotting import plot_accuracy_vs_labels
    from ganlib.transfer import accuracy_table
    results = {"scratch": {1: [0.2, 0.4], 10: [0.5, 0.5]}, "MNIST": {1: [0.3, 0.3]}}
    table = accuracy_table(results)
    assert table.splitlines()[0] == "| method | 1 per digit | 10 per digit |"
    assert "| scratch | 30.0 ± 14.1 | 50.0 ± 0.0 |" in table and "| MNIST | 30.0 ± 0.0 |  |" in table
    ax = plot_accuracy_vs_labels(results, "t")
    assert len(ax.containers) == 2 and ax.get_xlabel().startswith("labelled clips")
    plt.close(ax.figure)
