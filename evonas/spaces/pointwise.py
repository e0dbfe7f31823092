"""A 1x1 convolution whose stride is taken by subsampling, shared by the DARTS and SCARLET spaces.

Why: with torch 2.14.1 on CPUs with AVX-512, the weight gradient of a 1x1,
stride-2 ``conv2d`` whose input is channels-last (NHWC) corrupts memory
(``double free or corruption`` / segfault in ``backward()``) when the input
has fewer than 16 channels and an even size of at least 56: oneDNN's
``jit_1x1:avx512_core`` backward-weights kernel is at fault; the AVX2 kernel,
NCHW inputs, odd sizes and wider inputs are fine. DARTS' ``FactorizedReduce``
at ImageNet resolution (and SCARLET's strided skips) hit it in channels-last
training, which evonas uses by default on CPUs.

For a 1x1 kernel without padding, a stride-``s`` convolution equals a
stride-1 convolution of ``x[:, :, ::s, ::s]`` exactly (same output size
``ceil(H / s)``, same values, same multiply-adds), so on the CPU
:class:`PointwiseConv` computes it that way and the faulty kernel is never
called. ``tests/spaces/test_pointwise.py`` keeps a minimal reproduction of
the torch bug: when a torch release no longer crashes, drop this class.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class PointwiseConv(nn.Conv2d):
    """``nn.Conv2d(C_in, C_out, 1, stride=stride, bias=bias)`` (same parameters and state-dict keys).

    (N, C_in, H, W) -> (N, C_out, ceil(H / stride), ceil(W / stride)).
    """

    def __init__(self, channels_in: int, channels_out: int, stride: int = 1, bias: bool = False) -> None:
        super().__init__(channels_in, channels_out, 1, stride=stride, padding=0, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == (1, 1) or not x.is_cpu:
            return super().forward(x)
        sh, sw = self.stride
        return F.conv2d(x[:, :, ::sh, ::sw], self.weight, self.bias, 1, 0, 1, self.groups)


__all__ = ["PointwiseConv"]
