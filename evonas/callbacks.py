"""What the search loop calls while it runs: progress display, plots, user hooks.

A :class:`Callback` has four hooks, all optional: ``on_evaluation(count)``
after each new evaluation, ``on_generation(generation, state)`` after each
generation (``state``: :class:`SearchState`), ``on_end(result, run)`` once the
result exists, and ``close()`` always (also when the search fails). A plain
function ``fn(generation, state)`` passed to :func:`evonas.search` is an
``on_generation`` hook. The loop itself shows nothing: :class:`ProgressDisplay`
(the tqdm bar, the best value per objective and the live hypervolume, one
INFO log line per generation) and :class:`PlotWriter` (``pareto.png`` and
``progress.png`` in the run directory) are callbacks that ``search`` adds
for ``progress=True`` / ``plots=True``.
"""
from __future__ import annotations

import csv
import json
import logging
from pathlib import Path
from typing import Any, Callable

import numpy as np
from tqdm.auto import tqdm

from evonas.core import hypervolume, non_dominated_mask, to_minimization
from evonas.result import Archive, SearchResult
from evonas.spaces.base import HasDrawing

log = logging.getLogger("evonas.loop")


class SearchState:
    """What callbacks see after each generation."""

    def __init__(self, space, strategy, evaluator, archive: Archive, generation: int,
                 hypervolume: list[tuple[int, float]]) -> None:
        self.space, self.strategy, self.evaluator = space, strategy, evaluator
        self.archive, self.generation, self.hypervolume = archive, generation, hypervolume


class Callback:
    """Base class of loop hooks; override the ones you need."""

    def on_evaluation(self, count: int) -> None:
        """After each new evaluation; ``count``: distinct evaluations so far."""

    def on_generation(self, generation: int, state: SearchState) -> None:
        """After each generation."""

    def on_end(self, result: SearchResult, run) -> None:
        """Once the search finished (``run``: its RunDir or None)."""

    def close(self) -> None:
        """Always, last (also when the search fails)."""


class FunctionCallback(Callback):
    """``fn(generation, state)`` as an ``on_generation`` hook."""

    def __init__(self, fn: Callable[[int, SearchState], Any]) -> None:
        self.fn = fn

    def on_generation(self, generation: int, state: SearchState) -> None:
        self.fn(generation, state)


def as_callback(obj) -> Callback:
    return obj if isinstance(obj, Callback) else FunctionCallback(obj)


class ProgressDisplay(Callback):
    """A tqdm bar of distinct evaluations against the budget, the best value per objective and the live
    hypervolume after each generation, and one INFO log line per generation.

    ``hypervolume``: the live curve so far (a resumed run continues its own); it is kept in
    :attr:`hypervolume` and handed to the other callbacks through the state. ``strategy``: a strategy of
    fixed length (its :meth:`~evonas.strategies.base.Strategy.progress_units` is not None: DAP's units,
    a gradient search's epochs, RelativeNAS' generations) has the bar count its own units towards its own
    end, and the estimate follow them, not an evaluation budget it never uses.
    """

    def __init__(self, budget: int, evaluations: int, objectives, *, bar: bool,
                 hypervolume: list[tuple[int, float]] | None = None, strategy=None) -> None:
        units = strategy.progress_units() if strategy is not None and hasattr(strategy, "progress_units") else None
        self.strategy = strategy if units is not None else None
        if units is not None:
            done, total, name = units
            self.bar = tqdm(total=total, initial=done, desc=f"search ({name})", unit=name.rstrip("s"),
                            disable=not bar)
        else:
            self.bar = tqdm(total=max(budget, evaluations), initial=evaluations, desc="search", unit="eval",
                            disable=not bar)
        self.best = _Best(objectives)
        self.live = LiveHypervolume(objectives)
        self.hypervolume = list(hypervolume or [])

    def on_evaluation(self, count: int) -> None:
        if self.strategy is None:
            _advance(self.bar)

    def on_generation(self, generation: int, state: SearchState) -> None:
        if self.strategy is not None:
            done, total, _ = self.strategy.progress_units()
            self.bar.total = total
            self.bar.update(done - self.bar.n)
        value = self.live.update(state.archive)
        if value is not None:
            self.hypervolume.append((generation, value))
        postfix = _postfix(self.best.update(state.archive), self.hypervolume)
        self.bar.set_postfix_str(postfix)
        log.info("generation %d: %d evaluations, %s", generation, len(state.archive), postfix)

    def close(self) -> None:
        self.bar.close()


class PlotWriter(Callback):
    """``progress.png`` (best per objective and hypervolume per generation) and, with two or more
    objectives, ``pareto.png`` in the run directory at the end."""

    def on_end(self, result: SearchResult, run) -> None:
        if run is not None:
            _write_plots(run, result)


def _advance(bar) -> None:
    """One more evaluation on the progress bar; past the budget (the last generation) the total follows."""
    if bar.n >= bar.total:
        bar.total = bar.n + 1
    bar.update(1)


class LiveHypervolume:
    """Hypervolume of the feasible points so far (multi-objective runs only), for the live display, kept up to
    date with the individuals added since the last call.

    Normalised by the ideal / nadir of the feasible points of the earliest
    generations whose values already spread on every objective, so the
    figure does not drop while the run goes on (bounds taken from everything
    seen so far move with each new extreme point and can make it fall);
    until the points spread, everything seen so far sets the bounds. The
    curve kept in the result is recomputed with the final bounds
    (:func:`~evonas.loop.final_hypervolume_curve`). Only the feasible front
    and the bounds are kept (the hypervolume of a set is that of its
    non-dominated points), so a generation costs O(front + new individuals),
    not O(history).
    """

    def __init__(self, objectives) -> None:
        self.objectives, self.seen = tuple(objectives), 0
        self.front = np.empty((0, len(self.objectives)))  # natural units
        self.low = self.high = self.bounds = None  # minimisation form
        self.value: float | None = None  # the last hypervolume returned

    def update(self, archive: Archive) -> float | None:
        """The hypervolume after the individuals added since the last call (None: fewer than 2 objectives)."""
        if len(self.objectives) < 2:
            return None
        new = [ind for ind in archive.individuals[self.seen:] if ind.feasible]
        self.seen = len(archive.individuals)
        if not new and self.value is not None:  # the front and the bounds are as they were
            return self.value
        names = [o.name for o in self.objectives]
        changed = self.value is None  # whether the front or the bounds the value depends on moved
        start = 0
        while start < len(new):  # generation by generation: the bounds are those of the earliest spread ones
            stop = start
            while stop < len(new) and new[stop].generation == new[start].generation:
                stop += 1
            values = np.asarray([[ind.values[name] for name in names] for ind in new[start:stop]], dtype=float)
            F = to_minimization(values, self.objectives)
            if self.bounds is None:  # until the points spread, the bounds are everything seen so far
                changed = True
            self.low = F.min(axis=0) if self.low is None else np.minimum(self.low, F.min(axis=0))
            self.high = F.max(axis=0) if self.high is None else np.maximum(self.high, F.max(axis=0))
            if self.bounds is None and np.all(self.high > self.low):
                self.bounds = (self.low.copy(), self.high.copy())
            pool = np.concatenate([self.front, values])
            mask = non_dominated_mask(pool, self.objectives)
            # no new point on the front: the front is as it was (a new point dominating a member of the front
            # would itself be dominated only by a point that also dominates that member, so one would be on it)
            if mask[len(self.front):].any():
                changed = True
                self.front = pool[mask]
            start = stop
        if self.low is None:
            return 0.0
        if not changed:
            return self.value
        ideal, nadir = self.bounds if self.bounds is not None else (self.low, self.high)
        self.value = hypervolume(self.front, self.objectives, ideal=ideal, nadir=nadir)
        return self.value


class _Best:
    """Best feasible value per objective so far, updated with the individuals added since the last call."""

    def __init__(self, objectives) -> None:
        self.objectives, self.seen, self.best = tuple(objectives), 0, {}

    def update(self, archive: Archive) -> dict[str, float]:
        for ind in archive.individuals[self.seen:]:
            if ind.feasible:
                for o in self.objectives:
                    value = o.to_min(ind.values[o.name])
                    if value < self.best.get(o.name, float("inf")):  # NaN (not evaluated) never wins
                        self.best[o.name] = value
        self.seen = len(archive.individuals)
        return {o.name: self.best[o.name] * o.sign for o in self.objectives if o.name in self.best}


def _postfix(best: dict[str, float], hv_history: list) -> str:
    parts = [f"{name}={value:.4g}" for name, value in best.items()]
    if hv_history:
        parts.append(f"hv={hv_history[-1][1]:.4f}")
    return " ".join(parts)


def _write_plots(run, result: SearchResult) -> None:
    """``progress.png`` and, with two or more objectives, ``pareto.png`` in the run directory ``run``."""
    try:
        from evonas.viz.curves import plot_progress
        from evonas.viz.pareto import plot_pareto
    except ImportError:  # pragma: no cover - matplotlib is a dependency
        log.warning("matplotlib unavailable; no plots written")
        return
    rows = [{"generation": ind.generation, **ind.values} for ind in result.feasible]
    if not rows:
        return
    plot_progress(rows, result.objectives, run.path / "progress.png", hypervolume=result.hypervolume or None)
    if len(result.objectives) >= 2:
        plot_pareto(result.values(result.feasible)[:, :3], result.objectives[:3], run.path / "pareto.png",
                    generations=np.asarray([ind.generation for ind in result.feasible]))


class StrategyOutputs(Callback):
    """A strategy's own results in the run directory: its per-generation rows (the strategy's attribute
    ``rows``, a list of dicts with a ``generation`` column) as ``NAME.csv`` after every generation and
    ``NAME.png`` at the end (:func:`~evonas.viz.curves.plot_trajectory`), and, when the strategy has a
    ``chosen()`` rule, the chosen architecture as ``chosen.json`` / ``chosen.txt`` (and ``chosen.png`` when the
    space can draw it), and the JSON files of its ``result_files()`` (``{file name: content}``), if any."""

    def __init__(self, run_dir, name: str, rows: str, *, strategy=None) -> None:
        self.run_dir, self.name, self.rows, self.strategy = Path(run_dir), name, rows, strategy

    def on_generation(self, generation: int, state: SearchState) -> None:
        self.strategy = state.strategy
        self._write(state.strategy, state.space)

    def _write(self, strategy, space) -> None:
        from evonas.runtime.atomic import atomic_write_csv, atomic_write_text

        rows = getattr(strategy, self.rows)
        if rows:
            atomic_write_csv(self.run_dir / f"{self.name}.csv", rows)
        chosen = strategy.chosen()
        if chosen is not None:
            atomic_write_text(self.run_dir / "chosen.json", json.dumps(space.to_json(chosen), indent=1) + "\n")
            atomic_write_text(self.run_dir / "chosen.txt", f"{chosen}\n")
        for name, content in strategy.result_files().items():
            atomic_write_text(self.run_dir / name, json.dumps(content, indent=1) + "\n")

    def on_end(self, result: SearchResult, run) -> None:
        strategy = self.strategy
        if strategy is not None and strategy.space is not None:
            self._write(strategy, strategy.space)  # also when a resumed search had nothing left to run
        path = self.run_dir / f"{self.name}.csv"
        if path.is_file():
            from evonas.viz.curves import plot_trajectory

            with path.open(newline="") as handle:
                plot_trajectory(list(csv.DictReader(handle)), self.run_dir / f"{self.name}.png")
        chosen = strategy.chosen() if strategy is not None else None
        if chosen is not None and isinstance(strategy.space, HasDrawing):
            strategy.space.draw(chosen, self.run_dir / "chosen.png", title=f"{strategy.name}: chosen architecture")


__all__ = ["Callback", "FunctionCallback", "LiveHypervolume", "PlotWriter", "ProgressDisplay", "SearchState",
           "StrategyOutputs", "as_callback"]
