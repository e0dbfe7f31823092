"""``DartsSpace``: the DARTS cell search space behind the SearchSpace contract."""
from __future__ import annotations

from types import MappingProxyType
from typing import Any, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
from torch import nn

from evonas.errors import ConfigError, GenotypeError
from evonas.registry import spaces
from evonas.spaces.base import SearchSpace
from evonas.spaces.darts import edge_split
from evonas.spaces.darts.cellwise import CellwiseGenotype, as_cellwise
from evonas.spaces.darts.encodings import (
    DiscreteEdgeEncoding,
    RelativeNASEncoding,
    crossover_genotypes,
    mutate_genotype,
    sample_genotype,
)
from evonas.spaces.darts.genotype import CELL_KINDS, Genotype, GenotypeSpec, resolve_genotype
from evonas.spaces.darts.networks import NetworkCIFAR, NetworkImageNet
from evonas.spaces.darts.ops import GENOTYPE_PRIMITIVES

_NETWORK_DEFAULTS = {
    "cifar": dict(C=36, num_classes=10, layers=20, auxiliary=False, drop_path_prob=0.0),
    "imagenet": dict(C=48, num_classes=1000, layers=14, auxiliary=False, drop_path_prob=0.0),
}


@spaces.register("darts")
class DartsSpace(SearchSpace):
    """DARTS cell space: a normal and a reduction cell of ``steps`` nodes.

    Keyword-only arguments, all defaulting to None (stored as given):

    * ``steps``: intermediate nodes per cell (4).
    * ``primitives``: ops that sampling and mutation may choose (the 7
      non-``none`` DARTS ops). Validation also requires every op of an
      architecture to be in this list.
    * ``allow_duplicate_inputs``: allow a node to read one state twice
      (RelativeNAS; False: NASBench-301 / DARTS rule).
    * ``shared_cell``: the reduction cell equals the normal cell (DAP).
    * ``encoding``: ``"discrete"`` (:class:`DiscreteEdgeEncoding`, default),
      ``"relativenas"`` (:class:`RelativeNASEncoding`; implies duplicate
      inputs and its own 7-op order) or an encoding object.
    * ``network``: what :meth:`build` makes, ``"cifar"`` (default) or
      ``"imagenet"``.

    Architectures are :class:`Genotype` values; any
    :func:`resolve_genotype` spec (name, JSON, text, path) is accepted.
    """

    name = "darts"

    def __init__(self, *, steps: Optional[int] = None, primitives: Optional[Sequence[str]] = None,
                 allow_duplicate_inputs: Optional[bool] = None, shared_cell: Optional[bool] = None,
                 encoding: Union[None, str, Any] = None, network: Optional[str] = None):
        self.steps = steps
        self.primitives = primitives
        self.allow_duplicate_inputs = allow_duplicate_inputs
        self.shared_cell = shared_cell
        self.encoding = encoding
        self.network = network

    # ------------------------------------------------------- resolved config
    @property
    def _steps(self) -> int:
        return 4 if self.steps is None else int(self.steps)

    @property
    def _encoding(self) -> Any:
        enc = self.encoding
        if not (enc is None or isinstance(enc, str)):
            return enc
        settings = (enc, self.primitives, self.steps, self.allow_duplicate_inputs)
        cached = self.__dict__.get("_cached_encoding")
        if cached is not None and cached[0] == settings:  # built once per setting (it caches its bounds)
            return cached[1]
        if enc is None or enc == "discrete":
            built = DiscreteEdgeEncoding(primitives=self._primitives, steps=self._steps,
                                         allow_duplicate_inputs=self._dup)
        elif enc == "relativenas":
            built = RelativeNASEncoding(steps=self._steps)
        else:
            raise ConfigError(f"unknown encoding {enc!r}; valid: 'discrete', 'relativenas' or an encoding object")
        self._cached_encoding = (settings, built)
        return built

    @property
    def _primitives(self) -> Tuple[str, ...]:
        return GENOTYPE_PRIMITIVES if self.primitives is None else tuple(self.primitives)

    @property
    def _dup(self) -> bool:
        if self.allow_duplicate_inputs is None:
            return self.encoding == "relativenas"
        return bool(self.allow_duplicate_inputs)

    # ----------------------------------------------------------- contract
    def validate(self, arch: GenotypeSpec) -> Genotype:
        """Resolve ``arch`` and check it against this space's rules (GenotypeError otherwise).

        A genotype that passed once is marked with these rules and passes again at no cost (search loops
        validate the same architecture in decoding, keying and encoding)."""
        rules = self._rules()
        if type(arch) in (Genotype, CellwiseGenotype) and arch.__dict__.get("_valid_under") == rules:
            return arch
        cellwise = as_cellwise(arch)
        g = self._check(arch) if cellwise is None else self._check_cellwise(cellwise)
        object.__setattr__(g, "_valid_under", rules)
        return g

    def _rules(self) -> tuple:
        """The settings validity depends on (a genotype marked with them passes :meth:`validate` at once)."""
        return (self.steps, self.primitives, self.allow_duplicate_inputs, self.shared_cell, self.encoding)

    def _check(self, arch: GenotypeSpec) -> Genotype:
        g = resolve_genotype(arch, allow_duplicate_inputs=self._dup)
        self._check_cells(g.steps, [(f"{kind} cell", g.cell(kind)) for kind in CELL_KINDS])
        if self.shared_cell and g.normal != g.reduce:
            raise GenotypeError("this space shares one cell: the reduce cell must equal the normal cell")
        return g

    def _check_cellwise(self, g: CellwiseGenotype) -> CellwiseGenotype:
        """A per-cell genotype (a per-cell search's result): every layer's cell follows this space's rules."""
        if self.shared_cell:
            raise GenotypeError("this space shares one cell; a per-cell genotype does not fit it")
        self._check_cells(g.steps, [(f"layer {i} cell", cell) for i, cell in enumerate(g.cells)])
        return g

    def _check_cells(self, steps: int, cells) -> None:
        if steps != self._steps:
            raise GenotypeError(f"genotype has {steps} nodes per cell; this space has {self._steps}")
        primitives, dup = self._primitives, self._dup
        for where, cell in cells:
            for j, (op, inp) in enumerate(cell):
                if op not in primitives:
                    raise GenotypeError(f"{where}, node {j // 2} (state {j // 2 + 2}), pair {j % 2}: "
                                        f"op {op!r} is not in this space ({', '.join(primitives)})")
                if j % 2 and not dup and inp == cell[j - 1][1]:
                    raise GenotypeError(f"{where}, node {j // 2} (state {j // 2 + 2}): both inputs are "
                                        f"state {inp}; this space does not allow duplicate inputs")

    def _sample(self, rng: np.random.Generator) -> Genotype:
        return sample_genotype(rng, steps=self._steps, primitives=self._primitives,
                               allow_duplicate_inputs=self._dup, shared_cell=bool(self.shared_cell))

    def _mutate(self, arch: Genotype, rng: np.random.Generator) -> Genotype:
        return mutate_genotype(arch, rng, primitives=self._primitives, allow_duplicate_inputs=self._dup,
                               shared_cell=bool(self.shared_cell))

    def _crossover(self, a: Genotype, b: Genotype, rng: np.random.Generator) -> Tuple[Genotype, Genotype]:
        return crossover_genotypes(a, b, rng, shared_cell=bool(self.shared_cell))

    def _encode(self, arch: Genotype) -> np.ndarray:
        if isinstance(arch, CellwiseGenotype):
            raise GenotypeError("per-cell genotypes have no vector encoding (they come from per-cell gradient "
                                "search, not from evolution)")
        return self._encoding.encode(arch)

    def _decode(self, vector: np.ndarray) -> Genotype:
        return self._mark(self._encoding.decode(vector))

    def _decode_many(self, vectors: np.ndarray) -> list:
        decode_many = getattr(self._encoding, "decode_many", None)
        if decode_many is None:
            return [self._decode(v) for v in vectors]
        return [self._mark(genotype) for genotype in decode_many(vectors)]

    def _mark(self, genotype: Genotype) -> Genotype:
        if not (self.encoding is not None and not isinstance(self.encoding, str) or self.shared_cell):
            # this space's own encoding decodes only genotypes its rules accept (ops, steps, duplicate inputs)
            object.__setattr__(genotype, "_valid_under", self._rules())
        return genotype

    def bounds(self) -> Tuple[np.ndarray, np.ndarray]:
        """(lower, upper) of the encoding's vectors."""
        return self._encoding.bounds()

    def canonical_rows(self, rows: np.ndarray) -> np.ndarray | None:
        """Rows of the discrete encoding in a canonical form (equal exactly for equal architectures), or None
        when the encoding has none (then duplicates are found by keys)."""
        canonical = getattr(self._encoding, "canonical", None)
        return None if canonical is None or self.shared_cell else canonical(rows)

    def repair(self, vector: Any) -> np.ndarray:
        """A vector of the box that decodes, close to ``vector`` (rows along the last axis; see the
        encoding's ``repair``); the RelativeNAS encoding decodes every point of its box, so it only clips."""
        repair = getattr(self._encoding, "repair", None)
        return repair(vector) if repair is not None else self._encoding.clip(vector)

    def _build(self, arch: Genotype, **net_kwargs: Any) -> nn.Module:
        """``NetworkCIFAR`` (default C=36, 10 classes, 20 layers) or ``NetworkImageNet``."""
        kind = net_kwargs.pop("network", None) or self.network or "cifar"
        if kind not in _NETWORK_DEFAULTS:
            raise ConfigError(f"unknown network {kind!r}; valid: {', '.join(_NETWORK_DEFAULTS)}")
        kwargs = {**_NETWORK_DEFAULTS[kind], **net_kwargs}
        cls = NetworkCIFAR if kind == "cifar" else NetworkImageNet
        return cls(genotype=arch, **kwargs)

    def _key(self, arch: Genotype) -> str:
        return arch.key()

    # ----------------------------------------------------------- capabilities
    #: published cells such as RelativeNAS's read one input twice: a stand-alone run accepts them
    standalone_space_options = MappingProxyType({"allow_duplicate_inputs": True})

    @property
    def candidate_ops(self) -> Tuple[str, ...]:
        """The ops sampling and mutation choose from (the 7 non-``none`` DARTS ops unless ``primitives``)."""
        return tuple(self._primitives)

    @property
    def cell_tools(self):
        """The DARTS cell utilities (:mod:`evonas.spaces.darts.celltools`) for cell-based algorithms."""
        from evonas.spaces.darts import celltools

        return celltools

    def standalone_options(self, settings: Mapping[str, Any], *, num_classes: int, family: str) -> dict:
        """``NetworkCIFAR`` (``NetworkImageNet`` for ImageNet-style data) with ``C=init_channels``, ``layers``
        cells and the ``auxiliary`` head."""
        C, layers = settings.get("init_channels", 36), settings.get("layers", 20)
        auxiliary = bool(settings.get("auxiliary", False))
        if C < 1:
            raise ConfigError(f"init_channels must be >= 1, got {C}")
        if layers < 3:
            raise ConfigError(f"layers must be >= 3 (two reduction cells), got {layers}")
        if auxiliary and settings.get("batch_size", 2) < 2:
            raise ConfigError("batch_size must be >= 2 with the auxiliary head (its BatchNorm sees one value "
                              "per channel)")
        return {"num_classes": num_classes, "C": C, "layers": layers, "auxiliary": auxiliary,
                "network": "imagenet" if family == "imagenet" else "cifar"}

    def draw(self, arch: Any, path: Any, *, title: Optional[str] = None):
        """Both cells of ``arch`` (every cell of a per-cell genotype) as one figure (:mod:`.drawing`)."""
        from evonas.spaces.darts.drawing import plot_genotype

        return plot_genotype(self.validate(arch), path, title=title)

    def analytic_cost(self, arch: Any, *, num_classes: int = 10, resolution: int = 32) -> dict:
        """Parameters and multiply-accumulates per image of the DARTS CIFAR evaluation network (C=36, 20 cells,
        no auxiliary head) for ``arch``, summed from per-op counts (:mod:`.cost`); 10 classes, 32x32 only."""
        from evonas.spaces.darts.cost import network_cost

        if (num_classes, resolution) != (10, 32):
            raise ConfigError("the DARTS space's analytic cost is for the CIFAR-10 network (10 classes, 32x32)")
        params, macs = network_cost(self.validate(arch))
        return {"params": params, "flops": macs}

    def path_weights(self, supernet: nn.Module, arch: Any) -> list:
        """``[normal, reduce]`` (E, P) 0/1 weights of ``arch``'s path over the supernet's primitives."""
        from evonas.spaces.darts.relaxation import path_weights

        return path_weights(supernet, self.validate(arch))

    def mixture_logits(self, supernet: nn.Module, images, weights: list):
        """The search network's continuous mode with ``weights = [normal, reduce]`` as given."""
        from evonas.spaces.darts.relaxation import mixture_logits

        return mixture_logits(supernet, images, weights)

    def expand_edge(self, supernet: nn.Module, arch: Any, rng: np.random.Generator):
        """A random pair of ``arch`` (both cells when ``shared_cell``) opened to every op of the supernet."""
        from evonas.spaces.darts.relaxation import expand_edge

        return expand_edge(supernet, self.validate(arch), rng, shared_cell=bool(self.shared_cell))

    def relaxed_supernet(self, settings: Mapping[str, Any], *, num_classes: int) -> nn.Module:
        """The DARTS search network over this space's ops and ``none``: ``C`` channels, ``layers`` cells,
        shared or per-cell architecture weights (``alpha_share``)."""
        ops = ("none",) + tuple(op for op in self._primitives if op != "none")
        return self.build_supernet(C=settings.get("C", 16), layers=settings.get("layers", 8),
                                   num_classes=num_classes, primitives=ops,
                                   alpha_share=settings.get("alpha_share", True))

    def derive(self, supernet: nn.Module) -> Any:
        """The genotype of the supernet's architecture weights (DARTS' discretisation)."""
        return self.validate(supernet.genotype())

    # few-shot supernets (HasEdgeSplit): the edges of node 0, present in every genotype (:mod:`.edge_split`)
    def _split_edges(self) -> tuple:
        return edge_split.split_edges(shared_cell=bool(self.shared_cell), allow_duplicate_inputs=self._dup)

    def edge_choices(self) -> tuple:
        """The ops of each splittable edge (this space's ``primitives``): node 0's edge from state 0 and from
        state 1 of the normal cell (edges 0, 1), then of the reduction cell (2, 3); edges 0, 1 only with
        ``shared_cell``. Raises ConfigError when the space allows duplicate inputs (:mod:`.edge_split`)."""
        return tuple(self._primitives for _ in self._split_edges())

    def edge_ops(self, arch: Any, edges) -> tuple:
        """The ops ``arch`` carries on the splittable ``edges`` (indices as in :meth:`edge_choices`), each found
        by its input state, whatever the order of node 0's two pairs."""
        arch = self._plain(arch)
        return edge_split.edge_ops(arch, self._split_edges(), list(edges))

    def fix_edges(self, arch: Any, fixed) -> Genotype:
        """``arch`` with splittable edge ``e`` set to op ``fixed[e]`` (inputs and other ops kept). Node 0's ops
        are drawn independently of the rest of a sample, so fixing a uniform sample draws uniformly among the
        genotypes carrying those ops."""
        arch = self._plain(arch)
        fixed = dict(fixed)
        return self.validate(edge_split.fix_edges(arch, self._split_edges(), fixed, self._primitives,
                                                     shared_cell=bool(self.shared_cell)))

    def _plain(self, arch: Any) -> Genotype:
        arch = self.validate(arch)
        if isinstance(arch, CellwiseGenotype):
            raise GenotypeError("a per-cell genotype has no few-shot split (its cells are not the normal and "
                                "reduction cells of a supernet)")
        return arch

    def build_supernet(self, **kwargs: Any) -> nn.Module:
        """The weight-sharing :class:`SearchNetwork` over this space's ops (default C=16, 8 cells).

        ``supernet(x, genotype)`` runs one architecture's path only. With the
        ``"relativenas"`` encoding it defaults to RelativeNAS' search network
        (its 7 ops, affine BN, pools without BN; ``affine`` / ``pool_bn`` override).
        """
        from evonas.spaces.darts.supernet import SearchNetwork

        if self.encoding == "relativenas":
            kwargs.setdefault("affine", True)
            kwargs.setdefault("pool_bn", False)
        kwargs.setdefault("primitives", self._primitives)
        kwargs.setdefault("steps", self._steps)
        return SearchNetwork(**kwargs)


__all__ = ["DartsSpace"]
