"""Test helpers shipped with evonas: a toy space and synthetic evaluators with known optima.

Strategies are proven on these (``tests/strategies``): a strategy must find
the hidden target of :class:`HammingEvaluator` and cover the known front of
:class:`ZDTEvaluator` within a stated budget, clearly better than random
search. Users writing their own strategy can run the same checks.
"""
from __future__ import annotations

from typing import Any, Sequence, Tuple

import numpy as np

from evonas.errors import EvonasError
from evonas.evaluators.base import Evaluator, Objective
from evonas.registry import evaluators, spaces
from evonas.spaces.base import SearchSpace


@spaces.register("toy")
class ToySpace(SearchSpace):
    """Architectures are tuples of ``length`` integer genes, each in ``[0, choices)``."""

    name = "toy"

    def __init__(self, *, length: int = 12, choices: int = 4) -> None:
        self.length, self.choices = length, choices

    def __repr__(self) -> str:
        return f"ToySpace(length={self.length}, choices={self.choices})"

    def validate(self, arch: Any) -> Tuple[int, ...]:
        arch = tuple(int(v) for v in arch)
        if len(arch) != self.length or any(not 0 <= v < self.choices for v in arch):
            raise EvonasError(f"not a toy architecture of {self.length} genes in [0, {self.choices}): {arch}")
        return arch

    def _sample(self, rng):
        return tuple(int(v) for v in rng.integers(self.choices, size=self.length))

    def _mutate(self, arch, rng):
        genes = list(arch)
        i = int(rng.integers(self.length))
        genes[i] = int((genes[i] + rng.integers(1, self.choices)) % self.choices)
        return tuple(genes)

    def _crossover(self, a, b, rng):
        mask = rng.random(self.length) < 0.5
        return (tuple(x if m else y for x, y, m in zip(a, b, mask)),
                tuple(y if m else x for x, y, m in zip(a, b, mask)))

    def _encode(self, arch):
        return np.asarray(arch, dtype=np.int64)

    def _decode(self, vector):
        return tuple(int(v) for v in np.asarray(vector).round().astype(int))

    def bounds(self):
        return np.zeros(self.length), np.full(self.length, self.choices - 1.0)

    def _build(self, arch, **net_kwargs):
        raise EvonasError("ToySpace architectures are not networks")

    def _key(self, arch):
        return ",".join(map(str, arch))


@evaluators.register("hamming")
class HammingEvaluator(Evaluator):
    """``similarity`` (max): share of genes equal to a hidden target; 1.0 only at the target.

    Works for any space whose :meth:`encode` gives equal-length vectors. Without
    a ``target`` the space's sample from seed 0 is the target.
    """

    name = "hamming"

    def __init__(self, *, target: Any = None) -> None:
        super().__init__()
        self.target = target
        self._target_vector = None

    def __repr__(self) -> str:
        return f"HammingEvaluator(target={self.target!r})"

    @property
    def objectives(self) -> tuple[Objective, ...]:
        return (Objective("similarity", "max"),)

    def _setup(self, space) -> None:
        target = self.target if self.target is not None else space.sample(np.random.default_rng(0))
        self._target_vector = np.asarray(space.encode(target))

    def _evaluate(self, archs: list) -> list[dict[str, float]]:
        return [{"similarity": float(np.mean(np.asarray(self.space.encode(a)) == self._target_vector))}
                for a in archs]


@evaluators.register("zdt")
class ZDTEvaluator(Evaluator):
    """Two objectives with a known discrete front (ZDT1 on integer genes).

    ``f1 = x0 / (choices - 1)``, ``g = 1 + 9 * mean(x[1:]) / (choices - 1)``,
    ``f2 = g * (1 - sqrt(f1 / g))``, both minimised. The front is every
    architecture with ``x[1:] == 0``: exactly ``choices`` points.
    """

    name = "zdt"

    def __repr__(self) -> str:
        return "ZDTEvaluator()"

    @property
    def objectives(self) -> tuple[Objective, ...]:
        return (Objective("f1", "min"), Objective("f2", "min"))

    def _evaluate(self, archs: list) -> list[dict[str, float]]:
        out = []
        top = self.space.choices - 1
        for arch in archs:
            x = np.asarray(arch, dtype=float)
            f1 = x[0] / top
            g = 1 + 9 * x[1:].mean() / top
            out.append({"f1": f1, "f2": g * (1 - np.sqrt(f1 / g)), "genes": float(x.sum())})
        return out

    @staticmethod
    def front_keys(space: ToySpace) -> set[str]:
        """Keys of the true Pareto-optimal architectures."""
        return {space.key((x0,) + (0,) * (space.length - 1)) for x0 in range(space.choices)}


def front_coverage(result, true_keys: Sequence[str]) -> float:
    """Share of the true front's architectures the search evaluated."""
    found = {ind.key for ind in result.individuals}
    return len(found & set(true_keys)) / len(true_keys)
