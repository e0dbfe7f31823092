"""Pareto-front plots of a search's evaluated architectures.

Figures are made with matplotlib's object API (``matplotlib.figure.Figure``,
no pyplot state, no window), so they work headless and in threads; each
plotting function writes its file atomically and returns the path. Points
are in their natural units (accuracy in %, parameters as a count, ...);
:class:`~evonas.evaluators.base.Objective` directions decide what "better"
means.
"""
from __future__ import annotations

import os
from itertools import combinations
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from evonas.core import Objective, as_objective_matrix, non_dominated_mask  # noqa: F401  (re-exported)
from evonas.errors import ConfigError

FRONT_COLOR = "#d62728"
POINT_COLOR = "#1f77b4"


def save_figure(fig: Figure, path: str | os.PathLike, *, dpi: int = 120) -> Path:
    """Write ``fig`` to ``path`` (format from the suffix, PNG when none) atomically; return the path.

    A figure with a layout engine (``layout="constrained"``) is saved as laid out; one without is cropped to
    its contents (``bbox_inches="tight"``, which costs a second drawing pass). PNGs are compressed at zlib
    level 1: a third of the encoding time of the default level, files within about 10 %.
    """
    from evonas.runtime.atomic import atomic_write

    path = Path(path)
    fmt = path.suffix.lstrip(".").lower() or "png"
    options = {"bbox_inches": None if fig.get_layout_engine() is not None else "tight"}
    if fmt == "png":
        options["pil_kwargs"] = {"compress_level": 1}
    return atomic_write(path, lambda handle: fig.savefig(handle, format=fmt, dpi=dpi, **options))


#: above this many points a legend goes in a fixed corner: matplotlib's ``loc="best"`` tests every point
#: against each candidate position, a second or more per figure for a search of 10,000 evaluations
BEST_LEGEND_POINTS = 2000


def legend_location(points: int) -> str:
    """``"best"`` for up to :data:`BEST_LEGEND_POINTS` points, else ``"upper right"``."""
    return "best" if points <= BEST_LEGEND_POINTS else "upper right"


def attainment_steps(front: np.ndarray, objectives: Sequence[Objective]) -> np.ndarray:
    """(K, 2) vertices of the staircase through a 2-objective front.

    Sorted by the first objective from best to worst; between consecutive
    points the line keeps the previous point's second value until the next
    point's first value (the boundary of the region the front dominates).
    """
    front = np.asarray(front, dtype=float)
    if len(front) == 0:
        return front.reshape(0, 2)
    order = np.lexsort((front[:, 1] * objectives[1].sign, front[:, 0] * objectives[0].sign))
    front = front[order]
    vertices = [front[0]]
    for prev, point in zip(front[:-1], front[1:]):
        vertices += [np.array([point[0], prev[1]]), point]
    return np.vstack(vertices)


def plot_pareto(points, objectives: Sequence[Objective], path: str | os.PathLike, *,
                generations: Optional[Sequence[int]] = None, front_mask=None,
                title: Optional[str] = None) -> Path:
    """Scatter of every evaluated point with the non-dominated front highlighted.

    ``points``: (N, M) objective values, column ``j`` for ``objectives[j]``
    (M >= 2; x is column 0, y column 1). With 2 objectives one panel, the
    front joined by its staircase; with M > 2 one panel per pair of
    objectives (3 for M = 3), the M-dimensional front's points
    highlighted. ``generations`` ((N,) ints) colours points by generation
    with a colour bar; ``front_mask`` ((N,) bools) defaults to
    :func:`non_dominated_mask`. Axis labels read ``"name (min|max)"``.
    Returns ``path``.
    """
    objectives = list(objectives)
    if len(objectives) < 2:
        raise ConfigError(f"plot_pareto needs at least 2 objectives, got {len(objectives)}")
    values = as_objective_matrix(points, objectives)
    n = len(values)
    mask = non_dominated_mask(values, objectives) if front_mask is None else np.asarray(front_mask, dtype=bool)
    if mask.shape != (n,):
        raise ConfigError(f"front_mask must have shape ({n},), got {mask.shape}")
    gens = None
    if generations is not None:
        gens = np.asarray(generations, dtype=float)
        if gens.shape != (n,):
            raise ConfigError(f"generations must have shape ({n},), got {gens.shape}")

    pairs = list(combinations(range(len(objectives)), 2))
    ncols = min(len(pairs), 3)
    nrows = -(-len(pairs) // ncols)
    fig = Figure(figsize=(5.2 * ncols + (1.0 if gens is not None else 0.0), 4.4 * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    scatter = None
    for ax, (i, j) in zip(axes, pairs):
        scatter = _panel(ax, values[:, [i, j]], [objectives[i], objectives[j]], mask, gens,
                         staircase=len(objectives) == 2)
    for ax in axes[len(pairs):]:
        ax.set_visible(False)
    if gens is not None and scatter is not None and n:
        fig.colorbar(scatter, ax=list(axes[:len(pairs)]), label="generation", ticks=MaxNLocator(integer=True))
    fig.suptitle(title or f"{n} architectures, {int(mask.sum())} non-dominated")
    return save_figure(fig, path)


def _panel(ax, xy: np.ndarray, objectives: Sequence[Objective], mask: np.ndarray,
           gens: Optional[np.ndarray], *, staircase: bool):
    """One 2-D panel: all points (by generation), front points ringed, staircase when 2-D."""
    if gens is not None and len(gens):
        scatter = ax.scatter(xy[:, 0], xy[:, 1], c=gens, cmap="viridis", s=18, alpha=0.8,
                             vmin=gens.min(), vmax=max(gens.max(), gens.min() + 1), label="evaluated", zorder=2)
    else:
        scatter = ax.scatter(xy[:, 0], xy[:, 1], color=POINT_COLOR, s=18, alpha=0.6, label="evaluated", zorder=2)
    front = xy[mask]
    if staircase and len(front):
        steps = attainment_steps(front, objectives)
        ax.plot(steps[:, 0], steps[:, 1], color=FRONT_COLOR, linewidth=1.4, zorder=3)
    if len(front):
        ax.scatter(front[:, 0], front[:, 1], s=60, facecolors="none", edgecolors=FRONT_COLOR,
                   linewidths=1.6, label="non-dominated", zorder=4)
    ax.set_xlabel(str(objectives[0]))
    ax.set_ylabel(str(objectives[1]))
    ax.grid(True, alpha=0.3)
    if len(xy):
        ax.legend(loc=legend_location(len(xy)), fontsize=8)
    return scatter


def plot_fronts(runs: dict, objectives: Sequence[Objective], path: str | os.PathLike, *,
                background=None, title: Optional[str] = None) -> Path:
    """The 2-objective fronts of several runs on one plot, e.g. a search against random search.

    ``runs``: label -> (N, 2) objective values of everything that run
    evaluated (its front is drawn as a staircase with its points);
    ``background``: optional (K, 2) values drawn faintly underneath (e.g. the
    whole space of a tabular benchmark, whose own front is then drawn dashed).
    Returns ``path``.
    """
    objectives = list(objectives)
    if len(objectives) != 2:
        raise ConfigError(f"plot_fronts draws 2 objectives, got {len(objectives)}")
    fig = Figure(figsize=(6.4, 4.8), layout="constrained")
    ax = fig.subplots()
    if background is not None:
        every = as_objective_matrix(background, objectives)
        ax.scatter(every[:, 0], every[:, 1], s=3, color="#bbbbbb", alpha=0.35, label="all architectures", zorder=1)
        steps = attainment_steps(every[non_dominated_mask(every, objectives)], objectives)
        ax.plot(steps[:, 0], steps[:, 1], color="black", linestyle="--", linewidth=1.0, label="true front", zorder=2)
    for label, values in runs.items():
        values = as_objective_matrix(values, objectives)
        front = values[non_dominated_mask(values, objectives)]
        steps = attainment_steps(front, objectives)
        line, = ax.plot(steps[:, 0], steps[:, 1], linewidth=1.6, zorder=3)
        ax.scatter(front[:, 0], front[:, 1], s=28, color=line.get_color(), zorder=4,
                   label=f"{label} ({len(values)} evaluated)")
    ax.set_xlabel(str(objectives[0]))
    ax.set_ylabel(str(objectives[1]))
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    ax.set_title(title or "fronts")
    return save_figure(fig, path)


__all__ = ["BEST_LEGEND_POINTS", "FRONT_COLOR", "POINT_COLOR", "attainment_steps", "legend_location", "plot_fronts",
           "plot_pareto", "save_figure"]
