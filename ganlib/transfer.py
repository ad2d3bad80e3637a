"""Learning with few labels (lesson 07): balanced label subsets, and a table of accuracy over seeds."""
from __future__ import annotations

import torch

from . import validate


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
