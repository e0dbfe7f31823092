"""Predictor-guided screening of offspring: evaluate only the candidates a surrogate ranks best.

BANANAS (White, Neiswanger and Savani, AAAI 2021), NPENAS (Wei et al.,
IEEE TNNLS 2022) and NSGANetV2 (Lu et al., ECCV 2020) make many more
offspring than they evaluate: a performance predictor, fitted on the
architectures evaluated so far, scores them all and only the most
promising reach the real (expensive) evaluator. :class:`PredictorScreen`
is that step as one component that regularized evolution, the DEAP
strategies and the pymoo strategies take as their ``screen=`` option:

1. the strategy makes ``candidates`` times as many offspring as it needs
   (by its own selection and variation, each one new to the run);
2. :meth:`PredictorScreen.select` predicts every objective of each
   candidate with one regressor per objective and keeps the best: by
   predicted value with one objective, by predicted non-dominated rank,
   then crowding distance (NSGA-II's order), with several (ranked among
   the values already measured, so a candidate predicted to extend the
   front comes before one predicted to be dominated by a known point);
3. the strategy's ``tell`` passes every evaluated architecture to
   :meth:`PredictorScreen.observe`; the regressors are refitted on all of
   them every ``refit_every`` new observations.

Until ``warmup`` architectures have been observed the screen passes the
offspring through unchanged (a strategy then makes only as many as it
needs). Features are the space's encoding
(:func:`evonas.evaluators.surrogate.encode_features`: small integer genes
one-hot too) plus, optionally, the numeric values of cheap evaluators
(``features="analytic-cost"``, ``["analytic-cost", "zero-cost"]``, ...),
so any space with an encoding and any evaluator (table, supernet,
stand-alone training) work. An objective that a feature evaluator measures
itself (``params`` with ``"analytic-cost"``) is taken from it, not
predicted (``exact_features``), as NSGANetV2 computes FLOPs. Regressors
are those of :mod:`evonas.evaluators.surrogate` (by default ridge
regression where every gene is a one-hot category, XGBoost otherwise),
fitted by default on the log of each value's distance to the best one
observed (``target``). With several objectives, ``order`` chooses how
candidates are ranked: by predicted non-dominated rank and crowding, or
greedily by predicted hypervolume gain.

The screen's state (the observed feature rows and values) travels in the
strategy's checkpoint; the fitted regressors do not: after a resume they
are refitted on the same rows with the same seed, so a resumed search
continues exactly as an uninterrupted one.
"""
from __future__ import annotations

import logging
from typing import Any, Sequence

import numpy as np

from evonas.core import Objective
from evonas.errors import ConfigError
from evonas.params import Configurable
from evonas.spaces.base import HasPathEncoding, require

log = logging.getLogger(__name__)
#: how :meth:`PredictorScreen.select` orders candidates with several objectives (:func:`predicted_order`,
#: :func:`hypervolume_order`)
ORDERS = ("rank", "hypervolume")
#: what the regressors are fitted on (:func:`fit_target`): the measured values, or the log of their distance to
#: the best one observed
TARGETS = ("value", "log-gap")
#: the regressors' defaults for screening: fewer, larger boosting steps than a surrogate fitted once (a screen
#: refits every few evaluations on a few hundred points). On NAS-Bench-201, screened regularized evolution found
#: the optimum after a median 65.5 evaluations with these, 95.5 with 100 rounds at learning rate 0.05
#: (``benchmarks/bench_predictor.py --skip multi --model xgboost --target value
#: [--model-params '{"num_rounds": 100, "eta": 0.05}']``)
FAST_PARAMS = {"xgboost": {"num_rounds": 50, "eta": 0.3}, "lightgbm": {"num_rounds": 50, "learning_rate": 0.3}}


class PredictorScreen(Configurable):
    """Fit a surrogate online on the evaluated architectures; keep the offspring it predicts best.

    Args:
        candidates: offspring made per offspring evaluated (>= 1; 1 screens nothing).
        warmup: architectures observed before the predictor is used (>= 2).
        refit_every: new observations between refits of the regressors (>= 1).
        model: a regressor of :data:`evonas.evaluators.surrogate.REGRESSORS` (``ridge``, ``xgboost``,
            ``lightgbm``) or ``"auto"`` (the default): ``ridge`` where every gene of the space's encoding is
            one-hot encoded (small integer bounds: NAS-Bench-201, DARTS), where a model linear in the genes is
            an additive model of the choices and can rate an unseen combination above every architecture seen,
            which trees cannot; ``xgboost`` otherwise (genes whose values are not categories).
        model_params: the regressor's parameters, over :data:`FAST_PARAMS` (boosted trees: 50 rounds at
            learning rate 0.3, a few hundredths of a second for a few hundred points).
        features: registry name of an evaluator whose numeric values (``params``, ``flops``, a zero-cost
            proxy) are appended to the encoding, or a list of such names (their values merged); None: the
            encoding only.
        feature_options: that evaluator's options; with a list of names, ``{name: options}``.
        order: with several objectives, how the candidates are ranked: ``"rank"`` (predicted non-dominated
            rank among the measured points, then crowding distance: :func:`predicted_order`) or
            ``"hypervolume"`` (one after another, the candidate whose prediction adds the most hypervolume to
            the measured front and the candidates already chosen: :func:`hypervolume_order`).
        exact_features: take an objective that a ``features`` evaluator declares as its own objective (the
            same name: ``params`` with ``features="analytic-cost"``) from it instead of predicting it. Only
            where it measures the same quantity: a zero-cost evaluator's ``params`` counts its own, smaller
            network (set False, or leave ``params`` out of its proxies).
        path_encoding: append the space's path encoding (BANANAS, White et al., AAAI 2021: which op sequences
            the cell's input-to-output paths carry; a space with ``HasPathEncoding``, e.g. NAS-Bench-201) to the
            model inputs: on NAS-Bench-201 it ranks unseen cells better after a few dozen observations.
        explore: the chance that an evaluated slot takes a random candidate instead of the next one predicted
            best (drawn from the strategy's random generator): a little exploration keeps a confident but wrong
            predictor from holding the search in one basin.
        target: what each regressor is fitted on: ``"log-gap"`` (the default; :func:`fit_target`: the log of
            each value's distance to the best one observed, so the fit tells the good architectures apart
            instead of spending itself on how bad the worst are; predictions are mapped back to the objective's
            units) or ``"value"`` (the measured values as they are).

    A subclass (a predictor of its own, say) takes its own settings as keyword arguments and passes the screen's
    on with ``**options``: ``def __init__(self, *, noise=0.0, **options): super().__init__(**options)``.
    """

    def __init__(self, *, candidates: int = 10, warmup: int = 20, refit_every: int = 2, model: str = "auto",
                 model_params: dict | None = None, features: str | Sequence[str] | None = None,
                 feature_options: dict | None = None, explore: float = 0.1, order: str = "rank",
                 exact_features: bool = True, path_encoding: bool = False, target: str = "log-gap") -> None:
        if _passes_options_on(type(self)):  # a subclass's ``**options``: the settings it leaves out are these
            for name, value in dict(locals()).items():
                if name != "self":
                    self.config.setdefault(name, value)
        from evonas.evaluators.surrogate import REGRESSORS

        if candidates < 1:
            raise ConfigError(f"screen candidates must be >= 1 (offspring made per offspring evaluated), "
                              f"got {candidates}")
        if warmup < 2:
            raise ConfigError(f"screen warmup must be >= 2 evaluated architectures, got {warmup}")
        if refit_every < 1:
            raise ConfigError(f"screen refit_every must be >= 1, got {refit_every}")
        if not 0.0 <= explore <= 1.0:
            raise ConfigError(f"screen explore must be within [0, 1] (the chance a slot takes a random candidate), "
                              f"got {explore}")
        if model != "auto" and model not in REGRESSORS:
            raise ConfigError(f"unknown screen model {model!r}; valid: auto, {', '.join(sorted(REGRESSORS))}")
        if model_params and model == "auto":
            raise ConfigError(f"screen model_params {sorted(model_params)} need a named model (ridge, xgboost or "
                              f"lightgbm), not 'auto', which picks one by the space")
        if model_params:  # checked now, not at the first refit
            REGRESSORS[model](**_regressor_params(model, model_params))
        if features is not None and not isinstance(features, str):
            unknown = sorted(set(feature_options or {}) - set(features))
            if unknown:
                raise ConfigError(f"with a list of features, feature_options maps each name to its options; "
                                  f"{', '.join(map(repr, unknown))} is not among {list(features)}")
        if order not in ORDERS:
            raise ConfigError(f"unknown screen order {order!r}; valid: {', '.join(ORDERS)}")
        if target not in TARGETS:
            raise ConfigError(f"unknown screen target {target!r}; valid: {', '.join(TARGETS)}")
        self.space = None
        self.model_name = model  # the regressor, "auto" resolved by setup
        self.objectives: tuple[Objective, ...] = ()
        self.layout: dict = {}
        self.rows: list[list[float]] = []  # feature rows of the observed architectures
        self.values: list[list[float]] = []  # their objectives, minimisation form
        self.keys: set[str] = set()  # the observed architectures (a candidate seen before is ranked last)
        self.fit_size = 0  # observations the current regressors were fitted on (0: none yet)
        self.screened = 0  # candidates scored so far
        self._models: list | None = None
        self._features = None  # the feature evaluator, set up on first use
        self._reported: dict[str, dict] = {}  # architecture key -> the feature evaluator's results (not saved)

    # ------------------------------------------------------------------ binding and state
    def setup(self, space, objectives: Sequence[Objective]) -> "PredictorScreen":
        """Bind to the strategy's space and objectives (returns self)."""
        from evonas.evaluators.surrogate import feature_layout

        if self.config["path_encoding"]:
            require(space, HasPathEncoding, "screen path_encoding=True")
        self.space, self.objectives = space, tuple(objectives)
        self.layout = feature_layout(space)
        self.model_name = self.config["model"]
        if self.model_name == "auto":  # linear where every gene is a one-hot category, trees otherwise
            categorical = self.layout["length"] is not None and len(self.layout["onehot"]) == self.layout["length"]
            self.model_name = "ridge" if categorical else "xgboost"
        return self

    def __getstate__(self) -> dict:
        """The observations and counters; the regressors and the feature evaluator are rebuilt on use."""
        return {**self.__dict__, "_models": None, "_features": None, "_reported": {}}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update({"_reported": {}, **state})  # (checkpoints of older screens lack the cache)
        self.config.setdefault("target", "value")  # ... and the target, which was the values as measured,
        self.__dict__.setdefault("model_name", self.config["model"])  # ... and the resolved model (no "auto" then)

    @property
    def active(self) -> bool:
        """Whether enough architectures were observed for the predictor to be used."""
        return len(self.values) >= self.config["warmup"]

    def pool_size(self, n: int) -> int:
        """How many offspring a strategy should make to evaluate ``n``: ``n * candidates`` once active."""
        return n * self.config["candidates"] if self.active else n

    # ------------------------------------------------------------------ learning
    def observe(self, archs: Sequence[Any], results: Sequence[dict[str, float]]) -> None:
        """Record evaluated architectures and their results (natural units, as the evaluator reports them).
        An architecture with a missing or non-finite objective (a gated evaluation) teaches nothing and is
        skipped; one observed before is not recorded twice."""
        fresh, values = [], []
        for arch, result in zip(archs, results):
            key = self.space.key(arch)
            row = [o.to_min(float(result.get(o.name, float("nan")))) for o in self.objectives]
            if key in self.keys or not np.all(np.isfinite(row)):
                continue
            self.keys.add(key)
            fresh.append(arch)
            values.append(row)
        if fresh:
            self.rows.extend(self._features_of(fresh).tolist())
            self.values.extend(values)

    def _features_of(self, archs: Sequence[Any]) -> np.ndarray:
        """``(n, columns)`` model inputs: the encoding (one-hot where small), the path encoding (with
        ``path_encoding``) and the feature evaluator's values (NaN, missing, where one is not finite)."""
        from evonas.evaluators.surrogate import encode_features

        X = encode_features(np.stack([np.asarray(self.space.encode(a), dtype=np.float64) for a in archs]),
                            self.layout)
        if self.config["path_encoding"]:
            X = np.hstack([X, np.asarray(self.space.path_encoding(archs), dtype=np.float64)])
        if self.config["features"] is None:
            return X
        results = self._feature_results(archs)
        columns = sorted(k for k, v in results[0].items() if isinstance(v, (int, float)))
        extra = np.asarray([[float(r.get(c, np.nan)) for c in columns] for r in results], dtype=np.float64)
        extra[~np.isfinite(extra)] = np.nan  # missing, not 0: jacov's -inf (an output blind to its input) is
        return np.hstack([X, extra])         # the worst score, and 0 would be above every finite one

    def _feature_results(self, archs: Sequence[Any]) -> list[dict]:
        """The ``features`` evaluator's results for ``archs`` (each architecture scored once: a candidate that is
        evaluated later, or offered again, is not scored again)."""
        if self._features is None:
            from evonas.registry import evaluators

            names, options = self.config["features"], self.config["feature_options"] or {}
            if isinstance(names, str):
                self._features = evaluators.create(names, **options)
            else:  # several: their results merged (an objective declared by two of them is refused)
                from evonas.evaluators.base import CompositeEvaluator

                self._features = CompositeEvaluator([evaluators.create(n, **options.get(n, {})) for n in names])
            self._features.setup(self.space)
        keys = [self.space.key(a) for a in archs]
        todo = {k: a for k, a in zip(keys, archs) if k not in self._reported}
        if todo:
            self._reported.update(zip(todo, self._features.evaluate(list(todo.values()))))
        return [self._reported[k] for k in keys]

    def _exact_columns(self) -> list[int]:
        """Indices of the objectives that the ``features`` evaluator declares too (e.g. ``params`` with
        ``features="analytic-cost"``): with ``exact_features``, their values are taken from it, not predicted."""
        if self.config["features"] is None or not self.config["exact_features"]:
            return []
        if self._features is None:
            self._feature_results([])
        declared = {o.name for o in self._features.objectives}
        return [j for j, o in enumerate(self.objectives) if o.name in declared]

    def _fitted(self) -> list:
        """The regressors, one per objective, refitted when ``refit_every`` new observations arrived (after a
        resume: refitted on the rows of the last fit, with its seed, so the predictions are the same)."""
        from evonas.evaluators.surrogate import REGRESSORS

        n, every = len(self.values), self.config["refit_every"]
        size = n if self.fit_size == 0 or n - self.fit_size >= every else self.fit_size
        if self._models is None or size != self.fit_size:
            params = _regressor_params(self.model_name, self.config["model_params"])
            X = np.asarray(self.rows[:size], dtype=np.float64)
            Y = np.asarray(self.values[:size], dtype=np.float64)
            exact, target = self._exact_columns(), self.config["target"]
            self._models = [None if j in exact else
                            _Targeted(REGRESSORS[self.model_name](**params), target).fit(X, Y[:, j], seed=size)
                            for j in range(Y.shape[1])]
            self.fit_size = size
            log.debug("screen: regressors fitted on %d architectures", size)
        return self._models

    def predict(self, archs: Sequence[Any]) -> np.ndarray:
        """Predicted objectives of ``archs``, minimisation form, shape ``(len(archs), n_objectives)``."""
        if not archs:
            return np.empty((0, len(self.objectives)))
        X = self._features_of(archs)
        models = self._fitted()
        reported = self._feature_results(archs) if any(m is None for m in models) else []
        return np.stack([np.asarray(m.predict(X), dtype=np.float64) if m is not None
                         else np.asarray([o.to_min(float(r[o.name])) for r in reported], dtype=np.float64)
                         for m, o in zip(models, self.objectives)], axis=1)

    # ------------------------------------------------------------------ choosing
    def select(self, archs: Sequence[Any], n: int, rng: np.random.Generator | None = None) -> list:
        """The ``n`` of ``archs`` predicted best, best first (all of them, in order, while not active or when
        there are no more than ``n``). Candidates observed before come after every new one. With ``explore``
        > 0, each slot takes a random remaining candidate with that chance (``rng``: the strategy's)."""
        archs = list(archs)
        return [archs[i] for i in self.select_indices(archs, n, rng)]

    def select_indices(self, archs: Sequence[Any], n: int, rng: np.random.Generator | None = None) -> list[int]:
        """Indices into ``archs`` of what :meth:`select` returns."""
        if not self.active or len(archs) <= n:
            return list(range(min(n, len(archs))))
        predicted = self.predict(list(archs))
        self.screened += len(archs)
        known = np.asarray(self.values) if predicted.shape[1] > 1 else None
        if known is not None and self.config["order"] == "hypervolume":
            order = hypervolume_order(predicted, known, n)
        else:
            order = predicted_order(predicted, known)
        old = {i for i, a in enumerate(archs) if self.space.key(a) in self.keys}
        order = [i for i in order if i not in old] + [i for i in order if i in old]
        explore = self.config["explore"]
        if explore <= 0:
            return order[:n]
        if rng is None:
            raise ConfigError("a screen with explore > 0 needs the strategy's random generator (rng=)")
        chosen = []
        for _ in range(n):
            pick = int(rng.integers(len(order))) if rng.random() < explore else 0
            chosen.append(order.pop(pick))
        return chosen


def _passes_options_on(cls: type) -> bool:
    """Whether ``cls`` is a subclass whose constructor takes ``**options`` for :class:`PredictorScreen`'s."""
    import inspect

    return cls is not PredictorScreen and any(p.kind is p.VAR_KEYWORD
                                              for p in inspect.signature(cls.__init__).parameters.values())


def _regressor_params(model: str, given: dict | None) -> dict:
    """The settings a screen's regressor ``model`` is made with: :data:`FAST_PARAMS`, then ``given``."""
    return {**FAST_PARAMS.get(model, {}), **(given or {})}


class _Targeted:
    """A regressor fitted on :func:`fit_target` of the values, predicting in the values' own units."""

    def __init__(self, model, target: str) -> None:
        self.model, self.target, self.inverse = model, target, None

    def fit(self, X: np.ndarray, y: np.ndarray, seed: int) -> "_Targeted":
        t, self.inverse = fit_target(y, self.target)
        self.model.fit(X, t, seed=seed)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.inverse(np.asarray(self.model.predict(X), dtype=np.float64))


def fit_target(y: np.ndarray, target: str):
    """``(t, inverse)``: what a regressor is fitted on for the values ``y`` (``(n,)``, minimisation form) and the
    map from its predictions back to ``y``'s units.

    ``"value"``: ``y`` itself. ``"log-gap"``: ``log(y - min(y) + c)`` with ``c`` 1 % of the observed range
    (``max(y) - min(y)``; 1 where the values are all equal), mapped back by ``exp(t) + min(y) - c``, so a
    prediction can be better than the best observed by up to ``c``. On a table like NAS-Bench-201's (validation
    accuracies from 10 % to 85 %, most architectures within a few points of the best) the log stretches the
    differences among the best and shrinks those among the worst, which is where a screen needs its
    accuracy: regularized evolution and NSGA-II screened by a ridge regressor found better architectures with
    it than without it (``benchmarks/bench_predictor.py --target value``).
    """
    y = np.asarray(y, dtype=np.float64)
    if target == "value":
        return y, lambda t: t
    lowest, spread = float(y.min()), float(y.max() - y.min())
    shift = 0.01 * spread if spread > 0 else 1.0
    return np.log(y - lowest + shift), lambda t: np.exp(np.minimum(t, 700.0)) + lowest - shift  # (no overflow)


def hypervolume_order(F: np.ndarray, known: np.ndarray, n: int) -> list[int]:
    """Indices of the rows of ``F`` (``(c, m)`` predicted values, minimisation form) best first: greedily, the
    ``n`` first each add the most hypervolume to the front of ``known`` (``(k, m)``, the values measured) and
    of the rows already chosen (each taken as if its prediction were measured); rows that add nothing, and
    those after the ``n`` th, follow in :func:`predicted_order`. Objectives are scaled to [0, 1] between the
    smallest and largest value of ``known`` and ``F`` together, the reference point 1.1 in each."""
    import moocore

    F, known = np.asarray(F, dtype=np.float64), np.asarray(known, dtype=np.float64)
    merged = np.vstack([known, F])
    low, high = merged.min(axis=0), merged.max(axis=0)
    scale = np.where(high > low, high - low, 1.0)
    G, front = (F - low) / scale, (known - low) / scale
    reference = np.full(F.shape[1], 1.1)

    def volume(points: np.ndarray) -> float:
        return float(moocore.hypervolume(points, ref=reference)) if len(points) else 0.0

    chosen: list[int] = []
    remaining = list(range(len(F)))
    current = volume(front)
    while len(chosen) < n and remaining:
        gains = np.asarray([volume(np.vstack([front, G[i]])) - current for i in remaining])
        best = int(np.argmax(gains))
        if gains[best] <= 0:
            break
        chosen.append(remaining.pop(best))
        front = np.vstack([front, G[chosen[-1]]])
        current += gains[best]
    taken = set(chosen)
    return chosen + [i for i in predicted_order(F, known) if i not in taken]


def predicted_order(F: np.ndarray, known: np.ndarray | None = None) -> list[int]:
    """Indices of the rows of ``F`` (``(n, m)``, minimisation form) best first: by value with one column; by
    non-dominated rank, then crowding distance (largest first; NSGA-II's order) with several. With ``known``
    (``(k, m)``, the values already measured), ranks and crowding are those the candidates have among the known
    points too, so a candidate predicted to be dominated by one already found ranks after one predicted to extend
    the front. Ties keep the rows' order."""
    F = np.asarray(F, dtype=np.float64)
    if F.shape[1] == 1:
        return [int(i) for i in np.argsort(F[:, 0], kind="stable")]
    known = np.empty((0, F.shape[1])) if known is None else np.asarray(known, dtype=np.float64)
    merged = np.vstack([known, F])
    rank = non_dominated_rank(merged)
    order: list[int] = []
    for level in range(int(rank.max()) + 1):
        members = np.flatnonzero(rank == level)
        crowd = crowding_distance(merged[members])
        order += [int(members[i]) - len(known) for i in np.argsort(-crowd, kind="stable")
                  if members[i] >= len(known)]
    return order


def non_dominated_rank(F: np.ndarray) -> np.ndarray:
    """Front number of each row of ``F`` (``(n, m)``, minimisation): 0 for the rows nothing dominates, 1 for
    those only rows of front 0 dominate, ... (shape ``(n,)``; O(n^2 m), for hundreds of candidates)."""
    F = np.asarray(F, dtype=np.float64)
    dominated_by = (np.all(F[:, None, :] <= F[None, :, :], axis=2)
                    & np.any(F[:, None, :] < F[None, :, :], axis=2))  # [i, j]: row i dominates row j
    rank = np.full(len(F), -1)
    remaining = np.ones(len(F), dtype=bool)
    level = 0
    while remaining.any():
        counts = dominated_by[remaining][:, remaining].sum(axis=0)
        front = np.flatnonzero(remaining)[counts == 0]
        rank[front] = level
        remaining[front] = False
        level += 1
    return rank


def crowding_distance(F: np.ndarray) -> np.ndarray:
    """NSGA-II's crowding distance of each row of one front ``F`` (``(n, m)``): the sum over objectives of the
    normalised gap between its neighbours; the extremes of each objective get infinity."""
    n, m = F.shape
    distance = np.zeros(n)
    if n <= 2:
        return np.full(n, np.inf)
    for j in range(m):
        order = np.argsort(F[:, j], kind="stable")
        column = F[order, j]
        span = column[-1] - column[0]
        distance[order[0]] = distance[order[-1]] = np.inf
        if span > 0:
            distance[order[1:-1]] += (column[2:] - column[:-2]) / span
    return distance


def resolve_screen(spec: Any) -> PredictorScreen | None:
    """A fresh :class:`PredictorScreen` from a strategy's ``screen=`` option: None (no screening), a dict of its
    options (``{}``: the defaults; as the command line's ``--strategy-opt screen='{"candidates": 20}'`` or a
    ``search.json`` gives it) or a :class:`PredictorScreen` (a fresh one of its class, a subclass included, with its
    settings: its state is not shared)."""
    if spec is None:
        return None
    if isinstance(spec, PredictorScreen):
        return type(spec)(**spec.get_params(deep=False))
    if isinstance(spec, dict):
        if spec.get("type", "PredictorScreen") != "PredictorScreen":
            raise ConfigError(f"the screen {spec['type']!r} is a subclass of PredictorScreen, which a search.json "
                              f"cannot build again: resume the run from Python, passing the same screen object")
        options = {k: v for k, v in spec.items() if k != "type"}
        known = set(PredictorScreen.__signature__.parameters)
        unknown = sorted(set(options) - known)
        if unknown:
            raise ConfigError(f"unknown screen option(s) {', '.join(unknown)}; valid: {', '.join(sorted(known))}")
        return PredictorScreen(**options)
    raise ConfigError(f"screen must be a dict of PredictorScreen options (e.g. {{\"candidates\": 10}}) or a "
                      f"PredictorScreen, got {spec!r}")


__all__ = ["FAST_PARAMS", "ORDERS", "PredictorScreen", "crowding_distance", "hypervolume_order",
           "non_dominated_rank", "predicted_order", "resolve_screen"]
