"""``ScarletSpace``: the SCARLET-NAS layer-wise space behind the SearchSpace contract.

An architecture is a tuple of 19 choice indices (0..12, order in
:mod:`evonas.spaces.scarlet.models`); wherever an architecture is accepted,
a published name (``"SCARLET_A"``), a list of choice names
(``"mb3_k5_se"``, ``"skip"``), the JSON text of a list of indices or names,
or a JSON file holding one works too. ``to_json`` gives the readable list
of choice names, ``encode`` the integer vector.
"""
from __future__ import annotations

import math
from typing import Any, List, Optional, Tuple

import numpy as np
from torch import nn

from evonas.errors import ConfigError
from evonas.registry import spaces
from evonas.spaces.base import SearchSpace, check_rng
from evonas.spaces.scarlet.models import (
    CHOICE_NAMES,
    DEFAULT_CLASSES,
    LAYERS,
    NUM_CHOICES,
    NUM_LAYERS,
    SKIP,
    ScarletNet,
    check_skip_rule,
    net_plan,
    resolve_arch,
    skip_layers,
)

Arch = Tuple[int, ...]


@spaces.register("scarlet")
class ScarletSpace(SearchSpace):
    """SCARLET-NAS space: 19 layers x 13 choices (12 MBConvs + skip where legal).

    Keyword-only arguments, all defaulting to None (stored as given):

    * ``variant``: what :meth:`build` / :meth:`build_supernet` make:
      ``"cifar"`` (default: 32x32 inputs, total stride 8, so that search
      runs on CIFAR-sized data on a CPU) or ``"imagenet"`` (224x224, the
      published SCARLET-A/B/C form). The architectures are the same in both.
    * ``width_mult``: channel multiplier (1.0).
    * ``skip_rule``: where skip is legal, ``"width_preserving"`` (default:
      stride-1 layers with in == out, 13 layers, where a skip is a plain
      identity), ``"stride1"`` (15 layers) or ``"all"`` (19). With the last
      two a skip at a width-changing or stride-2 layer is built as a bias-free
      1x1 projection (``SkipProjection``, counted in the cost) in stand-alone
      models, and as a stabilizer of that shape in the supernet.
    * ``num_classes``: classifier outputs (10 for cifar, 1000 for imagenet).

    Layer positions in errors and rules are those of the published ImageNet
    plan (:data:`~evonas.spaces.scarlet.models.LAYERS`), 1-based.
    """

    name = "scarlet"

    def __init__(self, *, variant: Optional[str] = None, width_mult: Optional[float] = None,
                 skip_rule: Optional[str] = None, num_classes: Optional[int] = None):
        self.variant = variant
        self.width_mult = width_mult
        self.skip_rule = skip_rule
        self.num_classes = num_classes
        net_plan(self._variant, self._width_mult)  # cheap: raises ConfigError on a bad variant / width
        allowed = set(skip_layers(self._skip_rule))
        if num_classes is not None and (isinstance(num_classes, bool) or int(num_classes) != num_classes
                                        or num_classes < 1):
            raise ConfigError(f"num_classes must be a positive integer, got {num_classes!r}")
        skip = (SKIP,)
        self._legal: Tuple[Tuple[int, ...], ...] = tuple(
            tuple(range(SKIP)) + (skip if spec.index in allowed else ()) for spec in LAYERS)

    # ------------------------------------------------------- resolved config
    @property
    def _variant(self) -> str:
        return "cifar" if self.variant is None else self.variant

    @property
    def _width_mult(self) -> float:
        return 1.0 if self.width_mult is None else self.width_mult

    @property
    def _skip_rule(self) -> str:
        return "width_preserving" if self.skip_rule is None else self.skip_rule

    @property
    def _num_classes(self) -> int:
        if self.num_classes is not None:
            return int(self.num_classes)
        return DEFAULT_CLASSES.get(self._variant, 10)

    def legal_choices(self, layer: int) -> Tuple[int, ...]:
        """Choice indices allowed at 1-based ``layer``."""
        if not 1 <= layer <= NUM_LAYERS:
            raise ConfigError(f"layer must be in 1..{NUM_LAYERS}, got {layer}")
        return self._legal[layer - 1]

    @property
    def skip_layers(self) -> Tuple[int, ...]:
        """1-based layers where skip is legal."""
        return tuple(i + 1 for i, legal in enumerate(self._legal) if SKIP in legal)

    def size(self) -> int:
        """Number of architectures in the space (e.g. 12^6 * 13^13 for ``"width_preserving"``)."""
        return math.prod(len(legal) for legal in self._legal)

    # ----------------------------------------------------------- contract
    def validate(self, arch: Any) -> Arch:
        """``arch`` (indices, names, a published name, JSON text or a file; see
        :func:`~evonas.spaces.scarlet.models.resolve_arch`) as 19 indices; GenotypeError naming the layer otherwise."""
        genes = resolve_arch(arch)
        check_skip_rule(genes, self._skip_rule)
        return genes

    def _sample(self, rng: np.random.Generator) -> Arch:
        return tuple(int(legal[rng.integers(len(legal))]) for legal in self._legal)

    def _mutate(self, arch: Arch, rng: np.random.Generator) -> Arch:
        """Change one uniformly chosen layer to a different legal choice."""
        genes = list(arch)
        i = int(rng.integers(NUM_LAYERS))
        others = [c for c in self._legal[i] if c != genes[i]]
        genes[i] = int(others[rng.integers(len(others))])
        return tuple(genes)

    def _crossover(self, a: Arch, b: Arch, rng: np.random.Generator) -> Tuple[Arch, Arch]:
        """Uniform crossover: each layer swaps between the children with probability 1/2.

        Legality is per position, so children of legal parents are legal.
        """
        mask = rng.random(NUM_LAYERS) < 0.5
        return (tuple(x if m else y for x, y, m in zip(a, b, mask)),
                tuple(y if m else x for x, y, m in zip(a, b, mask)))

    def _encode(self, arch: Arch) -> np.ndarray:
        return np.asarray(arch, dtype=np.int64)

    def _decode(self, vector: np.ndarray) -> Arch:
        return resolve_arch(vector)

    def bounds(self) -> Tuple[np.ndarray, np.ndarray]:
        """(lower, upper) of the encoding: 0 and 12 for every layer."""
        return np.zeros(NUM_LAYERS), np.full(NUM_LAYERS, float(NUM_CHOICES - 1))

    def _key(self, arch: Arch) -> str:
        return "-".join(CHOICE_NAMES[g] for g in arch)

    def to_json(self, arch: Any) -> List[str]:
        """The 19 choice names, e.g. ``["mb3_k7", "mb6_k5", ..., "skip", ...]``."""
        return [CHOICE_NAMES[g] for g in self.validate(arch)]

    def _build(self, arch: Arch, **net_kwargs: Any) -> nn.Module:
        """A stand-alone :class:`ScarletNet` (defaults: this space's variant, width, classes)."""
        kwargs = dict(num_classes=self._num_classes, variant=self._variant, width_mult=self._width_mult,
                      skip_projection=self._skip_rule != "width_preserving")
        kwargs.update(net_kwargs)
        return ScarletNet(arch, **kwargs)

    def build_supernet(self, **kwargs: Any) -> nn.Module:
        """The weight-sharing :class:`ScarletSupernet` (defaults: this space's variant, width, classes, skip rule).

        ``supernet(x, arch)`` runs one architecture's path only.
        """
        from evonas.spaces.scarlet.supernet import ScarletSupernet

        defaults = dict(variant=self._variant, num_classes=self._num_classes, width_mult=self._width_mult,
                        skip_rule=self._skip_rule)
        return ScarletSupernet(**{**defaults, **kwargs})

    def fair_paths(self, rng: np.random.Generator) -> List[Arch]:
        """13 architectures for one FairNAS strict-fairness step (Chu et al., FairNAS, 2021).

        Each layer draws one random permutation of its legal candidates; path
        j takes the j-th entry. Where all 13 choices are legal every candidate
        appears exactly once. Where skip is illegal (12 candidates) each
        appears once in the first 12 slots of the permutation and the 13th
        path takes one more candidate drawn uniformly from the 12 (so one
        random candidate gets two updates that step; fair in expectation).
        """
        rng = check_rng(rng)
        columns = []
        for legal in self._legal:
            perm = [int(legal[i]) for i in rng.permutation(len(legal))]
            while len(perm) < NUM_CHOICES:
                perm.append(int(legal[rng.integers(len(legal))]))
            columns.append(perm)
        return [tuple(col[j] for col in columns) for j in range(NUM_CHOICES)]


__all__ = ["ScarletSpace"]
