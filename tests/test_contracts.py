"""Contract suites over every registered space, strategy and operator, chosen by what each one declares."""
from __future__ import annotations

import numpy as np
import pytest

from evonas.core import Objective
from evonas.errors import ConfigError
from evonas.registry import operators, spaces, strategies
from evonas.testing import ToySpace, check_operator, check_space, check_strategy


def _toy_lacks(name: str) -> list[type]:
    """The capabilities strategy ``name`` declares it needs (``space_needs``) that the toy space has not."""
    return [need for need in strategies.create(name).space_needs if not isinstance(ToySpace(), need)]


#: strategies that take a population size, handle one objective and search the toy space
#: (random search has no population; darts / stacnas / dap need a supernet: their own test files)
SINGLE_OBJECTIVE = [name for name in strategies.names()
                    if "pop_size" in (strategies.options(name) or ())
                    and strategies.create(name).min_objectives <= 1 and not _toy_lacks(name)]
#: strategies that need what the toy space lacks (tests/strategies/test_gradient_search.py, test_dap.py)
NEED_MORE = [name for name in strategies.names() if _toy_lacks(name)]


@pytest.mark.parametrize("name", spaces.names())
def test_registered_space_honours_the_contract(name):
    check_space(spaces.create(name), seeds=10)


@pytest.mark.parametrize("name", SINGLE_OBJECTIVE)
def test_registered_strategy_finds_the_toy_target(name):
    check_strategy(lambda: strategies.create(name, pop_size=16))


@pytest.mark.parametrize("name", NEED_MORE)
def test_a_strategy_refuses_a_space_without_what_it_declares_it_needs(name):
    strategy = strategies.create(name)
    with pytest.raises(ConfigError, match=rf"strategy '{name}' needs a space with .* ToySpace has none"):
        strategy.setup(ToySpace(), [Objective("accuracy", "max")], np.random.default_rng(0))


def test_smsemoa_refuses_a_single_objective():
    with pytest.raises(ConfigError, match="at least 2 objectives"):
        check_strategy(lambda: strategies.create("smsemoa", pop_size=16))


@pytest.mark.parametrize("space_name", spaces.names())
# an operator that reads a search's shared supernet (needs_supernet: 'gradient', 'perturbation') has its own
# tests: tests/operators/test_gradient.py, tests/operators/test_perturbation.py
@pytest.mark.parametrize("name", [name for name in operators.names() if not operators.create(name).needs_supernet])
def test_registered_operator_honours_the_contract(name, space_name):
    check_operator(operators.create(name), spaces.create(space_name), seeds=3)
