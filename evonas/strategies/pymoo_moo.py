"""pymoo adapter: any pymoo algorithm over a search space, driven by ask / tell.

The space's sampling and evonas' operators (by default the space's own
crossover and mutation, :mod:`evonas.operators`) become pymoo operators
working on the space's encoding, and duplicates are eliminated by the
space's canonical key (two encodings of one architecture count as one).
pymoo keeps its own random generator (seeded once from the run's RNG) inside
the algorithm object, which is pickled into the search checkpoint, so a
resumed run continues bit-identically. pymoo is imported only here.
"""
from __future__ import annotations

import numpy as np
from pymoo.core.crossover import Crossover
from pymoo.core.duplicate import DuplicateElimination
from pymoo.core.mutation import Mutation
from pymoo.core.problem import Problem
from pymoo.core.sampling import Sampling
from pymoo.core.termination import NoTermination

from evonas.errors import ConfigError
from evonas.operators.base import Crossover as EvonasCrossover
from evonas.operators.base import Mutation as EvonasMutation
from evonas.operators.base import resolve_operator
from evonas.registry import strategies
from evonas.screening import PredictorScreen, resolve_screen
from evonas.spaces.base import HasBounds, HasCanonicalRows
from evonas.strategies.base import Strategy

#: algorithm name -> (module, class, handles several objectives)
ALGORITHMS = {
    "ga": ("pymoo.algorithms.soo.nonconvex.ga", "GA", False),
    "nsga2": ("pymoo.algorithms.moo.nsga2", "NSGA2", True),
    "nsga3": ("pymoo.algorithms.moo.nsga3", "NSGA3", True),
    "agemoea": ("pymoo.algorithms.moo.age", "AGEMOEA", True),
    "smsemoa": ("pymoo.algorithms.moo.sms", "SMSEMOA", True),
}


class _Codec:
    """Encoding rows <-> architectures of one space (rounding integer encodings).

    pymoo hands the same rows over many times (the population at every
    duplicate check, parents at every mating), so decoded rows and their
    keys are cached by the row's bytes, encodings by architecture (bounded;
    not pickled: they are derived).
    """

    _CACHE_SIZE = 50_000

    def __init__(self, space, integer: bool) -> None:
        self.space, self.integer = space, integer
        self._cache: dict[bytes, list] = {}  # row bytes -> [architecture, key or None]
        self._matrix_keys: dict[bytes, list] = {}  # matrix bytes -> identities of its rows
        self._encoded: dict = {}  # architecture -> its encoding (read-only)

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_cache": {}, "_matrix_keys": {}, "_encoded": {}}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update({"_matrix_keys": {}, "_encoded": {}, **state})

    def _rows(self, X: np.ndarray) -> np.ndarray:
        return np.rint(X).astype(np.int64) if self.integer else np.asarray(X, dtype=float)

    def _entry(self, x: np.ndarray, row: np.ndarray | None = None) -> list:
        row = self._rows(x) if row is None else row
        token = row.tobytes()
        entry = self._cache.get(token)
        if entry is None:
            arch = self.space.decode(row)
            entry = [arch, None]  # the key is computed when first asked for
            if len(self._cache) >= self._CACHE_SIZE:
                self._cache.clear()
            self._cache[token] = entry
        return entry

    def decode(self, x: np.ndarray):
        return self._entry(x)[0]

    def decode_many(self, X: np.ndarray) -> list:
        """The architectures of the rows of ``X``: rows not in the cache are decoded together
        (:meth:`~evonas.spaces.base.SearchSpace.decode_many`)."""
        rows = self._rows(X)
        tokens = [row.tobytes() for row in rows]
        cache = self._cache
        new = [i for i, token in enumerate(tokens) if token not in cache]
        if new:
            if len(cache) + len(new) > self._CACHE_SIZE:
                cache.clear()
            for i, arch in zip(new, self.space.decode_many(rows[new])):
                cache[tokens[i]] = [arch, None]
        return [cache[token][0] for token in tokens]

    def encode(self, arch) -> np.ndarray:
        try:
            row = self._encoded.get(arch)
        except TypeError:  # an unhashable architecture value: not cached
            return np.asarray(self.space.encode(arch), dtype=float)
        if row is None:
            row = np.asarray(self.space.encode(arch), dtype=float)
            row.flags.writeable = False  # shared by every caller that encodes this architecture
            if len(self._encoded) >= self._CACHE_SIZE:
                self._encoded.clear()
            self._encoded[arch] = row
        return row

    def key(self, x: np.ndarray) -> str:
        return self._key(self._entry(x))

    def _key(self, entry: list) -> str:
        if entry[1] is None:
            entry[1] = self.space.key(entry[0])
        return entry[1]

    def keys(self, X: np.ndarray) -> list:
        """Identities of the rows of ``X``: the space's canonical rows as bytes when it has them (vectorised,
        no decoding), else the architectures' keys. pymoo asks for the same population's identities several
        times per generation: they are cached by the matrix's bytes."""
        X = np.ascontiguousarray(X)
        token = X.tobytes()
        cached = self._matrix_keys.get(token)
        if cached is None:
            cached = self._compute_keys(X)
            if len(self._matrix_keys) >= 64:
                self._matrix_keys.clear()
            self._matrix_keys[token] = cached
        return cached

    def _compute_keys(self, X: np.ndarray) -> list:
        rows = self._rows(X)
        canon = self.space.canonical_rows(rows) if self.integer and isinstance(self.space, HasCanonicalRows) else None
        if canon is not None:
            return [row.tobytes() for row in canon]
        return [self._key(self._entry(None, row)) for row in rows]


class _SpaceSampling(Sampling):
    def __init__(self, codec: _Codec) -> None:
        super().__init__()
        self.codec = codec

    def _do(self, problem, n_samples, *args, random_state=None, **kwargs):
        return np.asarray([self.codec.encode(self.codec.space.sample(random_state)) for _ in range(n_samples)])


class _OperatorCrossover(Crossover):
    """An evonas crossover operator as a pymoo crossover (one batch call per generation)."""

    def __init__(self, codec: _Codec, operator, prob: float) -> None:
        super().__init__(n_parents=2, n_offsprings=2, prob=prob)
        self.codec, self.operator = codec, operator
        self.ctx = None  # the generation's SearchContext while the strategy steps (learned operators use it)

    def _do(self, problem, X, *args, random_state=None, **kwargs):
        if hasattr(self.operator, "vectors"):  # an operator on the encoding: no decoding needed
            return self.operator.vectors(X, random_state)
        _, n_matings, n_var = X.shape
        pairs = list(zip(self.codec.decode_many(X[0]), self.codec.decode_many(X[1])))
        children = np.empty((2, n_matings, n_var))
        for k, (c, d) in enumerate(self.operator(pairs, random_state, self.ctx)):
            children[0, k], children[1, k] = self.codec.encode(c), self.codec.encode(d)
        return children


class _OperatorMutation(Mutation):
    """An evonas mutation operator as a pymoo mutation (one batch call per generation)."""

    def __init__(self, codec: _Codec, operator, prob: float) -> None:
        super().__init__(prob=prob)
        self.codec, self.operator = codec, operator
        self.ctx = None  # the generation's SearchContext while the strategy steps (learned operators use it)

    def _do(self, problem, X, *args, random_state=None, **kwargs):
        if hasattr(self.operator, "vectors"):
            return self.operator.vectors(X, random_state)
        children = self.operator(self.codec.decode_many(X), random_state, self.ctx)
        return np.asarray([self.codec.encode(c) for c in children]).reshape(X.shape)


class _KeyDuplicates(DuplicateElimination):
    """Duplicates by the space's canonical key, within ``pop`` or against ``other``."""

    def __init__(self, codec: _Codec) -> None:
        super().__init__()
        self.codec = codec

    def _do(self, pop, other, is_duplicate):
        keys = self.codec.keys(pop.get("X"))
        seen = set() if other is None else set(self.codec.keys(other.get("X")))
        for i, key in enumerate(keys):
            if key in seen:
                is_duplicate[i] = True
            elif other is None:
                seen.add(key)
        return is_duplicate


class _SpaceProblem(Problem):
    def __init__(self, n_var: int, n_obj: int, n_constr: int, xl, xu) -> None:
        super().__init__(n_var=n_var, n_obj=n_obj, n_ieq_constr=n_constr, xl=xl, xu=xu)


class PymooStrategy(Strategy):
    """A pymoo algorithm (GA, NSGA-II, NSGA-III, AGE-MOEA, SMS-EMOA) over a search space.

    Args:
        algorithm: one of :data:`ALGORITHMS`.
        pop_size: population size.
        n_offsprings: offspring per generation (pymoo's default: ``pop_size``).
        crossover_prob: chance a mating recombines (else the parents are copied).
        mutation_prob: chance each offspring is mutated.
        n_partitions: Das-Dennis partitions of NSGA-III's reference directions.
        mutation, crossover: operators by registry name or object
            (:mod:`evonas.operators`; default the space's own).
        screen: a :class:`~evonas.screening.PredictorScreen` (or a dict of its
            options): after the initial population, each generation mates
            ``candidates`` times as many offspring and evaluates those a
            predictor ranks best (by predicted non-dominated rank, then
            crowding, with several objectives).
    """

    name = "pymoo"
    bound_attributes = ("codec", "problem", "algorithm_name")  # set from the settings (setup(), constructor)

    def __init__(self, *, algorithm: str = "nsga2", pop_size: int = 20, n_offsprings: int | None = None,
                 crossover_prob: float = 0.9, mutation_prob: float = 1.0, n_partitions: int = 12,
                 mutation="space-mutation", crossover="space-crossover",
                 screen: PredictorScreen | dict | None = None) -> None:
        if algorithm not in ALGORITHMS:
            raise ConfigError(f"unknown pymoo algorithm {algorithm!r}; valid: {', '.join(ALGORITHMS)}")
        if pop_size < 2:
            raise ConfigError(f"pop_size must be >= 2, got {pop_size}")
        super().__init__(algorithm=algorithm, pop_size=pop_size, n_offsprings=n_offsprings,
                         crossover_prob=crossover_prob, mutation_prob=mutation_prob, n_partitions=n_partitions,
                         mutation=mutation, crossover=crossover, screen=screen)
        resolve_screen(screen)  # a bad option fails here, before a search starts
        self.algorithm_name = self.name = algorithm
        self.max_objectives = None if ALGORITHMS[algorithm][2] else 1
        self.min_objectives = 2 if algorithm == "smsemoa" else 1  # its hypervolume needs 2+ columns
        self.algorithm = None
        self._pending = None

    def _setup(self) -> None:
        import importlib

        module, cls_name, _ = ALGORITHMS[self.algorithm_name]
        cls = getattr(importlib.import_module(module), cls_name)
        probe = self.space.encode(self.space.sample(np.random.default_rng(0)))
        codec = _Codec(self.space, np.asarray(probe).dtype.kind in "iub")
        xl, xu = self.space.bounds() if isinstance(self.space, HasBounds) else (None, None)
        self.problem = _SpaceProblem(len(probe), len(self.objectives), len(self.constraints), xl, xu)
        kwargs = dict(pop_size=self.config["pop_size"], sampling=_SpaceSampling(codec),
                      crossover=_OperatorCrossover(codec, resolve_operator(self.config["crossover"], EvonasCrossover,
                                                                           self.space), self.config["crossover_prob"]),
                      mutation=_OperatorMutation(codec, resolve_operator(self.config["mutation"], EvonasMutation,
                                                                         self.space), self.config["mutation_prob"]),
                      eliminate_duplicates=_KeyDuplicates(codec))
        if self.config["n_offsprings"]:
            kwargs["n_offsprings"] = self.config["n_offsprings"]
        if self.algorithm_name == "nsga3":
            from pymoo.util.ref_dirs import get_reference_directions

            kwargs["ref_dirs"] = get_reference_directions("das-dennis", len(self.objectives),
                                                          n_partitions=self.config["n_partitions"])
        self.codec = codec
        self.screen = resolve_screen(self.config["screen"])  # state: it learns from every evaluation
        if self.screen is not None:
            self.screen.setup(self.space, self.objectives)
        self.algorithm = cls(**kwargs)
        self.algorithm.setup(self.problem, termination=NoTermination(),
                             seed=int(self.rng.integers(2**31 - 1)))

    def step(self, ctx) -> None:
        """One generation; the operators see ``ctx`` during it (and never keep it: checkpoints pickle them)."""
        mating = getattr(self.algorithm, "mating", None)
        wrappers = [w for w in (getattr(mating, "crossover", None), getattr(mating, "mutation", None))
                    if isinstance(w, (_OperatorCrossover, _OperatorMutation))]
        for wrapper in wrappers:
            wrapper.ctx = ctx
        try:
            super().step(ctx)
        finally:
            for wrapper in wrappers:
                wrapper.ctx = None

    def ask(self) -> list:
        screening = self.screen is not None and self.screen.active and self.algorithm.is_initialized
        n = getattr(self.algorithm, "n_offsprings", None)
        if screening and n:  # mate `candidates` times as many offspring, keep the n predicted best
            self.algorithm.n_offsprings = self.screen.pool_size(n)
            try:
                self._pending = self.algorithm.ask()
            finally:
                self.algorithm.n_offsprings = n
        else:
            self._pending = self.algorithm.ask()
        if self._pending is None or len(self._pending) == 0:  # no new offspring: the space is exhausted
            self._pending = None
            return []
        archs = self.codec.decode_many(self._pending.get("X"))
        if screening and n and len(archs) > n:
            keep = self.screen.select_indices(archs, n, self.rng)
            self._pending = self._pending[keep]
            archs = [archs[i] for i in keep]
        return archs

    def tell(self, archs: list, results: list[dict[str, float]]) -> None:
        if self.screen is not None:
            self.screen.observe(archs, results)
        if self._pending is None:
            return
        _set_evaluated(self._pending, self.F(results), self.G(results))
        self.algorithm.tell(infills=self._pending)
        self._pending = None

    def population(self) -> list:
        pop = getattr(self.algorithm, "pop", None)
        return [] if pop is None else [self.codec.decode(x) for x in pop.get("X")]


def _set_evaluated(pop, F: np.ndarray, G: np.ndarray) -> None:
    """Give each individual of the pymoo population ``pop`` its row of ``F`` and ``G`` (and an empty ``H``) and
    mark them evaluated: what pymoo's evaluator sets with a problem that returns them, without its
    per-generation problem wrapper and copies."""
    F, G = np.asarray(F, dtype=np.float64), np.asarray(G, dtype=np.float64)
    empty = np.empty(0)  # H, and G without constraints: one size-0 array for all (nothing can be written in it)
    constrained = G.shape[1] > 0
    for individual, f, g in zip(pop, F, G):
        individual.F, individual.G, individual.H = f.copy(), g.copy() if constrained else empty, empty
        individual.evaluated.update(("F", "G", "H"))


def _factory(algorithm: str):
    def create(**kwargs) -> PymooStrategy:
        return PymooStrategy(algorithm=algorithm, **kwargs)

    create.__name__ = f"create_{algorithm}"
    return create


strategies.register("pymoo", PymooStrategy)
for _name in ALGORITHMS:
    strategies.register(_name, _factory(_name))


__all__ = ["ALGORITHMS", "PymooStrategy"]
