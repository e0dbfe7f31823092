"""The NAS-Bench-201 cell space (Dong and Yang, ICLR 2020) as an evonas search space.

Architectures are tuples of six op names in the benchmark's edge order
(:mod:`evonas.spaces.nb201.arch`); anywhere one is accepted, a cell string
``|nor_conv_3x3~0|+|...|``, six op ids or JSON of either works too. Keys and
JSON are the cell strings, so runs read against the benchmark's tables.
The encoding is six integers (op ids, 0..4). Mutation changes one edge's op
to another; crossover takes each edge from either parent (uniform).
"""
from __future__ import annotations

from typing import Any, Tuple

import numpy as np

from evonas.errors import GenotypeError
from evonas.registry import spaces
from evonas.spaces.base import SearchSpace
from evonas.spaces.nb201.arch import EDGES, OPS, Arch, arch_string, validate_arch


@spaces.register("nb201")
class NB201Space(SearchSpace):
    """The 15,625 NAS-Bench-201 cells. ``build`` makes the benchmark's network (default C=16, N=5 cells per
    stage, 10 classes); ``build_supernet`` its weight-sharing supernet."""

    name = "nb201"

    def validate(self, arch: Any) -> Arch:
        return validate_arch(arch)

    def _sample(self, rng: np.random.Generator) -> Arch:
        return tuple(OPS[i] for i in rng.integers(0, len(OPS), size=len(EDGES)))

    def _mutate(self, arch: Arch, rng: np.random.Generator) -> Arch:
        edge = int(rng.integers(len(EDGES)))
        others = [op for op in OPS if op != arch[edge]]
        return arch[:edge] + (others[int(rng.integers(len(others)))],) + arch[edge + 1:]

    def _crossover(self, a: Arch, b: Arch, rng: np.random.Generator) -> Tuple[Arch, Arch]:
        mask = rng.random(len(EDGES)) < 0.5
        return (tuple(x if m else y for x, y, m in zip(a, b, mask)),
                tuple(y if m else x for x, y, m in zip(a, b, mask)))

    def _encode(self, arch: Arch) -> np.ndarray:
        return np.asarray([OPS.index(op) for op in arch], dtype=np.int64)

    def _decode(self, vector: np.ndarray) -> Arch:
        if vector.shape != (len(EDGES),):
            raise GenotypeError(f"a NAS-Bench-201 encoding has {len(EDGES)} entries, got shape {vector.shape}")
        if np.any(vector != np.round(vector)) or np.any(vector < 0) or np.any(vector >= len(OPS)):
            raise GenotypeError(f"NAS-Bench-201 op ids are integers 0..{len(OPS) - 1}, got {vector.tolist()}")
        return tuple(OPS[int(i)] for i in vector)

    def bounds(self) -> Tuple[np.ndarray, np.ndarray]:
        """(lower, upper) inclusive op ids per edge."""
        return np.zeros(len(EDGES), dtype=np.int64), np.full(len(EDGES), len(OPS) - 1, dtype=np.int64)

    def _key(self, arch: Arch) -> str:
        return arch_string(arch)

    def to_json(self, arch: Any) -> str:
        """The cell string."""
        return arch_string(self.validate(arch))

    def _build(self, arch: Arch, **net_kwargs: Any):
        from evonas.spaces.nb201.network import NB201Network

        return NB201Network(arch, **net_kwargs)

    def build_supernet(self, **kwargs: Any):
        """The weight-sharing :class:`~evonas.spaces.nb201.supernet.NB201Supernet` (``supernet(x, arch)``)."""
        from evonas.spaces.nb201.supernet import NB201Supernet

        return NB201Supernet(**kwargs)

    def fair_paths(self, rng: np.random.Generator) -> list[Arch]:
        """Five architectures for one FairNAS strict-fairness step (Chu et al., 2021): each edge draws a
        permutation of the five ops and path j takes the j-th, so every op of every edge trains once."""
        columns = [rng.permutation(len(OPS)) for _ in EDGES]
        return [tuple(OPS[int(col[j])] for col in columns) for j in range(len(OPS))]

    def all_archs(self) -> list[Arch]:
        """Every cell of the space (15,625), in the order of their op ids read as base-5 numbers."""
        from itertools import product

        return [tuple(ops) for ops in product(OPS, repeat=len(EDGES))]
