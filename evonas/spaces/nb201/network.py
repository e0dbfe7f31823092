"""The NAS-Bench-201 network: stem, three stages of N cells, residual reduction blocks, global pool, classifier.

Built as the benchmark builds it (Dong and Yang, ICLR 2020; ``TinyNetwork``
of the authors' AutoDL-Projects): a 3x3 conv + BN stem to C channels; stages
of ``N`` cells at C, 2C and 4C channels, separated by a residual block
(ReLU-conv3x3(stride 2)-BN, ReLU-conv3x3-BN, plus a 2x2 average pool and a
1x1 conv on the shortcut); BN + ReLU; global average pool; a linear layer.
Ops: ``nor_conv_kxk`` is ReLU-conv-BN (affine), ``avg_pool_3x3`` excludes
padding from the average, ``none`` outputs zeros. With C=16, N=5 and 10
classes the all-3x3 cell has 1,531,546 parameters and the all-``none`` cell
73,306, as in the benchmark.
"""
from __future__ import annotations

import torch
from torch import nn

from evonas.spaces.nb201.arch import EDGES, Arch, validate_arch


class ReLUConvBN(nn.Sequential):
    """ReLU -> k x k conv (no bias) -> BN: (N, C_in, H, W) -> (N, C_out, H / stride, W / stride)."""

    def __init__(self, C_in: int, C_out: int, kernel: int, stride: int = 1) -> None:
        super().__init__(nn.ReLU(inplace=False), nn.Conv2d(C_in, C_out, kernel, stride, kernel // 2, bias=False),
                         nn.BatchNorm2d(C_out))


class Zero(nn.Module):
    """The ``none`` op: zeros of the input's shape."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mul(0.0)


def make_op(name: str, C: int) -> nn.Module:
    """One candidate op on C channels, stride 1."""
    if name == "none":
        return Zero()
    if name == "skip_connect":
        return nn.Identity()
    if name == "nor_conv_1x1":
        return ReLUConvBN(C, C, 1)
    if name == "nor_conv_3x3":
        return ReLUConvBN(C, C, 3)
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    raise ValueError(f"unknown NAS-Bench-201 op {name!r}")


class Cell(nn.Module):
    """A NAS-Bench-201 cell of ``arch`` on C channels: node j = sum of its edges' ops on earlier nodes."""

    def __init__(self, arch: Arch, C: int) -> None:
        super().__init__()
        self.arch = arch
        self.edges = nn.ModuleList(make_op(op, C) for op in arch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        k = 0
        for node in (1, 2, 3):
            nodes.append(sum(self.edges[k + i](nodes[i]) for i in range(node)))
            k += node
        return nodes[-1]


class ResidualReduction(nn.Module):
    """Between stages: (N, C_in, H, W) -> (N, C_out, H / 2, W / 2) with a pooled 1x1-conv shortcut."""

    def __init__(self, C_in: int, C_out: int) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(C_in, C_out, 3, stride=2)
        self.conv_b = ReLUConvBN(C_out, C_out, 3)
        self.downsample = nn.Sequential(nn.AvgPool2d(2, stride=2), nn.Conv2d(C_in, C_out, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.downsample(x) + self.conv_b(self.conv_a(x))


def stage_layout(C: int, N: int) -> list[tuple[int, bool]]:
    """``(channels, is_reduction)`` of every block after the stem."""
    return [(C, False)] * N + [(2 * C, True)] + [(2 * C, False)] * N + [(4 * C, True)] + [(4 * C, False)] * N


class NB201Network(nn.Module):
    """Stand-alone NAS-Bench-201 network of ``arch``. Input (B, 3, H, W) -> logits (B, num_classes)."""

    def __init__(self, arch, C: int = 16, N: int = 5, num_classes: int = 10) -> None:
        super().__init__()
        self.arch = validate_arch(arch)
        self.stem = nn.Sequential(nn.Conv2d(3, C, 3, padding=1, bias=False), nn.BatchNorm2d(C))
        blocks, C_prev = [], C
        for C_curr, reduction in stage_layout(C, N):
            blocks.append(ResidualReduction(C_prev, C_curr) if reduction else Cell(self.arch, C_curr))
            C_prev = C_curr
        self.cells = nn.ModuleList(blocks)
        self.lastact = nn.Sequential(nn.BatchNorm2d(C_prev), nn.ReLU(inplace=True))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(C_prev, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for block in self.cells:
            x = block(x)
        return self.classifier(self.global_pooling(self.lastact(x)).flatten(1))


__all__ = ["Cell", "EDGES", "NB201Network", "ReLUConvBN", "ResidualReduction", "make_op", "stage_layout"]
