"""A smoke run's last phase: build the stand-alone network of the searched architecture and train it a few steps.

:func:`standalone_steps` runs ``steps`` SGD steps of the stand-alone
recipe's batch size (with its auxiliary head's loss, gradient clipping and
drop-path, where the network has them) and times them in a
:class:`~evonas.runtime.phases.PhaseMeter`; the projection of the full
stand-alone training comes from the recipe's epochs and the dataset's size.
"""
from __future__ import annotations

import itertools
import math
from typing import Iterable

import torch
import torch.nn.functional as F

from evonas.runtime.phases import PhaseMeter


def standalone_steps(network: torch.nn.Module, batches: Iterable, *, steps: int, meter: PhaseMeter,
                     phase: str = "stand-alone", learning_rate: float = 0.025, momentum: float = 0.9,
                     weight_decay: float = 3e-4, auxiliary_weight: float = 0.4, grad_clip: float = 5.0,
                     drop_path_prob: float = 0.0, micro_batch: int | None = None) -> float:
    """Train ``network`` (on the meter's device) ``steps`` steps on ``batches`` (an iterable of ``(images
    (N, 3, H, W), targets (N,))``); returns the last loss. ``micro_batch``: chunks of that many images per
    batch, gradients accumulated (BatchNorm sees a chunk)."""
    device = meter.device
    network = network.to(device).train()
    if hasattr(network, "drop_path_prob"):
        network.drop_path_prob = drop_path_prob
    optimizer = torch.optim.SGD(network.parameters(), lr=learning_rate, momentum=momentum,
                                weight_decay=weight_decay)
    loss_value = math.nan
    with meter.steps(phase, "train", steps):
        for images, targets in itertools.islice(iter(batches), steps):
            images, targets = images.to(device), targets.to(device)
            optimizer.zero_grad(set_to_none=True)
            n = len(targets)
            size = micro_batch if micro_batch and micro_batch < n else n
            total = 0.0
            for start in range(0, n, size):
                x, y = images[start:start + size], targets[start:start + size]
                out = network(x)
                logits, aux = out if isinstance(out, tuple) else (out, None)
                loss = F.cross_entropy(logits, y)
                if aux is not None:
                    loss = loss + auxiliary_weight * F.cross_entropy(aux, y)
                (loss * (len(y) / n)).backward()
                total += float(loss.detach()) * len(y) / n
            if grad_clip:
                torch.nn.utils.clip_grad_norm_(network.parameters(), grad_clip)
            optimizer.step()
            loss_value = total
    return loss_value


def epoch_steps(images: int, batch_size: int, *, drop_last: bool = False) -> int:
    """Optimizer steps in one epoch of ``images`` at ``batch_size``."""
    return images // batch_size if drop_last else math.ceil(images / batch_size)


__all__ = ["epoch_steps", "standalone_steps"]
