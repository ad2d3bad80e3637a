"""Learning with few labels (lesson 07): balanced label subsets, a CNN that moves from MNIST to spectrograms,
fine-tuning, and linear probes on frozen features."""
from __future__ import annotations

from typing import Callable, Sequence

import torch
from torch import nn

from . import validate
from .metrics import MnistClassifier, accuracy, fit_classifier

TRANSFERABLE_PARTS = ("conv", "hidden", "head")


def balanced_subset(labels: torch.Tensor, per_class: int, seed: int) -> torch.Tensor:
    """Indices of `per_class` examples of every class, drawn at random but the same for the same seed."""
    validate.tensor(labels, "labels", "balanced_subset", ndim=1, dtype="int")
    validate.integer(per_class, "per_class", "balanced_subset")
    validate.integer(seed, "seed", "balanced_subset", low=0)
    rng = torch.Generator().manual_seed(seed)
    chosen = []
    for label in labels.unique().tolist():
        members = (labels == label).nonzero().squeeze(1)
        if len(members) < per_class:
            raise ValueError(f"balanced_subset: class {label} has only {len(members)} examples, "
                             f"fewer than `per_class` = {per_class}")
        chosen.append(members[torch.randperm(len(members), generator=rng)[:per_class]])
    return torch.cat(chosen)


class TransferCNN(nn.Module):
    """The MNIST classifier's architecture for any input size: its convolutions, then an adaptive average pool
    to the 7 x 7 grid its hidden layer expects. On 28 x 28 digits the pool does nothing, so the MNIST
    classifier's weights load unchanged; on 128 x 64 spectrograms it averages each 32 x 16 map down to 7 x 7."""

    def __init__(self, n_classes: int = 10):
        super().__init__()
        reference = MnistClassifier()
        self.conv = nn.Sequential(*list(reference.conv)[:-1])  # without its Flatten
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d((7, 7)), nn.Flatten())
        self.hidden = reference.hidden
        self.head = nn.Linear(128, n_classes)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """Penultimate features [N, 128] of one-channel images [N, 1, H, W] (H, W >= 28)."""
        validate.tensor(images, "images", "TransferCNN", ndim=4)
        if images.shape[1] != 1 or min(images.shape[2:]) < 28:
            raise ValueError(f"TransferCNN: `images` must be [N, 1, H, W] with H, W >= 28, got {list(images.shape)}")
        return self.hidden(self.pool(self.conv(images)))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Class logits [N, n_classes]."""
        return self.head(self.features(images))


def from_mnist_classifier(classifier: MnistClassifier, parts: Sequence[str] = ("conv", "hidden")) -> TransferCNN:
    """A TransferCNN whose `parts` are copies of the trained MNIST classifier's; the rest start fresh."""
    unknown = set(parts) - set(TRANSFERABLE_PARTS)
    if unknown:
        raise ValueError(f"from_mnist_classifier: `parts` must be among {TRANSFERABLE_PARTS}, got {sorted(unknown)}")
    model = TransferCNN()
    for part in parts:
        getattr(model, part).load_state_dict(getattr(classifier, part).state_dict())
    return model


def fine_tune(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, steps: int, seed: int,
              batch_size: int = 32, max_lr: float = 2e-3,
              augment: Callable[[torch.Tensor], torch.Tensor] | None = None) -> nn.Module:
    """Train every weight of `model` on a (small) labelled set for `steps` batches; returns it in eval mode."""
    who = "fine_tune"
    validate.tensor(images, "images", who, min_ndim=2)
    validate.tensor(labels, "labels", who, ndim=1, dtype="int")
    validate.rows_match(images, labels, ("images", "labels"), who)
    validate.integer(steps, "steps", who)
    validate.integer(seed, "seed", who, low=0)
    validate.integer(batch_size, "batch_size", who)
    validate.number(max_lr, "max_lr", who, low=0, low_open=True)
    torch.manual_seed(seed)
    return fit_classifier(model, images, labels, epochs=1, batch_size=min(batch_size, len(images)), seed=seed,
                          description="fine-tuning", augment=augment, max_lr=max_lr, steps=steps, progress=False)


@torch.no_grad()
def extract_features(network: nn.Module, images: torch.Tensor, chunk_size: int = 500) -> torch.Tensor:
    """`network(images)` flattened to [N, features], in eval mode and in chunks (for frozen features)."""
    validate.tensor(images, "images", "extract_features", min_ndim=2)
    validate.integer(chunk_size, "chunk_size", "extract_features")
    was_training = network.training
    network.eval()
    features = torch.cat([network(chunk).flatten(1) for chunk in images.split(chunk_size)])
    network.train(was_training)
    return features


def linear_probe(train_features: torch.Tensor, train_labels: torch.Tensor, test_features: torch.Tensor,
                 test_labels: torch.Tensor, weight_decay: float = 1e-3, steps: int = 300) -> float:
    """Test accuracy of a logistic-regression classifier fitted on frozen, standardised features."""
    who = "linear_probe"
    for split, features, labels in (("train", train_features, train_labels), ("test", test_features, test_labels)):
        validate.tensor(features, f"{split}_features", who, ndim=2)
        validate.tensor(labels, f"{split}_labels", who, ndim=1, dtype="int")
        validate.rows_match(features, labels, (f"{split}_features", f"{split}_labels"), who)
    if train_features.shape[1] != test_features.shape[1]:
        raise ValueError(f"{who}: `train_features` and `test_features` must have the same feature size, "
                         f"got {train_features.shape[1]} and {test_features.shape[1]}")
    validate.number(weight_decay, "weight_decay", who, low=0)
    validate.integer(steps, "steps", who, high=100_000)
    mean, std = train_features.mean(0), train_features.std(0).nan_to_num(1.0).clamp_min(1e-6)
    standardise = lambda x: (x - mean) / std  # noqa: E731
    n_classes = int(max(train_labels.max(), test_labels.max())) + 1
    probe = nn.Linear(train_features.shape[1], n_classes)
    optimizer = torch.optim.LBFGS(probe.parameters(), lr=1.0, max_iter=steps, line_search_fn="strong_wolfe")
    x = standardise(train_features)

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(probe(x), train_labels) + weight_decay * probe.weight.pow(2).sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        optimizer.step(closure)
    return accuracy(probe, standardise(test_features), test_labels)


Results = dict[str, dict[int, list[float]]]  # method -> labelled examples per class -> test accuracy per seed


def accuracy_table(results: Results) -> str:
    """A Markdown table of test accuracy (%), mean ± std over seeds: one row per method, one column per label count."""
    counts = sorted({count for per_count in results.values() for count in per_count})
    lines = ["| method | " + " | ".join(f"{count} per digit" for count in counts) + " |",
             "|---" * (len(counts) + 1) + "|"]
    for method, per_count in results.items():
        cells = []
        for count in counts:
            values = torch.tensor(per_count.get(count, []), dtype=torch.float64) * 100
            cells.append(f"{values.mean():.1f} ± {values.std(unbiased=len(values) > 1):.1f}" if len(values) else "")
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
