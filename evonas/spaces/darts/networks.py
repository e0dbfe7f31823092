"""Stand-alone DARTS networks (CIFAR and ImageNet layouts) built from a genotype.

Layout as DARTS' ``model.py``: stem, ``layers`` cells with reduction cells at
``layers // 3`` and ``2 * layers // 3`` (channels double there), auxiliary
head after cell ``2 * layers // 3`` (training only), global average pool and
a linear classifier. ``forward`` returns ``(logits, logits_aux)`` with
logits (N, num_classes) and logits_aux (N, num_classes) in training mode
when ``auxiliary`` is set, else ``None``. ``drop_path_prob`` is a plain
attribute (training code sets it per epoch; 0 disables drop path).

Module names equal DARTS' (``stem``, ``cells.<i>.preprocess0``,
``cells.<i>._ops.<j>``, ``auxiliary_head``, ``classifier``), so DARTS
checkpoints load with ``load_state_dict``.

The search network lives in :mod:`evonas.spaces.darts.supernet`.
"""
from __future__ import annotations

import math
from typing import Mapping, Optional, Sequence, Tuple

import torch
from torch import nn

from evonas.errors import ConfigError
from evonas.spaces.darts.cells import Cell
from evonas.spaces.darts.cellwise import CellwiseGenotype, as_cellwise, reduction_layers
from evonas.spaces.darts.genotype import Genotype, GenotypeSpec, resolve_genotype


def resolve_network_genotype(spec) -> Genotype | CellwiseGenotype:
    """A per-cell genotype when ``spec`` is or describes one, else :func:`resolve_genotype` of it."""
    return as_cellwise(spec) or resolve_genotype(spec)


class AuxiliaryHeadCIFAR(nn.Module):
    """Auxiliary classifier for an (N, C, 8, 8) map (32x32 CIFAR input)."""

    def __init__(self, C: int, num_classes: int):
        super().__init__()
        self.features = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.AvgPool2d(5, stride=3, padding=0, count_include_pad=False),  # 8x8 -> 2x2
            nn.Conv2d(C, 128, 1, bias=False),
            nn.BatchNorm2d(128),
            nn.ReLU(inplace=True),
            nn.Conv2d(128, 768, 2, bias=False),
            nn.BatchNorm2d(768),
            nn.ReLU(inplace=True),
        )
        self.classifier = nn.Linear(768, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).flatten(1))


class AuxiliaryHeadImageNet(nn.Module):
    """Auxiliary classifier for an (N, C, 14, 14) map (224x224 input).

    Without the BatchNorm after the 768-channel conv, as in DARTS' released
    code (a typo there that the paper's experiments kept).
    """

    def __init__(self, C: int, num_classes: int):
        super().__init__()
        self.features = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.AvgPool2d(5, stride=2, padding=0, count_include_pad=False),
            nn.Conv2d(C, 128, 1, bias=False),
            nn.BatchNorm2d(128),
            nn.ReLU(inplace=True),
            nn.Conv2d(128, 768, 2, bias=False),
            nn.ReLU(inplace=True),
        )
        self.classifier = nn.Linear(768, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).flatten(1))


class _Network(nn.Module):
    """Shared cell stack of the CIFAR and ImageNet networks."""

    def _build_cells(self, genotype, C: int, C_prev_prev: int, C_prev: int, layers: int,
                     reduction_prev: bool, edge_attention: Optional[Mapping[str, Sequence[float]]] = None) -> int:
        """Build ``self.cells``; return the channels after cell 2*layers//3."""
        attention = _check_edge_attention(edge_attention, genotype)
        per_layer = genotype.resized(layers) if isinstance(genotype, CellwiseGenotype) else None
        self.cells = nn.ModuleList()
        C_curr = C
        C_aux = C_prev
        for i in range(layers):
            reduction = i in reduction_layers(layers)
            if reduction:
                C_curr *= 2
            cell = Cell(genotype if per_layer is None else per_layer.layer_genotype(i), C_prev_prev, C_prev, C_curr,
                        reduction, reduction_prev, attention=attention["reduce" if reduction else "normal"])
            self.cells.append(cell)
            reduction_prev = reduction
            C_prev_prev, C_prev = C_prev, cell.multiplier * C_curr
            if i == 2 * layers // 3:
                C_aux = C_prev
        self._C_final = C_prev
        return C_aux

    def _build_heads(self, auxiliary_head, C_aux: int, num_classes: int) -> None:
        """Auxiliary head (class or None) on the 2/3-depth features, global pool and classifier."""
        if auxiliary_head is not None:
            self.auxiliary_head = auxiliary_head(C_aux, num_classes)
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(self._C_final, num_classes)

    def _run_cells(self, s0: torch.Tensor, s1: torch.Tensor
                   ) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        logits_aux = None
        for i, cell in enumerate(self.cells):
            s0, s1 = s1, cell(s0, s1, self.drop_path_prob)
            if i == 2 * self._layers // 3 and self._auxiliary and self.training:
                logits_aux = self.auxiliary_head(s1)
        logits = self.classifier(self.global_pooling(s1).flatten(1))
        return logits, logits_aux


def _check_edge_attention(edge_attention, genotype) -> dict:
    """``{"normal": values or None, "reduce": ...}``, one finite value per pair of each cell."""
    if edge_attention is None:
        return {"normal": None, "reduce": None}
    if isinstance(genotype, CellwiseGenotype):
        raise ConfigError("edge_attention needs a genotype with one normal and one reduction cell, not per-cell cells")
    if not isinstance(edge_attention, Mapping) or set(edge_attention) != {"normal", "reduce"}:
        raise ConfigError("edge_attention must map 'normal' and 'reduce' to one value per pair of the cell")
    out = {}
    for kind in ("normal", "reduce"):
        values = [float(v) for v in edge_attention[kind]]
        pairs = len(genotype.cell(kind))
        if len(values) != pairs or not all(math.isfinite(v) for v in values):
            raise ConfigError(f"edge_attention[{kind!r}] needs {pairs} finite values (one per pair of the "
                              f"{kind} cell), got {edge_attention[kind]!r}")
        out[kind] = values
    return out


class NetworkCIFAR(_Network):
    """DARTS CIFAR network: stem 3x3 conv to 3C + BN, ``layers`` cells.

    Input (N, 3, H, W), H = W = 32 for CIFAR (any size >= 8 works without
    the auxiliary head; the head needs 32x32). ``genotype`` accepts anything
    :func:`~evonas.spaces.darts.genotype.resolve_genotype` does, or a
    per-cell :class:`~evonas.spaces.darts.cellwise.CellwiseGenotype`
    (resized to ``layers`` by relative depth).
    ``edge_attention`` (``{"normal": [...], "reduce": [...]}``, one value per
    pair of each cell) gives every cell a learnable scale per pair, started
    at these values (StacNAS' ``none`` kept as attention).
    """

    def __init__(self, C: int, num_classes: int, layers: int, auxiliary: bool,
                 genotype: GenotypeSpec, drop_path_prob: float = 0.0,
                 edge_attention: Optional[Mapping[str, Sequence[float]]] = None):
        super().__init__()
        self.genotype = resolve_network_genotype(genotype)
        self._layers = layers
        self._auxiliary = auxiliary
        self.drop_path_prob = drop_path_prob
        C_stem = 3 * C
        self.stem = nn.Sequential(nn.Conv2d(3, C_stem, 3, padding=1, bias=False), nn.BatchNorm2d(C_stem))
        C_aux = self._build_cells(self.genotype, C, C_stem, C_stem, layers, reduction_prev=False,
                                  edge_attention=edge_attention)
        self._build_heads(AuxiliaryHeadCIFAR if auxiliary else None, C_aux, num_classes)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """(N, 3, H, W) -> (logits (N, classes), logits_aux (N, classes) or None)."""
        s = self.stem(x)
        return self._run_cells(s, s)


class NetworkImageNet(_Network):
    """DARTS ImageNet (mobile setting) network: two stride-2 stems (x8), then cells.

    Input (N, 3, 224, 224) in the paper's setting; the global pool is
    adaptive (DARTS: AvgPool2d(7), identical at 224x224), so any input of at
    least 32x32 works without the auxiliary head (which needs 224x224).
    """

    def __init__(self, C: int = 48, num_classes: int = 1000, layers: int = 14,
                 auxiliary: bool = False, genotype: GenotypeSpec = "DARTS_V2",
                 drop_path_prob: float = 0.0, edge_attention: Optional[Mapping[str, Sequence[float]]] = None):
        super().__init__()
        self.genotype = resolve_network_genotype(genotype)
        self._layers = layers
        self._auxiliary = auxiliary
        self.drop_path_prob = drop_path_prob
        self.stem0 = nn.Sequential(
            nn.Conv2d(3, C // 2, kernel_size=3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(C // 2),
            nn.ReLU(inplace=True),
            nn.Conv2d(C // 2, C, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(C),
        )
        self.stem1 = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(C, C, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(C),
        )
        C_aux = self._build_cells(self.genotype, C, C, C, layers, reduction_prev=True, edge_attention=edge_attention)
        self._build_heads(AuxiliaryHeadImageNet if auxiliary else None, C_aux, num_classes)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """(N, 3, H, W) -> (logits (N, classes), logits_aux (N, classes) or None)."""
        s0 = self.stem0(x)
        s1 = self.stem1(s0)
        return self._run_cells(s0, s1)


# The weight-sharing search network is defined in ``supernet``; re-exported so
# that ``networks`` holds every DARTS network class.
from evonas.spaces.darts.supernet import SearchNetwork  # noqa: E402, I001

__all__ = ["AuxiliaryHeadCIFAR", "AuxiliaryHeadImageNet", "NetworkCIFAR", "NetworkImageNet", "SearchNetwork",
           "resolve_network_genotype"]
