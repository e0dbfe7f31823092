"""What a strategy's ``step(ctx)`` (and an operator) receives from the search loop.

Simple strategies use only :attr:`SearchContext.evaluate`; strategies that
train while they search (RelativeNAS, DAP, DARTS gradient steps) also use
the shared supernet(s) the evaluator scores with, the budget left and the
run directory.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np


@dataclass
class SearchContext:
    """The loop's services for one generation.

    Attributes:
        evaluate: ``archs -> list[dict]``, memoised on (architecture,
            evaluator version) and batched (new architectures of a call go to
            the evaluator together).
        supernets: the :class:`~evonas.training.shared_supernet.SharedSupernet`
            objects the evaluator scores with (empty when it has none).
            Training one changes its version, so scores taken before are not
            reused afterwards.
        rng: the strategy's random generator (the run's only randomness).
        budget: the search's budget (distinct evaluations).
        evaluations: distinct evaluations so far.
        generation: the generation being run (0 = the initial population).
        run_dir: the run directory (None when the search writes nothing).
        checkpoint: saves the search now, in the middle of the generation (None when the search writes
            nothing). The strategy's :meth:`~evonas.strategies.base.Strategy.state_dict` must then say how far
            the generation got: a resumed search calls ``step`` for the same generation again.
        log: a logger for the strategy's messages.
    """

    evaluate: Callable[[list], list[dict[str, float]]]
    supernets: tuple = ()
    rng: np.random.Generator | None = None
    budget: int = 0
    evaluations: int = 0
    generation: int = 0
    run_dir: Path | None = None
    checkpoint: Callable[[], None] | None = None
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("evonas.strategy"))

    @property
    def budget_left(self) -> int:
        """Distinct evaluations left before the budget is reached (0 or more)."""
        return max(self.budget - self.evaluations, 0)

    @property
    def supernet(self) -> Any:
        """The one shared supernet (ConfigError unless the evaluator has exactly one)."""
        from evonas.errors import ConfigError

        if len(self.supernets) != 1:
            raise ConfigError(f"this strategy needs an evaluator with one shared supernet (e.g. 'supernet'); the "
                              f"evaluator has {len(self.supernets)}")
        return self.supernets[0]


def shared_supernets(evaluator: Any) -> tuple:
    """The shared supernets inside ``evaluator`` (its ``shared`` attribute, or its members'), in order."""
    found = []
    stack = [evaluator]
    while stack:
        current = stack.pop(0)
        shared = getattr(current, "shared", None)
        if shared is not None and shared not in found:
            found.append(shared)
        stack.extend(getattr(current, "evaluators", ()))
        inner = getattr(current, "inner", None)
        if inner is not None:
            stack.append(inner)
    return tuple(found)


__all__ = ["SearchContext", "shared_supernets"]
