"""``evonas search --tensorboard DIR``: a search's progress as TensorBoard event files
(``torch.utils.tensorboard``; ``pip install tensorboard``).

Per generation (the TensorBoard step is the generation): ``search/evaluations``,
``search/evaluations_per_second``, ``best/NAME`` (best feasible value so far per
objective), ``search/hypervolume`` (the live hypervolume of the progress
display, multi-objective runs), ``front/size`` and, every
``figure_every`` generations and at the end, the front as a figure
(``front``, a matplotlib scatter of every evaluation on the first two
objectives). A shared supernet that trains (the supernet evaluator before the
search, RelativeNAS, DARTS / StacNAS, DAP) logs ``supernet/loss``,
``supernet/top1`` and ``supernet/lr`` at its optimiser step; a strategy's
own rows (its :class:`~evonas.callbacks.StrategyOutputs`, e.g. RelativeNAS'
trajectory, a gradient search's losses) log their numbers as
``strategy/COLUMN``.
"""
from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np

from evonas.callbacks import Callback, SearchState, StrategyOutputs
from evonas.context import shared_supernets
from evonas.core import non_dominated_mask
from evonas.imports import optional_import


class TensorBoardCallback(Callback):
    """Logs a search to TensorBoard event files in ``log_dir`` (see the module docstring)."""

    def __init__(self, log_dir: str | Path, *, figure_every: int = 10) -> None:
        optional_import("tensorboard", extra="tensorboard", purpose="--tensorboard")
        from torch.utils.tensorboard import SummaryWriter

        self.log_dir, self.figure_every = Path(log_dir), figure_every
        self.writer = SummaryWriter(log_dir=str(self.log_dir))
        self.best: dict[str, float] = {}
        self.seen, self.supernet_rows, self.strategy_rows = 0, {}, {}
        self.clock, self.count = time.perf_counter(), None

    def on_generation(self, generation: int, state: SearchState) -> None:
        archive, w = state.archive, self.writer
        now, count = time.perf_counter(), len(archive)
        if self.count is not None:
            w.add_scalar("search/evaluations_per_second", (count - self.count) / max(now - self.clock, 1e-9),
                         generation)
        self.clock, self.count = now, count
        w.add_scalar("search/evaluations", count, generation)
        for ind in archive.individuals[self.seen:]:
            if ind.feasible:
                for o in archive.objectives:
                    value = o.to_min(ind.values[o.name])
                    if value < self.best.get(o.name, math.inf):
                        self.best[o.name] = value
        self.seen = count
        for o in archive.objectives:
            if o.name in self.best:
                w.add_scalar(f"best/{o.name}", self.best[o.name] * o.sign, generation)
        if state.hypervolume:
            w.add_scalar("search/hypervolume", state.hypervolume[-1][1], generation)
        if len(archive.objectives) >= 2:
            w.add_scalar("front/size", self._front_size(archive), generation)
            if self.figure_every and generation % self.figure_every == 0:
                self._figure(archive, generation)
        self._supernets(state.evaluator)
        self._strategy(state.strategy, generation)
        w.flush()

    @staticmethod
    def _front_mask(archive) -> np.ndarray:
        feasible = [ind for ind in archive.individuals if ind.feasible]
        if not feasible:
            return np.zeros(0, dtype=bool)
        values = np.asarray([[ind.values[o.name] for o in archive.objectives] for ind in feasible])
        return non_dominated_mask(values, archive.objectives)

    def _front_size(self, archive) -> int:
        """Distinct objective vectors on the feasible front (as :attr:`SearchResult.front` counts them)."""
        feasible = [ind for ind in archive.individuals if ind.feasible]
        if not feasible:
            return 0
        values = np.asarray([[ind.values[o.name] for o in archive.objectives] for ind in feasible])
        return len(np.unique(values[self._front_mask(archive)], axis=0))

    def _figure(self, archive, generation: int) -> None:
        from matplotlib.figure import Figure

        objectives = archive.objectives
        feasible = [ind for ind in archive.individuals if ind.feasible]
        if not feasible:
            return
        values = np.asarray([[ind.values[o.name] for o in objectives[:2]] for ind in feasible])
        mask = self._front_mask(archive)
        fig = Figure(figsize=(5, 4), layout="constrained")
        ax = fig.add_subplot()
        ax.scatter(values[:, 1], values[:, 0], s=10, c=[ind.generation for ind in feasible], cmap="viridis")
        order = np.argsort(values[mask, 1])
        ax.plot(values[mask, 1][order], values[mask, 0][order], "o-", color="#d62728", drawstyle="steps-post")
        ax.set_xlabel(f"{objectives[1].name} ({objectives[1].direction})")
        ax.set_ylabel(f"{objectives[0].name} ({objectives[0].direction})")
        ax.set_title(f"generation {generation}: {len(feasible)} evaluated")
        self.writer.add_figure("front", fig, generation)

    def _supernets(self, evaluator) -> None:
        for k, shared in enumerate(shared_supernets(evaluator)):
            rows = getattr(shared, "training_log", [])
            prefix = "supernet" if k == 0 else f"supernet{k}"
            for row in rows[self.supernet_rows.get(k, 0):]:
                for name in ("loss", "top1", "lr"):
                    self.writer.add_scalar(f"{prefix}/{name}", row[name], row["step"])
            self.supernet_rows[k] = len(rows)

    def _strategy(self, strategy, generation: int) -> None:
        if not hasattr(self, "_outputs"):
            self._outputs = [c for c in strategy.callbacks(self.log_dir) if isinstance(c, StrategyOutputs)]
        for output in self._outputs:
            rows = getattr(strategy, output.rows, None) or []
            for row in rows[self.strategy_rows.get(output.name, 0):]:
                step = row.get("generation", generation)
                for column, value in row.items():
                    if column != "generation" and isinstance(value, (int, float)) and not isinstance(value, bool) \
                            and math.isfinite(value):
                        self.writer.add_scalar(f"strategy/{column}", value, step)
            self.strategy_rows[output.name] = len(rows)

    def on_end(self, result, run) -> None:
        if len(result.objectives) >= 2 and result.individuals:
            from evonas.result import Archive

            archive = Archive(result.objectives)
            archive.individuals = list(result.individuals)
            generation = max(ind.generation for ind in result.individuals)
            self._figure(archive, generation)
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


__all__ = ["TensorBoardCallback"]
