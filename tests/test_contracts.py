"""Contract suites over every registered space, single-objective strategy and operator."""
from __future__ import annotations

import pytest

from evonas.registry import operators, spaces, strategies
from evonas.testing import check_operator, check_space, check_strategy

SINGLE_OBJECTIVE = ["ga", "deap-ga", "nsga2", "deap-nsga2", "agemoea", "nsga3", "evolution", "relative"]


@pytest.mark.parametrize("name", spaces.names())
def test_registered_space_honours_the_contract(name):
    check_space(spaces.create(name), seeds=10)


@pytest.mark.parametrize("name", SINGLE_OBJECTIVE)
def test_registered_strategy_finds_the_toy_target(name):
    check_strategy(lambda: strategies.create(name, pop_size=16))


def test_every_strategy_is_listed():
    # darts / stacnas search a supernet's continuous mode, not a toy space: tests/strategies/test_gradient_search.py;
    # dap trains its own networks on the DARTS space: tests/strategies/test_dap.py
    assert set(SINGLE_OBJECTIVE) | {"random", "pymoo", "deap", "smsemoa", "darts", "stacnas", "dap"} == \
        set(strategies.names())


def test_smsemoa_refuses_a_single_objective():
    from evonas.errors import ConfigError

    with pytest.raises(ConfigError, match="at least 2 objectives"):
        check_strategy(lambda: strategies.create("smsemoa", pop_size=16))


@pytest.mark.parametrize("space_name", spaces.names())
# 'gradient' and 'perturbation' read a search's shared supernet: tests/operators/test_gradient.py,
# tests/operators/test_perturbation.py
@pytest.mark.parametrize("name", sorted(set(operators.names()) - {"gradient", "perturbation"}))
def test_registered_operator_honours_the_contract(name, space_name):
    check_operator(operators.create(name), spaces.create(space_name), seeds=3)
