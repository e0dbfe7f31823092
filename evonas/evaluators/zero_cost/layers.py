"""What the zero-cost proxies read off a network: its weight layers, its logits, its mode while scored.

The pruning-at-initialisation proxies (SNIP, GraSP, SynFlow, Fisher,
grad_norm) sum a per-weight saliency over the weights of the network's
convolutions and linear layers, as their authors' code does (Abdelfattah
et al., "Zero-Cost Proxies for Lightweight NAS", ICLR 2021); BatchNorm's
affine parameters and biases are left out.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch
from torch import nn

#: the layers whose ``weight`` the saliency proxies sum over
WEIGHT_LAYERS = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)


def weight_layers(model: nn.Module) -> list[nn.Module]:
    """The convolutions and linear layers of ``model``, in ``modules()`` order (shared ones once)."""
    return [m for m in model.modules() if isinstance(m, WEIGHT_LAYERS)]


def logits(output) -> torch.Tensor:
    """The logits of a forward pass: ``output`` itself, or its first entry when a network returns a tuple
    (DARTS' ``(logits, auxiliary logits)``)."""
    return output[0] if isinstance(output, (tuple, list)) else output


@contextmanager
def mode(model: nn.Module, training: bool) -> Iterator[nn.Module]:
    """Every submodule in training (``True``: BatchNorm normalises by the batch's statistics) or eval mode
    for the block, then each one's own flag restored."""
    flags = [(m, m.training) for m in model.modules()]
    model.train(training)
    try:
        yield model
    finally:
        for module, flag in flags:
            module.training = flag


__all__ = ["WEIGHT_LAYERS", "logits", "mode", "weight_layers"]
