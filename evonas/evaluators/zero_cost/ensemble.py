"""An unsupervised ensemble of zero-cost proxies: the mean percentile rank of a chosen set.

No proxy ranks architectures well on every space, and their errors differ
(Krishnakumar, White et al., "NAS-Bench-Suite-Zero", NeurIPS 2022 Datasets
and Benchmarks, find that combining them beats any one). The ensemble needs
no accuracies: each proxy's value is turned into its rank, and the ranks
are averaged, so proxies on different scales (a log-determinant, a
parameter count) weigh the same.

A rank within the batch being scored would make an architecture's score
depend on its batch-mates, which a search's memo cache and its batches of
offspring cannot allow. The ``zc-ensemble`` evaluator therefore ranks each
value against a fixed **reference sample** (``reference`` random
architectures of the space, scored once in :meth:`setup`):
:func:`percentile_ranks` gives the share of the reference below the value
(ties count half), in [0, 1], and ``zc_ensemble`` is their mean over the
proxies. Over a large sample this orders architectures as the mean rank
within the sample (:func:`mean_rank`, what the benchmark also reports)
does.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from evonas.core import Objective
from evonas.errors import ConfigError
from evonas.evaluators.zero_cost.evaluator import ProxyEvaluator
from evonas.evaluators.zero_cost.proxies import check_proxies, score_architecture
from evonas.evaluators.zero_cost.zen import ZEN_GAMMA
from evonas.registry import evaluators

#: the proxies ``zc-ensemble`` averages unless told otherwise (chosen on a held-out sample of NAS-Bench-201 cells,
#: see docs/algorithms/zero-cost.md)
DEFAULT_ENSEMBLE = ("naswot", "jacov")
#: the prefix of the extra columns ``zc-ensemble`` reports (``zc_naswot``), so that they never clash with
#: another evaluator's values (a cost evaluator's ``params``)
PREFIX = "zc_"


def _clean(values) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    return np.where(np.isnan(values), -np.inf, values)  # undefined ranks last


def percentile_ranks(values: Sequence[float], reference: Sequence[float]) -> np.ndarray:
    """The share of ``reference`` below each of ``values``, ties counting half: (len(values),) in [0, 1].

    NaN counts as ``-inf`` (the lowest). An empty reference is a :class:`ConfigError`.
    """
    ref = np.sort(_clean(reference))
    if not len(ref):
        raise ConfigError("the reference sample is empty")
    values = _clean(values)
    below = np.searchsorted(ref, values, side="left")
    not_above = np.searchsorted(ref, values, side="right")
    return (below + not_above) / (2.0 * len(ref))


def mean_rank(table: Mapping[str, Sequence[float]], proxies: Sequence[str] | None = None) -> np.ndarray:
    """The mean over ``proxies`` (default: every column of ``table``) of each row's percentile rank within its
    own column: (rows,) in [0, 1], higher is better. ``table`` maps proxy names to equally long columns."""
    names = list(table) if proxies is None else list(proxies)
    if not names:
        raise ConfigError("mean_rank needs at least one proxy")
    columns = [_clean(table[name]) for name in names]
    if len({len(c) for c in columns}) != 1:
        raise ConfigError(f"columns of different lengths: {[len(c) for c in columns]}")
    return np.mean([percentile_ranks(c, c) for c in columns], axis=0)


@evaluators.register("zc-ensemble")
class ZeroCostEnsembleEvaluator(ProxyEvaluator):
    """``zc_ensemble`` (max): the mean percentile rank of zero-cost proxies against a reference sample.

    Each architecture's untrained network (``space.build(arch, **net_kwargs)``) is scored with every proxy of
    ``proxies``; each value becomes its share of the reference sample's values below it, and the ensemble is
    their mean, in [0, 1]. The proxies' raw values are reported too, as ``zc_<proxy>`` columns.

    Args:
        proxies: the proxies averaged (default :data:`DEFAULT_ENSEMBLE`: naswot and jacov).
        reference: how many distinct random architectures of the space form the reference sample (drawn
            with ``seed`` and scored once, in :meth:`setup`).
        report: more proxies to compute and report as ``zc_<proxy>`` columns without averaging them.
        dataset, root, batch_size, net_kwargs, seed, zen_gamma: as the ``zero-cost`` evaluator's.
    """

    name = "zc-ensemble"

    def __init__(self, *, proxies: Sequence[str] = DEFAULT_ENSEMBLE, reference: int = 100,
                 report: Sequence[str] = (), dataset: str = "cifar10-mini", root: str | None = None,
                 batch_size: int = 64, net_kwargs: Mapping[str, Any] | None = None, seed: int = 0,
                 zen_gamma: float = ZEN_GAMMA) -> None:
        super().__init__()
        self.proxies = check_proxies(proxies, what="proxies to average")
        self.report = check_proxies(report) if report else ()
        if not isinstance(reference, int) or reference < 2:
            raise ConfigError(f"reference must be a number of architectures >= 2, got {reference!r}")
        self.reference = reference
        self._store(dataset, root, batch_size, net_kwargs, seed, zen_gamma)
        self._reference_values: dict[str, np.ndarray] = {}

    @property
    def computed(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.proxies + self.report))

    @property
    def objectives(self) -> tuple[Objective, ...]:
        return (Objective("zc_ensemble", "max"),)

    def _setup(self, space) -> None:
        self._load_batch()
        rng, archs, keys = np.random.default_rng(self.seed), [], set()
        for _ in range(20 * self.reference):
            if len(archs) == self.reference:
                break
            arch = space.sample(rng)
            if space.key(arch) not in keys:
                keys.add(space.key(arch))
                archs.append(arch)
        if len(archs) < 2:
            raise ConfigError(f"the space gave {len(archs)} distinct architecture(s) for the reference sample")
        rows = [self._proxies_of(arch) for arch in archs]
        self._reference_values = {name: np.asarray([row[name] for row in rows]) for name in self.proxies}

    def _proxies_of(self, arch: Any) -> dict[str, float]:
        return score_architecture(self.space, arch, self._images, self._labels, self.proxies,
                                  net_kwargs=self.net_kwargs, seed=self.seed, zen_gamma=self.zen_gamma)

    def ensemble(self, rows: Sequence[Mapping[str, float]]) -> np.ndarray:
        """The ensemble score of proxy rows (``{proxy: value}`` holding every proxy of :attr:`proxies`)."""
        return np.mean([percentile_ranks([row[name] for row in rows], self._reference_values[name])
                        for name in self.proxies], axis=0)

    def _evaluate(self, archs: list) -> list[dict[str, float]]:
        rows = self.proxy_rows(archs)
        scores = self.ensemble(rows)
        return [{"zc_ensemble": float(score), **{PREFIX + k: v for k, v in row.items()}}
                for score, row in zip(scores, rows)]

    # a copy elsewhere (a worker process) takes the reference values instead of scoring the sample again
    def replica_state(self) -> Any:
        return {"reference": {name: [float(v) for v in values] for name, values in self._reference_values.items()}}

    def setup_replica(self, space, state: Any) -> None:
        if state is None:
            self.setup(space)
            return
        self.space = space
        self._load_batch()
        self._reference_values = {name: np.asarray(state["reference"][name], dtype=float) for name in self.proxies}
        self._is_set_up = True


__all__ = ["DEFAULT_ENSEMBLE", "PREFIX", "ZeroCostEnsembleEvaluator", "mean_rank", "percentile_ranks"]
