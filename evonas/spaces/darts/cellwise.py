"""Per-cell DARTS genotypes: one cell per layer instead of one normal and one reduction cell.

DARTS shares one set of architecture weights among all normal cells and
one among all reduction cells; a search that gives every cell its own
(StacNAS without ``alpha_share``) derives one cell per layer.
:class:`CellwiseGenotype` holds such a result: ``cells[i]`` is the flat
``(op, input)`` pair list of layer ``i`` in the usual DARTS format, and
layers ``L // 3`` and ``2 L // 3`` of an ``L``-cell network are the
reduction cells (:func:`reduction_layers`, the rule of every DARTS network).
Every intermediate node is concatenated into a cell's output.

A network of another depth takes, for each of its layers, the cell of the
same kind (normal / reduction) at the nearest relative depth
(:meth:`CellwiseGenotype.resized`): StacNAS' stage 1 (14 cells) hands its
groups to stage 2 (20 cells) that way, and a 20-cell result builds an 8-cell
proxy network. StacNAS' released code has no such rule (without
``alpha_share`` its stage 2 indexes 14 per-cell results with 20 cell ids and
fails), so this mapping is evonas' own.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Sequence, Tuple

from evonas.errors import GenotypeError
from evonas.spaces.darts.genotype import (
    Cell,
    Genotype,
    _check_cell,
    _format_cell,
    _has_duplicate_inputs,
    _normalise_cell,
    cell_key,
)


def reduction_layers(layers: int) -> Tuple[int, int]:
    """Indices of the two reduction cells of a DARTS network with ``layers`` cells."""
    return layers // 3, 2 * layers // 3


def nearest_layers(source_layers: int, target_layers: int) -> list[int]:
    """For each layer of a ``target_layers``-cell network, the layer of a ``source_layers``-cell one of the
    same kind whose relative depth ``(i + 0.5) / layers`` is nearest (ties: the shallower)."""
    if source_layers < 3 or target_layers < 3:
        raise GenotypeError(f"DARTS networks have at least 3 cells, got {source_layers} and {target_layers}")
    source_reductions = reduction_layers(source_layers)
    target_reductions = reduction_layers(target_layers)
    out = []
    for j in range(target_layers):
        if j in target_reductions:
            out.append(source_reductions[target_reductions.index(j)])
            continue
        normal = [i for i in range(source_layers) if i not in source_reductions]
        # |(i + 0.5) / source - (j + 0.5) / target| in integers, so that exact ties go to the shallower layer
        out.append(min(normal, key=lambda i: (abs((2 * i + 1) * target_layers - (2 * j + 1) * source_layers), i)))
    return out


@dataclass(frozen=True)
class CellwiseGenotype:
    """One validated DARTS cell per layer (``cells``: a tuple of flat ``(op, input)`` pair tuples)."""

    cells: Tuple[Cell, ...]
    allow_duplicate_inputs: bool = field(default=False, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.cells, (str, bytes, Mapping)) or not isinstance(self.cells, Sequence):
            raise GenotypeError(f"cells must be a list of cells, one per layer, got {self.cells!r}")
        if len(self.cells) < 3:
            raise GenotypeError(f"a per-cell genotype needs at least 3 cells (two reductions), got {len(self.cells)}")
        cells = tuple(_normalise_cell(f"layer {i}", cell) for i, cell in enumerate(self.cells))
        steps = {len(cell) // 2 for cell in cells}
        if len(steps) != 1:
            raise GenotypeError(f"every cell needs the same number of nodes, got {sorted(steps)}")
        for i, cell in enumerate(cells):
            _check_cell(f"layer {i}", cell, True)
        object.__setattr__(self, "cells", cells)
        if any(_has_duplicate_inputs(cell) for cell in cells):
            object.__setattr__(self, "allow_duplicate_inputs", True)

    # ------------------------------------------------------------------ views
    @property
    def layers(self) -> int:
        return len(self.cells)

    @property
    def steps(self) -> int:
        """Intermediate nodes per cell."""
        return len(self.cells[0]) // 2

    def is_reduction(self, layer: int) -> bool:
        return layer in reduction_layers(self.layers)

    def ops(self) -> Tuple[str, ...]:
        """Every op name used, layer by layer, in pair order."""
        return tuple(op for cell in self.cells for op, _ in cell)

    def layer_genotype(self, layer: int) -> Genotype:
        """A DARTS ``Genotype`` whose normal and reduction cells are both layer ``layer``'s cell (what a
        stand-alone ``Cell`` of that layer is built from)."""
        return Genotype.from_cell(self.cells[layer])

    def resized(self, layers: int) -> "CellwiseGenotype":
        """The genotype for a ``layers``-cell network (see :func:`nearest_layers`); itself when equal."""
        if layers == self.layers:
            return self
        return CellwiseGenotype(tuple(self.cells[i] for i in nearest_layers(self.layers, layers)))

    # ---------------------------------------------------------- round trips
    def to_dict(self) -> Dict[str, Any]:
        return {"cells": [[[op, i] for op, i in cell] for cell in self.cells]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "CellwiseGenotype":
        if not isinstance(data, Mapping) or set(data) - {"cells", "allow_duplicate_inputs"} or "cells" not in data:
            raise GenotypeError("a per-cell genotype is a JSON object with one key, 'cells' (a list of cells)")
        return cls(data["cells"])

    def to_json(self, **dumps_kwargs: Any) -> str:
        return json.dumps(self.to_dict(), **dumps_kwargs)

    def __repr__(self) -> str:
        return "CellwiseGenotype(cells=[" + ", ".join(_format_cell(cell) for cell in self.cells) + "])"

    __str__ = __repr__

    # ------------------------------------------------------------ identity
    def key(self) -> str:
        """Canonical key: each layer's cell keyed as a DARTS cell (pair order within a node ignored)."""
        cached = self.__dict__.get("_key")
        if cached is None:
            cached = "cells=" + "/".join(cell_key(cell) for cell in self.cells)
            object.__setattr__(self, "_key", cached)
        return cached

    def key_hash(self, length: int = 16) -> str:
        return hashlib.sha1(self.key().encode("utf-8")).hexdigest()[:length]


def as_cellwise(spec: Any) -> CellwiseGenotype | None:
    """``spec`` as a :class:`CellwiseGenotype` when it is one or describes one (a dict, JSON text or a file
    holding ``{"cells": ...}``); None when it describes something else."""
    if isinstance(spec, CellwiseGenotype):
        return spec
    if isinstance(spec, Mapping):
        return CellwiseGenotype.from_dict(spec) if "cells" in spec else None
    text = None
    if isinstance(spec, str) and spec.strip().startswith("{"):
        text = spec
    elif isinstance(spec, str) or hasattr(spec, "__fspath__"):
        import os

        path = os.fspath(spec)
        if path.lower().endswith(".json") and os.path.isfile(path):
            try:
                with open(path, encoding="utf-8") as handle:
                    text = handle.read()
            except (OSError, UnicodeDecodeError):
                return None  # let the genotype parser name the problem
    if text is None:
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return None  # let the genotype parser name the problem
    return CellwiseGenotype.from_dict(data) if isinstance(data, Mapping) and "cells" in data else None


__all__ = ["CellwiseGenotype", "as_cellwise", "nearest_layers", "reduction_layers"]
