"""A CompositeEvaluator with constraints: later (expensive) evaluators skip what already violates one."""
from __future__ import annotations

import math

import numpy as np
import pytest

from evonas.errors import ConfigError, EvonasError
from evonas.evaluators.base import GATED, CompositeEvaluator, Evaluator, Objective, SelectObjectives
from evonas.loop import search
from evonas.registry import strategies
from evonas.testing import ToySpace


class GeneSum(Evaluator):
    """Cheap: ``size`` = sum of the genes."""

    objectives = (Objective("size", "min"),)

    def _setup(self, space) -> None:
        pass

    def _evaluate(self, archs):
        return [{"size": float(sum(a))} for a in archs]


class Slow(Evaluator):
    """Expensive stand-in: ``score`` (max) and an extra column; counts what it is sent."""

    objectives = (Objective("score", "max"),)

    def __init__(self) -> None:
        super().__init__()
        self.seen: list = []

    def _setup(self, space) -> None:
        pass

    def _evaluate(self, archs):
        self.seen.extend(archs)
        return [{"score": float(a[0] * 3 - a[-1]), "extra": 1.0} for a in archs]


def test_violating_architectures_never_reach_later_evaluators():
    slow = Slow()
    gated = CompositeEvaluator([GeneSum(), slow], constraints=["size <= 4"])
    gated.setup(ToySpace(length=4, choices=3))
    archs = [(0, 0, 0, 1), (2, 2, 2, 2), (1, 1, 1, 1), (2, 2, 1, 0)]
    rows = gated.evaluate(archs)
    assert slow.seen == [(0, 0, 0, 1), (1, 1, 1, 1)]
    assert [r[GATED] for r in rows] == [0.0, 1.0, 0.0, 1.0]
    assert math.isnan(rows[1]["score"]) and math.isnan(rows[1]["extra"]) and rows[1]["size"] == 8.0
    assert rows[0] == {"size": 1.0, "score": -1.0, "extra": 1.0, GATED: 0.0}
    # a gated row may carry NaN objectives; an ungated one may not
    chosen = SelectObjectives(gated, [Objective("extra", "max"), Objective("size", "min")])
    chosen.setup(ToySpace(length=4, choices=3))
    assert math.isnan(chosen.evaluate([(2, 2, 2, 2)])[0]["extra"])
    assert "constraints=['size <= 4']" in repr(gated) and "constraints" not in repr(CompositeEvaluator([Slow()]))


def test_nan_from_an_ungated_evaluator_is_still_an_error():
    class Broken(GeneSum):
        def _evaluate(self, archs):
            return [{"size": float("nan")} for _ in archs]

    broken = Broken()
    broken.setup(ToySpace())
    with pytest.raises(EvonasError, match="NaN"):
        broken.evaluate([(0,) * 8])


@pytest.mark.parametrize("name", ["nsga2", "deap-nsga2"])
def test_gated_search_finds_the_same_front_with_fewer_expensive_calls(name):
    space = ToySpace(length=6, choices=3)
    runs = {}
    for gate in (False, True):
        slow = Slow()
        evaluator = CompositeEvaluator([GeneSum(), slow], constraints=["size <= 5"] if gate else [])
        result = search(space, strategies.create(name, pop_size=12), evaluator, budget=120, seed=4,
                        constraints=["size <= 5"], progress=False)
        runs[gate] = (result, len(slow.seen))
    (plain, plain_calls), (gated, gated_calls) = runs[False], runs[True]
    assert gated_calls < plain_calls == len(plain.individuals)
    assert gated_calls == len(gated.feasible)  # only feasible architectures were scored
    assert all(math.isnan(ind.values["score"]) for ind in gated.individuals if not ind.feasible)
    front = lambda r: sorted((ind.key for ind in r.front))  # noqa: E731
    if name == "nsga2":  # pymoo ranks infeasible points by violation only: the very same run
        assert [i.key for i in gated.individuals] == [i.key for i in plain.individuals]
        assert front(gated) == front(plain)
    else:  # DEAP's penalty keeps the objective values: another run, but as good a front
        best = lambda r: max(ind.values["score"] for ind in r.feasible)  # noqa: E731
        assert best(gated) >= best(plain) - 1 and np.isfinite(gated.hypervolume[-1][1])


def test_a_batch_gated_whole_still_reports_every_constrained_value():
    """A constraint on a value only a later member reports: rows carry it (NaN) even if no row got that far."""
    gated = CompositeEvaluator([GeneSum(), Slow()], constraints=["size <= 1", "extra <= 2"])
    gated.setup(ToySpace(length=4, choices=3))
    rows = gated.evaluate([(2, 2, 2, 2), (1, 1, 1, 1)])
    assert all(r[GATED] == 1.0 and math.isnan(r["extra"]) for r in rows)
    result = search(ToySpace(length=4, choices=3), strategies.create("nsga2", pop_size=6), gated, budget=12, seed=0,
                    constraints=["size <= 1", "extra <= 2"], progress=False)
    assert result.feasible and all(ind.values["size"] <= 1 for ind in result.feasible)


def test_search_refuses_an_evaluator_gated_on_a_constraint_it_does_not_have():
    gated = SelectObjectives(CompositeEvaluator([GeneSum(), Slow()], constraints=["size <= 4"]),
                             [Objective("score", "max"), Objective("size", "min")])
    with pytest.raises(ConfigError, match="stops evaluating at size <= 4"):
        search(ToySpace(), strategies.create("nsga2", pop_size=6), gated, budget=6, progress=False)
