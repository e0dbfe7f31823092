"""Test helpers shipped with evonas: a toy space, synthetic evaluators with known optima, contract suites.

Strategies are proven on these (``tests/strategies``): a strategy must find
the hidden target of :class:`HammingEvaluator` and cover the known front of
:class:`ZDTEvaluator` within a stated budget, clearly better than random
search. Users writing their own strategy can run the same checks.

The fixtures are not components of evonas: importing this module registers
nothing. :func:`register_fixtures` registers them by name (``toy``,
``hamming``, ``zdt``, ``crash-once``) for a test suite that drives the
command line or worker processes; ``EVONAS_PLUGINS=evonas.testing:register_fixtures``
does it in every process started with that environment (see :mod:`evonas.plugins`).
"""
from __future__ import annotations

from typing import Any, Sequence, Tuple

import numpy as np

from evonas.errors import EvonasError
from evonas.evaluators.base import Evaluator, Objective
from evonas.spaces.base import SearchSpace

__all__ = ["FIXTURES", "CrashOnceEvaluator", "HammingEvaluator", "ToySpace", "ZDTEvaluator", "check_operator",
           "check_space", "check_strategy", "front_coverage", "register_fixtures"]


class ToySpace(SearchSpace):
    """Architectures are tuples of ``length`` integer genes, each in ``[0, choices)``."""

    name = "toy"

    def __init__(self, *, length: int = 12, choices: int = 4) -> None:
        self.length, self.choices = length, choices

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

    @property
    def objectives(self) -> tuple[Objective, ...]:
        return (Objective("similarity", "max"),)

    def _setup(self, space) -> None:
        target = self.target if self.target is not None else space.sample(np.random.default_rng(0))
        self._target_vector = np.asarray(space.encode(target))

    def _evaluate(self, archs: list) -> list[dict[str, float]]:
        return [{"similarity": float(np.mean(np.asarray(self.space.encode(a)) == self._target_vector))}
                for a in archs]


class ZDTEvaluator(Evaluator):
    """Two objectives with a known discrete front (ZDT1 on integer genes).

    ``f1 = x0 / (choices - 1)``, ``g = 1 + 9 * mean(x[1:]) / (choices - 1)``,
    ``f2 = g * (1 - sqrt(f1 / g))``, both minimised. The front is every
    architecture with ``x[1:] == 0``: exactly ``choices`` points.
    """

    name = "zdt"

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


class CrashOnceEvaluator(ZDTEvaluator):
    """:class:`ZDTEvaluator` whose process dies (``os._exit``) the first time it scores ``crash_on``.

    For fault tests of executors: the first process that meets ``crash_on``
    creates ``marker`` (a file path) and exits at once (before scoring any of
    its batch), as a lost worker would; any later process finds the marker and
    scores normally. With ``log`` (a file path) every process appends the key
    of each architecture it scores to that file, one line each, so that a test
    counts the work where it is done rather than where results arrive.
    """

    name = "crash-once"

    def __init__(self, *, crash_on: Sequence[int], marker: str, log: str | None = None) -> None:
        super().__init__()
        self.crash_on, self.marker = tuple(int(v) for v in crash_on), str(marker)
        self.log = None if log is None else str(log)

    def _evaluate(self, archs: list) -> list[dict[str, float]]:
        import os

        if self.crash_on in [tuple(a) for a in archs]:
            try:
                with open(self.marker, "x"):
                    pass
            except FileExistsError:
                pass
            else:
                os._exit(1)
        results = super()._evaluate(archs)
        if self.log is not None:
            with open(self.log, "a") as file:  # one append per batch: whole lines from concurrent processes
                file.write("".join(f"{self.space.key(a)}\n" for a in archs))
        return results


#: the fixtures :func:`register_fixtures` registers: registry name -> {component name: class}
FIXTURES = {
    "spaces": {"toy": ToySpace},
    "evaluators": {"hamming": HammingEvaluator, "zdt": ZDTEvaluator, "crash-once": CrashOnceEvaluator},
}


def register_fixtures(registries: Any = None) -> None:
    """Register :data:`FIXTURES` by name, for tests that create them by name (the CLI, worker processes).

    ``registries``: an object (or module) with the registries as attributes (``spaces``, ``evaluators``),
    default :mod:`evonas.registry`. Calling it again is harmless. As a plugin
    (``EVONAS_PLUGINS=evonas.testing:register_fixtures``) it reaches every process started with that environment.
    """
    if registries is None:
        import evonas.registry as registries
    for kind, components in FIXTURES.items():
        registry = getattr(registries, kind)
        for name, cls in components.items():
            registry.register(name, cls)


def front_coverage(result, true_keys: Sequence[str]) -> float:
    """Share of the true front's architectures the search evaluated."""
    found = {ind.key for ind in result.individuals}
    return len(found & set(true_keys)) / len(true_keys)


# --------------------------------------------------------------------------- contract suites


def check_space(space: SearchSpace, *, seeds: int = 20) -> None:
    """Assert the SearchSpace contract on ``space`` (raises AssertionError naming the broken rule).

    Sampling, mutation and crossover give valid architectures, are
    reproducible from the RNG, mutation changes the key, encode / decode and
    to_json / from_json round-trip, and keys are stable strings.
    """
    for seed in range(seeds):
        a = space.sample(np.random.default_rng(seed))
        assert space.is_valid(a), f"sample(seed={seed}) is not valid"
        assert space.key(a) == space.key(space.sample(np.random.default_rng(seed))), "sample is not reproducible"
        b = space.sample(np.random.default_rng(seed + 1000))
        child = space.mutate(a, np.random.default_rng(seed))
        assert space.is_valid(child), "mutate gave an invalid architecture"
        assert space.key(child) != space.key(a), "mutate did not change the architecture"
        for c in space.crossover(a, b, np.random.default_rng(seed)):
            assert space.is_valid(c), "crossover gave an invalid architecture"
        vector = space.encode(a)
        assert np.asarray(vector).ndim == 1, "encode must give a 1-D vector"
        assert space.key(space.decode(vector)) == space.key(a), "decode(encode(a)) != a"
        import json

        assert space.key(space.from_json(json.loads(json.dumps(space.to_json(a))))) == space.key(a), \
            "from_json(to_json(a)) != a"
        assert isinstance(space.key(a), str)


def check_strategy(factory, *, budget: int = 300, seed: int = 0) -> None:
    """Assert a single-objective strategy finds a hidden target in a small toy space.

    ``factory()`` returns a fresh strategy. The toy space has 8 genes x 3
    choices (6,561 architectures); the target must be found within ``budget``.
    """
    from evonas.loop import search

    space = ToySpace(length=8, choices=3)
    target = space.sample(np.random.default_rng(42))
    result = search(space, factory(), HammingEvaluator(target=target), budget=budget, seed=seed, progress=False)
    best = result.best["similarity"]
    assert best.values["similarity"] == 1.0, f"target not found in {budget} evaluations (best {best.values})"
    keys = [ind.key for ind in result.individuals]
    assert len(keys) == len(set(keys)), "an architecture was evaluated twice"


def check_operator(operator, space: SearchSpace, *, seeds: int = 10) -> None:
    """Contract of a variation operator on ``space``: valid children, the right number, reproducible.

    Raises AssertionError naming the broken rule.
    """
    from evonas.operators.base import Crossover, Mutation

    operator.setup(space)
    for seed in range(seeds):
        parents = [space.sample(np.random.default_rng(1000 + seed + k)) for k in range(4)]
        if isinstance(operator, Mutation):
            children = operator(parents, np.random.default_rng(seed))
            again = operator(parents, np.random.default_rng(seed))
            flat = list(children)
            assert len(children) == len(parents), "a mutation returns one child per parent"
        elif isinstance(operator, Crossover):
            pairs = [(parents[0], parents[1]), (parents[2], parents[3])]
            children = operator(pairs, np.random.default_rng(seed))
            again = operator(pairs, np.random.default_rng(seed))
            flat = [c for pair in children for c in pair]
            assert len(children) == len(pairs), "a crossover returns one pair of children per pair of parents"
        else:
            raise AssertionError(f"{type(operator).__name__} is neither a Mutation nor a Crossover")
        assert all(space.is_valid(c) for c in flat), "children must be valid architectures of the space"
        assert [space.key(c) for c in flat] == [space.key(c) for c in
                                               (again if isinstance(operator, Mutation) else
                                                [c for pair in again for c in pair])], \
            "the same seed must give the same children"
