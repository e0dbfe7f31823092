"""BANANAS' path encoding of NAS-Bench-201 cells (White, Neiswanger and Savani, AAAI 2021).

A cell is read as the paths its data can take from the input node (0) to
the output node (3): ``0 -> 3``, ``0 -> 1 -> 3``, ``0 -> 2 -> 3`` and
``0 -> 1 -> 2 -> 3``. A path that crosses a ``none`` edge carries nothing;
every other path is the sequence of ops on its edges. The encoding counts,
for each op sequence of length 1, 2 and 3 over the four live ops (4 + 16 +
64 = 84 sequences), how many of the cell's paths carry it. Two cells that
route the same op sequences get the same row, which is what lets a
performance predictor generalise from a few dozen cells (BANANAS, section 4).
"""
from __future__ import annotations

import itertools
from typing import Sequence

import numpy as np

from evonas.spaces.nb201.arch import EDGES, OPS

#: the ops that pass data on (``none`` cuts a path)
LIVE_OPS: tuple[str, ...] = tuple(op for op in OPS if op != "none")
#: every input-to-output route as the indices of its edges in :data:`EDGES` order
ROUTES: tuple[tuple[int, ...], ...] = tuple(
    tuple(EDGES.index(edge) for edge in route)
    for route in (((3, 0),), ((1, 0), (3, 1)), ((2, 0), (3, 2)), ((1, 0), (2, 1), (3, 2))))
#: the encoding's columns: op sequences of length 1, then 2, then 3 (each in itertools.product order)
SEQUENCES: tuple[tuple[str, ...], ...] = tuple(itertools.chain.from_iterable(
    itertools.product(LIVE_OPS, repeat=length) for length in (1, 2, 3)))
_COLUMN = {sequence: i for i, sequence in enumerate(SEQUENCES)}


def path_encoding(archs: Sequence[Sequence[str]]) -> np.ndarray:
    """``(len(archs), 84)`` float array: per cell (six op names in :data:`EDGES` order), how many of its routes
    carry each op sequence of :data:`SEQUENCES`."""
    rows = np.zeros((len(archs), len(SEQUENCES)))
    for i, arch in enumerate(archs):
        for route in ROUTES:
            sequence = tuple(arch[e] for e in route)
            if "none" not in sequence:
                rows[i, _COLUMN[sequence]] += 1.0
    return rows


__all__ = ["LIVE_OPS", "ROUTES", "SEQUENCES", "path_encoding"]
