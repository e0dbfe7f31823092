"""Multi-objective helpers: non-dominated filtering and hypervolume.

Values come in natural units with their :class:`Objective` directions and
are turned into minimisation form here. The numerics are pymoo's
(``NonDominatedSorting``, the ``HV`` indicator), imported lazily.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from evonas.errors import ConfigError
from evonas.evaluators.base import Objective


def as_objective_matrix(values, objectives: Sequence[Objective]) -> np.ndarray:
    """``values`` as a float ``(N, M)`` array, one column per objective; ConfigError otherwise."""
    values = np.asarray(values, dtype=float)
    if values.ndim == 1 and values.size == 0:
        values = values.reshape(0, len(objectives))
    if values.ndim != 2 or values.shape[1] != len(objectives):
        raise ConfigError(f"values must be an (N, {len(objectives)}) array (one column per objective), "
                          f"got shape {values.shape}")
    return values


def to_minimization(values: np.ndarray, objectives: Sequence[Objective]) -> np.ndarray:
    """``(N, M)`` values in natural units -> ``(N, M)`` values to minimise."""
    return as_objective_matrix(values, objectives) * np.asarray([o.sign for o in objectives], dtype=float)


def non_dominated_mask(values: np.ndarray, objectives: Sequence[Objective]) -> np.ndarray:
    """Boolean mask, shape ``(N,)``, of the points no other point dominates.

    ``values`` is ``(N, M)`` in natural units, column ``j`` for
    ``objectives[j]``. Duplicated non-dominated points are all kept; rows
    with a NaN are never on the front.
    """
    F = to_minimization(values, objectives)
    mask = np.zeros(len(F), dtype=bool)
    finite = np.flatnonzero(np.isfinite(F).all(axis=1))
    if finite.size == 0:
        return mask
    if F.shape[1] == 1:
        best = F[finite, 0].min()
        mask[finite[F[finite, 0] == best]] = True
        return mask
    from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

    front = NonDominatedSorting().do(F[finite], only_non_dominated_front=True)
    mask[finite[np.asarray(front, dtype=int)]] = True
    return mask


def hypervolume(values: np.ndarray, objectives: Sequence[Objective], *, ideal: np.ndarray,
                nadir: np.ndarray) -> float:
    """Hypervolume of ``values`` after normalising by ``ideal`` / ``nadir`` (minimisation form).

    Each objective is scaled to ``[0, 1]`` between the ideal and nadir points
    and the reference point is ``1.1`` per objective, so the figure is
    comparable across generations of one run (pass the same bounds).
    """
    from pymoo.indicators.hv import HV

    F = to_minimization(values, objectives)
    if len(F) == 0:
        return 0.0
    span = np.where(nadir - ideal > 0, nadir - ideal, 1.0)
    normalised = (F - ideal) / span
    return float(HV(ref_point=np.full(F.shape[1], 1.1))(normalised))
