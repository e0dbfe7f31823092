"""The search spaces' own variation as operators (the default of every strategy).

``"space-mutation"`` calls ``space.mutate`` on each architecture (one small
change: for DARTS one op or input of one node; for SCARLET one layer's
choice) and ``"space-crossover"`` calls ``space.crossover`` on each pair
(DARTS: whole nodes from either parent; SCARLET: uniform per layer).
"""
from __future__ import annotations

import numpy as np

from evonas.operators.base import Crossover, Mutation
from evonas.registry import operators


@operators.register("space-mutation")
class SpaceMutation(Mutation):
    """``space.mutate(arch, rng)`` for each architecture."""

    name = "space-mutation"

    def _do(self, archs: list, rng: np.random.Generator, ctx) -> list:
        return [self.space.mutate(arch, rng) for arch in archs]


@operators.register("space-crossover")
class SpaceCrossover(Crossover):
    """``space.crossover(a, b, rng)`` for each pair."""

    name = "space-crossover"

    def _do(self, pairs: list[tuple], rng: np.random.Generator, ctx) -> list[tuple]:
        return [self.space.crossover(a, b, rng) for a, b in pairs]


__all__ = ["SpaceCrossover", "SpaceMutation"]
