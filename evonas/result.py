"""What a search produces: every evaluated architecture, the front, the best.

:class:`Archive` is the memo cache plus the history: each architecture is
evaluated once per evaluator version, and each evaluation becomes one
:class:`Individual` in order. :class:`SearchResult` is what
:func:`evonas.search` returns.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from evonas.core import Constraint, Objective, non_dominated_mask


@dataclass
class Individual:
    """One evaluated architecture."""

    index: int  # evaluation order, from 0
    generation: int  # 0 = initial population
    key: str  # the space's canonical key
    arch: Any
    values: dict[str, float]  # everything the evaluator reported, natural units
    violation: float = 0.0  # summed constraint violation (0: feasible)

    @property
    def feasible(self) -> bool:
        return self.violation <= 0.0


class Archive:
    """Memo cache keyed on ``(architecture key, evaluator version)`` plus the evaluation history."""

    def __init__(self, objectives: Sequence[Objective], constraints: Sequence[Constraint] = ()) -> None:
        self.objectives = tuple(objectives)
        self.constraints = tuple(constraints)
        self.cache: dict[tuple[str, Any], dict[str, float]] = {}
        self.individuals: list[Individual] = []
        self.versions: list[Any] = []  # the evaluator version each individual was scored with
        self.hits = 0

    def __len__(self) -> int:
        return len(self.individuals)

    def lookup(self, key: str, version: Any) -> dict[str, float] | None:
        found = self.cache.get((key, version))
        if found is not None:
            self.hits += 1
        return found

    def violation(self, values: dict[str, float]) -> float:
        """Summed positive violation of all constraints (0 when feasible)."""
        total = 0.0
        for constraint in self.constraints:
            violation = constraint.violation(values[constraint.name])
            if not math.isnan(violation):  # NaN: not evaluated (a gated evaluator stopped earlier)
                total += max(0.0, violation)
        return total

    def record(self, arch: Any, key: str, version: Any, values: dict[str, float], generation: int) -> Individual:
        self.cache[(key, version)] = values
        individual = Individual(len(self.individuals), generation, key, arch, dict(values), self.violation(values))
        self.individuals.append(individual)
        self.versions.append(version)
        return individual

    def state_dict(self, space) -> dict:
        """The history as plain data (architectures in their JSON form), for checkpoints."""
        return {"individuals": [(ind.generation, ind.key, space.to_json(ind.arch), ind.values)
                                for ind in self.individuals], "versions": list(self.versions), "hits": self.hits}

    def load_state_dict(self, state: dict, space) -> None:
        """Inverse of :meth:`state_dict` (the cache is rebuilt from the history)."""
        self.cache, self.individuals, self.versions = {}, [], []
        for (generation, key, arch, values), version in zip(state["individuals"], state["versions"]):
            self.record(space.from_json(arch), key, version, values, generation)
        self.hits = state["hits"]


@dataclass
class SearchResult:
    """Every evaluated architecture with its values, the Pareto front and the best per objective."""

    objectives: tuple[Objective, ...]
    constraints: tuple[Constraint, ...]
    individuals: list[Individual]
    hypervolume: list[tuple[int, float]] = field(default_factory=list)  # (generation, HV), multi-objective only
    run_dir: str | None = None

    def values(self, individuals: Sequence[Individual] | None = None) -> np.ndarray:
        """Objective values, shape ``(N, n_objectives)``, natural units."""
        rows = self.individuals if individuals is None else individuals
        return np.asarray([[ind.values[o.name] for o in self.objectives] for ind in rows], dtype=float).reshape(
            len(rows), len(self.objectives))

    @property
    def feasible(self) -> list[Individual]:
        return [ind for ind in self.individuals if ind.feasible]

    @property
    def front(self) -> list[Individual]:
        """Non-dominated feasible individuals (one per distinct objective vector), best first."""
        pool = self.feasible
        if not pool:
            return []
        mask = non_dominated_mask(self.values(pool), self.objectives)
        front, seen = [], set()
        for ind in (p for p, keep in zip(pool, mask) if keep):
            point = tuple(ind.values[o.name] for o in self.objectives)
            if point not in seen:
                seen.add(point)
                front.append(ind)
        first = self.objectives[0]
        return sorted(front, key=lambda ind: first.to_min(ind.values[first.name]))

    @property
    def best(self) -> dict[str, Individual]:
        """Best feasible individual per objective (earliest on ties)."""
        pool = self.feasible
        return {o.name: min(pool, key=lambda ind: (o.to_min(ind.values[o.name]), ind.index))
                for o in self.objectives} if pool else {}

    def summary(self, space=None) -> dict:
        """JSON-able summary: counts, best per objective and the front (with architectures)."""
        encode = (lambda arch: space.to_json(arch)) if space is not None else repr

        def row(ind: Individual) -> dict:
            return {"index": ind.index, "generation": ind.generation, "key": ind.key,
                    "values": ind.values, "arch": encode(ind.arch)}

        return {
            "objectives": [{"name": o.name, "direction": o.direction} for o in self.objectives],
            "constraints": [str(c) for c in self.constraints],
            "evaluations": len(self.individuals),
            "feasible": len(self.feasible),
            "best": {name: row(ind) for name, ind in self.best.items()},
            "front": [row(ind) for ind in self.front],
            "hypervolume": [[g, v] for g, v in self.hypervolume],
        }

    def to_json(self, space=None) -> str:
        return json.dumps(self.summary(space), indent=2)


__all__ = ["Archive", "Individual", "SearchResult"]
