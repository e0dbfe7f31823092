"""evonas: evolutionary neural architecture search.

Search spaces (:mod:`evonas.spaces`), evaluators (:mod:`evonas.evaluators`)
and strategies (:mod:`evonas.strategies`) are kept apart; the data layer is
:mod:`evonas.data`. Importing :mod:`evonas` is cheap: submodules are imported
on first use.
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

from evonas.version import __version__

def __getattr__(name: str):
    """Lazy top-level API: ``evonas.search`` and ``evonas.SearchResult`` import the engine on first use."""
    if name == "search":
        from evonas.loop import search

        return search
    if name == "SearchResult":
        from evonas.result import SearchResult

        return SearchResult
    raise AttributeError(f"module 'evonas' has no attribute {name!r}")


__all__ = [
    "__version__",
    "search",
    "SearchResult",
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
