"""Running ``fit`` under ``torchrun``: the process group and the few collectives it needs.

``torchrun --nproc-per-node=N script.py`` sets ``RANK``, ``WORLD_SIZE`` and
``LOCAL_RANK``; :func:`context` starts the process group from them (NCCL on GPUs,
gloo on CPUs) so the trainer can wrap the model in PyTorch's own
``DistributedDataParallel``. A plain ``python`` run is a world of one.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.distributed as dist

from cnnlab import settings

__all__ = ["DistContext", "context", "all_reduce_sum"]


@dataclass(frozen=True)
class DistContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        """Only rank 0 prints, plots and writes checkpoints."""
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def context(device: torch.device) -> DistContext:
    """The current process's place in the run, starting the process group if needed."""
    if dist.is_available() and dist.is_initialized():
        return DistContext(dist.get_rank(), dist.get_world_size(), settings.local_rank())
    world_size = settings.world_size()
    if world_size <= 1:
        return DistContext()
    backend = "nccl" if device.type == "cuda" else "gloo"
    dist.init_process_group(backend=backend)
    return DistContext(dist.get_rank(), dist.get_world_size(), settings.local_rank())


def all_reduce_sum(*tensors: torch.Tensor) -> None:
    """Sum each tensor over all processes, in place (no-op in a single process)."""
    if dist.is_available() and dist.is_initialized():
        for t in tensors:
            dist.all_reduce(t, op=dist.ReduceOp.SUM)
