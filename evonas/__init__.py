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

__version__ = "0.1.0"

__all__ = [
    "__version__",
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
