"""Operators on a space's numeric encoding: simulated binary crossover and polynomial mutation.

Both are pymoo's own (Deb and Agrawal 1995; Deb and Goyal 1996), called on
the encoded vectors inside the space's box (``space.bounds()``); pymoo is
imported only when one is used. Integer encodings (the DARTS space's) are
rounded back to integers. Any strategy can use them on architectures (encode,
vary, decode); the pymoo adapter applies them to its matrices directly, as
pymoo itself does, and RelativeNAS-style real vectors can use them as they are.
"""
from __future__ import annotations

import numpy as np

from evonas.operators.base import Crossover, Mutation
from evonas.registry import operators
from evonas.spaces.base import HasBounds, HasRepair, require


class _OnVectors:
    """The space's box and integer-ness, and the pymoo problem stub pymoo's operators read them from."""

    def _setup(self, space) -> None:
        require(space, HasBounds, f"operator {self.name!r}")
        from pymoo.core.problem import Problem

        lower, upper = (np.asarray(b, dtype=float) for b in space.bounds())
        probe = np.asarray(space.encode(space.sample(np.random.default_rng(0))))
        self.integer = probe.dtype.kind in "iub"
        self._problem = Problem(n_var=len(lower), xl=lower, xu=upper)

    def _finish(self, X: np.ndarray) -> np.ndarray:
        """Rows clipped into the box, rounded for integer encodings, and repaired by the space when it can
        (``space.repair(rows)``, rows along the last axis: e.g. DARTS moves a duplicate input), so every
        row decodes."""
        X = np.clip(X, self._problem.xl, self._problem.xu)
        if self.integer:
            X = np.rint(X)
        return np.asarray(self.space.repair(X), dtype=float) if isinstance(self.space, HasRepair) else X

    def _encode(self, archs) -> np.ndarray:
        return np.asarray([self.space.encode(a) for a in archs], dtype=float)

    def _decode(self, X: np.ndarray) -> list:
        return [self.space.decode(x.astype(np.int64) if self.integer else x) for x in X]


@operators.register("pm")
class PolynomialMutation(_OnVectors, Mutation):
    """Polynomial mutation of the encoding (pymoo's ``PM``): each coordinate mutates with ``prob_var``
    (None: 1 / number of coordinates) by a polynomial perturbation of index ``eta``."""

    name = "pm"

    def __init__(self, *, eta: float = 20.0, prob_var: float | None = None) -> None:
        super().__init__(eta=eta, prob_var=prob_var)

    def vectors(self, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Mutated copies of the rows of ``X`` (N, n_var)."""
        from pymoo.operators.mutation.pm import PM

        rng = self._check(rng)
        kwargs = {} if self.config["prob_var"] is None else {"prob_var": self.config["prob_var"]}
        return self._finish(PM(eta=self.config["eta"], **kwargs)._do(self._problem, np.asarray(X, dtype=float),
                                                                     random_state=rng))

    def _do(self, archs: list, rng: np.random.Generator, ctx) -> list:
        return self._decode(self.vectors(self._encode(archs), rng))


@operators.register("sbx")
class SimulatedBinaryCrossover(_OnVectors, Crossover):
    """Simulated binary crossover of the encoding (pymoo's ``SBX``): each coordinate recombines with
    ``prob_var``, spread index ``eta``."""

    name = "sbx"

    def __init__(self, *, eta: float = 15.0, prob_var: float = 0.5) -> None:
        super().__init__(eta=eta, prob_var=prob_var)

    def vectors(self, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Children (2, n_matings, n_var) of parents ``X`` (2, n_matings, n_var)."""
        from pymoo.operators.crossover.sbx import SBX

        rng = self._check(rng)
        sbx = SBX(eta=self.config["eta"], prob_var=self.config["prob_var"])
        return self._finish(sbx._do(self._problem, np.asarray(X, dtype=float), random_state=rng))

    def _do(self, pairs: list[tuple], rng: np.random.Generator, ctx) -> list[tuple]:
        X = np.stack([self._encode([a for a, _ in pairs]), self._encode([b for _, b in pairs])])
        children = self.vectors(X, rng)
        return list(zip(self._decode(children[0]), self._decode(children[1])))


__all__ = ["PolynomialMutation", "SimulatedBinaryCrossover"]
