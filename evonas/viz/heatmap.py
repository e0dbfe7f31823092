"""Heat maps of square matrices over named items (op correlation)."""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Optional, Sequence, Tuple

import numpy as np
from matplotlib.figure import Figure

from evonas.viz.pareto import save_figure


def _draw(ax, matrix: np.ndarray, labels: Sequence[str], *, annotate: bool, y_labels: bool = True) -> object:
    image = ax.imshow(matrix, vmin=-1.0, vmax=1.0, cmap="RdBu_r")
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(labels)), labels if y_labels else [], fontsize=8)
    if annotate:
        for (i, j), value in np.ndenumerate(matrix):
            ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=7,
                    color="white" if abs(value) > 0.6 else "black")
    return image


def plot_correlation(matrix: np.ndarray, labels: Sequence[str], path: str | os.PathLike, *,
                     title: Optional[str] = None) -> Path:
    """One (P, P) matrix with values in [-1, 1], annotated; ``labels``: the P item names."""
    size = 1.0 + 0.6 * len(labels)
    fig = Figure(figsize=(size + 1.2, size))
    ax = fig.add_subplot()
    fig.colorbar(_draw(ax, np.asarray(matrix), labels, annotate=True), ax=ax, fraction=0.046)
    if title:
        ax.set_title(title, fontsize=9)
    return save_figure(fig, path)


def plot_correlation_grid(panels: Sequence[Tuple[str, np.ndarray]], labels: Sequence[str],
                          path: str | os.PathLike, *, max_cols: int = 4) -> Path:
    """One small heat map per ``(title, (P, P) matrix)``, on a grid, with a shared colour scale."""
    cols = min(max_cols, len(panels))
    rows = math.ceil(len(panels) / cols)
    side = 1.2 + 0.35 * len(labels)
    fig = Figure(figsize=(side * cols + 2.0, (side + 0.8) * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    image = None
    for index, (ax, (title, matrix)) in enumerate(zip(axes.flat, panels)):
        image = _draw(ax, np.asarray(matrix), labels, annotate=False, y_labels=index % cols == 0)
        ax.set_title(title, fontsize=8)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    if image is not None:
        fig.colorbar(image, ax=axes, fraction=0.02)
    return save_figure(fig, path)


__all__ = ["plot_correlation", "plot_correlation_grid"]
