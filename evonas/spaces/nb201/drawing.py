"""A NAS-Bench-201 cell as a picture: four nodes in a row, one arrow per edge labelled with its op.

Node 0 is the cell's input, node 3 its output (the sum of its three
incoming edges); an edge whose op is ``none`` (no connection) is drawn
dashed and grey, a skip connection green, convolutions blue, pooling grey.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Sequence

from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch

from evonas.spaces.nb201.arch import EDGES
from evonas.viz.pareto import save_figure

_COLORS = {"none": "0.6", "skip_connect": "#2c8c3c", "nor_conv_1x1": "#1f77b4", "nor_conv_3x3": "#1f4e99",
           "avg_pool_3x3": "#7f7f7f"}
_BENDS = {(2, 0): -0.45, (3, 1): 0.35, (3, 0): 0.55}  # arcs of the longer edges: 0->2 above, the others below
_RADIUS = 0.28


def plot_nb201_cell(arch: Sequence[str], path: str | os.PathLike, *, title: Optional[str] = None) -> Path:
    """Draw the cell ``arch`` (six op names in :data:`~evonas.spaces.nb201.arch.EDGES` order) into ``path``
    (format from the suffix); returns ``path``."""
    fig = Figure(figsize=(6.4, 2.8), layout="constrained")
    ax = fig.add_subplot()
    xy = {node: (1.6 * node, 0.0) for node in range(4)}
    circles = {}
    for node, centre in xy.items():
        role = "#a8d5a2" if node == 0 else "#f1e3a0" if node == 3 else "#a9cbe8"
        circles[node] = Circle(centre, _RADIUS, facecolor=role, edgecolor="0.2", zorder=3)
        ax.add_patch(circles[node])
        ax.text(*centre, "in" if node == 0 else "out" if node == 3 else str(node), ha="center", va="center",
                fontsize=10, zorder=4)
    for (to, source), op in zip(EDGES, arch):
        rad = _BENDS.get((to, source), 0.0)
        ax.add_patch(FancyArrowPatch(xy[source], xy[to], arrowstyle="-|>", mutation_scale=12,
                                     connectionstyle=f"arc3,rad={rad}", patchA=circles[source], patchB=circles[to],
                                     color=_COLORS.get(op, "#b5541c"), linewidth=1.5,
                                     linestyle="--" if op == "none" else "-", zorder=2))
        middle_x = (xy[source][0] + xy[to][0]) / 2
        middle_y = -rad * (xy[to][0] - xy[source][0]) / 2  # the arc's top (matplotlib bends to the right)
        ax.text(middle_x, middle_y, op, ha="center", va="center", fontsize=8, color=_COLORS.get(op, "#b5541c"),
                zorder=5, bbox=dict(boxstyle="round,pad=0.15", facecolor="white", edgecolor="none", alpha=0.9))
    ax.set_xlim(-0.5, 5.3)
    ax.set_ylim(-1.55, 0.95)
    ax.set_aspect("equal")
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=10)
    return save_figure(fig, path)


__all__ = ["plot_nb201_cell"]
