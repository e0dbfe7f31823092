"""DARTS cells: the stand-alone cell built from a genotype, and the search cell.

Edge indexing (DARTS order): intermediate node i (0-based) has one edge from
every earlier state 0 .. i+1, so with 4 nodes node 0 owns edges 0-1, node 1
edges 2-4, node 2 edges 5-8 and node 3 edges 9-13 (14 edges). In a reduction
cell only edges from the two cell inputs (states 0 and 1) have stride 2.

Shapes: a cell takes s0 (N, C_prev_prev, H0, W0) and s1 (N, C_prev, H, W)
(H0 = 2H when the previous cell reduced) and returns
(N, len(concat) * C, H', W') with H' = ceil(H / 2) in a reduction cell and
H otherwise.
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from evonas.spaces.darts.genotype import Genotype
from evonas.spaces.darts.mixture import mix_ops
from evonas.spaces.darts.ops import (
    OPS,
    FactorizedReduce,
    ReLUConvBN,
    build_op,
    drop_path,
    is_identity,
)


def num_edges(steps: int = 4) -> int:
    """Edges of a cell with ``steps`` nodes: 2 + 3 + ... + (steps + 1)."""
    return steps * (steps + 3) // 2


def edge_index(node: int, input: int) -> int:
    """Index of the edge from state ``input`` into node ``node`` (0-based).

    ``edge_index(0, 0) == 0``, ``edge_index(1, 0) == 2``,
    ``edge_index(3, 4) == 13``. Raises ``ValueError`` when ``input`` is not
    an earlier state (0 .. node + 1).
    """
    if node < 0 or not 0 <= input <= node + 1:
        raise ValueError(f"node {node} has no edge from state {input} (allowed 0..{node + 1})")
    return num_edges(node) + input


def edge_list(steps: int = 4) -> List[Tuple[int, int]]:
    """``(node, input)`` of every edge, in edge-index order."""
    return [(i, j) for i in range(steps) for j in range(i + 2)]


def _preprocess(C_prev_prev: int, C_prev: int, C: int, reduction_prev: bool,
                affine: bool) -> Tuple[nn.Module, nn.Module]:
    if reduction_prev:
        pre0: nn.Module = FactorizedReduce(C_prev_prev, C, affine=affine)
    else:
        pre0 = ReLUConvBN(C_prev_prev, C, 1, 1, 0, affine=affine)
    return pre0, ReLUConvBN(C_prev, C, 1, 1, 0, affine=affine)


class Cell(nn.Module):
    """Stand-alone cell of a genotype (DARTS ``model.Cell``; affine BN).

    One module per (op, input) pair in genotype order (``_ops``), so a
    duplicated pair (RelativeNAS) gets two independent modules, and
    ``state_dict`` keys match DARTS checkpoints.

    ``attention`` (one starting value per pair, optional): a learnable scale
    on each pair's output (``attention``, shape (pairs,)), e.g. StacNAS'
    ``none`` weight kept as attention; without it the cell is DARTS' exactly.
    """

    def __init__(self, genotype: Genotype, C_prev_prev: int, C_prev: int, C: int,
                 reduction: bool, reduction_prev: bool, attention: Optional[Sequence[float]] = None):
        super().__init__()
        self.reduction = reduction
        self.preprocess0, self.preprocess1 = _preprocess(C_prev_prev, C_prev, C, reduction_prev, True)
        kind = "reduce" if reduction else "normal"
        pairs = genotype.cell(kind)
        self._concat = tuple(genotype.concat(kind))
        self._steps = len(pairs) // 2
        self.multiplier = len(self._concat)
        self._indices = tuple(index for _, index in pairs)
        self._ops = nn.ModuleList(
            OPS[name](C, 2 if reduction and index < 2 else 1, True) for name, index in pairs)
        if attention is not None:
            self.attention = nn.Parameter(torch.as_tensor(list(attention), dtype=torch.float32))
        else:
            self.attention = None

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, drop_prob: float = 0.0) -> torch.Tensor:
        """Drop path (probability ``drop_prob``) hits non-identity ops in training only."""
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for i in range(self._steps):
            total = None
            for j in (2 * i, 2 * i + 1):
                op = self._ops[j]
                h = op(states[self._indices[j]])
                if self.attention is not None:
                    h = self.attention[j] * h
                if self.training and drop_prob > 0.0 and not is_identity(op):
                    h = drop_path(h, drop_prob)
                total = h if total is None else total + h
            states.append(total)
        return torch.cat([states[i] for i in self._concat], dim=1)


def _occurrence_keys(names: Sequence[str]) -> Tuple[str, ...]:
    """``names`` made unique: the n-th occurrence (n >= 2) of a name becomes ``NAME_n``."""
    seen: dict = {}
    keys = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        keys.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
    return tuple(keys)


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """Interleave ``groups`` channel groups of x (N, C, H, W) (ShuffleNet / PC-DARTS)."""
    n, c, h, w = x.shape
    return x.view(n, groups, c // groups, h, w).transpose(1, 2).reshape(n, c, h, w)


class MixedOp(nn.Module):
    """All candidate ops of one edge, held in ``ops`` (a ModuleDict keyed by name).

    With ``partial_channel_k = k > 1`` (PC-DARTS) the ops are built for C / k
    channels: only the first C / k input channels go through the op(s), the
    rest bypass it (max-pooled 2x2 on stride-2 edges), and the result is
    channel-shuffled with k groups. Shapes: (N, C, H, W) ->
    (N, C, ceil(H / stride), ceil(W / stride)).
    """

    def __init__(self, C: int, stride: int, primitives: Sequence[str], partial_channel_k: int = 1, *,
                 affine: bool = False, pool_bn: bool = True):
        super().__init__()
        self.stride = stride
        self.k = partial_channel_k
        self.primitives = tuple(primitives)
        #: module key of each entry of ``primitives``: the name, ``NAME_2`` for its second occurrence (StacNAS'
        #: stage-2 identity group holds two parameter-free skips), and so on
        self.keys = _occurrence_keys(self.primitives)
        self.ops = nn.ModuleDict(
            {key: build_op(name, C // self.k, stride, affine=affine, search=pool_bn)
             for key, name in zip(self.keys, self.primitives)})
        #: compute the mixture with :func:`~evonas.spaces.darts.mixture.mix_ops` (same result, faster);
        #: False runs op by op, as DARTS does (benchmarks compare both)
        self.fused = True

    def _split(self, x: torch.Tensor) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        if self.k == 1:
            return x, None
        c = x.shape[1] // self.k
        return x[:, :c], x[:, c:]

    def _merge(self, out: torch.Tensor, rest: Optional[torch.Tensor]) -> torch.Tensor:
        if rest is None:
            return out
        if rest.shape[2:] != out.shape[2:]:
            rest = F.max_pool2d(rest, 2, 2, ceil_mode=True)
        return channel_shuffle(torch.cat([out, rest], dim=1), self.k)

    def forward(self, x: torch.Tensor, weights: torch.Tensor,
                active: Optional[Sequence[int]] = None) -> torch.Tensor:
        """sum_p weights[p] * op_p(x) over ops p (DARTS eq. 1 with given weights).

        ``weights``: (len(primitives),). ``active``: op indices to compute;
        the others must have weight 0 (used to skip masked ops).
        """
        xs, rest = self._split(x)
        indices = range(len(self.primitives)) if active is None else active
        if self.fused:
            out = mix_ops([self.ops[key] for key in self.keys], xs, weights, indices)
        else:
            out = None
            for p in indices:
                y = weights[p] * self.ops[self.keys[p]](xs)
                out = y if out is None else out + y
        if out is None:
            out = xs[:, :, :: self.stride, :: self.stride].mul(0.0)
        return self._merge(out, rest)

    def forward_op(self, x: torch.Tensor, name: str) -> torch.Tensor:
        """Run only the op ``name`` (discrete / single-path mode)."""
        xs, rest = self._split(x)
        return self._merge(self.ops[name](xs), rest)


class SearchCell(nn.Module):
    """Weight-sharing cell: a :class:`MixedOp` on each of the ``num_edges(steps)`` edges.

    ``edge_primitives`` (one op list per edge, all of one length; a name may
    repeat) replaces ``primitives`` edge by edge (StacNAS' stage 2).
    BN is non-affine and pools are followed by a non-affine BN (DARTS search);
    ``affine=True, pool_bn=False`` builds RelativeNAS' search cell instead
    (affine BN everywhere, bare pools). The cell output is the concatenation
    of its last ``multiplier`` nodes.
    """

    def __init__(self, steps: int, multiplier: int, C_prev_prev: int, C_prev: int, C: int,
                 reduction: bool, reduction_prev: bool, primitives: Sequence[str],
                 partial_channel_k: int = 1, *, affine: bool = False, pool_bn: bool = True,
                 edge_primitives: Optional[Sequence[Sequence[str]]] = None):
        super().__init__()
        self.reduction = reduction
        self.steps = steps
        self.multiplier = multiplier
        self.preprocess0, self.preprocess1 = _preprocess(C_prev_prev, C_prev, C, reduction_prev, affine)
        per_edge = edge_primitives or [primitives] * num_edges(steps)
        self.edges = nn.ModuleList(
            MixedOp(C, 2 if reduction and j < 2 else 1, ops, partial_channel_k, affine=affine,
                    pool_bn=pool_bn)
            for (_, j), ops in zip(edge_list(steps), per_edge))
        self._partial = partial_channel_k > 1

    def _zero(self, s0: torch.Tensor) -> torch.Tensor:
        stride = 2 if self.reduction else 1
        return s0[:, :, ::stride, ::stride].mul(0.0)

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, weights: torch.Tensor,
                edge_weights: Optional[torch.Tensor] = None,
                active: Optional[Sequence[Sequence[int]]] = None) -> torch.Tensor:
        """Continuous mode: node_i = sum_j edge_weights[e] * MixedOp_e(state_j, weights[e]).

        ``weights``: (E, P); ``edge_weights``: (E,) or None (all 1);
        ``active``: per edge, the op indices with non-zero weight (None:
        compute all). In full-channel mode an edge with no active op is
        skipped (it contributes exactly zero).
        """
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        offset = 0
        for _ in range(self.steps):
            total = None
            for j, h in enumerate(states):
                e = offset + j
                ops = None if active is None else active[e]
                if ops is not None and not ops and not self._partial:
                    continue
                y = self.edges[e](h, weights[e], ops)
                if edge_weights is not None:
                    y = edge_weights[e] * y
                total = y if total is None else total + y
            offset += len(states)
            states.append(self._zero(states[0]) if total is None else total)
        return torch.cat(states[-self.multiplier:], dim=1)

    def forward_discrete(self, s0: torch.Tensor, s1: torch.Tensor, pairs: Sequence[Tuple[str, int]],
                         drop_prob: float = 0.0) -> torch.Tensor:
        """Single-path mode: run only the ops the genotype cell ``pairs`` selects.

        A duplicated (input, op) pair reuses the same module (RelativeNAS).
        Drop path hits non-identity ops in training when ``drop_prob > 0``.
        """
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for i in range(self.steps):
            total = None
            for name, j in pairs[2 * i: 2 * i + 2]:
                mixed = self.edges[edge_index(i, j)]
                h = mixed.forward_op(states[j], name)
                if self.training and drop_prob > 0.0 and not is_identity(mixed.ops[name]):
                    h = drop_path(h, drop_prob)
                total = h if total is None else total + h
            states.append(total)
        return torch.cat(states[-self.multiplier:], dim=1)


__all__ = ["Cell", "MixedOp", "SearchCell", "channel_shuffle", "edge_index", "edge_list", "num_edges"]
