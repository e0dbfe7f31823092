"""The ``Evaluator`` contract: architectures in, objective values out, in batches.

An evaluator declares its :class:`Objective` s (name and direction) and
maps a batch of architectures to one ``dict[str, float]`` per architecture.
It may report more values than it declares (extra columns land in the run
history). The public :meth:`Evaluator.evaluate` does the bookkeeping
(set-up check, result checks, counting); subclasses implement
:meth:`Evaluator._evaluate`.

``version`` identifies the state an evaluator scores with: a supernet
evaluator bumps it whenever its shared weights change, so that a memo cache
keyed on ``(architecture key, version)`` never reuses a stale score.
"""
from __future__ import annotations

import abc
import math
from typing import Any, Mapping, Sequence

from evonas.core import Objective, parse_objective  # noqa: F401  (re-exported: evaluators declare objectives)
from evonas.errors import ConfigError, EvonasError
from evonas.params import Configurable, describe

#: value key a gated :class:`CompositeEvaluator` adds: 1.0 when a constraint was already violated and the later
#: evaluators did not run (their values are NaN), else 0.0
GATED = "gated"


class Evaluator(Configurable, abc.ABC):
    """Abstract evaluator. Constructors are cheap (their arguments are the settings, see :mod:`evonas.params`);
    heavy work goes in :meth:`setup`."""

    #: registry name
    name: str = ""

    def __init__(self) -> None:
        self.space = None
        self.evaluations = 0
        self._is_set_up = False

    # ------------------------------------------------------------- contract
    @property
    @abc.abstractmethod
    def objectives(self) -> tuple[Objective, ...]:
        """The objectives every result dict contains."""

    @property
    def version(self) -> Any:
        """What the scores depend on besides the architecture (bump when weights change)."""
        return 0

    def setup(self, space) -> None:
        """Bind to a search space and do the heavy preparation (load data, train, ...)."""
        self.space = space
        self._setup(space)
        self._is_set_up = True

    def is_set_up_for(self, space) -> bool:
        """True when :meth:`setup` has run on ``space`` or on a space of the same type and settings (a search then
        does not set up again)."""
        current = getattr(self, "space", None)
        return bool(self._is_set_up) and (current is space or describe(current) == describe(space))

    def evaluate(self, archs: Sequence[Any]) -> list[dict[str, float]]:
        """Objective values for each architecture of ``archs`` (same order)."""
        if not self._is_set_up:
            raise EvonasError(f"{type(self).__name__}.setup(space) must be called before evaluate()")
        archs = list(archs)
        if not archs:
            return []
        results = self._evaluate(archs)
        if len(results) != len(archs):
            raise EvonasError(f"{type(self).__name__} returned {len(results)} results for {len(archs)} architectures")
        checked, names = [], [o.name for o in self.objectives]  # objectives may be built on each access
        for result in results:
            missing = [name for name in names if name not in result]
            if missing:
                raise EvonasError(f"{type(self).__name__} result lacks objective(s) {missing}")
            values = {key: float(value) for key, value in result.items()}
            bad = [name for name in names if math.isnan(values[name])]
            if bad and values.get(GATED) != 1.0:
                raise EvonasError(f"{type(self).__name__} returned NaN for {bad}")
            checked.append(values)
        self.evaluations += len(archs)
        return checked

    @property
    def gate_constraints(self) -> tuple:
        """Constraints this evaluator (or one inside it) stops evaluating at; :func:`evonas.search` requires
        them among its own, so that a gated architecture is always infeasible."""
        return ()

    def state_dict(self) -> dict:
        """Whatever must be restored for a resumed search to score the same way."""
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Inverse of :meth:`state_dict`."""

    # ------------------------------------------------------------- replicas
    @property
    def shares_weights(self) -> bool:
        """Whether scores depend on weights that may change during a search (a shared supernet): copies in
        worker processes would drift from them, so only the local and Ray executors take such an evaluator."""
        return False

    @property
    def wants_gpu(self) -> bool:
        """Whether the evaluator runs faster with a GPU (a Ray actor then reserves one when the cluster has
        them)."""
        return False

    def replica_state(self) -> Any:
        """What a copy of this evaluator, built as constructed, needs besides :meth:`setup` to score exactly as
        this one does now; a multi-machine executor sends it to each worker. None (the default): setup alone
        gives the same scores. A supernet evaluator returns its weights, so that workers never train."""
        return None

    def setup_replica(self, space, state: Any) -> None:
        """Set up a copy from :meth:`replica_state` (None: a plain :meth:`setup`)."""
        self.setup(space)

    def load_replica_state(self, state: Any) -> None:
        """Bring a replica up to date with a newer :meth:`replica_state` (the weights changed in the search)."""

    # ---------------------------------------------------------------- hooks
    def _setup(self, space) -> None:
        """Heavy preparation; the default does nothing."""

    @abc.abstractmethod
    def _evaluate(self, archs: list[Any]) -> list[Mapping[str, float]]:
        """Score ``archs``; return one mapping per architecture."""


class CompositeEvaluator(Evaluator):
    """Merge several evaluators: their objectives are concatenated, results merged.

    ``CompositeEvaluator([supernet, CostEvaluator(metrics=("flops",))])``
    gives accuracy and FLOPs in one result. Objective names must not clash.

    ``constraints`` (e.g. ``["macs <= 60e6"]``, the search's constraints)
    turn the members into a cascade: they run in the given order, and an
    architecture that already violates a constraint on the values computed
    so far is not sent to the later members; the objectives those would
    have given are NaN ("not evaluated"). Put cheap evaluators (cost) first
    and expensive ones (supernet) last. Such an architecture is infeasible
    anyway (:func:`evonas.search` requires these constraints among its own),
    so the front is unchanged; pymoo ranks it by its violation, DEAP's
    penalty puts it behind every evaluated architecture.
    """

    name = "composite"

    def __init__(self, evaluators: Sequence[Evaluator], constraints: Sequence[Any] = ()) -> None:
        from evonas.core import parse_constraint

        super().__init__()
        if not evaluators:
            raise ConfigError("CompositeEvaluator needs at least one evaluator")
        self.evaluators = list(evaluators)
        self.constraints = tuple(parse_constraint(c) for c in constraints)
        self.config["constraints"] = [str(c) for c in self.constraints]  # canonical: "a<=1" is "a <= 1"
        names = [o.name for e in self.evaluators for o in e.objectives]
        clashes = sorted({n for n in names if names.count(n) > 1})
        if clashes:
            raise ConfigError(f"objective name(s) {clashes} are declared by more than one evaluator")

    @property
    def objectives(self) -> tuple[Objective, ...]:
        return tuple(o for e in self.evaluators for o in e.objectives)

    @property
    def version(self) -> Any:
        return tuple(e.version for e in self.evaluators)

    def _setup(self, space) -> None:
        for evaluator in self.evaluators:
            evaluator.setup(space)

    def _evaluate(self, archs: list[Any]) -> list[dict[str, float]]:
        merged: list[dict[str, float]] = [{} for _ in archs]
        pending = list(range(len(archs)))  # still within every constraint checked so far
        for evaluator in self.evaluators:
            if not pending:
                break
            for i, result in zip(pending, evaluator.evaluate([archs[i] for i in pending])):
                merged[i].update(result)
            pending = [i for i in pending if not self._violates(merged[i])]
        if not self.constraints:
            return merged
        names = ({o.name for o in self.objectives} | {c.name for c in self.constraints}
                 | {key for row in merged for key in row})
        for i, row in enumerate(merged):
            row[GATED] = 0.0 if i in pending else 1.0
            for name in names:
                row.setdefault(name, math.nan)
        return merged

    @property
    def gate_constraints(self) -> tuple:
        return self.constraints + tuple(c for e in self.evaluators for c in e.gate_constraints)

    def _violates(self, values: Mapping[str, float]) -> bool:
        """Whether a constraint on the values known so far is violated."""
        return any(c.name in values and c.violation(values[c.name]) > 0 for c in self.constraints)

    def state_dict(self) -> dict:
        return {"parts": [e.state_dict() for e in self.evaluators]}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        for evaluator, part in zip(self.evaluators, state.get("parts", [])):
            evaluator.load_state_dict(part)

    @property
    def shares_weights(self) -> bool:
        return any(e.shares_weights for e in self.evaluators)

    @property
    def wants_gpu(self) -> bool:
        return any(e.wants_gpu for e in self.evaluators)

    def replica_state(self) -> Any:
        parts = [e.replica_state() for e in self.evaluators]
        return None if all(part is None for part in parts) else {"parts": parts}

    def setup_replica(self, space, state: Any) -> None:
        parts = [None] * len(self.evaluators) if state is None else state["parts"]
        self.space = space
        for evaluator, part in zip(self.evaluators, parts):
            evaluator.setup_replica(space, part)
        self._is_set_up = True

    def load_replica_state(self, state: Any) -> None:
        for evaluator, part in zip(self.evaluators, [] if state is None else state["parts"]):
            evaluator.load_replica_state(part)


class SelectObjectives(Evaluator):
    """Use any values an evaluator reports as the objectives, with chosen directions.

    ``SelectObjectives(CostEvaluator(metrics=("params", "flops", "latency")),
    [Objective("params"), Objective("latency")])`` searches params vs latency
    and keeps FLOPs as an extra column (usable in constraints).
    """

    name = "select"

    def __init__(self, inner: Evaluator, objectives: Sequence[Objective]) -> None:
        super().__init__()
        if not objectives:
            raise ConfigError("select at least one objective")
        self.inner, self._objectives = inner, tuple(objectives)

    @property
    def objectives(self) -> tuple[Objective, ...]:
        return self._objectives

    @property
    def version(self) -> Any:
        return self.inner.version

    def _setup(self, space) -> None:
        self.inner.setup(space)

    @property
    def gate_constraints(self) -> tuple:
        return self.inner.gate_constraints

    def _evaluate(self, archs: list[Any]) -> list[dict[str, float]]:
        results = self.inner.evaluate(archs)
        complete = [r for r in results if r.get(GATED) != 1.0]  # gated rows lack what was not evaluated
        missing = [o.name for o in self._objectives if complete and o.name not in complete[0]]
        if missing:
            raise ConfigError(f"objective(s) {missing} are not reported by {type(self.inner).__name__}; "
                              f"it reports {', '.join(complete[0])}")
        for row in results:
            if row.get(GATED) == 1.0:
                for o in self._objectives:
                    row.setdefault(o.name, math.nan)
        return results

    def state_dict(self) -> dict:
        return self.inner.state_dict()

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.inner.load_state_dict(state)

    @property
    def shares_weights(self) -> bool:
        return self.inner.shares_weights

    @property
    def wants_gpu(self) -> bool:
        return self.inner.wants_gpu

    def replica_state(self) -> Any:
        return self.inner.replica_state()

    def setup_replica(self, space, state: Any) -> None:
        self.space = space
        self.inner.setup_replica(space, state)
        self._is_set_up = True

    def load_replica_state(self, state: Any) -> None:
        self.inner.load_replica_state(state)


__all__ = ["CompositeEvaluator", "Evaluator", "GATED", "Objective", "SelectObjectives", "parse_objective"]
