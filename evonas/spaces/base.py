"""The ``SearchSpace`` contract every evonas search space implements.

An architecture value is immutable, hashable and JSON round-trippable (a
DARTS ``Genotype``, a tuple of layer choices, ...). Public methods do the
bookkeeping (argument checks, validation); subclasses implement the private
hooks (``_sample``, ``_mutate``, ...), as pymoo's ``do`` / ``_do``.
Randomness is always an argument (``rng: np.random.Generator``), never a
global. Constructors are cheap and keyword-only; nothing heavy happens
before ``build``.
"""
from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Any, Protocol, Tuple, runtime_checkable

import numpy as np

from evonas.errors import ConfigError, EvonasError
from evonas.params import Configurable

if TYPE_CHECKING:  # torch is only needed by spaces that build modules
    from torch import nn


def check_rng(rng: Any) -> np.random.Generator:
    """Return ``rng`` if it is a ``numpy.random.Generator``; raise TypeError otherwise."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), got {type(rng).__name__}")
    return rng


class SearchSpace(Configurable, abc.ABC):
    """Abstract search space: sampling, variation, encoding, building, identity.

    Subclasses set ``name`` (the registry name) and implement
    :meth:`validate` and the ``_``-prefixed hooks; their constructor's arguments
    are their settings (:mod:`evonas.params`).
    """

    name: str = ""

    # ----------------------------------------------------------- public API
    def sample(self, rng: np.random.Generator) -> Any:
        """A random valid architecture."""
        return self._sample(check_rng(rng))

    def mutate(self, arch: Any, rng: np.random.Generator) -> Any:
        """A valid architecture that differs from ``arch`` by one small change."""
        return self._mutate(self.validate(arch), check_rng(rng))

    def crossover(self, a: Any, b: Any, rng: np.random.Generator) -> Tuple[Any, Any]:
        """Two valid children recombined from parents ``a`` and ``b``."""
        return self._crossover(self.validate(a), self.validate(b), check_rng(rng))

    def encode(self, arch: Any) -> np.ndarray:
        """The architecture as a 1-D numeric vector (the space's encoding)."""
        return self._encode(self.validate(arch))

    def decode(self, vector: Any) -> Any:
        """Inverse of :meth:`encode` (raises the space's error for invalid vectors)."""
        return self.validate(self._decode(np.asarray(vector)))

    def build(self, arch: Any, **net_kwargs: Any) -> "nn.Module":
        """A fresh, stand-alone ``nn.Module`` for ``arch``."""
        return self._build(self.validate(arch), **net_kwargs)

    def is_valid(self, arch: Any) -> bool:
        """True when :meth:`validate` accepts ``arch``."""
        try:
            self.validate(arch)
        except (EvonasError, TypeError, ValueError):
            return False
        return True

    def key(self, arch: Any) -> str:
        """Canonical string key of ``arch`` (stable across processes), for memo caches."""
        return self._key(self.validate(arch))

    def to_json(self, arch: Any) -> Any:
        """A JSON-able form of ``arch`` (``arch.to_dict()`` when it has one, else a list)."""
        arch = self.validate(arch)
        to_dict = getattr(arch, "to_dict", None)
        return to_dict() if callable(to_dict) else list(arch)

    def from_json(self, data: Any) -> Any:
        """Inverse of :meth:`to_json`."""
        return self.validate(data)

    # ---------------------------------------------------------------- hooks
    @abc.abstractmethod
    def validate(self, arch: Any) -> Any:
        """Return ``arch`` as this space's architecture value, or raise an EvonasError naming the problem."""

    @abc.abstractmethod
    def _sample(self, rng: np.random.Generator) -> Any: ...

    @abc.abstractmethod
    def _mutate(self, arch: Any, rng: np.random.Generator) -> Any: ...

    @abc.abstractmethod
    def _crossover(self, a: Any, b: Any, rng: np.random.Generator) -> Tuple[Any, Any]: ...

    @abc.abstractmethod
    def _encode(self, arch: Any) -> np.ndarray: ...

    @abc.abstractmethod
    def _decode(self, vector: np.ndarray) -> Any: ...

    @abc.abstractmethod
    def _build(self, arch: Any, **net_kwargs: Any) -> "nn.Module": ...

    @abc.abstractmethod
    def _key(self, arch: Any) -> str: ...


# ----------------------------------------------------------------------------- optional capabilities
# What some spaces offer beyond the contract, declared so that a component needing one can check for it and
# say what is missing (``require(space, HasSupernet, "the supernet evaluator")``).


@runtime_checkable
class HasSupernet(Protocol):
    """``build_supernet(**kwargs) -> nn.Module``: a weight-sharing supernet called as ``supernet(x, arch)``."""

    def build_supernet(self, **kwargs: Any) -> "nn.Module": ...


@runtime_checkable
class HasBounds(Protocol):
    """``bounds() -> (lower, upper)``: the box of the numeric encoding (vector operators work inside it)."""

    def bounds(self) -> Tuple[np.ndarray, np.ndarray]: ...


@runtime_checkable
class HasFairPaths(Protocol):
    """``fair_paths(rng) -> list``: paths using every candidate of every layer once (FairNAS strict fairness)."""

    def fair_paths(self, rng: np.random.Generator) -> list: ...


@runtime_checkable
class HasRepair(Protocol):
    """``repair(rows) -> rows``: any point of the encoding's box mapped to one that decodes."""

    def repair(self, rows: Any) -> np.ndarray: ...


def require(space: Any, capability: type, purpose: str) -> Any:
    """Return ``space`` if it has ``capability`` (one of the protocols above), else raise a ConfigError saying
    which method ``purpose`` needs."""
    if not isinstance(space, capability):
        methods = [name for name in vars(capability) if not name.startswith("_")]
        raise ConfigError(f"{purpose} needs a space with {', '.join(m + '()' for m in methods)} "
                          f"({capability.__name__}); {type(space).__name__} has none")
    return space
