"""evonas: evolutionary neural architecture search.

The curated API (everything else lives in the subpackages, each with its own ``__all__``):

* the verb: :func:`search` (``evonas.search(space, strategy, evaluator, budget=..., seed=...)``) and its
  :class:`SearchResult`;
* the base classes a new component subclasses: :class:`SearchSpace`, :class:`Strategy`, :class:`Evaluator`,
  :class:`Mutation`, :class:`Crossover`, :class:`Executor`; objectives and constraints: :class:`Objective`,
  :class:`Constraint`;
* components by name: :func:`create` (``evonas.create("strategy", "nsga2", pop_size=20)``) and
  :func:`list_components` (what is registered, built-ins and plugins alike);
* the exception types.

Importing :mod:`evonas` is cheap: these names import their modules on first use.
"""
from __future__ import annotations

from evonas.errors import (
    CheckpointError,
    ConfigError,
    CorruptDatasetError,
    DatasetError,
    DatasetNotFoundError,
    EmptyDatasetError,
    EvonasError,
    GenotypeError,
    UnknownDatasetError,
)
from evonas.imports import lazy_exports
from evonas.version import __version__

_EXPORTS = {
    "search": "loop",
    "SearchResult": "result",
    "SearchSpace": "spaces.base",
    "Strategy": "strategies.base",
    "Evaluator": "evaluators.base",
    "Mutation": "operators.base",
    "Crossover": "operators.base",
    "Executor": "runtime.executors",
    "Objective": "core",
    "Constraint": "core",
    "create": "registry",
    "list_components": "registry",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "__version__",
    *_EXPORTS,
    "CheckpointError",
    "ConfigError",
    "CorruptDatasetError",
    "DatasetError",
    "DatasetNotFoundError",
    "EmptyDatasetError",
    "EvonasError",
    "GenotypeError",
    "UnknownDatasetError",
]
