"""Regularized (aging) evolution (Real, Aggarwal, Huang and Le, AAAI 2019).

A population of ``pop_size`` architectures starts at random. Each cycle,
``sample_size`` members are drawn uniformly, the best of them is mutated,
the child joins the population and the *oldest* member leaves it (not the
worst: ageing favours architectures that stay good under re-sampling).
``offspring`` children are made per generation (1 as in the paper; more
evaluates in batches, as the paper's asynchronous workers do). Single
objective; constraint violations rank after every feasible point.
``screen=`` makes it predictor-guided (:mod:`evonas.screening`): each
cycle draws ``candidates`` times as many tournaments and children, and
only those a surrogate fitted on the evaluated ones ranks best are
evaluated.
"""
from __future__ import annotations

from collections import deque

from evonas.errors import ConfigError
from evonas.operators.base import Mutation, resolve_operator, unique_offspring
from evonas.registry import strategies
from evonas.screening import PredictorScreen, resolve_screen
from evonas.strategies.base import Strategy


@strategies.register("evolution")
class RegularizedEvolution(Strategy):
    """Aging evolution with tournament selection and the space's mutation (or ``mutation=``); ``screen=``
    (a :class:`~evonas.screening.PredictorScreen` or a dict of its options) screens children by a predictor."""

    name = "evolution"
    bound_attributes = ("mutation",)  # built by setup() from the settings
    max_objectives = 1

    def __init__(self, *, pop_size: int = 20, sample_size: int = 5, offspring: int = 1,
                 mutation="space-mutation", max_tries: int = 20, screen: PredictorScreen | dict | None = None) -> None:
        if pop_size < 2 or not 1 <= sample_size <= pop_size:
            raise ConfigError(f"need pop_size >= 2 and 1 <= sample_size <= pop_size, got {pop_size}, {sample_size}")
        if offspring < 1:
            raise ConfigError(f"offspring must be >= 1, got {offspring}")
        super().__init__(pop_size=pop_size, sample_size=sample_size, offspring=offspring, mutation=mutation,
                         max_tries=max_tries, screen=screen)
        resolve_screen(screen)  # a bad option fails here, before a search starts
        self.members: deque = deque()  # (arch, fitness to minimise), oldest first
        self.seen: set[str] = set()

    def _setup(self) -> None:
        self.mutation = resolve_operator(self.config["mutation"], Mutation, self.space)
        self.screen = resolve_screen(self.config["screen"])  # state: it learns from every evaluation
        if self.screen is not None:
            self.screen.setup(self.space, self.objectives)

    def ask(self) -> list:
        key, tries = self.space.key, self.config["max_tries"]
        if len(self.members) < self.config["pop_size"]:
            sample = lambda *_: self.space.sample(self.rng)  # noqa: E731
            return unique_offspring(sample, self.config["pop_size"] - len(self.members), key=key, retry=sample,
                                    seen=self.seen, max_tries=tries)
        members = list(self.members)

        def child(_):
            drawn = self.rng.choice(len(members), size=self.config["sample_size"], replace=False)
            parent = min((members[int(i)] for i in drawn), key=lambda m: m[1])[0]
            return self._mutate(parent)

        n = self.config["offspring"]
        if self.screen is None:
            return unique_offspring(child, n, key=key, retry=self._mutate, seen=self.seen, max_tries=tries)
        pool = unique_offspring(child, self.screen.pool_size(n), key=key, retry=self._mutate, seen=self.seen,
                                max_tries=tries)
        return self.screen.select(pool, n, self.rng)

    def _mutate(self, arch):
        return self.mutation([arch], self.rng, self.ctx)[0]

    def tell(self, archs: list, results: list[dict[str, float]]) -> None:
        if self.screen is not None:
            self.screen.observe(archs, results)
        F = self.F(results)[:, 0]
        if self.constraints:
            violation = self.G(results).clip(min=0).sum(axis=1)
            F = F + (violation > 0) * (1e12 + violation)
        for arch, fitness in zip(archs, F):
            self.members.append((arch, float(fitness)))
            self.seen.add(self.space.key(arch))
        while len(self.members) > self.config["pop_size"]:
            self.members.popleft()  # the oldest leaves

    def population(self) -> list:
        return [arch for arch, _ in self.members]


__all__ = ["RegularizedEvolution"]
