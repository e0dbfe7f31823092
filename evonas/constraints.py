"""Constraints on reported values, e.g. ``flops <= 300e6`` or ``params <= 5e6``.

A constraint refers to any value an evaluator reports (an objective or an
extra column). Its :meth:`Constraint.violation` follows pymoo's convention:
``<= 0`` means satisfied, a positive number is the amount of violation.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from evonas.errors import ConfigError

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
            f"cannot read constraint {spec!r}: write NAME <= VALUE or NAME >= VALUE (e.g. 'flops <= 300e6', 'params <= 5M')"
        )
    name, op, raw = match.groups()
    scale = _SUFFIX.get(raw[-1], 1.0)
    try:
        bound = float(raw[:-1] if raw[-1] in _SUFFIX else raw) * scale
    except ValueError as exc:
        raise ConfigError(f"constraint {spec!r}: {raw!r} is not a number") from exc
    return Constraint(name, "<=" if op in ("<=", "<") else ">=", bound)
