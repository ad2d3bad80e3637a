"""The semi-supervised GAN (Salimans et al., 2016; Odena, 2016): a Trainer whose discriminator is a K-class classifier.

D sees three batches per step: a labelled batch (cross-entropy over the K classes), an unlabelled batch (real)
and fakes, scored by D(x) = sigmoid(logsumexp of the K logits), the fake class's logit being fixed at 0.
G learns by feature matching. Everything else (logging, the divergence guard, checkpoints, interrupts, progress)
is the Trainer's. Where this departs from Salimans et al.: images in [-1, 1] with a tanh generator (theirs: [0, 1]
and sigmoid), no weight normalisation, G reuses the fakes D just saw (theirs draws new noise), and the classifier
that is tested averages D's weights with decay 0.999 (theirs, 0.9999 over 300 epochs; we train far fewer steps).
"""
from __future__ import annotations

import copy

import torch
from torch import nn

from .. import validate
from ..data import BatchSampler
from . import steps
from .trainer import Trainer

WHO = "SemiSupervisedTrainer"


def check_classifier_discriminator(discriminator: object) -> int:
    """A discriminator with `features(x)` (what feature matching compares) and `n_classes`; returns n_classes."""
    missing = [name for name in ("features", "n_classes") if not hasattr(discriminator, name)]
    if missing:
        raise TypeError(f"{WHO}: `discriminator` must be a K-class classifier with `features(x)` and `n_classes` "
                        f"(for example ganlib.models.ClassifierDiscriminator); it lacks {missing}")
    return validate.integer(discriminator.n_classes, "discriminator.n_classes", WHO, low=2)


class SemiSupervisedTrainer(Trainer):
    """Trains a semi-supervised GAN: `data` holds every training input (labels unseen), `labelled_data` and
    `labelled_targets` the few labelled ones. `unsupervised_weight` scales the real-vs-fake loss (Salimans et al.'s
    code: 1/2). `classifier_decay` is the decay of the weight average of D that `classifier` returns, the one to
    test (0: no average). The other options are the Trainer's; `g_loss` and `gradient_penalty` do not apply (G matches
    features), nor do conditional GANs (`labels`). The labelled batch has min(batch_size, labelled rows) rows.
    """

    def __init__(self, generator: nn.Module, discriminator: nn.Module, data: torch.Tensor,
                 labelled_data: torch.Tensor, labelled_targets: torch.Tensor, *,
                 unsupervised_weight: float = 0.5, classifier_decay: float = 0.999, **options: object):
        n_classes = check_classifier_discriminator(discriminator)
        validate.tensor(labelled_data, "labelled_data", WHO, min_ndim=2)
        validate.tensor(data, "data", WHO, min_ndim=2)
        if labelled_data.shape[1:] != data.shape[1:]:
            raise ValueError(f"{WHO}: rows of `labelled_data` must have the shape of rows of `data`, "
                             f"{list(data.shape[1:])}, got {list(labelled_data.shape[1:])}")
        validate.labels(labelled_targets, len(labelled_data), n_classes, WHO, name="labelled_targets",
                        rows_of="labelled_data")
        self.unsupervised_weight = validate.number(unsupervised_weight, "unsupervised_weight", WHO, low=0)
        self.classifier_decay = validate.number(classifier_decay, "classifier_decay", WHO, low=0, high=1,
                                                high_open=True)
        self.discriminator_ema = copy.deepcopy(discriminator).requires_grad_(False) if classifier_decay else None
        for option in ("labels", "g_loss", "gradient_penalty", "label_smoothing", "clip_weights"):
            if option in options:
                raise ValueError(f"{WHO}: `{option}` does not apply to the semi-supervised GAN (its discriminator "
                                 f"is a classifier and its generator matches features)")
        # The Trainer's constructor records the first good state, which holds the labelled sampler's: make it first.
        self.labelled_sampler = BatchSampler(labelled_data, 1, torch.Generator())
        self._kept_real: torch.Tensor | None = None  # D's unlabelled batch, for G's feature matching
        self.last_supervised_loss: torch.Tensor | None = None  # the labelled batch's cross-entropy at the last step
        super().__init__(generator, discriminator, data, **options)
        self.labelled_targets = labelled_targets.to(self.device)
        if self.discriminator_ema is not None:
            self.discriminator_ema.to(self.device)
        self.labelled_sampler = BatchSampler(labelled_data.to(self.device), min(self.batch_size, len(labelled_data)),
                                             torch.Generator().manual_seed(self.seed + 2))
        self.remember_good_state()

    def discriminator_step(self, keep_fakes: bool = False) -> tuple[torch.Tensor, ...]:
        """One D update on a labelled, an unlabelled and a fake batch; returns (loss, D(real), D(fake), score gap)."""
        self.labelled_sampler.batch_size = min(self.batch_size, len(self.labelled_sampler.data))
        labelled = self.labelled_sampler.next()
        targets = self.labelled_targets[self.labelled_sampler.last_index]
        real = self.sampler.next()
        with self.precision(), torch.set_grad_enabled(keep_fakes):
            fake = self.generator(self.noise(self.batch_size))
        self._kept_fakes, self._kept_real = ((fake, None), real) if keep_fakes else (None, None)
        *result, self.last_supervised_loss = steps.semi_supervised_discriminator_update(
            self.discriminator, self.opt_d, labelled, targets, real, fake.detach(),
            unsupervised_weight=self.unsupervised_weight, precision=self.precision)
        if self.discriminator_ema is not None:
            steps.ema_update(self.discriminator_ema, self.discriminator, self.classifier_decay)
        return tuple(result)

    @property
    def classifier(self) -> nn.Module:
        """The classifier to test: the weight average of D when there is one (as Salimans et al. test), else D."""
        return self.discriminator if self.discriminator_ema is None else self.discriminator_ema

    def generator_step(self) -> tuple[torch.Tensor, torch.Tensor]:
        """One feature-matching G update (and the weight average's); returns the loss and G's gradient norm."""
        kept, real = self._kept_fakes, self._kept_real
        self._kept_fakes = self._kept_real = None
        if kept is None:
            real = self.sampler.next()
            with self.precision():
                kept = (self.generator(self.noise(self.batch_size)), None)
        result = steps.feature_matching_update(self.generator, self.discriminator, self.opt_g, real, kept[0],
                                               precision=self.precision)
        if self.generator_ema is not None:
            steps.ema_update(self.generator_ema, self.generator, self.ema_decay)
        return result

    def extra_state(self) -> dict:
        """The labelled batches' place and the global random state (D's noise layers draw from it)."""
        averaged = self.discriminator_ema.state_dict() if self.discriminator_ema is not None else None
        return {"labelled_sampler": self.labelled_sampler.state_dict(), "torch_rng": torch.get_rng_state(),
                "discriminator_ema": averaged}

    def load_extra_state(self, state: dict) -> None:
        """Restore what `extra_state` saved."""
        self.labelled_sampler.load_state_dict(state["labelled_sampler"])
        torch.set_rng_state(state["torch_rng"].cpu())
        if self.discriminator_ema is not None:
            self.discriminator_ema.load_state_dict(state["discriminator_ema"] or state["discriminator"])
