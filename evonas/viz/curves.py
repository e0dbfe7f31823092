"""Search progress and training curves.

:func:`plot_progress` draws, per objective, every evaluation and the
best-so-far value per generation (plus the hypervolume when given);
:func:`plot_training_curves` draws an epoch table (``metrics.csv`` of a
stand-alone training run). Rows may come straight from ``csv.DictReader``:
values are converted with ``float`` and empty or non-numeric cells are
skipped.
"""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence, Tuple

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from evonas.core import Objective
from evonas.errors import ConfigError
from evonas.viz.pareto import legend_location, save_figure


def _number(value: Any) -> Optional[float]:
    """``float(value)`` when finite, else None (missing, empty, text, NaN)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _values(rows: Sequence[Mapping[str, Any]], name: str) -> np.ndarray:
    """``(len(rows),)`` floats of column ``name``, NaN where a row has no finite number."""
    raw = [row.get(name) for row in rows]
    try:  # numbers, None and numeric text, at numpy's speed (10,000 rows: a millisecond)
        values = np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError):  # other text in the column: one cell at a time
        values = np.asarray([np.nan if (v := _number(value)) is None else v for value in raw], dtype=np.float64)
    values[~np.isfinite(values)] = np.nan
    return values


def _column(rows: Sequence[Mapping[str, Any]], x: str, y: str) -> Tuple[np.ndarray, np.ndarray]:
    """(x, y) arrays of the rows where both columns are numbers."""
    xs, ys = _values(rows, x), _values(rows, y)
    keep = ~(np.isnan(xs) | np.isnan(ys))
    return xs[keep], ys[keep]


def best_so_far(rows: Sequence[Mapping[str, Any]], objective: Objective) -> Tuple[np.ndarray, np.ndarray]:
    """(generations, best value among all evaluations up to and including each generation).

    Generations are the sorted distinct ``"generation"`` values of the
    rows that have a number for ``objective.name``; "best" follows the
    objective's direction.
    """
    gens, values = _column(rows, "generation", objective.name)
    if not len(gens):
        return gens, values
    order = np.argsort(gens, kind="stable")
    unique, starts = np.unique(gens[order], return_index=True)
    per_gen = np.minimum.reduceat(values[order] * objective.sign, starts)  # the best of each generation
    return unique, np.minimum.accumulate(per_gen) * objective.sign


def _grid(fig: Figure, n: int, max_cols: int = 3):
    ncols = min(n, max_cols)
    nrows = -(-n // ncols)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes[n:]:
        ax.set_visible(False)
    return axes[:n]


def plot_progress(rows: Iterable[Mapping[str, Any]], objectives: Sequence[Objective],
                  path: str | os.PathLike, *,
                  hypervolume: Optional[Sequence[Tuple[float, float]]] = None) -> Path:
    """Best-so-far value of each objective per generation, one panel each.

    ``rows``: one mapping per evaluation with ``"generation"`` and each
    objective's name (extra keys ignored). Every evaluation is drawn as a
    faint dot, the best-so-far (respecting the objective's direction) as a
    step line. ``hypervolume``: ``(generation, value)`` pairs drawn in an
    extra panel. Returns ``path``.
    """
    rows = list(rows)
    objectives = list(objectives)
    if not objectives:
        raise ConfigError("plot_progress needs at least one objective")
    missing = [o.name for o in objectives if not any(_number(r.get(o.name)) is not None for r in rows)]
    if rows and missing:
        raise ConfigError(f"no numeric values for objective(s) {missing} in the rows "
                          f"(columns: {sorted({k for r in rows for k in r})})")
    panels = len(objectives) + (hypervolume is not None)
    fig = Figure(figsize=(4.6 * min(panels, 3), 3.6 * -(-panels // 3)), layout="constrained")
    axes = _grid(fig, panels)
    for ax, objective in zip(axes, objectives):
        gens, values = _column(rows, "generation", objective.name)
        ax.scatter(gens, values, s=8, color="0.6", alpha=0.5, label="evaluated")
        best_gens, best = best_so_far(rows, objective)
        if len(best):
            ax.step(best_gens, best, where="post", color="#d62728", linewidth=1.6, marker="o",
                    markersize=3, label="best so far")
            ax.legend(loc=legend_location(len(gens)), fontsize=8)
        ax.set_xlabel("generation")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(str(objective))
        ax.grid(True, alpha=0.3)
    if hypervolume is not None:
        ax = axes[-1]
        pairs = [(g, v) for g, v in ((_number(g), _number(v)) for g, v in hypervolume)
                 if g is not None and v is not None]
        if pairs:
            gens, values = zip(*sorted(pairs))
            ax.plot(gens, values, color="#2ca02c", marker="o", markersize=3)
        ax.set_xlabel("generation")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel("hypervolume (max)")
        ax.grid(True, alpha=0.3)
    fig.suptitle(f"search progress ({len(rows)} evaluations)")
    return save_figure(fig, path)


#: panels of :func:`plot_training_curves`: (title, y label, test on a column name)
_TRAINING_PANELS = (
    ("loss", "loss (nats / sample)", lambda c: c.endswith("loss")),
    ("accuracy", "accuracy (%)", lambda c: any(t in c for t in ("top1", "top5", "acc"))),
    ("learning rate", "learning rate", lambda c: c in ("lr", "learning_rate")),
)


def plot_training_curves(metrics_rows: Iterable[Mapping[str, Any]], path: str | os.PathLike) -> Path:
    """Epoch curves of a training run: losses, accuracies and the learning rate.

    ``metrics_rows``: one mapping per epoch with ``"epoch"`` and columns
    such as ``train_loss``, ``test_loss``, ``train_top1``, ``test_top1``,
    ``train_top5``, ``lr`` (as evonas' ``metrics.csv``). Columns ending in
    ``loss`` share a panel, columns with ``top1`` / ``top5`` / ``acc`` share
    one, ``lr`` gets its own; other columns (``seconds``, ...) are not
    drawn. Panels with no data are left out. Returns ``path``.
    """
    return _plot_panels(metrics_rows, path, "epoch", _TRAINING_PANELS)


#: panels of :func:`plot_trajectory`
_TRAJECTORY_PANELS = (
    ("diversity", "mean distance to the centroid", lambda c: c == "diversity"),
    ("population fitness", "objective", lambda c: c.startswith(("best_", "mean_"))),
    ("pairs' validation loss", "loss (nats / sample)", lambda c: c.startswith("pair_")),
    ("search losses", "loss (nats / sample)", lambda c: c in ("train_loss", "val_loss")),
    ("schedule", "value", lambda c: c in ("lr", "drop_path_prob")),
)


def plot_trajectory(rows: Iterable[Mapping[str, Any]], path: str | os.PathLike) -> Path:
    """A search's trajectory per generation (RelativeNAS' ``trajectory.csv``, a gradient search's
    ``search_curve.csv``): a population's diversity, the best and mean objective of its members (``best_*``,
    ``mean_*`` columns), the pairs' validation losses (``pair_*``), training / validation losses
    (``train_loss``, ``val_loss``) and the schedules (``lr``, ``drop_path_prob``). Rows need ``"generation"``;
    panels with no data are left out. Returns ``path``."""
    return _plot_panels(rows, path, "generation", _TRAJECTORY_PANELS)


def _plot_panels(rows: Iterable[Mapping[str, Any]], path: str | os.PathLike, x: str, spec) -> Path:
    """One panel per ``(title, y label, column test)`` of ``spec`` that has numbers, columns against ``x``."""
    rows = list(rows)
    columns: list[str] = []
    for row in rows:
        columns += [c for c in row if c not in columns and c != x]
    panels = []
    for title, ylabel, accepts in spec:
        chosen = [c for c in columns if accepts(c) and len(_column(rows, x, c)[0])]
        if chosen:
            panels.append((title, ylabel, chosen))
    if rows and not panels:
        raise ConfigError(f"no columns to draw with numbers among {columns}")
    fig = Figure(figsize=(4.6 * max(len(panels), 1), 3.6), layout="constrained")
    axes = _grid(fig, max(len(panels), 1))
    for ax, (title, ylabel, chosen) in zip(axes, panels):
        for column in chosen:
            xs, values = _column(rows, x, column)
            ax.plot(xs, values, marker="o" if len(xs) < 30 else None, markersize=3, label=column)
        ax.set_title(title)
        ax.set_xlabel(x)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(ylabel)
        ax.grid(True, alpha=0.3)
        ax.legend(loc="best", fontsize=8)
    return save_figure(fig, path)


__all__ = ["best_so_far", "plot_progress", "plot_training_curves", "plot_trajectory"]
