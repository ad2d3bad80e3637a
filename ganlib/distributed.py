"""Training on several processes, launched by `torchrun`: each process computes its share of every global batch, and
the gradients are averaged across processes before each optimizer step, so N processes make the same update as one
process with the whole batch.

Why not DistributedDataParallel: DDP averages gradients with hooks that assume one forward and one backward pass
per iteration. A GAN iteration runs D twice (real, then fake), back-propagates through a frozen D for G's update,
and differentiates D's gradient for the gradient penalty: the traps of GANs under DDP (batch-norm buffers broadcast
between D's two forward passes, parameters that get no gradient, double backward). The first is pytorch/pytorch
issues 22095 and 175024: DDP copies batch norm's running statistics in place before each forward pass, and the
backward pass through the earlier forward refuses the changed tensor. Averaging the gradients explicitly, right
before each optimizer step, computes what DDP computes and has none of these traps; what it gives up is DDP's
overlap of communication with the backward pass, which matters for large networks on many GPUs, not here.

What each process shares: the same seeds, so every process draws the same global batch of row indices and noise and
takes its own slice of it (`Shard.part`). Batch norm in training mode normalises with the statistics of the whole
global batch, summed across processes (`synced_batch_norm`: PyTorch's SyncBatchNorm runs on GPUs only). Rank 0
alone scores samples and writes checkpoints: the weights are the same on every process.
"""
from __future__ import annotations

import os

import torch
import torch.distributed as dist
import torch.distributed.nn.functional as differentiable
from torch import nn

from .data import Shard
from .training import Trainer

__all__ = ["AveragedGradients", "Shard", "average_buffers", "barrier", "distribute", "launched_by_torchrun",
           "start", "stop"]


def launched_by_torchrun() -> bool:
    """Whether this process is one of several started by torchrun (WORLD_SIZE > 1)."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def start(device: str) -> Shard:
    """Join the process group torchrun set up (gloo on CPUs, NCCL on GPUs) and return this process's Shard."""
    if not launched_by_torchrun():
        return Shard()
    backend = "nccl" if device.startswith("cuda") else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group(backend)
    return Shard(dist.get_rank(), dist.get_world_size())


def stop() -> None:
    """Leave the process group, if this process joined one."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


class AveragedGradients:
    """An optimizer whose `step` first averages the gradients over all processes (one all-reduce for all of them)."""

    def __init__(self, optimizer: torch.optim.Optimizer, world_size: int):
        self.optimizer, self.world_size = optimizer, world_size

    def step(self) -> None:
        """Average every gradient across processes, then take the wrapped optimizer's step."""
        grads = [p.grad for group in self.optimizer.param_groups for p in group["params"] if p.grad is not None]
        if grads:
            flat = torch.cat([grad.reshape(-1) for grad in grads])
            dist.all_reduce(flat)
            flat /= self.world_size
            for grad, averaged in zip(grads, flat.split([grad.numel() for grad in grads])):
                grad.copy_(averaged.view_as(grad))
        self.optimizer.step()

    def zero_grad(self, set_to_none: bool = True) -> None:
        """As the wrapped optimizer's zero_grad."""
        self.optimizer.zero_grad(set_to_none=set_to_none)

    @property
    def param_groups(self) -> list[dict]:
        """The wrapped optimizer's parameter groups (learning rates, betas)."""
        return self.optimizer.param_groups

    def state_dict(self) -> dict:
        """The wrapped optimizer's state: checkpoints stay ordinary Trainer checkpoints."""
        return self.optimizer.state_dict()

    def load_state_dict(self, state: dict) -> None:
        """Restore the wrapped optimizer's state."""
        self.optimizer.load_state_dict(state)


def synced_batch_norm(layer: nn.modules.batchnorm._BatchNorm, x: torch.Tensor) -> torch.Tensor:
    """Batch norm in training mode over the global batch: each process's sums of x and x² are added up across
    processes (a differentiable all-reduce, whose backward pass adds up the gradients the same way)."""
    dims, channels = [0, *range(2, x.ndim)], x.shape[1]
    shape = (1, channels) + (1,) * (x.ndim - 2)
    x = x.float()  # as batch norm under autocast: statistics in float32
    sums = differentiable.all_reduce(torch.cat([x.sum(dims), (x * x).sum(dims)]))
    count = x.numel() // channels * dist.get_world_size()
    mean = sums[:channels] / count
    variance = (sums[channels:] / count - mean * mean).clamp_min(0)
    y = (x - mean.view(shape)) * torch.rsqrt(variance.view(shape) + layer.eps)
    if layer.affine:
        y = y * layer.weight.view(shape) + layer.bias.view(shape)
    if layer.track_running_stats:
        with torch.no_grad():
            layer.num_batches_tracked += 1
            momentum = layer.momentum if layer.momentum is not None else 1.0 / float(layer.num_batches_tracked)
            layer.running_mean.lerp_(mean.detach(), momentum)
            layer.running_var.lerp_(variance.detach() * count / max(count - 1, 1), momentum)
    return y


class _SyncedBatchNorm:
    """Mixed into a batch-norm layer's own class: global statistics in training mode, the usual layer otherwise."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            return synced_batch_norm(self, x)
        return super().forward(x)


def sync_batch_norm(network: nn.Module) -> int:
    """Make every batch-norm layer of `network` normalise over the global batch while training, in place (the same
    parameters, buffers and checkpoint keys); returns how many layers changed."""
    layers = [layer for layer in network.modules() if isinstance(layer, nn.modules.batchnorm._BatchNorm)
              and not isinstance(layer, _SyncedBatchNorm)]
    for layer in layers:
        layer.__class__ = type(f"Synced{type(layer).__name__}", (_SyncedBatchNorm, type(layer)), {})
    return len(layers)


def distribute(trainer: Trainer, shard: Shard) -> Trainer:
    """Make `trainer` one of `shard.world_size` processes that train together (nothing changes on one process)."""
    if shard.world_size == 1:
        return trainer
    if hasattr(trainer, "labelled_sampler"):
        raise ValueError("distribute: the semi-supervised GAN trains on one process only (its labelled batches "
                         "are not split between processes)")
    if trainer.batch_size % shard.world_size:
        raise ValueError(f"distribute: `batch_size` {trainer.batch_size} must be divisible by the number of "
                         f"processes, {shard.world_size}")
    trainer.shard = shard
    trainer.sampler.shard = shard
    for network in (trainer.generator, trainer.discriminator):  # not the averaged generator: it only samples
        sync_batch_norm(network)
    trainer.opt_g = AveragedGradients(trainer.opt_g, shard.world_size)
    trainer.opt_d = AveragedGradients(trainer.opt_d, shard.world_size)
    if not shard.is_main:
        trainer.metric_fn = None  # rank 0 scores: every process holds the same weights
    return trainer


def average_buffers(*networks: nn.Module) -> None:
    """Average floating-point buffers across processes before a checkpoint (batch norm's running statistics agree
    already; this catches any other buffer a process updates on its own)."""
    if not (dist.is_available() and dist.is_initialized()):
        return
    for network in networks:
        for buffer in network.buffers():
            if buffer.is_floating_point():
                dist.all_reduce(buffer)
                buffer /= dist.get_world_size()


def barrier() -> None:
    """Wait for every process (a no-op on one process)."""
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
