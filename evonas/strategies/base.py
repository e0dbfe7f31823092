"""The ``Strategy`` contract: how a population moves.

A strategy proposes architectures (:meth:`Strategy.ask`) and learns their
results (:meth:`Strategy.tell`). :meth:`Strategy.step` runs one generation;
strategies that train between generations (RelativeNAS, DAP) override it.
:func:`evonas.search` owns the loop, the budget, the memo cache and the
checkpoints; strategies never evaluate anything themselves.

Results reach strategies as dicts in natural units; :meth:`Strategy.F` and
:meth:`Strategy.G` turn them into the minimisation / constraint-violation
matrices that pymoo and DEAP expect. A search checkpoint holds a strategy's
:meth:`Strategy.state_dict` (what changes while it runs, its random
generator's state included), not the object: a resumed search builds the
strategy from its settings, sets it up, then loads that state. What the
state holds must be picklable (no lambdas).
"""
from __future__ import annotations

import abc
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from evonas.core import Constraint, Objective
from evonas.errors import ConfigError
from evonas.params import Configurable

if TYPE_CHECKING:
    from evonas.context import SearchContext


#: minimisation-form stand-in for an objective that was not evaluated (see :meth:`Strategy.F`)
NOT_EVALUATED = 1e12


class Strategy(Configurable, abc.ABC):
    """Abstract strategy. Constructors are cheap and keyword-only and pass their settings to this constructor
    (they become ``config``, see :mod:`evonas.params`); :meth:`setup` binds a space.

    What a strategy is and needs is declared on its class (the annotated class attributes below), so that
    the command line, the tests and the contract suites read it instead of keeping lists of names.
    """

    name: str = ""
    #: whether the loop ends the search after 5 generations without a new architecture (strategies whose
    #: proposals legitimately repeat, such as a gradient search's derived cell, end by their own length)
    stop_when_stalled: bool = True
    #: the largest number of objectives the strategy handles (None: any)
    max_objectives: int | None = None
    #: the smallest number it handles
    min_objectives: int = 1
    #: the capabilities it needs of its space, as protocols of :mod:`evonas.spaces.base` (e.g. ``HasSupernet``
    #: for a search of a supernet's relaxation); :meth:`setup` refuses a space without one, naming it
    space_needs: tuple[type, ...] = ()
    #: attributes :meth:`setup` rebuilds from the settings (operators, codecs), so not part of
    #: :meth:`state_dict`; a subclass names its own, the names add up along the class hierarchy (the base adds
    #: its own attributes, the class attributes annotated above and the registry's ``_registry_spec``)
    bound_attributes: tuple[str, ...] = ("config", "space", "objectives", "constraints", "rng", "ctx",
                                         "_registry_spec")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._BOUND = _bound_attributes(cls)

    def __init__(self, **config: Any) -> None:
        self.config = config
        self.space = None
        self.objectives: tuple[Objective, ...] = ()
        self.constraints: tuple[Constraint, ...] = ()
        self.rng: np.random.Generator | None = None
        self.ctx: "SearchContext | None" = None

    def setup(self, space, objectives: Sequence[Objective], rng: np.random.Generator,
              constraints: Sequence[Constraint] = ()) -> None:
        """Bind to a space and objectives; ``rng`` is the strategy's only randomness."""
        if not objectives:
            raise ConfigError("a search needs at least one objective")
        if len(objectives) < self.min_objectives:
            raise ConfigError(f"strategy {self.name!r} needs at least {self.min_objectives} objectives, got "
                              f"{len(objectives)}: use ga or another single-objective strategy")
        if self.max_objectives is not None and len(objectives) > self.max_objectives:
            raise ConfigError(f"strategy {self.name!r} handles {self.max_objectives} objective(s), got "
                              f"{len(objectives)}: use nsga2 or another multi-objective strategy")
        for need in self.space_needs:
            from evonas.spaces.base import require

            require(space, need, f"strategy {self.name!r}")
        self.space, self.objectives, self.rng = space, tuple(objectives), rng
        self.constraints = tuple(constraints)
        self._setup()

    def step(self, ctx: "SearchContext") -> None:
        """One generation: ask, evaluate (``ctx.evaluate``, memoised by the loop), tell.

        Strategies that train between generations override this and use the
        rest of the :class:`~evonas.context.SearchContext` (shared supernets,
        budget left, run directory).
        """
        self.ctx = ctx  # operators of this generation may use it (a learned mutation trains ctx.supernet)
        try:
            archs = self.ask()
            self.tell(archs, ctx.evaluate(archs))
        finally:
            self.ctx = None  # never pickled into a checkpoint

    @abc.abstractmethod
    def ask(self) -> list:
        """Architectures to evaluate next."""

    @abc.abstractmethod
    def tell(self, archs: list, results: list[dict[str, float]]) -> None:
        """Results for the architectures of the last :meth:`ask`, same order."""

    def population(self) -> list:
        """The current population (for reporting); defaults to nothing."""
        return []

    @property
    def finished(self) -> bool:
        """True when the strategy has run its course (a fixed number of generations) before the budget is
        spent; the loop then stops. Strategies bounded only by the budget keep the default, False."""
        return False

    def progress_units(self) -> tuple[int, int, str] | None:
        """``(done, total, unit name)`` for a strategy of fixed length whose progress the display counts in its
        own units (DAP's units of work, a gradient search's epochs, RelativeNAS' generations); None (the
        default): the display counts evaluations against the budget."""
        return None

    def callbacks(self, run_dir) -> list:
        """Extra :class:`~evonas.callbacks.Callback` objects writing the strategy's own results into the run
        directory ``run_dir`` (e.g. RelativeNAS' trajectory); none by default."""
        return []

    def chosen(self) -> Any:
        """The strategy's own final architecture (RelativeNAS' best of the last generation, a gradient
        search's derived cell), or None (the default) when the front is the result. ``evonas search`` prints
        it, and :class:`~evonas.callbacks.StrategyOutputs` (from :meth:`callbacks`) writes it as
        ``chosen.json`` / ``chosen.txt``."""
        return None

    def published_components(self) -> dict[str, Any]:
        """What this strategy's settings (e.g. ``published=True``, a smoke run) fix outside its own options:
        any of ``space`` (a registry name), ``space_options``, ``evaluator`` (a registry name) and
        ``evaluator_options`` (that evaluator's). ``evonas search`` fills in the ones its user did not set, so
        that ``published=True`` is one switch there too; a Python caller builds the components itself. None
        (``{}``) by default."""
        return {}

    def result_files(self) -> dict[str, Any]:
        """More JSON files for the run directory, ``{file name: JSON-able content}`` (written by
        :class:`~evonas.callbacks.StrategyOutputs`, listed by ``evonas search``); none (``{}``) by default."""
        return {}

    def state_dict(self) -> dict:
        """What changes while the strategy runs (its random generator's state included), for an exact resume;
        the settings are not in it (resume builds the strategy from them and calls :meth:`setup` first).

        The default takes every attribute :meth:`setup` does not rebuild; strategies with leaner state
        override :meth:`_state_dict` / :meth:`_load_state_dict`.
        """
        return {"rng": self.rng.bit_generator.state, **self._state_dict()}

    def load_state_dict(self, state: dict) -> None:
        """Inverse of :meth:`state_dict`, on a strategy already :meth:`setup` with the same settings."""
        self.rng.bit_generator.state = state["rng"]
        self._load_state_dict({k: v for k, v in state.items() if k != "rng"})

    def _state_dict(self) -> dict:
        return {k: v for k, v in vars(self).items() if k not in type(self)._BOUND}

    def _load_state_dict(self, state: dict) -> None:
        for key, value in state.items():
            setattr(self, key, value)

    # ---------------------------------------------------------------- helpers
    def _setup(self) -> None:
        """Build the algorithm state after :meth:`setup`."""

    def F(self, results: Sequence[dict[str, float]]) -> np.ndarray:
        """Objective values to minimise, shape ``(N, n_objectives)``.

        A value that was not evaluated (NaN: a gated
        :class:`~evonas.evaluators.base.CompositeEvaluator` stopped at a violated
        constraint) counts as :data:`NOT_EVALUATED`, worse than any real one.
        """
        names = [o.name for o in self.objectives]
        if len(names) > 1:  # one C-level lookup of every objective per result (a tuple of its values)
            row = itemgetter(*names)
            F = np.asarray([row(r) for r in results], dtype=float).reshape(len(results), len(names))
        else:
            F = np.asarray([[r[name] for name in names] for r in results], dtype=float)
        if F.size:  # Objective.to_min of each value: value * sign
            F *= np.asarray([o.sign for o in self.objectives])
        return np.where(np.isnan(F), NOT_EVALUATED, F)

    def G(self, results: Sequence[dict[str, float]]) -> np.ndarray:
        """Constraint values (<= 0 satisfied), shape ``(N, n_constraints)``; not evaluated (NaN) counts as 0:
        such a row already violates the constraint that stopped its evaluation."""
        G = np.asarray([[c.violation(r[c.name]) for c in self.constraints] for r in results],
                       dtype=float).reshape(len(results), len(self.constraints))
        return np.nan_to_num(G, nan=0.0)


def _bound_attributes(cls: type) -> frozenset:
    """The attributes of ``cls`` that are not state: its and its bases' ``bound_attributes``, and the class
    attributes :class:`Strategy` declares (annotated), which subclasses may set per instance from their settings
    (``name``, ``max_objectives``)."""
    names = set(Strategy.__annotations__)
    for klass in cls.__mro__:
        names.update(vars(klass).get("bound_attributes", ()))
    return frozenset(names)


Strategy._BOUND = _bound_attributes(Strategy)


__all__ = ["NOT_EVALUATED", "Strategy"]
