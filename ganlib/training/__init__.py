"""Training a GAN: the `Trainer` and its parts.

- `settings`: the live hyperparameters, defined once (`SETTINGS`), each checked when it is set;
- `steps`: the GAN step as plain functions (the discriminator and generator updates, clipping, the EMA);
- `guard`: the logging buffer and the divergence guard;
- `checks`: the Trainer's checks at construction;
- `checkpoint`: the one checkpoint format;
- `trainer`: the `Trainer`, which wires them together.
"""
from .checkpoint import CHECKPOINT_FORMAT
from .checks import OPTIMIZERS
from .guard import LOGGED, TrainingDiverged
from .settings import SETTINGS, Control, Hyperparameters, Setting
from .trainer import SAMPLE_SEED_OFFSET, MetricFn, Trainer, has_native_bfloat16

__all__ = ["CHECKPOINT_FORMAT", "OPTIMIZERS", "LOGGED", "TrainingDiverged", "SETTINGS", "Control", "Hyperparameters",
           "Setting", "SAMPLE_SEED_OFFSET", "MetricFn", "Trainer", "has_native_bfloat16"]
