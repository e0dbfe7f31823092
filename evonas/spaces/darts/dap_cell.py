"""DAP's discrete cells on the DARTS space (Wang et al., "DAP", github.com/afzalxo/PertNAS).

* :class:`DapCell`: which ops each of the 14 edges of a 4-node DARTS cell holds (indices into an op list such as
  :data:`DAP_OPS`), the 0/1 weights the search network runs them with, and the final genotype; one cell serves
  normal and reduction cells (DAP searches one cell type).
* :func:`node_inputs`: DAP's rule keeping the two most-needed incoming edges of a node.
* The op lists and the released code's fine-selection edge order.

The valuation itself (perturb-val) is space-independent and lives in :mod:`evonas.operators.perturbation`; the
``dap`` strategy reaches this module through the DARTS space's ``cell_tools``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from evonas.errors import ConfigError
from evonas.spaces.darts.cells import edge_index, num_edges
from evonas.spaces.darts.genotype import Genotype

#: DAP's op list as released (``extras/genotypes.py``): sep_conv_7x7 added and dil_conv_5x5 listed twice (two
#: independent modules per edge; the second looks like a typo). ``none`` is added by the network.
DAP_OPS_PUBLISHED: tuple[str, ...] = ("skip_connect", "max_pool_3x3", "avg_pool_3x3", "sep_conv_3x3", "sep_conv_5x5",
                                      "sep_conv_7x7", "dil_conv_3x3", "dil_conv_5x5", "dil_conv_5x5")
#: evonas' default: the same ops once each
DAP_OPS: tuple[str, ...] = DAP_OPS_PUBLISHED[:-1]
#: the released code's edge order for fine op selection
FINE_SELECTION_ORDER: tuple[int, ...] = (13, 12, 8, 11, 7, 4, 9, 10, 5, 6, 2, 3, 0, 1)

@dataclass(frozen=True)
class DapCell:
    """The ops each edge holds: ``edges[e]`` is a sorted tuple of indices into ``ops`` (``none`` comes on top
    when ``with_zero``). One cell for normal and reduction cells; 14 edges for 4 nodes."""

    ops: tuple
    edges: tuple
    with_zero: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "ops", tuple(self.ops))
        object.__setattr__(self, "edges", tuple(tuple(sorted(int(p) for p in e)) for e in self.edges))
        if len(self.edges) != num_edges(4):
            raise ConfigError(f"a DAP cell has {num_edges(4)} edges, got {len(self.edges)}")
        for e, held in enumerate(self.edges):
            if any(not 0 <= p < len(self.ops) for p in held) or len(set(held)) != len(held):
                raise ConfigError(f"edge {e}: op indices {list(held)} must be distinct, in 0..{len(self.ops) - 1}")

    @classmethod
    def random(cls, ops: Sequence[str], rng: np.random.Generator, per_edge: int = 1) -> "DapCell":
        """Every edge ``per_edge`` random ops (DAP's ``op_cap``) plus ``none``."""
        return cls(tuple(ops), tuple(tuple(rng.choice(len(ops), size=per_edge, replace=False)) for _ in range(14)))

    def with_edge(self, edge: int, held: Sequence[int]) -> "DapCell":
        edges = list(self.edges)
        edges[edge] = tuple(held)
        return DapCell(self.ops, tuple(edges), self.with_zero)

    def expanded(self, edge: int) -> "DapCell":
        """``edge`` holding every op (DAP's expand step)."""
        return self.with_edge(edge, range(len(self.ops)))

    # ----------------------------------------------------------- networks
    def primitives(self) -> tuple[str, ...]:
        """The op list of every edge of the search network: ``none`` first, then ``ops`` (duplicates allowed)."""
        return ("none",) + self.ops

    def weights(self) -> torch.Tensor:
        """(14, 1 + len(ops)) 0/1 weights: column 0 is ``none`` (1 when ``with_zero``; it adds nothing), column
        1 + p is op p."""
        w = torch.zeros(len(self.edges), 1 + len(self.ops))
        for e, held in enumerate(self.edges):
            w[e, [1 + p for p in held]] = 1.0
            w[e, 0] = 1.0 if self.with_zero else 0.0
        return w

    def build_network(self, *, C: int = 16, layers: int = 5, num_classes: int = 10):
        """A DARTS search network (non-affine BN, pools followed by BN) whose every edge holds the whole op list;
        run it with :meth:`weights` as ``weights_normal`` and ``weights_reduce``: only held ops compute."""
        from evonas.spaces.darts.supernet import SearchNetwork

        lists = [self.primitives()] * len(self.edges)
        return SearchNetwork(C=C, layers=layers, num_classes=num_classes,
                             edge_primitives={"normal": lists, "reduce": lists})

    def genotype(self) -> Genotype:
        """The final cell: every edge that holds exactly one op (edges holding none are unused), normal = reduce.
        Raises ConfigError unless each node then has two inputs."""
        pairs = []
        for node in range(4):
            inputs = [(self.ops[self.edges[edge_index(node, j)][0]], j) for j in range(node + 2)
                      if len(self.edges[edge_index(node, j)]) == 1]
            if len(inputs) != 2 or any(len(self.edges[edge_index(node, j)]) > 1 for j in range(node + 2)):
                raise ConfigError(f"node {node} does not have exactly two single-op inputs yet: "
                                  f"{[list(self.edges[edge_index(node, j)]) for j in range(node + 2)]}")
            pairs += inputs
        return Genotype.from_cell(pairs)


def node_inputs(edge_values: Sequence[float], node: int) -> tuple[int, int]:
    """The two incoming edges of ``node`` (edge indices) with the smallest values (ties broken by numpy's
    default ``argsort``, as in the released code)."""
    edges = np.array([edge_index(node, j) for j in range(node + 2)])
    values = np.array([edge_values[e] for e in edges], dtype=float)
    return tuple(sorted(edges[np.argsort(values)[:2]].tolist()))


__all__ = ["DAP_OPS", "DAP_OPS_PUBLISHED", "DapCell", "FINE_SELECTION_ORDER", "node_inputs"]
