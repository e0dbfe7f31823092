"""Importing on demand: optional back-ends named by the extra that installs them, and lazy package exports.

* :func:`optional_import`: ``optional_import("xgboost", extra="surrogate", purpose="the xgboost surrogate")``
  returns the module or raises :class:`~evonas.errors.ConfigError` saying ``pip install "evonas[surrogate]"``
  (Optuna's ``_imports`` convention), so a missing optional dependency is one line, never a traceback.
* :func:`lazy_exports`: a package's curated names that live in submodules are imported on first use (PEP 562),
  so ``import evonas.evaluators`` stays cheap and ``from evonas.evaluators import CostEvaluator`` works.
"""
from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any, Callable, Mapping

from evonas.errors import ConfigError


def optional_import(module: str, *, extra: str, purpose: str) -> ModuleType:
    """``module`` imported, or a ConfigError naming ``purpose`` and the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ConfigError(f'{purpose} needs {module}: pip install "evonas[{extra}]"') from None


def lazy_exports(package: str, exports: Mapping[str, str]) -> tuple[Callable[[str], Any], Callable[[], list]]:
    """``(__getattr__, __dir__)`` for ``package`` whose public names live in submodules.

    ``exports`` maps each public name to the submodule (relative to ``package``) that defines it; the
    submodule is imported when the name is first read.
    """

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{exports[name]}"), name)

    def __dir__() -> list:
        return sorted(exports)

    return __getattr__, __dir__


__all__ = ["lazy_exports", "optional_import"]
