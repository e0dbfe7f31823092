"""Variation operators: reusable, batch-shaped steps that turn parents into offspring.

An operator is an object any strategy accepts (by registry name or as an
object): the pymoo and DEAP adapters, regularized evolution, RelativeNAS...
Operators see a batch (a list of architectures, or of parent pairs) and the
strategy's random generator; they also receive the
:class:`~evonas.context.SearchContext` when the strategy has one, so that a
*learned* operator can use the shared supernet (a DARTS / StacNAS gradient
step is a mutation that trains the supernet and reads the architecture off
it; DAP's perturbation selection scores candidates on validation data).

Public ``__call__`` does the bookkeeping (binding check, RNG check,
counting); subclasses implement ``_do``.
"""
from __future__ import annotations

import abc
from typing import Any, Callable, Container, Sequence

import numpy as np

from evonas.errors import ConfigError, EvonasError
from evonas.params import Configurable
from evonas.spaces.base import check_rng


class Operator(Configurable, abc.ABC):
    """Base of mutations and crossovers. Constructors are cheap and pass their settings to this constructor
    (they become ``config``, see :mod:`evonas.params`); :meth:`setup` binds a space."""

    #: registry name
    name: str = ""
    #: whether it reads the search's shared supernet (``ctx.supernets``): such an operator runs only inside a
    #: search whose evaluator shares one, never on its own
    needs_supernet: bool = False

    def __init__(self, **config: Any) -> None:
        self.config = config
        self.space = None
        self.calls = 0

    def setup(self, space) -> "Operator":
        """Bind to ``space`` (returns self, so ``op = make().setup(space)`` reads well)."""
        self.space = space
        self._setup(space)
        return self

    def _setup(self, space) -> None:
        """Heavy preparation; the default does nothing."""

    def _check(self, rng) -> np.random.Generator:
        if self.space is None:
            raise EvonasError(f"{type(self).__name__}.setup(space) must be called before use")
        self.calls += 1
        return check_rng(rng)


class Mutation(Operator):
    """``archs -> mutated archs`` (one child per architecture, same order)."""

    def __call__(self, archs: Sequence, rng: np.random.Generator, ctx=None) -> list:
        rng = self._check(rng)
        children = list(self._do(list(archs), rng, ctx))
        if len(children) != len(archs):
            raise EvonasError(f"{type(self).__name__} returned {len(children)} children for {len(archs)} parents")
        return children

    @abc.abstractmethod
    def _do(self, archs: list, rng: np.random.Generator, ctx) -> list: ...


class Crossover(Operator):
    """``[(a, b), ...] -> [(child, child), ...]``: two children per pair of parents."""

    def __call__(self, pairs: Sequence[tuple], rng: np.random.Generator, ctx=None) -> list[tuple]:
        rng = self._check(rng)
        children = [tuple(c) for c in self._do([tuple(p) for p in pairs], rng, ctx)]
        if len(children) != len(pairs) or any(len(c) != 2 for c in children):
            raise EvonasError(f"{type(self).__name__} must return two children per pair of parents")
        return children

    @abc.abstractmethod
    def _do(self, pairs: list[tuple], rng: np.random.Generator, ctx) -> list[tuple]: ...


def resolve_operator(spec: "str | Operator", kind: type, space) -> Operator:
    """An operator object of ``kind`` (Mutation or Crossover) from a registry name or an object, set up on
    ``space``."""
    from evonas.registry import operators

    op = operators.create(spec) if isinstance(spec, str) else spec
    if not isinstance(op, kind):
        raise ConfigError(f"{spec!r} is not a {kind.__name__.lower()} operator")
    return op.setup(space)


def unique_offspring(make: Callable[[int], Any], n: int, *, key: Callable[[Any], str],
                     retry: Callable[[Any], Any], seen: Container[str] = frozenset(), max_tries: int = 20) -> list:
    """``n`` children from ``make(i)``; a child whose ``key`` was seen before (in ``seen`` or earlier in this
    batch) is replaced by ``retry(child)`` (a mutation of it, a fresh sample), up to ``max_tries`` times, so
    evaluations are not spent on repeats. In a space too small for that, a repeat is kept once the tries run
    out (the loop's memo cache makes it free)."""
    children, keys = [], set()
    for i in range(n):
        child = make(i)
        child_key = key(child)
        for _ in range(max_tries):
            if child_key not in seen and child_key not in keys:
                break
            child = retry(child)
            child_key = key(child)
        keys.add(child_key)
        children.append(child)
    return children


__all__ = ["Crossover", "Mutation", "Operator", "resolve_operator", "unique_offspring"]
