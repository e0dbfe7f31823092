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
from evonas.spaces.nb201.paths import path_encoding

#: op name -> op id, and back
_OP_IDS = {op: i for i, op in enumerate(OPS)}
_OPS_BY_ID = dict(enumerate(OPS))


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
        return np.asarray([_OP_IDS[op] for op in arch], dtype=np.int64)

    def _decode(self, vector: np.ndarray) -> Arch:
        if vector.shape != (len(EDGES),):
            raise GenotypeError(f"a NAS-Bench-201 encoding has {len(EDGES)} entries, got shape {vector.shape}")
        try:  # ids as Python numbers: 2 and 2.0 find the same op, 2.5 or NaN none
            return tuple([_OPS_BY_ID[i] for i in vector.tolist()])
        except (KeyError, TypeError):
            raise GenotypeError(f"NAS-Bench-201 op ids are integers 0..{len(OPS) - 1}, "
                                f"got {vector.tolist()}") from None

    def canonical_rows(self, rows: np.ndarray) -> np.ndarray:
        """The integer rows themselves: each row of op ids is one cell, and each cell has one row."""
        return np.asarray(rows, dtype=np.int64)

    def path_encoding(self, archs) -> np.ndarray:
        """BANANAS' path encoding, ``(len(archs), 84)`` (:func:`evonas.spaces.nb201.paths.path_encoding`)."""
        return path_encoding([self.validate(a) for a in archs])

    def bounds(self) -> Tuple[np.ndarray, np.ndarray]:
        """(lower, upper) inclusive op ids per edge."""
        return np.zeros(len(EDGES), dtype=np.int64), np.full(len(EDGES), len(OPS) - 1, dtype=np.int64)

    def draw(self, arch: Any, path: Any, *, title: str | None = None):
        """The cell ``arch`` as a picture (:mod:`.drawing`); format from the suffix of ``path``."""
        from evonas.spaces.nb201.drawing import plot_nb201_cell

        return plot_nb201_cell(self.validate(arch), path, title=title)

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

    # ----------------------------------------------------------- capabilities
    #: NAS-Bench-201's tables are keyed by the cell string, this space's key.
    tables = ("nas-bench-201",)

    def analytic_cost(self, arch: Any, *, num_classes: int = 10, resolution: int = 32) -> dict:
        """Parameters and multiply-accumulates per image of the benchmark's network (C=16, N=5) for ``arch``,
        counted without building it (:mod:`evonas.spaces.nb201.cost`)."""
        from evonas.spaces.nb201.cost import nb201_macs, nb201_params

        arch = self.validate(arch)
        return {"params": float(nb201_params(arch, num_classes=num_classes)),
                "flops": float(nb201_macs(arch, num_classes=num_classes, resolution=resolution))}

    def path_weights(self, supernet, arch) -> list:
        """One ``(6, 5)`` one-hot tensor: row ``e`` marks the op of edge ``e`` (columns in :data:`OPS` order)."""
        import torch

        arch = self.validate(arch)
        one_hot = torch.zeros(len(EDGES), len(OPS))
        one_hot[range(len(EDGES)), [OPS.index(op) for op in arch]] = 1.0
        return [one_hot]

    def mixture_logits(self, supernet, images, weights: list):
        """The supernet's continuous mode with ``weights[0]`` (6, 5) as given."""
        return supernet(images, weights=weights[0])

    def expand_edge(self, supernet, arch, rng: np.random.Generator):
        """A random edge of ``arch`` opened to its four non-``none`` ops."""
        from evonas.spaces.base import EdgeExpansion

        arch = self.validate(arch)
        e = int(rng.integers(len(arch)))
        weights = self.path_weights(supernet, arch)
        weights[0][e] = weights[0].new_tensor([0.0 if op == "none" else 1.0 for op in OPS])
        return EdgeExpansion(weights=weights, rows=((0, e),), names=OPS,
                             child=lambda name: arch[:e] + (name,) + arch[e + 1:], where=("cell", e))

    def relaxed_supernet(self, settings, *, num_classes: int):
        """The NAS-Bench-201 supernet with ``C`` channels and ``N`` cells per stage; one set of architecture
        weights (``alpha_share=False`` is refused)."""
        from evonas.errors import ConfigError

        if not settings.get("alpha_share", True):
            raise ConfigError("alpha_share=False (per-cell architecture weights) needs the DARTS space")
        return self.build_supernet(C=settings.get("C", 16), N=settings.get("N", 5), num_classes=num_classes)

    def derive(self, supernet) -> Arch:
        """The strongest non-``none`` op of each edge of the supernet's architecture weights."""
        return self.validate(supernet.genotype())

    def fair_paths(self, rng: np.random.Generator) -> list[Arch]:
        """Five architectures for one FairNAS strict-fairness step (Chu et al., 2021): each edge draws a
        permutation of the five ops and path j takes the j-th, so every op of every edge trains once."""
        columns = [rng.permutation(len(OPS)) for _ in EDGES]
        return [tuple(OPS[int(col[j])] for col in columns) for j in range(len(OPS))]

    def edge_choices(self) -> tuple:
        """Every edge can be split: the five ops of each of the six edges (few-shot supernets)."""
        return tuple(OPS for _ in EDGES)

    def edge_ops(self, arch: Any, edges) -> tuple:
        """The ops ``arch`` carries on ``edges`` (edge indices in the benchmark's order)."""
        arch = self.validate(arch)
        return tuple(arch[e] for e in edges)

    def fix_edges(self, arch: Any, fixed) -> Arch:
        """``arch`` with edge ``e`` set to ``fixed[e]`` for each key of ``fixed``; the edges are independent, so
        fixing a uniform sample draws uniformly among the cells carrying those ops."""
        ops = list(self.validate(arch))
        for edge, op in fixed.items():
            if not 0 <= edge < len(EDGES) or op not in OPS:
                raise GenotypeError(f"cannot fix edge {edge!r} to {op!r}: edges are 0..{len(EDGES) - 1}, "
                                    f"ops {', '.join(OPS)}")
            ops[edge] = op
        return tuple(ops)

    def all_archs(self) -> list[Arch]:
        """Every cell of the space (15,625), in the order of their op ids read as base-5 numbers."""
        from itertools import product

        return [tuple(ops) for ops in product(OPS, repeat=len(EDGES))]


__all__ = ["NB201Space"]
