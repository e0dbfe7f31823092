"""Candidate operations of the DARTS cell space, keyed by string name.

Every op maps a feature map of shape (N, C, H, W) to (N, C, H', W') with
H' = ceil(H / stride), W' = ceil(W / stride); channels are preserved (C in =
C out). Ops are always looked up by *name*: DARTS, StacNAS, RelativeNAS, DAP
and NASBench-301 each order their primitive lists differently, so integer op
ids are never passed between components.

Module layouts and attribute names follow DARTS' ``operations.py`` (Liu et
al., ICLR 2019), so parameter counts and ``state_dict`` keys agree with the
published code. ``affine`` is False inside search networks and True in
stand-alone networks; :func:`build_op` with ``search=True`` also appends the
non-affine BatchNorm that DARTS puts after pooling ops in search networks.
"""
from __future__ import annotations

from typing import Callable, Dict, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from evonas.spaces.pointwise import PointwiseConv

#: The eight DARTS candidate ops, in DARTS order (index 0 is ``none``).
PRIMITIVES: Tuple[str, ...] = (
    "none",
    "max_pool_3x3",
    "avg_pool_3x3",
    "skip_connect",
    "sep_conv_3x3",
    "sep_conv_5x5",
    "dil_conv_3x3",
    "dil_conv_5x5",
)

#: The seven ops a final genotype may use (``PRIMITIVES`` without ``none``);
#: this is also the NASBench-301 / RelativeNAS vocabulary, in that order.
GENOTYPE_PRIMITIVES: Tuple[str, ...] = PRIMITIVES[1:]


class ReLUConvBN(nn.Module):
    """ReLU -> Conv2d(k, stride, padding, no bias) -> BatchNorm.

    Shapes: (N, C_in, H, W) -> (N, C_out, H', W').
    """

    def __init__(self, C_in: int, C_out: int, kernel_size: int, stride: int,
                 padding: int, affine: bool = True):
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(C_in, C_out, kernel_size, stride=stride, padding=padding, bias=False),
            nn.BatchNorm2d(C_out, affine=affine),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class DilatedDepthwiseConv(nn.Conv2d):
    """``nn.Conv2d(C, C, k, stride, padding, dilation, groups=C, bias=False)`` (same parameters and keys).

    (N, C, H, W) -> (N, C, ceil(H / stride), ceil(W / stride)) for "same" padding ``dilation * (k - 1) / 2``.

    When the stride equals the dilation (DARTS' ``dil_conv`` on a reduction cell's input edges: stride 2,
    dilation 2), every tap of every output reads an input pixel at an even row and column, so the
    convolution equals an undilated stride-1 convolution of ``x[:, :, ::2, ::2]`` with padding
    ``(k - 1) / 2``: the same multiply-adds on the same values, and on the CPU 10-20x faster than oneDNN's
    dilated, strided depthwise kernel (which dominated a continuous DARTS step). ``subsample = False``
    turns the rewrite off (benchmarks compare both).
    """

    def __init__(self, channels: int, kernel_size: int, stride: int, padding: int, dilation: int) -> None:
        super().__init__(channels, channels, kernel_size, stride=stride, padding=padding, dilation=dilation,
                         groups=channels, bias=False)
        k = kernel_size
        #: the rewrite applies: stride == dilation and "same" padding
        self.subsample = stride == dilation > 1 and padding == dilation * (k - 1) // 2 and k % 2 == 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.subsample:
            return super().forward(x)
        s = self.stride[0]
        k = self.kernel_size[0]
        return F.conv2d(x[:, :, ::s, ::s], self.weight, None, 1, (k - 1) // 2, 1, self.groups)


class DilConv(nn.Module):
    """ReLU -> depthwise k x k conv (dilation d) -> pointwise 1x1 conv -> BN.

    Shapes: (N, C_in, H, W) -> (N, C_out, ceil(H/stride), ceil(W/stride)).
    """

    def __init__(self, C_in: int, C_out: int, kernel_size: int, stride: int,
                 padding: int, dilation: int, affine: bool = True):
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            DilatedDepthwiseConv(C_in, kernel_size, stride, padding, dilation),
            nn.Conv2d(C_in, C_out, kernel_size=1, padding=0, bias=False),
            nn.BatchNorm2d(C_out, affine=affine),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class SepConv(nn.Module):
    """Two stacked ReLU -> depthwise conv -> pointwise conv -> BN units (DARTS).

    Only the first unit carries the stride. Shapes: (N, C_in, H, W) ->
    (N, C_out, ceil(H/stride), ceil(W/stride)).
    """

    def __init__(self, C_in: int, C_out: int, kernel_size: int, stride: int,
                 padding: int, affine: bool = True):
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(C_in, C_in, kernel_size, stride=stride, padding=padding,
                      groups=C_in, bias=False),
            nn.Conv2d(C_in, C_in, kernel_size=1, padding=0, bias=False),
            nn.BatchNorm2d(C_in, affine=affine),
            nn.ReLU(inplace=False),
            nn.Conv2d(C_in, C_in, kernel_size, stride=1, padding=padding,
                      groups=C_in, bias=False),
            nn.Conv2d(C_in, C_out, kernel_size=1, padding=0, bias=False),
            nn.BatchNorm2d(C_out, affine=affine),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class Zero(nn.Module):
    """The ``none`` op: an all-zero map, subsampled by ``stride``.

    Shapes: (N, C, H, W) -> (N, C, ceil(H/stride), ceil(W/stride)).
    """

    def __init__(self, stride: int):
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            return x.mul(0.0)
        return x[:, :, :: self.stride, :: self.stride].mul(0.0)


class FactorizedReduce(nn.Module):
    """Halve the resolution with two offset 1x1 stride-2 convs (DARTS).

    ReLU, then conv_1 on x and conv_2 on x shifted by one pixel, each giving
    C_out / 2 channels, concatenated, then BN. Shapes: (N, C_in, H, W) ->
    (N, C_out, ceil(H/2), ceil(W/2)). For odd H or W the shifted branch is
    zero-padded on the bottom/right so both branches agree (DARTS itself
    fails on odd sizes); for even sizes the output equals DARTS' exactly.
    """

    def __init__(self, C_in: int, C_out: int, affine: bool = True):
        super().__init__()
        if C_out % 2:
            raise ValueError(f"FactorizedReduce needs an even C_out, got {C_out}")
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = PointwiseConv(C_in, C_out // 2, stride=2)  # a 1x1 stride-2 conv that avoids a torch CPU bug
        self.conv_2 = PointwiseConv(C_in, C_out // 2, stride=2)
        self.bn = nn.BatchNorm2d(C_out, affine=affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        shifted = x[:, :, 1:, 1:]
        if x.shape[2] % 2 or x.shape[3] % 2:
            shifted = F.pad(shifted, (0, x.shape[3] % 2, 0, x.shape[2] % 2))
        out = torch.cat([self.conv_1(x), self.conv_2(shifted)], dim=1)
        return self.bn(out)


class Conv7x1x1x7(nn.Module):
    """ReLU -> (1x7) conv -> (7x1) conv -> BN (NASNet/AmoebaNet op, for completeness)."""

    def __init__(self, C: int, stride: int, affine: bool = True):
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(C, C, (1, 7), stride=(1, stride), padding=(0, 3), bias=False),
            nn.Conv2d(C, C, (7, 1), stride=(stride, 1), padding=(3, 0), bias=False),
            nn.BatchNorm2d(C, affine=affine),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


OpFactory = Callable[[int, int, bool], nn.Module]

#: name -> factory(C, stride, affine). The eight :data:`PRIMITIVES` plus
#: ``sep_conv_7x7`` (DAP's search list) and ``conv_7x1_1x7`` (NASNet /
#: AmoebaNet), which genotypes may name but the default spaces never sample.
OPS: Dict[str, OpFactory] = {
    "none": lambda C, stride, affine: Zero(stride),
    "max_pool_3x3": lambda C, stride, affine: nn.MaxPool2d(3, stride=stride, padding=1),
    "avg_pool_3x3": lambda C, stride, affine: nn.AvgPool2d(
        3, stride=stride, padding=1, count_include_pad=False),
    "skip_connect": lambda C, stride, affine: (
        nn.Identity() if stride == 1 else FactorizedReduce(C, C, affine=affine)),
    "sep_conv_3x3": lambda C, stride, affine: SepConv(C, C, 3, stride, 1, affine=affine),
    "sep_conv_5x5": lambda C, stride, affine: SepConv(C, C, 5, stride, 2, affine=affine),
    "sep_conv_7x7": lambda C, stride, affine: SepConv(C, C, 7, stride, 3, affine=affine),
    "dil_conv_3x3": lambda C, stride, affine: DilConv(C, C, 3, stride, 2, 2, affine=affine),
    "dil_conv_5x5": lambda C, stride, affine: DilConv(C, C, 5, stride, 4, 2, affine=affine),
    "conv_7x1_1x7": lambda C, stride, affine: Conv7x1x1x7(C, stride, affine=affine),
}


def build_op(name: str, C: int, stride: int, *, affine: bool, search: bool = False) -> nn.Module:
    """Build the op ``name`` for C channels and the given stride (1 or 2).

    With ``search=True`` pooling ops are followed by a non-affine
    ``BatchNorm2d(C)``, as in DARTS' search network (``MixedOp``).
    Raises ``KeyError`` naming the known ops when ``name`` is unknown.
    """
    try:
        factory = OPS[name]
    except KeyError:
        raise KeyError(f"unknown op {name!r}; known ops: {', '.join(OPS)}") from None
    op = factory(C, stride, affine)
    if search and "pool" in name:
        op = nn.Sequential(op, nn.BatchNorm2d(C, affine=False))
    return op


def drop_path(x: torch.Tensor, drop_prob: float) -> torch.Tensor:
    """Zero whole samples of ``x`` (N, ...) with probability ``drop_prob``.

    Survivors are scaled by 1 / (1 - drop_prob) (DARTS' ``drop_path``, done
    out of place). Returns ``x`` unchanged when ``drop_prob <= 0``.
    """
    if drop_prob <= 0.0:
        return x
    keep = 1.0 - drop_prob
    mask = x.new_empty((x.shape[0],) + (1,) * (x.dim() - 1)).bernoulli_(keep)
    return x / keep * mask


def is_identity(op: nn.Module) -> bool:
    """True for a parameter-free identity (skip_connect at stride 1)."""
    return isinstance(op, nn.Identity)


__all__ = ["Conv7x1x1x7", "DilConv", "DilatedDepthwiseConv", "FactorizedReduce", "GENOTYPE_PRIMITIVES", "OPS",
           "PRIMITIVES", "ReLUConvBN", "SepConv", "Zero", "build_op", "drop_path", "is_identity"]
