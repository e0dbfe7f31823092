"""Numeric precision of a training loop: fp32, or fp16 autocast with a gradient scaler (the released DAP code).

``MixedPrecision("amp", device)`` on a CUDA device runs forward passes
under ``torch.autocast(dtype=float16)`` and scales the loss with a
``torch.amp.GradScaler`` (what ``torch.cuda.amp.autocast`` / ``GradScaler``
did in the released code). On any other device it runs **fp32** and says so
once in the log: fp16 autocast is not supported on CPUs, and bf16 would
change the numbers the CPU tests pin down. ``"float32"`` is fp32
everywhere.
"""
from __future__ import annotations

import contextlib
import logging

import torch

from evonas.errors import ConfigError

log = logging.getLogger(__name__)

#: the accepted ``precision`` settings
PRECISIONS = ("float32", "amp")


class MixedPrecision:
    """``precision`` (one of :data:`PRECISIONS`) on ``device`` (a ``torch.device``); :attr:`enabled` is True
    only for ``"amp"`` on CUDA."""

    def __init__(self, precision: str, device: torch.device) -> None:
        if precision not in PRECISIONS:
            raise ConfigError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
        self.precision, self.device = precision, torch.device(device)
        self.enabled = precision == "amp" and self.device.type == "cuda"
        if precision == "amp" and not self.enabled:
            log.info("precision='amp' runs fp32 on %s (fp16 autocast and its GradScaler are CUDA-only)",
                     self.device.type)

    def autocast(self):
        """A context running the forward pass in fp16 (enabled) or as it is."""
        if self.enabled:
            return torch.autocast("cuda", dtype=torch.float16)
        return contextlib.nullcontext()

    def scaler(self) -> torch.amp.GradScaler:
        """A fresh gradient scaler (a pass-through when not enabled)."""
        return torch.amp.GradScaler("cuda", enabled=self.enabled)

    def backward(self, loss: torch.Tensor, scaler: torch.amp.GradScaler) -> None:
        """Backward ``loss`` (scaled by ``scaler`` when enabled)."""
        (scaler.scale(loss) if self.enabled else loss).backward()

    def step(self, optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler) -> None:
        """Step ``optimizer`` through ``scaler`` (a plain step when disabled)."""
        if not self.enabled:
            optimizer.step()
            return
        scaler.step(optimizer)
        scaler.update()

    def train_step(self, loss_of, images: torch.Tensor, targets: torch.Tensor, optimizer: torch.optim.Optimizer,
                   scaler: torch.amp.GradScaler, micro_batch: int | None = None) -> None:
        """One optimizer step on the batch ``(images, targets)``; ``loss_of(images, targets)`` is the mean loss
        of a chunk. With ``micro_batch`` smaller than the batch, the batch runs as chunks of that many images,
        their gradients accumulated as the whole batch's mean (BatchNorm then sees a chunk's statistics)."""
        optimizer.zero_grad(set_to_none=True)
        n = len(targets)
        size = micro_batch if micro_batch and micro_batch < n else n
        for start in range(0, n, size):
            x, y = images[start:start + size], targets[start:start + size]
            with self.autocast():
                loss = loss_of(x, y) * (len(y) / n)
            self.backward(loss, scaler)
        self.step(optimizer, scaler)

__all__ = ["MixedPrecision", "PRECISIONS"]
