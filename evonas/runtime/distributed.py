"""torch.distributed in one place: start the process group under ``torchrun``, say who we are, sum a tensor.

Under ``torchrun --nproc_per_node=N`` every process gets ``RANK`` /
``WORLD_SIZE`` / ``MASTER_ADDR`` / ``MASTER_PORT`` in its environment;
:func:`init_from_env` then joins the group (gloo on the CPU, NCCL when
the process has a GPU). Without those variables nothing happens and the
helpers describe a single process (rank 0 of 1), so the same code runs as
one process on a laptop.
"""
from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import torch
import torch.distributed as dist


def init_from_env(backend: str | None = None) -> bool:
    """Join the process group ``torchrun`` describes (once); True when this process is one of several."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return is_distributed()
    if not dist.is_initialized():
        backend = backend or ("nccl" if torch.cuda.is_available() else "gloo")
        dist.init_process_group(backend=backend)
        if backend == "nccl":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    return True


@contextlib.contextmanager
def process_group(backend: str | None = None) -> Iterator[bool]:
    """:func:`init_from_env` for the ``with`` block; a group that is up at its end (also on an error) is
    destroyed. Yields whether this process is one of several."""
    init_from_env(backend)
    try:
        yield is_distributed()
    finally:
        if is_distributed():
            dist.destroy_process_group()


def is_distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    return dist.get_rank() if is_distributed() else 0


def world_size() -> int:
    return dist.get_world_size() if is_distributed() else 1


def backend() -> str | None:
    """The process group's backend (``"gloo"``, ``"nccl"``), None for a single process."""
    return dist.get_backend() if is_distributed() else None


def barrier() -> None:
    """Wait until every process got here (nothing for a single process)."""
    if is_distributed():
        dist.barrier()


def all_reduce_sum(tensor: torch.Tensor) -> torch.Tensor:
    """``tensor`` summed over the processes (in place; as is for a single process)."""
    if is_distributed():
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


__all__ = ["all_reduce_sum", "backend", "barrier", "init_from_env", "is_distributed", "process_group", "rank",
           "world_size"]
