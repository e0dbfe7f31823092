"""The DARTS edges a few-shot supernet can split on: the two edges of intermediate node 0 of each cell kind.

Few-shot NAS (Zhao et al., ICML 2021) splits a supernet on the op of an
edge, one sub-supernet per op, each holding the architectures that carry
that op there. A DARTS cell chooses two inputs per intermediate node, so
most edges are absent from most genotypes and have no op to split on.
Node 0 is the exception: its only possible inputs are the cell's two
input states ``c_{k-2}`` (state 0) and ``c_{k-1}`` (state 1), and with
distinct inputs it reads both, so its two edges are present in every
genotype. Their ops are drawn uniformly and independently of everything
else in :func:`~evonas.spaces.darts.encodings.sample_genotype`, so
setting them in a uniform sample (:func:`fix_edges`) draws uniformly
among the genotypes carrying the fixed ops, which is what a sub-supernet
trains on.

The splittable edges, in index order (:func:`split_edges`):

====  ===========  ===================
edge  cell         edge into node 0
====  ===========  ===================
0     normal       from state 0 (c_{k-2})
1     normal       from state 1 (c_{k-1})
2     reduction    from state 0 (c_{k-2})
3     reduction    from state 1 (c_{k-1})
====  ===========  ===================

A space that shares one cell (``shared_cell``) has edges 0 and 1 only,
each setting both cells. A space that lets a node read one state twice
(``allow_duplicate_inputs``, the RelativeNAS encoding's default) has
genotypes whose node 0 reads state 0 or state 1 twice, so neither edge is
always present: such a space refuses the split (:class:`ConfigError`).

A genotype lists node 0's two ``(op, input)`` pairs in either order; every
function here finds an edge by its input state, never by the pair's
position.
"""
from __future__ import annotations

import operator
from typing import Mapping, Sequence, Tuple

from evonas.errors import ConfigError, GenotypeError
from evonas.spaces.darts.genotype import CELL_KINDS, Genotype

#: one splittable edge: (cell kind, input state of node 0)
Edge = Tuple[str, int]


def split_edges(*, shared_cell: bool, allow_duplicate_inputs: bool) -> Tuple[Edge, ...]:
    """The splittable edges as ``(cell kind, input state)`` in index order (module docstring): four, or two with
    ``shared_cell``. Raises ConfigError when ``allow_duplicate_inputs`` (node 0's edges may then be absent)."""
    if allow_duplicate_inputs:
        raise ConfigError("a few-shot split needs edges present in every genotype; with allow_duplicate_inputs "
                          "(the RelativeNAS encoding's default) node 0 may read one state twice, so no DARTS edge "
                          "is always present (use allow_duplicate_inputs=False)")
    kinds = CELL_KINDS[:1] if shared_cell else CELL_KINDS
    return tuple((kind, state) for kind in kinds for state in (0, 1))


def _node0_position(cell: Sequence[Tuple[str, int]], state: int, where: str) -> int:
    """Position (0 or 1) of node 0's pair reading ``state`` in ``cell``."""
    positions = [p for p in (0, 1) if cell[p][1] == state]
    if len(positions) != 1:
        raise GenotypeError(f"{where}: node 0 must read states 0 and 1 once each to be split, got inputs "
                            f"{cell[0][1]} and {cell[1][1]}")
    return positions[0]


def _check_edges(edges: Sequence[Edge], indices) -> list:
    """The edges of ``indices`` (whole numbers, numpy's too); GenotypeError for any other index."""
    out = []
    for index in indices:
        try:
            position = None if isinstance(index, bool) else operator.index(index)
        except TypeError:
            position = None
        if position is None or not 0 <= position < len(edges):
            raise GenotypeError(f"no splittable DARTS edge {index!r}: the edges are 0..{len(edges) - 1}")
        out.append(edges[position])
    return out


def edge_ops(genotype: Genotype, edges: Sequence[Edge], indices: Sequence[int]) -> Tuple[str, ...]:
    """The ops ``genotype`` carries on the splittable edges ``indices`` (of ``edges``), each found by its input
    state whatever the order of node 0's pairs."""
    ops = []
    for kind, state in _check_edges(edges, indices):
        cell = genotype.cell(kind)
        ops.append(cell[_node0_position(cell, state, f"{kind} cell")][0])
    return tuple(ops)


def fix_edges(genotype: Genotype, edges: Sequence[Edge], fixed: Mapping[int, str],
              primitives: Sequence[str], *, shared_cell: bool = False) -> Genotype:
    """``genotype`` with splittable edge ``e`` (an index of ``edges``) set to op ``fixed[e]``; every input and
    every other op stays, node 0's pairs keep their order. With ``shared_cell`` (``edges`` of the normal cell
    only) both cells change alike. Raises GenotypeError for an unknown edge or an op not in ``primitives``."""
    cells = {kind: list(genotype.cell(kind)) for kind in CELL_KINDS}
    for (kind, state), op in zip(_check_edges(edges, list(fixed)), fixed.values()):
        if op not in primitives:
            raise GenotypeError(f"cannot fix a DARTS edge to {op!r}: the ops are {', '.join(primitives)}")
        for target in (CELL_KINDS if shared_cell else (kind,)):
            cell = cells[target]
            position = _node0_position(cell, state, f"{target} cell")
            cell[position] = (op, state)
    return genotype.with_cells(normal=tuple(cells["normal"]), reduce=tuple(cells["reduce"]))


__all__ = ["Edge", "edge_ops", "fix_edges", "split_edges"]
