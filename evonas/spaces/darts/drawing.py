"""DARTS cell diagrams drawn with matplotlib alone (no graphviz).

States: ``c_{k-2}`` and ``c_{k-1}`` (the two cell inputs), intermediate
nodes ``0 .. steps-1`` and the output ``c_{k}`` (the concatenation of the
``concat`` nodes). Layout is layered left to right: an input sits in
column 0, a node one column right of its right-most input, the output
last. An edge that would cross another node bends around it; edges carry
their op name and are coloured by op family.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch

from evonas.spaces.darts.cellwise import as_cellwise
from evonas.spaces.darts.genotype import resolve_genotype
from evonas.viz.pareto import save_figure

_DX, _DY, _RADIUS = 3.2, 1.6, 0.42  # column / row spacing, node radius (data units)
_INCH_PER_UNIT = 0.75
_NODE_COLORS = {"input": "#a8d5a2", "node": "#a9cbe8", "output": "#f1e3a0"}
_BENDS = (0.0, 0.1, -0.1, 0.2, -0.2, 0.3, -0.3, 0.45, -0.45, 0.6, -0.6, 0.8, -0.8)
_LABEL_FONT = 7.5
_LABEL_SPOTS = (0.5, 0.4, 0.6, 0.32, 0.68, 0.25, 0.75)  # where along an edge its label may sit


def _op_color(op: str) -> str:
    """Edge colour by op family (separable / dilated conv, pooling, skip, other)."""
    if op.startswith("sep_conv"):
        return "#1f4e99"
    if op.startswith("dil_conv"):
        return "#7b3fa0"
    if "pool" in op:
        return "#7f7f7f"
    if op == "skip_connect":
        return "#2c8c3c"
    return "#b5541c"


def _state_label(state: int, steps: int) -> str:
    if state == 0:
        return "$c_{k-2}$"
    if state == 1:
        return "$c_{k-1}$"
    if state == steps + 2:
        return "$c_{k}$"
    return str(state - 2)


def _layout(cell: Sequence[Tuple[str, int]], concat: Sequence[int], steps: int) -> Dict[int, np.ndarray]:
    """Position of every state (0, 1: inputs; 2..steps+1: nodes; steps+2: output)."""
    layer = {0: 0, 1: 0}
    for node in range(steps):
        inputs = [inp for _, inp in cell[2 * node: 2 * node + 2]]
        layer[node + 2] = 1 + max(layer[i] for i in inputs)
    layer[steps + 2] = 1 + max(layer.values())  # the output is always right-most
    columns: Dict[int, List[int]] = {}
    for state, col in layer.items():
        columns.setdefault(col, []).append(state)
    tallest = max(len(states) for states in columns.values())
    pos = {}
    for col, states in columns.items():
        # the two inputs spread over most of the tallest column: more room for their fan-out
        gap = max(_DY, 0.7 * (tallest - 1) * _DY) if col == 0 else _DY
        for k, state in enumerate(sorted(states)):
            pos[state] = np.array([col * _DX, ((len(states) - 1) / 2 - k) * gap])
    return pos


def _curve(a: np.ndarray, b: np.ndarray, rad: float, n: int = 25) -> np.ndarray:
    """Points of matplotlib's ``arc3,rad=rad`` quadratic Bezier from a to b: (n, 2)."""
    d = b - a
    control = (a + b) / 2 + rad * np.array([d[1], -d[0]])
    t = np.linspace(0, 1, n)[:, None]
    return (1 - t) ** 2 * a + 2 * (1 - t) * t * control + t ** 2 * b


def _bend(a: np.ndarray, b: np.ndarray, others: List[np.ndarray], taken: List[float]) -> float:
    """The first bend whose curve keeps clear of every other node (and is not used by a parallel edge)."""
    for rad in _BENDS:
        if rad in taken:
            continue
        points = _curve(a, b, rad)
        if all(np.linalg.norm(points - o, axis=1).min() > 1.3 * _RADIUS for o in others):
            return rad
    return next(r for r in _BENDS if r not in taken) if len(taken) < len(_BENDS) else 0.0


def _overlap(a: Tuple[float, float, float, float], b: Tuple[float, float, float, float]) -> float:
    """Overlap area of two (centre x, centre y, width, height) boxes."""
    dx = min(a[0] + a[2] / 2, b[0] + b[2] / 2) - max(a[0] - a[2] / 2, b[0] - b[2] / 2)
    dy = min(a[1] + a[3] / 2, b[1] + b[3] / 2) - max(a[1] - a[3] / 2, b[1] - b[3] / 2)
    return max(dx, 0.0) * max(dy, 0.0)


def _label_spot(curve: np.ndarray, text: str, taken: List[Tuple[float, float, float, float]]) -> np.ndarray:
    """A point on ``curve`` where a label box of ``text`` overlaps ``taken`` boxes least (first free spot)."""
    width, height = 0.1 * len(text) + 0.5, 0.42  # data units at _INCH_PER_UNIT
    best, best_cost = curve[len(curve) // 2], float("inf")
    for t in _LABEL_SPOTS:
        point = curve[int(round(t * (len(curve) - 1)))]
        cost = sum(_overlap((point[0], point[1], width, height), box) for box in taken)
        if cost < best_cost - 1e-9:
            best, best_cost = point, cost
        if cost == 0.0:
            break
    taken.append((best[0], best[1], width, height))
    return best


@dataclass
class _Geometry:
    """Everything a cell diagram draws, in data units (1 unit = ``_INCH_PER_UNIT`` inches)."""

    steps: int
    pos: Dict[int, np.ndarray]
    edges: List[Tuple[int, int, Optional[str], float]]  # (source state, target state, op or None, bend)
    labels: List[Tuple[np.ndarray, str]]  # (centre, op) of each edge label
    lower: np.ndarray  # (2,) lower-left corner of the drawing
    upper: np.ndarray  # (2,) upper-right corner

    @property
    def size(self) -> np.ndarray:
        return self.upper - self.lower


def _geometry(genotype, kind: str) -> _Geometry:
    """Place the nodes, route the edges around other nodes and put each label where it overlaps least."""
    cell, concat, steps = genotype.cell(kind), genotype.concat(kind), genotype.steps
    pos = _layout(cell, concat, steps)
    pairs = [(inp, node + 2, op) for node in range(steps) for op, inp in cell[2 * node: 2 * node + 2]]
    pairs += [(state, steps + 2, None) for state in concat]
    used: Dict[Tuple[int, int], List[float]] = {}
    boxes = [(xy[0], xy[1], 2 * _RADIUS, 2 * _RADIUS) for xy in pos.values()]  # labels avoid nodes
    edges, labels, points = [], [], [np.array(list(pos.values()))]
    for src, dst, op in pairs:
        a, b = pos[src], pos[dst]
        taken = used.setdefault((src, dst), [])
        rad = _bend(a, b, [xy for s, xy in pos.items() if s not in (src, dst)], taken)
        taken.append(rad)
        edges.append((src, dst, op, rad))
        curve = _curve(a, b, rad, n=101)
        points.append(curve)
        if op is not None:
            labels.append((_label_spot(curve, op, boxes), op))
    corners = [(x + sx * w / 2, y + sy * h / 2) for x, y, w, h in boxes for sx in (-1, 1) for sy in (-1, 1)]
    points = np.vstack(points + [np.array(corners)])
    return _Geometry(steps, pos, edges, labels, points.min(axis=0) - 0.2, points.max(axis=0) + 0.2)


def _draw_cell(ax, geometry: _Geometry) -> None:
    """Draw a cell's geometry on ``ax`` (equal aspect, no axes)."""
    steps = geometry.steps
    circles = {}
    for state, xy in geometry.pos.items():
        role = "input" if state < 2 else "output" if state == steps + 2 else "node"
        circles[state] = Circle(xy, _RADIUS, facecolor=_NODE_COLORS[role], edgecolor="0.2", zorder=3)
        ax.add_patch(circles[state])
        ax.text(*xy, _state_label(state, steps), ha="center", va="center", fontsize=10, zorder=4)
    for src, dst, op, rad in geometry.edges:
        ax.add_patch(FancyArrowPatch(
            geometry.pos[src], geometry.pos[dst], arrowstyle="-|>", mutation_scale=12,
            connectionstyle=f"arc3,rad={rad}", patchA=circles[src], patchB=circles[dst], shrinkA=0, shrinkB=1,
            color="0.55" if op is None else _op_color(op), linewidth=1.1 if op is None else 1.4,
            linestyle="--" if op is None else "-", zorder=2))
    for spot, op in geometry.labels:
        ax.text(*spot, op, ha="center", va="center", fontsize=_LABEL_FONT, color=_op_color(op), zorder=5,
                bbox=dict(boxstyle="round,pad=0.15", facecolor="white", edgecolor="none", alpha=0.85))
    ax.set_xlim(geometry.lower[0], geometry.upper[0])
    ax.set_ylim(geometry.lower[1], geometry.upper[1])
    ax.set_aspect("equal")
    ax.axis("off")


def _figure(geometries: Sequence[_Geometry]) -> Tuple[Figure, np.ndarray]:
    """A figure with one axes per geometry side by side, sized so 1 data unit = _INCH_PER_UNIT inches."""
    sizes = np.array([g.size for g in geometries]) * _INCH_PER_UNIT
    fig = Figure(figsize=(sizes[:, 0].sum() + 0.3, sizes[:, 1].max() + 0.7), layout="constrained")
    axes = fig.subplots(1, len(geometries), width_ratios=list(sizes[:, 0]), squeeze=False)[0]
    for ax, geometry in zip(axes, geometries):
        _draw_cell(ax, geometry)
    return fig, axes


def _cell_title(kind: str) -> str:
    return "reduction cell" if kind == "reduce" else "normal cell"


def plot_cell(genotype, kind: str, path: str | os.PathLike, *, title: Optional[str] = None) -> Path:
    """Diagram of the ``"normal"`` or ``"reduce"`` cell of a DARTS ``genotype``; returns ``path``.

    ``genotype`` is a :class:`~evonas.spaces.darts.Genotype` or anything
    :func:`~evonas.spaces.darts.resolve_genotype` accepts (a published
    name such as ``"DARTS_V2"``, JSON, text, a file).
    """
    genotype = resolve_genotype(genotype, allow_duplicate_inputs=True)
    fig, axes = _figure([_geometry(genotype, kind)])  # ValueError naming the valid kinds
    axes[0].set_title(title or _cell_title(kind))
    return save_figure(fig, path)


def plot_genotype(genotype, path: str | os.PathLike, *, title: Optional[str] = None) -> Path:
    """Normal and reduction cells of a DARTS ``genotype`` side by side; returns ``path``. A per-cell
    genotype gets one panel per distinct cell, titled with the layers that use it, four to a row."""
    cellwise = as_cellwise(genotype)
    if cellwise is not None:
        return _plot_cellwise(cellwise, path, title=title)
    genotype = resolve_genotype(genotype, allow_duplicate_inputs=True)
    kinds = ("normal", "reduce")
    fig, axes = _figure([_geometry(genotype, kind) for kind in kinds])
    for ax, kind in zip(axes, kinds):
        ax.set_title(_cell_title(kind))
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)


def _plot_cellwise(genotype, path: str | os.PathLike, *, title: Optional[str], cols: int = 4) -> Path:
    layers_of: dict = {}
    for i, cell in enumerate(genotype.cells):
        layers_of.setdefault(cell, []).append(i)
    geometries = [_geometry(genotype.layer_genotype(layers[0]), "normal") for layers in layers_of.values()]
    sizes = np.array([g.size for g in geometries]) * _INCH_PER_UNIT
    cols = min(cols, len(geometries))
    rows = -(-len(geometries) // cols)
    fig = Figure(figsize=(sizes[:, 0].max() * cols + 0.3, (sizes[:, 1].max() + 0.5) * rows + 0.3),
                 layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, geometry, layers in zip(axes, geometries, layers_of.values()):
        _draw_cell(ax, geometry)
        kinds = {"reduction" if genotype.is_reduction(i) else "normal" for i in layers}
        ax.set_title(f"{' / '.join(sorted(kinds))} cell, layer{'s' if len(layers) > 1 else ''} "
                     f"{', '.join(map(str, layers))}", fontsize=9)
    for ax in axes[len(geometries):]:
        ax.axis("off")
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)


__all__ = ["plot_cell", "plot_genotype"]
