"""NSGA-II on integer index arrays (Deb, Pratap, Agarwal and Meyarivan, IEEE TEVC 2002), without pymoo's objects.

The population is an ``(N, n_var)`` int64 array of the space's encoding
(``space.encode``) with its objective matrix ``F`` ``(N, n_objectives)``
(minimisation form, :meth:`~evonas.strategies.base.Strategy.F`) and
constraint matrix ``G`` ``(N, n_constraints)``. One generation, all of it
vectorised in NumPy on those arrays:

* mating: binary tournaments by feasibility (total violation, smaller wins),
  then non-dominated rank (smaller wins), then crowding distance (larger
  wins), then a coin; uniform crossover of each pair with
  ``crossover_prob`` (each gene from either parent; else the parents are
  copied); random-reset mutation of each child with ``mutation_prob``: each
  gene with ``gene_prob`` (default ``1 / n_var``) takes another value of its
  range, at least one gene per mutated child (so a mutated child differs from
  its parent, as the spaces' own mutations do); the space's ``repair`` (when
  it has one, :class:`~evonas.spaces.base.HasRepair`) maps children to rows
  that decode;
* duplicates: children equal to a member of the population or to an earlier
  child (by the space's canonical rows,
  :class:`~evonas.spaces.base.HasCanonicalRows`, else by the decoded
  architectures' keys) are dropped and mating repeats until ``n_offsprings``
  children are new (at most ``max_mating_rounds`` rounds, each mating up to
  8 times as many children as are still needed; none new at all:
  the space is exhausted and the search stops). With ``revisit=False``
  children asked for in any earlier generation of the run are dropped too, so
  every child is a new evaluation: where most children are architectures
  seen before (a small space such as NAS-Bench-201's late in a run), a
  budget takes several times fewer generations, a different (no longer
  pymoo-equivalent) search;
* survival: pymoo's non-dominated sorting
  (:class:`pymoo.util.nds.non_dominated_sorting.NonDominatedSorting`) and
  crowding distance on the merged population and children, the splitting
  front cut by crowding with random tie-breaks (``randomized_argsort``), as
  pymoo's ``RankAndCrowding``; with constraints the feasible rows survive
  first and infeasible ones fill up by total violation, as pymoo does.

This is the ``nsga2`` strategy's algorithm with operators of its own: the
same defaults (population 20, offspring = population, crossover 0.9, every
child mutated, duplicates eliminated against the population), uniform
crossover and one-gene random reset where the ``nsga2`` strategy uses the
space's crossover and mutation (on NAS-Bench-201 and the toy spaces these are
the same moves), and a cost per generation of a few array operations instead
of pymoo's ``Population`` and ``Individual`` objects. It needs a space with an
integer encoding in a box (:class:`~evonas.spaces.base.HasBounds`); custom
operators (``mutation=``, ``crossover=``) and predictor screening
(``screen=``) are refused: the ``nsga2`` strategy takes them.

All randomness is the strategy's ``rng`` (its state is in the checkpoint), so
a seed reproduces a run and a resumed run continues it exactly.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from evonas.errors import ConfigError
from evonas.registry import strategies
from evonas.spaces.base import HasBounds, HasCanonicalRows, HasRepair
from evonas.strategies.base import Strategy

#: tie-breaking rank of an infeasible row (tournaments compare violations first, so it only orders equal ones)
_INFEASIBLE_RANK = np.iinfo(np.int64).max


@strategies.register("nsga2-fast")
class FastNSGA2(Strategy):
    """NSGA-II on the space's integer encoding, vectorised (see the module docstring).

    Args:
        pop_size: population size (rows kept after survival).
        n_offsprings: new children per generation (None: ``pop_size``).
        crossover_prob: chance a mating recombines (uniform crossover; else the parents are copied).
        mutation_prob: chance each child is mutated (random reset).
        gene_prob: chance each gene of a mutated child is reset (None: ``1 / n_var``); at least one is.
        max_mating_rounds: mating rounds per generation to find ``n_offsprings`` new children.
        revisit: whether children the run asked for in an earlier generation may come back (True, as pymoo's
            NSGA-II: their results come from the search's memo cache); False: every child is new to the run.
        mutation, crossover, screen: not supported (the ``nsga2`` strategy takes them); anything but None is
            refused with a one-line error.
    """

    name = "nsga2-fast"
    space_needs = (HasBounds,)
    #: rebuilt by setup() from the space (not state)
    bound_attributes = ("lower", "span", "canonical", "repairs", "n_var", "_decoded", "_identities", "_asked_rows",
                        "_radix")
    #: rows whose architectures (and identities) are kept (each table is emptied when it is full)
    _DECODED = 50_000

    def __init__(self, *, pop_size: int = 20, n_offsprings: int | None = None, crossover_prob: float = 0.9,
                 mutation_prob: float = 1.0, gene_prob: float | None = None, max_mating_rounds: int = 100,
                 revisit: bool = True, mutation: Any = None, crossover: Any = None, screen: Any = None) -> None:
        for option, value in (("mutation", mutation), ("crossover", crossover), ("screen", screen)):
            if value is not None:
                raise ConfigError(f"strategy 'nsga2-fast' has no {option}= option (it varies the encoding with its "
                                  f"own uniform crossover and random-reset mutation): use strategy 'nsga2' for it")
        if not isinstance(pop_size, (int, np.integer)) or pop_size < 2:
            raise ConfigError(f"pop_size must be an integer >= 2, got {pop_size!r}")
        if n_offsprings is not None and (not isinstance(n_offsprings, (int, np.integer)) or n_offsprings < 1):
            raise ConfigError(f"n_offsprings must be a positive integer or None, got {n_offsprings!r}")
        for option, value in (("crossover_prob", crossover_prob), ("mutation_prob", mutation_prob)):
            if not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
                raise ConfigError(f"{option} must be a probability in [0, 1], got {value!r}")
        if gene_prob is not None and (not isinstance(gene_prob, (int, float)) or not 0.0 <= gene_prob <= 1.0):
            raise ConfigError(f"gene_prob must be a probability in [0, 1] or None, got {gene_prob!r}")
        if not isinstance(max_mating_rounds, (int, np.integer)) or max_mating_rounds < 1:
            raise ConfigError(f"max_mating_rounds must be a positive integer, got {max_mating_rounds!r}")
        if not isinstance(revisit, bool):
            raise ConfigError(f"revisit must be True or False, got {revisit!r}")
        super().__init__(pop_size=pop_size, n_offsprings=n_offsprings, crossover_prob=crossover_prob,
                         mutation_prob=mutation_prob, gene_prob=gene_prob, max_mating_rounds=max_mating_rounds,
                         revisit=revisit, mutation=mutation, crossover=crossover, screen=screen)
        # state (state_dict): the population, its values and survival ranks, the rows of the last ask
        self.X: np.ndarray | None = None  # (N, n_var) int64
        self.fitness: np.ndarray | None = None  # (N, n_objectives) minimisation form
        self.violation: np.ndarray | None = None  # (N,) total constraint violation, 0 = feasible
        self.rank: np.ndarray | None = None  # (N,) non-dominated rank (infeasible: _INFEASIBLE_RANK)
        self.crowding: np.ndarray | None = None  # (N,) crowding distance within its front
        self.pending: np.ndarray | None = None  # rows of the last ask, waiting for their results
        self.asked: set = set()  # identities of every row asked for so far (kept with revisit=False only)

    def _setup(self) -> None:
        probe = np.asarray(self.space.encode(self.space.sample(np.random.default_rng(0))))
        if probe.dtype.kind not in "iub":
            raise ConfigError(f"strategy 'nsga2-fast' needs an integer encoding; {type(self.space).__name__} "
                              f"encodes architectures as {probe.dtype} vectors: use strategy 'nsga2'")
        lower, upper = (np.asarray(b).astype(np.int64) for b in self.space.bounds())
        self.n_var, self.lower, self.span = len(probe), lower, upper - lower + 1
        self.canonical = isinstance(self.space, HasCanonicalRows)
        self.repairs = isinstance(self.space, HasRepair)
        self._decoded: dict[bytes, Any] = {}  # row bytes -> its architecture (children often come back)
        self._identities: dict[bytes, Any] = {}  # row bytes -> space.key of its architecture (no canonical rows)
        # the rows asked for (revisit=False): a child equal to one of them is not new, whatever its identity, which
        # is then not computed (a cache: a resumed strategy starts it empty, with the same results). Each row as
        # one integer (mixed radix over the genes' ranges) in a sorted array where the space is small enough,
        # else as its bytes in a set
        spans = [int(span) for span in self.span]
        self._radix = (np.cumprod([1] + spans[:-1], dtype=np.int64) if math.prod(spans) < 2 ** 62 else None)
        self._asked_rows: Any = np.empty(0, dtype=np.int64) if self._radix is not None else set()

    # ----------------------------------------------------------------- identities
    def _keys(self, rows: np.ndarray) -> list:
        """One identity per row of ``rows`` (N, n_var): equal for rows of the same architecture."""
        if self.canonical:
            canon = self.space.canonical_rows(rows)
            if canon is not None:
                canon = np.ascontiguousarray(canon, dtype=np.int64)
                return [row.tobytes() for row in canon]
        key = self.space.key
        return self._cached(rows, self._identities, lambda new: [key(arch) for arch in self.space.decode_many(new)])

    # ----------------------------------------------------------------- ask / tell
    def ask(self) -> list:
        rows, keys = self._initial_rows() if self.X is None else self._offspring()
        if len(rows) == 0:  # no new row: the space is exhausted around the population
            self.pending = None
            return []
        self.pending = rows
        if not self.config["revisit"]:
            self.asked.update(keys)
            self._remember_rows(rows)
        return self._decode(rows)

    def tell(self, archs: list, results: list[dict[str, float]]) -> None:
        if self.pending is None:
            return
        rows, F = self.pending, self.F(results)
        CV = np.clip(self.G(results), 0.0, None).sum(axis=1) if self.constraints else np.zeros(len(F))
        self.pending = None
        if self.X is not None:
            rows, F, CV = (np.concatenate([self.X, rows]), np.concatenate([self.fitness, F]),
                           np.concatenate([self.violation, CV]))
        survivors, rank, crowding = self._survive(F, CV, self.config["pop_size"])
        self.X, self.fitness, self.violation = rows[survivors], F[survivors], CV[survivors]
        self.rank, self.crowding = rank, crowding

    def _state_dict(self) -> dict:
        """The population arrays (replaced, never changed in place, by each generation) and a copy of the rows
        asked for (a set that grows in place): a snapshot, however the strategy goes on."""
        return {**super()._state_dict(), "asked": set(self.asked)}

    def population(self) -> list:
        return [] if self.X is None else self._decode(self.X)

    def _decode(self, rows: np.ndarray) -> list:
        """The architectures of ``rows`` (N, n_var): those not decoded before in one ``decode_many`` call."""
        return self._cached(rows, self._decoded, self.space.decode_many)

    def _cached(self, rows: np.ndarray, cache: dict, compute) -> list:
        """``compute(rows)`` (a list, one item per row) through ``cache`` (row bytes -> item): only the rows not
        in it are computed, in one call; a cache that would pass :data:`_DECODED` rows starts over."""
        rows = np.ascontiguousarray(rows, dtype=np.int64)
        tokens = [row.tobytes() for row in rows]
        new = [i for i, token in enumerate(tokens) if token not in cache]
        if new:
            if len(cache) + len(new) > self._DECODED:  # full: start over with this call's rows only
                cache.clear()
                new = list(range(len(tokens)))
            for i, item in zip(new, compute(rows[new])):
                cache[tokens[i]] = item
        return [cache[token] for token in tokens]

    # ----------------------------------------------------------------- generation
    def _initial_rows(self) -> tuple[np.ndarray, list]:
        """``pop_size`` distinct rows from the space's own sampling (fewer where the space has fewer), and their
        identities."""
        n = self.config["pop_size"]
        rows, seen = [], {}
        for _ in range(self.config["max_mating_rounds"]):
            batch = np.asarray([self.space.encode(self.space.sample(self.rng)) for _ in range(n - len(rows))],
                               dtype=np.int64)
            for row, key in zip(batch, self._keys(batch)):
                if key not in seen and key not in self.asked:
                    seen[key] = None
                    rows.append(row)
            if len(rows) >= n:
                break
        return np.asarray(rows, dtype=np.int64).reshape(len(rows), self.n_var), list(seen)

    def _offspring(self) -> tuple[np.ndarray, list]:
        """Up to ``n_offsprings`` new rows and their identities: mated, varied, repaired, duplicates of the
        population, of each other (and with ``revisit=False`` of every row asked before) dropped, repeated until
        enough are new."""
        n = self.config["n_offsprings"] or self.config["pop_size"]
        seen = set(self._keys(self.X))
        asked = self.asked  # empty with revisit=True
        kept: list[np.ndarray] = []
        keys: list = []
        for round_ in range(self.config["max_mating_rounds"]):
            # twice as many children as still needed each further round (up to 8 n): where few children are new,
            # a round costs the same few array operations for many more candidates
            children = self._mate(min((n - len(keys)) << min(round_, 3), 8 * n))
            children = children[~self._asked_before(children)]  # before their identities are computed
            fresh = []
            for i, key in enumerate(self._keys(children)):
                if key not in seen and key not in asked:
                    seen.add(key)
                    fresh.append(i)
                    keys.append(key)
            if fresh:
                kept.append(children[fresh])
            if len(keys) >= n:
                break
        if not kept:
            return np.empty((0, self.n_var), dtype=np.int64), []
        return np.concatenate(kept)[:n], keys[:n]

    def _remember_rows(self, rows: np.ndarray) -> None:
        """Add ``rows`` (N, n_var) to the rows asked for."""
        if self._radix is None:
            self._asked_rows.update(row.tobytes() for row in np.ascontiguousarray(rows, dtype=np.int64))
            return
        codes = np.unique((rows - self.lower) @ self._radix)
        codes = codes[~_sorted_contains(self._asked_rows, codes)]
        self._asked_rows = np.insert(self._asked_rows, np.searchsorted(self._asked_rows, codes), codes)

    def _asked_before(self, rows: np.ndarray) -> np.ndarray:
        """``(N,)`` bools: which of ``rows`` (N, n_var) equal a row asked for before (with ``revisit=False``)."""
        if not len(self._asked_rows):  # nothing asked yet, or revisit=True: no codes to compute
            return np.zeros(len(rows), dtype=bool)
        if self._radix is not None:
            return _sorted_contains(self._asked_rows, (rows - self.lower) @ self._radix)
        rows = np.ascontiguousarray(rows, dtype=np.int64)
        return np.fromiter((row.tobytes() in self._asked_rows for row in rows), dtype=bool, count=len(rows))

    def _mate(self, n: int) -> np.ndarray:
        """``n`` children (n, n_var): tournament-selected pairs, uniform crossover, random-reset mutation."""
        rng, pairs = self.rng, (n + 1) // 2
        parents = self._tournament(2 * pairs).reshape(pairs, 2)
        a, b = self.X[parents[:, 0]], self.X[parents[:, 1]]
        mix = (rng.random((pairs, self.n_var)) < 0.5) & (rng.random((pairs, 1)) < self.config["crossover_prob"])
        children = np.concatenate([np.where(mix, b, a), np.where(mix, a, b)])[:n]
        return self._mutate(children)

    def _tournament(self, n: int) -> np.ndarray:
        """Indices of ``n`` winners of binary tournaments between random members of the population."""
        rng = self.rng
        contest = rng.integers(0, len(self.X), size=(n, 2))
        a, b = contest[:, 0], contest[:, 1]
        cv, rank, crowding = self.violation, self.rank, self.crowding
        coin = rng.random(n) < 0.5
        a_wins = np.where(cv[a] != cv[b], cv[a] < cv[b],
                          np.where(rank[a] != rank[b], rank[a] < rank[b],
                                   np.where(crowding[a] != crowding[b], crowding[a] > crowding[b], coin)))
        return np.where(a_wins, a, b)

    def _mutate(self, children: np.ndarray) -> np.ndarray:
        """Random reset: in each child drawn with ``mutation_prob``, each gene with ``gene_prob`` (at least one
        gene, chosen uniformly, when none is drawn) takes another value of its range; then the space's repair."""
        rng, (n, n_var) = self.rng, children.shape
        gene_prob = self.config["gene_prob"]
        gene_prob = 1.0 / n_var if gene_prob is None else gene_prob
        mutated = rng.random(n) < self.config["mutation_prob"]
        reset = rng.random((n, n_var)) < gene_prob
        forced = rng.integers(0, n_var, size=n)
        none = ~reset.any(axis=1)
        reset[none, forced[none]] = True
        reset &= mutated[:, None] & (self.span > 1)
        # another value of the gene's range: shift by 1..span-1 within it
        shift = 1 + (rng.random((n, n_var)) * (self.span - 1)).astype(np.int64)
        moved = self.lower + (children - self.lower + shift) % self.span
        children = np.where(reset, moved, children)
        if self.repairs:
            children = np.asarray(self.space.repair(children)).astype(np.int64)
        return children

    def _survive(self, F: np.ndarray, CV: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Indices of the ``n`` rows of ``F`` (N, m) that survive, with their rank and crowding distance: feasible
        rows (``CV == 0``) by non-dominated fronts, the splitting front cut by crowding distance (random ties),
        then infeasible rows by total violation (pymoo's ``RankAndCrowding`` with its feasibility split)."""
        from pymoo.operators.survival.rank_and_crowding.metrics import get_crowding_function
        from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting
        from pymoo.util.randomized_argsort import randomized_argsort

        n = min(n, len(F))
        feasible = np.flatnonzero(CV <= 0)
        survivors, ranks, crowdings = [], [], []
        crowding_of = get_crowding_function("cd")
        if len(feasible):
            n_feasible = min(len(feasible), n)
            taken = 0
            for k, front in enumerate(NonDominatedSorting().do(F[feasible], n_stop_if_ranked=n_feasible)):
                cut = max(taken + len(front) - n_feasible, 0)
                crowding = crowding_of.do(F[feasible[front]], n_remove=cut)
                if cut:
                    keep = randomized_argsort(crowding, order="descending", method="numpy",
                                              random_state=self.rng)[:n_feasible - taken]
                    front, crowding = front[keep], crowding[keep]
                survivors.append(feasible[front])
                ranks.append(np.full(len(front), k, dtype=np.int64))
                crowdings.append(crowding)
                taken += len(front)
        remaining = n - sum(len(s) for s in survivors)
        if remaining > 0:
            infeasible = np.flatnonzero(CV > 0)
            order = infeasible[np.argsort(CV[infeasible], kind="stable")][:remaining]
            survivors.append(order)
            ranks.append(np.full(len(order), _INFEASIBLE_RANK, dtype=np.int64))
            crowdings.append(np.zeros(len(order)))
        return np.concatenate(survivors), np.concatenate(ranks), np.concatenate(crowdings)


def _sorted_contains(sorted_values: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``(N,)`` bools: which of ``values`` are in the sorted array ``sorted_values``."""
    if not len(sorted_values):
        return np.zeros(len(values), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_values, values), len(sorted_values) - 1)
    return sorted_values[at] == values


__all__ = ["FastNSGA2"]
