"""Plots of searches: Pareto fronts, progress curves, correlation heat maps.

Made with matplotlib's object API only (no pyplot state, never shown):
every function writes one figure file (format from the suffix, PNG by
default) atomically and returns its path.

* :func:`plot_pareto`, :func:`non_dominated_mask` (:mod:`evonas.viz.pareto`)
* :func:`plot_progress`, :func:`plot_training_curves` (:mod:`evonas.viz.curves`)
* an architecture's picture comes from its space (``space.draw(arch, path)``; DARTS cells:
  :mod:`evonas.spaces.darts.drawing`)
"""
from evonas.viz.curves import best_so_far, plot_progress, plot_training_curves
from evonas.viz.pareto import attainment_steps, non_dominated_mask, plot_pareto, save_figure

__all__ = [
    "plot_pareto", "non_dominated_mask", "attainment_steps", "save_figure",
    "plot_progress", "plot_training_curves", "best_so_far",
]
