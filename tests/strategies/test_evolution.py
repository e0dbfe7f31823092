"""Regularized evolution: the oldest member leaves, the best of a tournament is mutated, exact resume."""
from __future__ import annotations

import numpy as np
import pytest

from evonas.core import Objective
from evonas.errors import ConfigError
from evonas.strategies.evolution import RegularizedEvolution
from evonas.testing import ToySpace


def results(archs):
    return [{"f": float(sum(a))} for a in archs]  # minimise the gene sum


def test_aging_removes_the_oldest_not_the_worst():
    strategy = RegularizedEvolution(pop_size=4, sample_size=4, offspring=1)
    strategy.setup(ToySpace(length=6, choices=4), [Objective("f", "min")], np.random.default_rng(0))
    initial = strategy.ask()
    assert len(initial) == 4
    strategy.tell(initial, results(initial))
    child = strategy.ask()
    assert len(child) == 1
    # with the whole population in the tournament the parent is the best member: the child differs from it in
    # exactly one gene (one mutation)
    best = min(initial, key=sum)
    assert sum(x != y for x, y in zip(child[0], best)) == 1
    strategy.tell(child, [{"f": 1e9}])  # a very bad child still stays: it is the youngest
    assert strategy.population() == initial[1:] + child


def test_bad_settings():
    with pytest.raises(ConfigError, match="sample_size"):
        RegularizedEvolution(pop_size=5, sample_size=6)
    with pytest.raises(ConfigError, match="offspring"):
        RegularizedEvolution(offspring=0)
