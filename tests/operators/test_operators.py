"""Operators: the registry, bad use, the unique-offspring helper, and strategies that take operators."""
from __future__ import annotations

import numpy as np
import pytest

from evonas.errors import ConfigError, EvonasError
from evonas.loop import search
from evonas.operators.base import Crossover, Mutation, resolve_operator, unique_offspring
from evonas.registry import operators, strategies
from evonas.testing import HammingEvaluator, ToySpace


class ToZero(Mutation):
    """Sets one random gene to 0; records the contexts it was called with."""

    name = "to-zero"

    def __init__(self):
        super().__init__()
        self.contexts = []

    def _do(self, archs, rng, ctx):
        self.contexts.append(ctx)
        out = []
        for arch in archs:
            genes = list(arch)
            genes[int(rng.integers(len(genes)))] = 0
            out.append(tuple(genes))
        return out


def test_registry_lists_the_space_operators_and_suggests_names():
    assert {"space-mutation", "space-crossover"} <= set(operators.names())
    with pytest.raises(ConfigError, match="did you mean 'space-mutation'"):
        operators.create("space-mutaton")


def test_bad_use_is_a_clear_error():
    space = ToySpace(length=4)
    with pytest.raises(EvonasError, match="setup"):
        ToZero()([(0, 0, 0, 0)], np.random.default_rng(0))
    with pytest.raises(ConfigError, match="not a crossover operator"):
        resolve_operator("space-mutation", Crossover, space)

    class Loses(Mutation):
        def _do(self, archs, rng, ctx):
            return archs[:1]

    with pytest.raises(EvonasError, match="2 children for 3 parents"[2:]):
        Loses().setup(space)([(0,) * 4] * 3, np.random.default_rng(0))
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        ToZero().setup(space)([(0,) * 4], 3)


def test_unique_offspring_avoids_seen_keys_until_the_space_runs_out():
    space = ToySpace(length=6, choices=3)
    rng = np.random.default_rng(0)
    mutate = lambda a: space.mutate(a, rng)  # noqa: E731
    seen = {space.key(space.sample(np.random.default_rng(s))) for s in range(50)}
    children = unique_offspring(lambda i: space.sample(rng), 30, key=space.key, retry=mutate, seen=seen)
    keys = [space.key(c) for c in children]
    assert len(set(keys)) == 30 and not set(keys) & seen
    tiny = ToySpace(length=1, choices=2)  # two architectures: repeats are unavoidable, and returned
    children = unique_offspring(lambda i: (0,), 3, key=tiny.key, retry=lambda a: tiny.mutate(a, rng), max_tries=3)
    assert len(children) == 3 and set(children[:2]) == {(0,), (1,)}  # the third is a repeat, kept


@pytest.mark.parametrize("strategy", ["deap-ga", "ga", "nsga2"])
def test_strategies_use_the_operator_they_are_given(strategy):
    space = ToySpace(length=10, choices=4)
    mutation = ToZero()
    result = search(space, strategies.create(strategy, pop_size=10, mutation=mutation),
                    HammingEvaluator(target=(0,) * 10), budget=60, seed=0, progress=False)
    assert mutation.calls > 0 and max(i.values["similarity"] for i in result.individuals) == 1.0
    if strategy == "deap-ga":  # strategies that call operators inside step(ctx) hand them the context
        assert all(ctx is not None and ctx.budget == 60 for ctx in mutation.contexts)
    with pytest.raises(ConfigError, match="unknown operator 'swap'"):
        search(space, strategies.create(strategy, pop_size=10, mutation="swap"), HammingEvaluator(target=(0,) * 10),
               budget=10, seed=0, progress=False)


def test_vector_operators_give_valid_architectures_and_drive_pymoo_on_the_encoding():
    from evonas.spaces.darts import DartsSpace
    from evonas.testing import check_operator

    space = DartsSpace()  # duplicate inputs are not allowed: SBX / PM points are repaired into the space
    for name in ("pm", "sbx"):
        check_operator(operators.create(name), space, seeds=5)
    with pytest.raises(ConfigError, match=r"operator .pm. needs a space with bounds\(\) \(HasBounds\); NoBox has none"):
        operators.create("pm").setup(type("NoBox", (), {"encode": None})())
    result = search(ToySpace(length=10, choices=4), strategies.create("nsga2", pop_size=10, mutation="pm",
                                                                     crossover="sbx"),
                    HammingEvaluator(target=(0,) * 10), budget=80, seed=0, progress=False)
    assert len(result.individuals) >= 80


def test_darts_repair_and_canonical_rows():
    from evonas.spaces.darts import DartsSpace

    space = DartsSpace()
    lower, upper = space.bounds()
    rows = np.random.default_rng(0).uniform(lower, upper, size=(300, len(lower)))
    repaired = space.repair(rows)
    assert all(space.is_valid(space.decode(row)) for row in repaired)
    assert np.array_equal(space.repair(rows[7]), repaired[7])  # one row or many, the same
    swapped = repaired.reshape(300, -1, 2, 2)[:, :, ::-1, :].reshape(300, -1)  # each node's pairs exchanged
    assert np.array_equal(space.canonical_rows(repaired), space.canonical_rows(swapped))
    same = [space.key(space.decode(a)) == space.key(space.decode(b)) for a, b in zip(repaired, repaired[1:])]
    canon = space.canonical_rows(repaired)
    assert same == [np.array_equal(a, b) for a, b in zip(canon, canon[1:])]
