"""DEAP adapter: a (mu + lambda) GA with tournament selection, or NSGA-II selection.

DEAP's ``creator`` builds classes at run time in a global namespace; evonas
instead defines the fitness classes here, once, at module level (one
all-minimising class per objective count), so two searches in one process
never collide and populations pickle. DEAP's operators draw from the
standard ``random`` module: the adapter keeps its own ``random`` state,
swaps it in around every DEAP call and out again, so the global generator
is left as it was and a resumed run continues bit-identically.
"""
from __future__ import annotations

import random
from contextlib import contextmanager

from deap import base, tools

from evonas.errors import ConfigError
from evonas.operators.base import Crossover, Mutation, resolve_operator, unique_offspring
from evonas.registry import strategies
from evonas.screening import PredictorScreen, resolve_screen
from evonas.strategies.base import Strategy

_MAX_OBJECTIVES = 8


def _fitness_class(n: int) -> type:
    return type(f"FitnessMin{n}", (base.Fitness,), {"weights": (-1.0,) * n, "__module__": __name__})


#: FitnessMin1 ... FitnessMin8, importable so that pickling works
FITNESS_CLASSES = {n: _fitness_class(n) for n in range(1, _MAX_OBJECTIVES + 1)}
globals().update({cls.__name__: cls for cls in FITNESS_CLASSES.values()})


class DeapIndividual:
    """An architecture with a DEAP fitness (duck-typed for DEAP's selection tools)."""

    __slots__ = ("arch", "key", "fitness")

    def __init__(self, arch, key: str, n_objectives: int) -> None:
        self.arch, self.key = arch, key
        self.fitness = FITNESS_CLASSES[n_objectives]()

    def __getstate__(self):
        return (self.arch, self.key, self.fitness)

    def __setstate__(self, state) -> None:
        self.arch, self.key, self.fitness = state


class DeapStrategy(Strategy):
    """Evolution with DEAP's selection operators and the space's variation.

    ``algorithm="ga"`` (one objective): parents by tournament
    (``tools.selTournament``), survivors by (mu + lambda) truncation
    (``tools.selBest``). ``algorithm="nsga2"``: parents by binary tournament
    on rank and crowding (``tools.selTournamentDCD``), survivors by
    ``tools.selNSGA2``. Each offspring comes from crossover (``cxpb``),
    mutation (``mutpb``) or a mutated copy (the rest), as DEAP's ``varOr``;
    an offspring whose key the run has already seen is mutated again (up to
    ``max_tries``), so evaluations are not wasted on duplicates.
    ``mutation`` / ``crossover``: operators by registry name or object
    (:mod:`evonas.operators`; default the space's own). ``screen``: a
    :class:`~evonas.screening.PredictorScreen` (or a dict of its options)
    makes ``candidates`` times as many offspring and evaluates those a
    predictor ranks best (by predicted dominance with several objectives).
    """

    name = "deap"
    bound_attributes = ("mutation", "crossover")  # built by setup() from the settings

    def __init__(self, *, algorithm: str = "ga", pop_size: int = 20, offspring: int | None = None,
                 cxpb: float = 0.5, mutpb: float = 0.5, tournament_size: int = 3, max_tries: int = 20,
                 mutation="space-mutation", crossover="space-crossover",
                 screen: PredictorScreen | dict | None = None) -> None:
        if algorithm not in ("ga", "nsga2"):
            raise ConfigError(f"unknown DEAP algorithm {algorithm!r}; valid: ga, nsga2")
        if pop_size < 2:
            raise ConfigError(f"pop_size must be >= 2, got {pop_size}")
        if not 0 <= cxpb + mutpb <= 1:
            raise ConfigError(f"cxpb + mutpb must be within [0, 1], got {cxpb} + {mutpb}")
        super().__init__(algorithm=algorithm, pop_size=pop_size, offspring=offspring, cxpb=cxpb, mutpb=mutpb,
                         tournament_size=tournament_size, max_tries=max_tries, mutation=mutation, crossover=crossover,
                         screen=screen)
        resolve_screen(screen)  # a bad option fails here, before a search starts
        self.algorithm = algorithm
        self.name = f"deap-{algorithm}"
        self.max_objectives = 1 if algorithm == "ga" else _MAX_OBJECTIVES
        self.pop: list[DeapIndividual] = []
        self.seen: set[str] = set()
        self._random_state = None

    def _setup(self) -> None:
        self._random_state = random.Random(int(self.rng.integers(2**63 - 1))).getstate()
        self.mutation = resolve_operator(self.config["mutation"], Mutation, self.space)
        self.crossover = resolve_operator(self.config["crossover"], Crossover, self.space)
        self.screen = resolve_screen(self.config["screen"])  # state: it learns from every evaluation
        if self.screen is not None:
            self.screen.setup(self.space, self.objectives)

    @contextmanager
    def _deap_random(self):
        """Run DEAP code with this strategy's ``random`` state, restoring the global one after."""
        outer = random.getstate()
        random.setstate(self._random_state)
        try:
            yield
        finally:
            self._random_state = random.getstate()
            random.setstate(outer)

    # ------------------------------------------------------------------ loop
    def ask(self) -> list:
        if not self.pop:
            return self._fresh(self.config["pop_size"])
        n = self.config["offspring"] or self.config["pop_size"]
        with self._deap_random():
            if self.algorithm == "nsga2":
                pool = self.pop + self.pop[: (-len(self.pop)) % 4]  # selTournamentDCD wants a multiple of 4
                parents = tools.selTournamentDCD(pool, len(pool))
            else:
                parents = tools.selTournament(self.pop, len(self.pop), tournsize=self.config["tournament_size"])
        pool = n if self.screen is None else self.screen.pool_size(n)
        children = unique_offspring(lambda i: self._vary(parents, i), pool, key=self.space.key, retry=self._mutate,
                                    seen=self.seen, max_tries=self.config["max_tries"])
        return children if self.screen is None else self.screen.select(children, n, self.rng)

    def _mutate(self, arch):
        return self.mutation([arch], self.rng, self.ctx)[0]

    def _vary(self, parents: list[DeapIndividual], i: int):
        draw = self.rng.random()
        if draw < self.config["cxpb"]:
            a, b = self.rng.choice(len(parents), size=2, replace=False)
            return self.crossover([(parents[a].arch, parents[b].arch)], self.rng, self.ctx)[0][0]
        return self._mutate(parents[i % len(parents)].arch)

    def _fresh(self, n: int) -> list:
        sample = lambda *_: self.space.sample(self.rng)  # noqa: E731
        return unique_offspring(sample, n, key=self.space.key, retry=sample, max_tries=self.config["max_tries"])

    def tell(self, archs: list, results: list[dict[str, float]]) -> None:
        if self.screen is not None:
            self.screen.observe(archs, results)
        F = self.F(results)
        if self.constraints:  # constraint handling by penalty: infeasible after every feasible point
            violation = self.G(results).clip(min=0).sum(axis=1)
            F = F + (violation > 0)[:, None] * (1e12 + violation[:, None])
        offspring = []
        for arch, values in zip(archs, F):
            individual = DeapIndividual(arch, self.space.key(arch), len(self.objectives))
            individual.fitness.values = tuple(float(v) for v in values)
            offspring.append(individual)
            self.seen.add(individual.key)
        pool = self.pop + offspring
        mu = self.config["pop_size"]
        with self._deap_random():
            self.pop = tools.selNSGA2(pool, mu) if self.algorithm == "nsga2" else tools.selBest(pool, mu)

    def population(self) -> list:
        return [ind.arch for ind in self.pop]


@strategies.register("deap-ga")
def create_deap_ga(**kwargs) -> DeapStrategy:
    return DeapStrategy(algorithm="ga", **kwargs)


@strategies.register("deap-nsga2")
def create_deap_nsga2(**kwargs) -> DeapStrategy:
    return DeapStrategy(algorithm="nsga2", **kwargs)


strategies.register("deap", DeapStrategy)


__all__ = ["DeapIndividual", "DeapStrategy", "FITNESS_CLASSES", "create_deap_ga", "create_deap_nsga2"]
