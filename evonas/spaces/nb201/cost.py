"""Parameters and multiply-adds of NAS-Bench-201 networks without building them.

Both are sums over blocks: the stem, reductions, BN/classifier head and
the ``none`` / ``skip`` / pooling edges are fixed; each ``nor_conv_kxk``
edge adds ``k*k*C*C + 2C`` parameters (conv + affine BN) and ``k*k*C*C*H*W``
multiply-adds per cell of a stage at C channels and H x W resolution. The
fixed part is counted once on a built all-``none`` network; the test suite
checks the sums against built networks.
"""
from __future__ import annotations

from functools import lru_cache

from evonas.spaces.nb201.arch import Arch
from evonas.spaces.nb201.network import NB201Network, stage_layout

_KERNELS = {"nor_conv_1x1": 1, "nor_conv_3x3": 3}


@lru_cache(maxsize=None)
def _fixed(C: int, N: int, num_classes: int, resolution: int) -> tuple[int, int]:
    from evonas.counting import count_macs, count_params

    net = NB201Network(("none",) * 6, C=C, N=N, num_classes=num_classes)
    return count_params(net), count_macs(net, (1, 3, resolution, resolution))


def _stages(C: int, N: int, resolution: int) -> list[tuple[int, int]]:
    """``(channels, H*W)`` of every cell."""
    out, side = [], resolution
    for channels, reduction in stage_layout(C, N):
        if reduction:
            side = (side + 1) // 2
        else:
            out.append((channels, side * side))
    return out


@lru_cache(maxsize=None)
def _per_edge(C: int, N: int, resolution: int) -> dict[str, tuple[int, int]]:
    """``{conv op: (parameters, multiply-adds)}`` one edge with it adds over all cells."""
    stages = _stages(C, N, resolution)
    return {op: (sum(k * k * ch * ch + 2 * ch for ch, _ in stages), sum(k * k * ch * ch * area for ch, area in stages))
            for op, k in _KERNELS.items()}


def nb201_params(arch: Arch, *, C: int = 16, N: int = 5, num_classes: int = 10) -> int:
    """Parameters of ``NB201Network(arch, C, N, num_classes)`` (input size does not matter)."""
    base, _ = _fixed(C, N, num_classes, 32)
    per_edge = _per_edge(C, N, 32)
    return base + sum(per_edge[op][0] for op in arch if op in per_edge)


def nb201_macs(arch: Arch, *, C: int = 16, N: int = 5, num_classes: int = 10, resolution: int = 32) -> int:
    """Multiply-adds of one forward pass of one ``resolution`` x ``resolution`` image."""
    _, base = _fixed(C, N, num_classes, resolution)
    per_edge = _per_edge(C, N, resolution)
    return base + sum(per_edge[op][1] for op in arch if op in per_edge)


__all__ = ["nb201_macs", "nb201_params"]
