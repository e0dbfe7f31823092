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
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Callable, Mapping, Protocol, Tuple, runtime_checkable

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

    def decode_many(self, vectors: Any) -> list:
        """:meth:`decode` of each row of ``vectors`` (shape ``(N, length)``), in order, with the same results
        and errors; a space may check the rows together (:meth:`_decode_many`), which a search engine decoding
        a whole generation at once profits from."""
        vectors = np.asarray(vectors)
        if vectors.ndim != 2:
            return [self.decode(v) for v in vectors]
        return [self.validate(arch) for arch in self._decode_many(vectors)]

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

    # ------------------------------------------------- stand-alone networks
    #: Space options a stand-alone training run (``evonas train``) sets unless it is given them (the DARTS
    #: space accepts published cells that repeat an input there).
    standalone_space_options: Mapping[str, Any] = MappingProxyType({})

    def standalone_options(self, settings: Mapping[str, Any], *, num_classes: int, family: str) -> dict:
        """The keyword arguments of :meth:`build` for a stand-alone training run.

        ``settings`` holds the run's generic network settings (``init_channels``, ``layers``, ``auxiliary``,
        ``batch_size``); ``family`` is the dataset family (``"cifar"``, ``"imagenet"``, ...). A space whose
        network takes them maps them to its own arguments and raises :class:`ConfigError` for a value its
        network cannot take; the default passes ``num_classes`` only (the space's own network defaults).
        """
        return {"num_classes": num_classes}

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

    def _decode_many(self, vectors: np.ndarray) -> list:
        """:meth:`_decode` of each row of the 2-D ``vectors`` (override to decode them together)."""
        return [self._decode(v) for v in vectors]

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
class HasEdgeSplit(Protocol):
    """Edges whose op a few-shot supernet splits on (Zhao et al., ICML 2021): one sub-supernet per op choice.

    * ``edge_choices() -> tuple[tuple[str, ...], ...]``: for each splittable edge (indexed 0, 1, ...), the
      ops it can carry.
    * ``edge_ops(arch, edges) -> tuple[str, ...]``: the ops ``arch`` carries on ``edges`` (which
      sub-supernet scores it).
    * ``fix_edges(arch, fixed) -> arch``: ``arch`` with each edge ``e`` of the mapping ``fixed`` set to
      ``fixed[e]``; a space declares this only where ``fix_edges(sample(rng), fixed)`` is uniform over the
      architectures carrying those ops (edges chosen independently), so a sub-supernet trains its own
      architectures exactly as the one-shot supernet trains all of them.
    """

    def edge_choices(self) -> tuple: ...

    def edge_ops(self, arch: Any, edges: Any) -> tuple: ...

    def fix_edges(self, arch: Any, fixed: Any) -> Any: ...


@runtime_checkable
class HasRepair(Protocol):
    """``repair(rows) -> rows``: any point of the encoding's box mapped to one that decodes."""

    def repair(self, rows: Any) -> np.ndarray: ...


@runtime_checkable
class NamesCandidateModules(Protocol):
    """A supernet module (not a space) that names its candidate op modules: ``candidate_modules()`` (the dotted
    names of every candidate op) and ``path_modules(arch)`` (those ``arch``'s path runs), what a RelativeNAS
    weight set needs to merge op weights; the DARTS and NAS-Bench-201 supernets do."""

    def candidate_modules(self) -> list: ...

    def path_modules(self, arch: Any) -> set: ...


@runtime_checkable
class HasPathEncoding(Protocol):
    """``path_encoding(archs) -> (n, columns)`` float array: a fixed set of columns describing each
    architecture by the op sequences on its input-to-output paths (BANANAS' path encoding, White et al., AAAI
    2021), which a performance predictor reads beside the encoding."""

    def path_encoding(self, archs: Any) -> np.ndarray: ...


@runtime_checkable
class HasCanonicalRows(Protocol):
    """``canonical_rows(rows) -> rows | None``: integer encodings mapped to one representative per architecture
    (rows that decode to the same architecture map to the same row), so a vector engine can key its rows
    without decoding them; None when the space cannot tell."""

    def canonical_rows(self, rows: np.ndarray) -> np.ndarray | None: ...


@runtime_checkable
class HasRelaxation(Protocol):
    """A continuous relaxation of the space on its supernet (DARTS-style mixture weights), what the ``gradient``
    and ``perturbation`` operators and the gradient strategies need.

    * ``path_weights(supernet, arch) -> list[Tensor]``: 0/1 mixture weights of ``arch``'s path, one tensor per
      tensor of ``supernet.arch_parameters()`` (entry ``(e, p)``: how often ``arch`` uses op ``p`` on edge ``e``).
    * ``mixture_logits(supernet, images, weights) -> Tensor``: ``(N, classes)`` logits of the continuous mode
      mixing with ``weights`` exactly as given (no softmax); ops at weight 0 may be skipped.
    * ``expand_edge(supernet, arch, rng) -> EdgeExpansion``: one random edge of ``arch`` opened to every op.
    * ``derive(supernet) -> arch``: the architecture the supernet's own architecture weights point to.
    * ``relaxed_supernet(settings, *, num_classes) -> nn.Module``: the supernet a gradient search (DARTS)
      trains, from the search's settings (``C``, ``layers``, ``N``, ``alpha_share``: each space reads the
      ones its supernet has and refuses values it cannot honour).
    """

    def path_weights(self, supernet: Any, arch: Any) -> list: ...

    def mixture_logits(self, supernet: Any, images: Any, weights: list) -> Any: ...

    def expand_edge(self, supernet: Any, arch: Any, rng: np.random.Generator) -> "EdgeExpansion": ...

    def derive(self, supernet: Any) -> Any: ...

    def relaxed_supernet(self, settings: Mapping[str, Any], *, num_classes: int) -> Any: ...


@dataclass(frozen=True)
class EdgeExpansion:
    """One edge of an architecture opened to all its candidate ops (DAP's perturbation, Wang et al. 2021).

    ``weights``: the architecture's :meth:`HasRelaxation.path_weights` with the edge's candidates set to 1;
    ``rows``: the ``(tensor index, row)`` entries of ``weights`` that hold the edge (two when normal and
    reduction cells share it); ``names``: the op name of each column (``"none"`` is never valued);
    ``child(name)``: the architecture with the edge's op replaced by ``name``; ``where``: a label of the edge
    for logs (e.g. ``("normal", 3)``).
    """

    weights: list
    rows: tuple
    names: tuple
    child: Callable[[str], Any]
    where: tuple = ()

    def masked(self, column: int | None) -> list:
        """Copies of :attr:`weights` with ``column`` of the edge's rows set to 0 (``None``: nothing masked)."""
        out = [w.clone() for w in self.weights]
        if column is not None:
            for index, row in self.rows:
                out[index][row, column] = 0.0
        return out


@runtime_checkable
class HasDrawing(Protocol):
    """``draw(arch, path, *, title=None) -> Path``: a picture of ``arch`` (format from the suffix, PNG by
    default)."""

    def draw(self, arch: Any, path: Any, *, title: str | None = None) -> Any: ...


@runtime_checkable
class HasAnalyticCost(Protocol):
    """``analytic_cost(arch, *, num_classes, resolution) -> {"params": ..., "flops": ...}``: the cost of the
    space's stand-alone network counted without building it (parameters; multiply-accumulates per image)."""

    def analytic_cost(self, arch: Any, *, num_classes: int, resolution: int) -> dict: ...


@runtime_checkable
class HasTables(Protocol):
    """``tables``: names of the tabular benchmarks whose rows are keyed by :meth:`SearchSpace.key` of this space
    (``("nas-bench-201",)``), so a table evaluator can look its architectures up."""

    tables: tuple


@runtime_checkable
class HasCellTools(Protocol):
    """``cell_tools``: the module of DARTS-style cell utilities a cell-based algorithm works with (StacNAS' op
    groups, DAP's expanded cells, op clustering, NAS-Bench-301): ``Genotype``, ``CellwiseGenotype``,
    ``edge_index``, ``num_edges``, ``derive_cell``, ``genotype_to_weights``, ``SearchNetwork``, ... (see
    :mod:`evonas.spaces.darts.celltools`). A space of DARTS-style cells offers it; others do not."""

    cell_tools: Any


def require(space: Any, capability: type, purpose: str) -> Any:
    """Return ``space`` if it has ``capability`` (one of the protocols above), else raise a ConfigError saying
    which method ``purpose`` needs."""
    if not isinstance(space, capability):
        members = [name + ("()" if callable(value) else "") for name, value in vars(capability).items()
                   if not name.startswith("_")]
        members += [name for name in getattr(capability, "__annotations__", {}) if not name.startswith("_")]
        raise ConfigError(f"{purpose} needs a space with {', '.join(members)} "
                          f"({capability.__name__}); {type(space).__name__} has none")
    return space


__all__ = ["EdgeExpansion", "HasAnalyticCost", "HasBounds", "HasCanonicalRows", "HasCellTools", "HasDrawing",
           "HasEdgeSplit", "HasFairPaths", "HasPathEncoding", "HasRelaxation", "HasRepair", "HasSupernet", "HasTables",
           "SearchSpace", "check_rng", "require"]
