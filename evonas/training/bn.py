"""BatchNorm recalibration for single-path subnets of a supernet.

In a weight-sharing supernet the running BN statistics mix every path that
was trained; scoring a candidate with them biases its accuracy badly. Before
scoring, reset the statistics and re-estimate them on a fixed set of
training batches, running only the candidate's path (the recipe of
Once-for-All, Cai et al. 2020, and SPOS, Guo et al. 2020; SPOS used ~20k
ImageNet images). With ``momentum=None`` BN keeps a cumulative average:
the running mean is the mean of the batch means (the exact mean for equal
batches) and the running variance the mean of the per-batch variances, so
the estimate does not depend on the order of the batches.
"""
from __future__ import annotations

import contextlib
from typing import Callable, Iterable, Iterator

import torch
from torch import nn


def batchnorm_layers(model: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    """Every BatchNorm layer that tracks running statistics."""
    return [m for m in model.modules()
            if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]


@torch.no_grad()
def recalibrate_bn(model: nn.Module, forward: Callable[[torch.Tensor], torch.Tensor],
                   batches: Iterable[torch.Tensor]) -> int:
    """Reset every BN layer's running statistics and re-estimate them with ``forward``.

    Args:
        model: the module whose BN layers are recalibrated (e.g. a supernet).
        forward: runs one batch through the path being scored, e.g.
            ``lambda x: supernet(x, arch)``.
        batches: image tensors ``(N, C, H, W)`` on the model's device.

    Returns the number of images used. The model is left in eval mode.
    Layers the path does not touch end with reset statistics (mean 0,
    variance 1), which is harmless since the path never reads them.
    """
    layers = batchnorm_layers(model)
    momenta = [layer.momentum for layer in layers]
    for layer in layers:
        layer.reset_running_stats()
        layer.momentum = None
    model.train()
    seen = 0
    try:
        for images in batches:
            forward(images)
            seen += len(images)
    finally:
        for layer, momentum in zip(layers, momenta):
            layer.momentum = momentum
        model.eval()
    return seen


@contextlib.contextmanager
def preserved_bn_statistics(model: nn.Module) -> Iterator[None]:
    """Within the block BN running statistics may change (recalibration, train-mode passes); on leaving it
    they are put back as they were."""
    statistics = ("running_mean", "running_var", "num_batches_tracked")
    saved = [(layer, {k: getattr(layer, k).clone() for k in statistics}) for layer in batchnorm_layers(model)]
    try:
        yield
    finally:
        with torch.no_grad():
            for layer, buffers in saved:
                for key, value in buffers.items():
                    getattr(layer, key).copy_(value)


__all__ = ["batchnorm_layers", "preserved_bn_statistics", "recalibrate_bn"]
