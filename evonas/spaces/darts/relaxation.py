"""The DARTS space's continuous relaxation on its :class:`~evonas.spaces.darts.supernet.SearchNetwork`.

What the ``gradient`` and ``perturbation`` operators need from the DARTS space
(:class:`~evonas.spaces.base.HasRelaxation`): the 0/1 mixture weights of a
genotype's path, the search network's logits under explicit weights, and one
edge of a genotype opened to every op (DAP's expand step).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from evonas.errors import ConfigError
from evonas.spaces.base import EdgeExpansion
from evonas.spaces.darts.cells import edge_index
from evonas.spaces.darts.supernet import genotype_to_weights


def path_weights(network: torch.nn.Module, genotype: Any) -> list[torch.Tensor]:
    """``[normal, reduce]``: two ``(E, P)`` tensors over ``network.primitives``; entry ``(e, p)`` counts how often
    ``genotype`` uses op ``p`` on edge ``e`` (2 for a duplicated pair). Needs shared architecture weights."""
    if getattr(network, "alpha_share", True) is False:
        raise ConfigError("a genotype's path weights are one cell per kind; this supernet has per-cell "
                          "architecture weights (alpha_share=False)")
    return list(genotype_to_weights(genotype, network.primitives))


def mixture_logits(network: torch.nn.Module, images: torch.Tensor, weights: list[torch.Tensor]) -> torch.Tensor:
    """``(N, classes)`` logits of the continuous mode mixing with ``weights = [normal, reduce]`` as given."""
    return network(images, weights_normal=weights[0], weights_reduce=weights[1])


def expand_edge(network: torch.nn.Module, genotype: Any, rng: np.random.Generator, *,
                shared_cell: bool = False) -> EdgeExpansion:
    """A random pair of a random cell kind of ``genotype`` (both kinds at once when ``shared_cell``) opened to
    every non-``none`` op of the network's edge.

    Needs a network whose every edge holds its ``primitives`` (not per-edge op lists) with shared alphas."""
    if not hasattr(network, "cell_primitives") or not getattr(network, "alpha_share", False):
        raise ConfigError("expanding an edge needs a DARTS search network with shared architecture weights")
    if any(tuple(ops) != tuple(network.primitives) for cell in network.cell_primitives for ops in cell):
        raise ConfigError("expanding an edge needs a supernet whose every edge holds its primitives "
                          "(not per-edge op lists)")
    kind = "normal" if shared_cell else ("normal", "reduce")[int(rng.integers(2))]
    cell = list(genotype.cell(kind))
    j = int(rng.integers(len(cell)))
    _, inp = cell[j]
    e = edge_index(j // 2, inp)
    names = tuple(network.cell_primitives[0][e])  # every cell of a shared-alpha network holds the same op lists
    weights = path_weights(network, genotype)
    kinds = ("normal", "reduce") if shared_cell else (kind,)
    rows = tuple((("normal", "reduce").index(k), e) for k in kinds)
    candidates = [p for p, name in enumerate(names) if name != "none"]
    for index, row in rows:
        weights[index][row, candidates] = 1.0

    def child(name: str):
        changed = list(cell)
        changed[j] = (name, inp)
        return genotype.with_cells(**({kind: changed} if len(kinds) == 1 else {"normal": changed, "reduce": changed}))

    return EdgeExpansion(weights=weights, rows=rows, names=names, child=child, where=(kind, j))


__all__ = ["expand_edge", "mixture_logits", "path_weights"]
