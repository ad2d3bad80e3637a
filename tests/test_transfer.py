"""Lesson 07's few-label tools: balanced subsets, the MNIST-to-spectrogram CNN, fine-tuning and linear probes."""
import pytest
import torch

from ganlib.metrics import MnistClassifier, load_classifier
from ganlib.transfer import (TransferCNN, balanced_subset, extract_features, fine_tune, from_mnist_classifier,
                             linear_probe)


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


def test_transfer_copies_exactly_the_parts_it_names():
    torch.manual_seed(0)
    classifier = MnistClassifier()
    model = from_mnist_classifier(classifier, parts=("conv", "hidden"))
    for part in ("conv", "hidden"):
        for copied, original in zip(getattr(model, part).state_dict().values(),
                                    getattr(classifier, part).state_dict().values()):
            assert torch.equal(copied, original)
    assert not torch.equal(model.head.weight, classifier.head.weight)  # a fresh head
    fresh = from_mnist_classifier(classifier, parts=())
    assert not torch.equal(fresh.conv[0].weight, classifier.conv[0].weight)
    with pytest.raises(ValueError, match="`parts`"):
        from_mnist_classifier(classifier, parts=("pool",))


def test_on_mnist_digits_the_transferred_cnn_is_the_mnist_classifier():
    classifier = load_classifier()
    model = from_mnist_classifier(classifier, parts=("conv", "hidden", "head")).eval()
    digits = torch.rand(8, 1, 28, 28) * 2 - 1
    assert torch.allclose(model(digits), classifier(digits), atol=1e-5)  # the 7 x 7 pool is the identity here
    assert model(torch.zeros(2, 1, 128, 64)).shape == (2, 10)  # and it takes spectrograms
    with pytest.raises(ValueError, match="H, W >= 28"):
        model(torch.zeros(2, 1, 20, 64))


def test_fine_tune_runs_its_steps_and_learns_a_separable_task():
    torch.manual_seed(0)
    images = torch.full((40, 1, 32, 32), -1.0)
    labels = torch.arange(2).repeat(20)
    images[labels == 1, :, :16] = 1.0  # class 1: top half bright
    model = fine_tune(TransferCNN(n_classes=2), images, labels, steps=30, seed=0)
    assert not model.training
    assert (model(images).argmax(1) == labels).float().mean() == 1.0
    with pytest.raises(ValueError, match="`steps`"):
        fine_tune(TransferCNN(), images, labels, steps=0, seed=0)


def test_linear_probe_separates_separable_features_and_is_at_chance_on_noise():
    generator = torch.Generator().manual_seed(0)
    labels = torch.arange(4).repeat(50)
    centres = torch.randn(4, 16, generator=generator) * 3
    features = centres[labels] + torch.randn(200, 16, generator=generator)
    assert linear_probe(features[:100], labels[:100], features[100:], labels[100:]) > 0.95
    noise = torch.randn(200, 16, generator=generator)
    assert linear_probe(noise[:100], labels[:100], noise[100:], labels[100:]) < 0.5
    with pytest.raises(ValueError, match="`train_features` and `train_labels` must have the same number of rows"):
        linear_probe(features[:10], labels[:9], features, labels)


def test_extract_features_flattens_and_keeps_the_training_mode():
    network = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.Dropout(0.5))
    network.train()
    features = extract_features(network, torch.ones(5, 1, 6, 6), chunk_size=2)
    assert features.shape == (5, 2 * 4 * 4) and network.training
    assert torch.equal(features, extract_features(network, torch.ones(5, 1, 6, 6)))  # eval: no dropout


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
