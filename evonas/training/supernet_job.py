"""Train a weight-sharing supernet once and save it: ``evonas train-supernet``'s work.

Run as one process, or as N under ``torchrun --nproc_per_node=N``: then
each rank trains 1/N of every batch (DistributedDataParallel through
:class:`~evonas.evaluators.supernet.SupernetEvaluator`) and rank 0 saves.
A search with the supernet evaluator and the same options loads the file
instead of training.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from evonas.errors import ConfigError

__all__ = ["train_supernet"]


def train_supernet(space: Any, *, checkpoint: str | Path, space_options: dict[str, Any] | None = None,
                   options: dict[str, Any] | None = None, progress: bool = True) -> dict[str, Any] | None:
    """Train the ``supernet`` evaluator's supernet over ``space`` and save it to ``checkpoint``.

    Args:
        space: a registered space name (created with ``space_options``) or a space object.
        options: options of the supernet evaluator (``epochs``, ``supernet_kwargs``, ``device``, ...);
            ``device="cpu"`` makes a torchrun group use gloo, otherwise NCCL when there is a GPU.
        progress: progress bars.

    Returns, on rank 0 (and for a single process), ``{"epochs", "world" (processes), "digest" (of the
    settings, as saved in the file), "micro_batches"}``; None on the other ranks. The process group
    ``torchrun`` describes is joined for the training and left afterwards.
    """
    from evonas.registry import evaluators, spaces
    from evonas.runtime import distributed

    if Path(checkpoint).is_dir():
        raise ConfigError(f"--checkpoint {checkpoint} is a directory: give the file to save the supernet to "
                          f"(e.g. {Path(checkpoint) / 'supernet.pt'})")
    options = dict(options or {})
    with distributed.process_group("gloo" if options.get("device") == "cpu" else None):
        if isinstance(space, str):
            space = spaces.create(space, **(space_options or {}))
        evaluator = evaluators.create("supernet", checkpoint=str(checkpoint), progress=progress, **options)
        evaluator.setup(space)
        if distributed.rank() != 0:
            return None
        shared = evaluator.shared
        return {"epochs": evaluator.settings["epochs"], "world": shared.world, "digest": evaluator.digest,
                "micro_batches": shared.micro_batches}
