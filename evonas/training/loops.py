"""Epoch loops shared by every trainer: one pass of SGD, one pass of evaluation.

Models may return ``logits`` or ``(logits, aux_logits)`` (DARTS networks
with an auxiliary head); the auxiliary loss is added with ``aux_weight``
during training and ignored in evaluation.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm


@dataclass
class EpochStats:
    """Mean loss (nats per sample) and top-1 / top-5 accuracy (percent)."""

    loss: float
    top1: float
    top5: float
    samples: int

    def as_dict(self, prefix: str) -> dict[str, float]:
        return {f"{prefix}_loss": self.loss, f"{prefix}_top1": self.top1, f"{prefix}_top5": self.top5}


class _Meter:
    def __init__(self) -> None:
        self.loss = 0.0
        self.correct1 = 0
        self.correct5 = 0
        self.samples = 0

    def update(self, logits: torch.Tensor, targets: torch.Tensor, loss_sum: float) -> None:
        k = min(5, logits.shape[1])
        top = logits.topk(k, dim=1).indices
        hits = top.eq(targets[:, None])
        self.correct1 += int(hits[:, 0].sum())
        self.correct5 += int(hits.any(dim=1).sum())
        self.loss += loss_sum
        self.samples += len(targets)

    def stats(self) -> EpochStats:
        n = max(self.samples, 1)
        return EpochStats(self.loss / n, 100.0 * self.correct1 / n, 100.0 * self.correct5 / n, self.samples)


def _split_output(output) -> tuple[torch.Tensor, torch.Tensor | None]:
    if isinstance(output, (tuple, list)):
        return output[0], (output[1] if len(output) > 1 else None)
    return output, None


def train_one_epoch(
    model: nn.Module,
    loader: Iterable,
    optimizer: torch.optim.Optimizer,
    *,
    device: torch.device,
    aux_weight: float = 0.0,
    grad_clip: float | None = 5.0,
    channels_last: bool = False,
    progress: bool = True,
    description: str = "train",
    on_batch: Callable[[int, float], None] | None = None,
) -> EpochStats:
    """One pass of SGD over ``loader``; returns the training statistics.

    ``aux_weight`` scales the auxiliary-head loss (DARTS: 0.4); ``grad_clip``
    clips the global gradient norm (DARTS: 5).
    """
    model.train()
    meter = _Meter()
    bar = tqdm(loader, desc=description, leave=False, disable=not progress, unit="batch")
    for step, (images, targets) in enumerate(bar):
        images = images.to(device, non_blocking=True)
        if channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        targets = targets.to(device, non_blocking=True)
        logits, aux = _split_output(model(images))
        loss = F.cross_entropy(logits, targets)
        if aux is not None and aux_weight:
            loss = loss + aux_weight * F.cross_entropy(aux, targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if grad_clip:
            nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        optimizer.step()
        with torch.no_grad():
            meter.update(logits.detach(), targets, float(F.cross_entropy(logits, targets, reduction="sum")))
        if progress:
            stats = meter.stats()
            bar.set_postfix(loss=f"{stats.loss:.3f}", top1=f"{stats.top1:.1f}")
        if on_batch is not None:
            on_batch(step, float(loss))
    return meter.stats()


@torch.no_grad()
def evaluate(
    model: nn.Module,
    loader: Iterable,
    *,
    device: torch.device,
    channels_last: bool = False,
    progress: bool = False,
    description: str = "eval",
) -> EpochStats:
    """Loss and top-1 / top-5 accuracy of ``model`` (in eval mode) on ``loader``."""
    model.eval()
    meter = _Meter()
    for images, targets in tqdm(loader, desc=description, leave=False, disable=not progress, unit="batch"):
        images = images.to(device, non_blocking=True)
        if channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        targets = targets.to(device, non_blocking=True)
        logits, _ = _split_output(model(images))
        meter.update(logits, targets, float(F.cross_entropy(logits, targets, reduction="sum")))
    return meter.stats()


__all__ = ["EpochStats", "evaluate", "train_one_epoch"]
