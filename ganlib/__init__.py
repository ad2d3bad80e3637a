"""ganlib: the shared plumbing of the GAN course notebooks."""
from .config import budget, data_root, default_device, is_quick, isolated_rng, set_seed
from .training import Trainer

__all__ = ["budget", "data_root", "default_device", "is_quick", "isolated_rng", "set_seed", "Trainer"]
