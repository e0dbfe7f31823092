"""Core types every layer shares: objectives, constraints, Pareto fronts and hypervolume.

* :class:`Objective`: a reported value's name and direction (``min`` / ``max``).
* :class:`Constraint`: ``flops <= 300e6`` on any reported value; its
  :meth:`Constraint.violation` follows pymoo's convention (``<= 0``
  satisfied, positive: the amount of violation).
* :func:`non_dominated_mask`, :func:`hypervolume`: values come in natural
  units with their objectives' directions and are turned into minimisation
  form here. The numerics are moocore's (the C library of López-Ibáñez,
  Fonseca et al., which pymoo also uses), imported lazily; pymoo itself is
  not needed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from evonas.errors import ConfigError


# ----------------------------------------------------------------------------- objectives
@dataclass(frozen=True)
class Objective:
    """One objective: its name and whether it is minimised or maximised."""

    name: str
    direction: str = "min"  # "min" or "max"

    def __post_init__(self) -> None:
        if self.direction not in ("min", "max"):
            raise ConfigError(f"objective {self.name!r}: direction must be 'min' or 'max', got {self.direction!r}")

    @property
    def sign(self) -> float:
        """+1 for minimised objectives, -1 for maximised ones (value * sign is minimised)."""
        return 1.0 if self.direction == "min" else -1.0

    def to_min(self, value: float) -> float:
        """``value`` as a quantity to minimise."""
        return self.sign * value

    def __str__(self) -> str:
        return f"{self.name} ({self.direction})"


def parse_objective(spec: str) -> Objective:
    """``"accuracy:max"`` / ``"params:min"`` / ``"params"`` (min) -> Objective."""
    name, _, direction = spec.partition(":")
    if not name:
        raise ConfigError(f"empty objective name in {spec!r}")
    return Objective(name.strip(), direction.strip() or "min")



# ----------------------------------------------------------------------------- constraints
_PATTERN = re.compile(r"^\s*([A-Za-z_][\w\-]*)\s*(<=|>=|<|>)\s*([-+0-9.eE_]+[kMG]?)\s*$")
_SUFFIX = {"k": 1e3, "M": 1e6, "G": 1e9}


@dataclass(frozen=True)
class Constraint:
    """``name op bound`` with ``op`` one of ``<=`` / ``>=`` (``<`` / ``>`` read the same)."""

    name: str
    op: str
    bound: float

    def violation(self, value: float) -> float:
        """``value - bound`` for ``<=``, ``bound - value`` for ``>=`` (<= 0: satisfied)."""
        return value - self.bound if self.op == "<=" else self.bound - value

    def __str__(self) -> str:
        return f"{self.name} {self.op} {self.bound:g}"


def parse_constraint(spec: str | Constraint) -> Constraint:
    """Parse ``"flops <= 300e6"``, ``"params<=5M"``, ``"accuracy >= 90"``."""
    if isinstance(spec, Constraint):
        return spec
    match = _PATTERN.match(str(spec))
    if not match:
        raise ConfigError(
            f"cannot read constraint {spec!r}: write NAME <= VALUE or NAME >= VALUE "
            "(e.g. 'flops <= 300e6', 'params <= 5M')"
        )
    name, op, raw = match.groups()
    scale = _SUFFIX.get(raw[-1], 1.0)
    try:
        bound = float(raw[:-1] if raw[-1] in _SUFFIX else raw) * scale
    except ValueError as exc:
        raise ConfigError(f"constraint {spec!r}: {raw!r} is not a number") from exc
    return Constraint(name, "<=" if op in ("<=", "<") else ">=", bound)


# ----------------------------------------------------------------------------- Pareto fronts
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
    import moocore

    mask[finite[moocore.is_nondominated(F[finite], keep_weakly=True)]] = True
    return mask


def hypervolume(values: np.ndarray, objectives: Sequence[Objective], *, ideal: np.ndarray,
                nadir: np.ndarray) -> float:
    """Hypervolume of ``values`` after normalising by ``ideal`` / ``nadir`` (minimisation form).

    Each objective is scaled to ``[0, 1]`` between the ideal and nadir points
    and the reference point is ``1.1`` per objective, so the figure is
    comparable across generations of one run (pass the same bounds).
    """
    import moocore

    F = to_minimization(values, objectives)
    if len(F) == 0:
        return 0.0
    span = np.where(nadir - ideal > 0, nadir - ideal, 1.0)
    normalised = (F - ideal) / span
    return float(moocore.hypervolume(normalised, ref=np.full(F.shape[1], 1.1)))


__all__ = ["Constraint", "Objective", "as_objective_matrix", "hypervolume", "non_dominated_mask", "parse_constraint",
           "parse_objective", "to_minimization"]
