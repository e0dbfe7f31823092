"""Single-path one-shot training of a weight-sharing supernet.

Each step samples one architecture and trains only its path (SPOS, Guo et
al. 2020): ``sampler="uniform"``. ``sampler="fair"`` is FairNAS strict
fairness (Chu et al. 2021): each step the space supplies a set of paths in
which every candidate of every layer appears exactly once
(``space.fair_paths(rng)``), gradients of all of them are accumulated, then
one optimiser step is taken. Supernets follow the protocol
``supernet(x, arch) -> logits`` (the module is called, so wrappers such as
DistributedDataParallel see each pass).
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from evonas.errors import ConfigError
from evonas.spaces.base import HasEdgeSplit, HasFairPaths, require

log = logging.getLogger(__name__)
SAMPLERS = ("uniform", "fair")


@dataclass
class OneShotStats:
    """Mean training loss (nats) and top-1 (%) of one epoch of supernet training."""

    epoch: int
    loss: float
    top1: float
    steps: int


def sample_paths(space, rng: np.random.Generator, sampler: str, fixed: Mapping | None = None) -> list:
    """The paths trained in one optimiser step. ``fixed`` (``{edge: op}``, a few-shot sub-supernet's split
    edges) restricts them to the architectures carrying those ops (``space.fix_edges``): uniform among them,
    or, with ``sampler="fair"``, every other candidate of every other edge once."""
    if sampler == "uniform":
        paths = [space.sample(rng)]
    elif sampler == "fair":
        paths = list(require(space, HasFairPaths, "sampler='fair' (else use 'uniform')").fair_paths(rng))
    else:
        raise ConfigError(f"unknown sampler {sampler!r}; valid: {', '.join(SAMPLERS)}")
    if fixed:
        split = require(space, HasEdgeSplit, "a sub-supernet (fixed edges)")
        paths = [split.fix_edges(path, fixed) for path in paths]
    return paths


def warmup_cosine(optimizer: torch.optim.Optimizer, total_steps: int,
                  warmup_steps: int = 0) -> torch.optim.lr_scheduler.LambdaLR:
    """Per-step schedule: linear warm-up over ``warmup_steps`` (from lr / warmup_steps to lr), then cosine
    from lr to 0 at ``total_steps``. Step it once per optimiser step."""
    decay = max(1, total_steps - warmup_steps)

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        return 0.5 * (1.0 + math.cos(math.pi * min(step - warmup_steps, decay) / decay))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def train_step(supernet: nn.Module, images: torch.Tensor, targets: torch.Tensor, paths: Sequence,
               optimizer: torch.optim.Optimizer, grad_clip: float | None = 5.0, *,
               slices: int = 1, dtype: torch.dtype | None = None) -> tuple[float, int, int]:
    """One optimiser step on ``paths`` (gradients of all of them accumulated, then clipped).

    Calls ``supernet(images, arch)`` for each path. With ``slices > 1`` the
    batch is cut into that many equal slices, each passed on its own (its
    own batch-norm statistics) with its loss weighted ``1 / slices``: the
    gradient of the batch's mean loss, computed as ``slices`` processes of
    a ``DistributedDataParallel`` group compute it. ``dtype=torch.bfloat16``
    runs the forward passes under bf16 autocast on the images' device (the
    weights, gradients and optimiser stay fp32; no loss scaling is needed
    for bf16). Returns ``(summed loss (nats), correct top-1, samples)`` over
    the forward passes.
    """
    optimizer.zero_grad(set_to_none=True)
    loss_sum, correct, samples = 0.0, 0, 0
    for arch in paths:
        for x, y in zip(images.chunk(slices), targets.chunk(slices)):
            if dtype is None:
                logits = supernet(x, arch)
            else:
                with torch.autocast(x.device.type, dtype=dtype):
                    logits = supernet(x, arch)
                logits = logits.float()
            loss = F.cross_entropy(logits, y)
            (loss / slices if slices > 1 else loss).backward()
            with torch.no_grad():
                loss_sum += float(loss) * len(y)
                correct += int((logits.argmax(1) == y).sum())
                samples += len(y)
    if grad_clip:
        nn.utils.clip_grad_norm_([p for p in supernet.parameters() if p.grad is not None], grad_clip)
    optimizer.step()
    return loss_sum, correct, samples


def train_supernet_epoch(supernet: nn.Module, space, loader: Iterable, optimizer: torch.optim.Optimizer, *,
                         rng: np.random.Generator, device: torch.device, sampler: str = "uniform",
                         grad_clip: float | None = 5.0, epoch: int = 0, progress: bool = True,
                         channels_last: bool = False, scheduler=None) -> OneShotStats:
    """One epoch of single-path training; returns its statistics. ``scheduler``, when given, is stepped
    after every optimiser step (e.g. :func:`warmup_cosine`)."""
    supernet.train()
    total_loss, correct, samples, steps = 0.0, 0, 0, 0
    bar = tqdm(loader, desc=f"supernet epoch {epoch + 1}", leave=False, disable=not progress, unit="batch")
    for images, targets in bar:
        images, targets = images.to(device), targets.to(device)
        if channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        loss_sum, hits, n = train_step(supernet, images, targets, sample_paths(space, rng, sampler), optimizer,
                                       grad_clip)
        total_loss, correct, samples = total_loss + loss_sum, correct + hits, samples + n
        if scheduler is not None:
            scheduler.step()
        steps += 1
        if progress:
            bar.set_postfix(loss=f"{total_loss / max(samples, 1):.3f}")
    return OneShotStats(epoch, total_loss / max(samples, 1), 100.0 * correct / max(samples, 1), steps)


__all__ = ["OneShotStats", "SAMPLERS", "sample_paths", "train_step", "train_supernet_epoch", "warmup_cosine"]
