"""Surrogate fitness fitted on evonas runs: learn ``objective(arch)`` from evaluated architectures.

:func:`fit_surrogate` reads ``history.csv`` files written by
:func:`evonas.search` (columns ``index, generation, <values>, feasible, key,
arch``; ``arch`` is the JSON of ``space.to_json(arch)``) and/or
``(arch, value)`` pairs, holds out ``test_fraction`` of the distinct
architectures, fits a regressor on the rest and reports held-out Kendall
tau, Spearman rho and R^2 (scipy.stats), then refits on everything.
:class:`SurrogateEvaluator` (registered as ``"surrogate"``) scores any space
with an encoding from a saved model, one batch prediction per call.

Features are ``space.encode(arch)``. Integer genes with at most
``MAX_ONEHOT_LEVELS`` values within ``space.bounds()`` (DARTS op and input
genes) are also one-hot encoded: op ids are names, not quantities, and a
one-hot column lets a tree isolate one op with one split instead of two.
On the DARTS space (32 genes -> 32 + 168 columns) this raised held-out
Kendall tau on a synthetic per-edge objective, see ``tests/evaluators``.
Real-valued encodings (RelativeNAS) are used as they are.

Models come from a small registry (:func:`register_regressor`): ``xgboost``
(default), ``lightgbm`` and ``ridge`` (numpy, no extra dependency); or pass
a :class:`Regressor` subclass. A saved surrogate is two files: the model
bytes at ``path`` and a JSON sidecar ``path + ".json"`` (the space's
settings as :func:`evonas.params.describe` gives them, objective, feature
layout, SHA-256 of the model bytes, fit report), both written atomically;
a missing, corrupt or mismatched pair raises
:class:`~evonas.errors.CheckpointError`.
"""
from __future__ import annotations

import csv
import hashlib
import json
import logging
import math
import warnings
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence

import numpy as np

from evonas.errors import CheckpointError, ConfigError
from evonas.evaluators.base import Evaluator, Objective, parse_objective
from evonas.imports import optional_import
from evonas.params import describe
from evonas.registry import differences, evaluators
from evonas.runtime.atomic import atomic_write_bytes, atomic_write_text
from evonas.spaces.base import HasBounds

log = logging.getLogger(__name__)
FORMAT = "evonas-surrogate"
MAX_ONEHOT_LEVELS = 16


class Regressor:
    """Pluggable regression model: ``fit`` / ``predict`` on float matrices, bytes for saving. A NaN in ``X`` is a
    missing value (boosted trees learn which way it goes; ridge fills it and flags it)."""

    name = ""
    #: the settings a model takes (None: any, passed on to its library, which checks them)
    accepted_params: frozenset[str] | None = None

    def __init__(self, **params: Any) -> None:
        unknown = sorted(set(params) - self.accepted_params) if self.accepted_params is not None else []
        if unknown:
            raise ConfigError(f"unknown setting(s) {', '.join(map(repr, unknown))} of the "
                              f"{self.name or type(self).__name__} surrogate; valid: "
                              f"{', '.join(sorted(self.accepted_params)) or 'none'}")
        self.params = params

    def fit(self, X: np.ndarray, y: np.ndarray, seed: int) -> "Regressor":
        raise NotImplementedError

    def predict(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def to_bytes(self) -> bytes:
        raise NotImplementedError

    @classmethod
    def from_bytes(cls, data: bytes) -> "Regressor":
        raise NotImplementedError


REGRESSORS: dict[str, type[Regressor]] = {}


def register_regressor(name: str):
    """Class decorator: make a :class:`Regressor` available as ``fit_surrogate(model=name)``."""
    def add(cls):
        cls.name = name
        REGRESSORS[name] = cls
        return cls
    return add


@register_regressor("xgboost")
class XGBoostRegressor(Regressor):
    """Gradient-boosted trees (xgboost ``hist``, 400 rounds); defaults suit hundreds to thousands of points.

    One thread and 32 bins by default: NAS histories are small, and on a
    shared 2-core machine more threads made fitting 3-10x slower. Integer and
    one-hot features have fewer levels than bins, so binning is exact there.
    """

    defaults = dict(max_depth=6, eta=0.05, subsample=0.8, colsample_bytree=0.8, min_child_weight=1.0,
                    objective="reg:squarederror", tree_method="hist", max_bin=32, nthread=1)

    def fit(self, X, y, seed):
        xgb = optional_import("xgboost", extra="surrogate", purpose="the xgboost surrogate")
        params = {**self.defaults, **self.params, "seed": int(seed)}
        rounds = int(params.pop("num_rounds", 400))
        self.booster = xgb.train(params, xgb.DMatrix(X, label=y), num_boost_round=rounds)
        return self

    def predict(self, X):
        return self.booster.inplace_predict(np.asarray(X, dtype=np.float32)).astype(np.float64)

    def to_bytes(self):
        return bytes(self.booster.save_raw("ubj"))

    @classmethod
    def from_bytes(cls, data):
        xgb = optional_import("xgboost", extra="surrogate", purpose="the xgboost surrogate")
        model = cls()
        model.booster = xgb.Booster(model_file=bytearray(data))
        return model


@register_regressor("lightgbm")
class LightGBMRegressor(Regressor):
    """LightGBM gradient boosting."""

    defaults = dict(objective="regression", learning_rate=0.05, num_leaves=31, min_data_in_leaf=5,
                    feature_fraction=0.8, bagging_fraction=0.8, bagging_freq=1, max_bin=31, verbose=-1,
                    num_threads=1)

    def fit(self, X, y, seed):
        lgb = optional_import("lightgbm", extra="surrogate", purpose="the lightgbm surrogate")
        params = {**self.defaults, **self.params, "seed": int(seed)}
        rounds = int(params.pop("num_rounds", 400))
        self.booster = lgb.train(params, lgb.Dataset(X, label=y), num_boost_round=rounds)
        return self

    def predict(self, X):
        return np.asarray(self.booster.predict(X), dtype=np.float64)

    def to_bytes(self):
        return self.booster.model_to_string().encode("utf-8")

    @classmethod
    def from_bytes(cls, data):
        lgb = optional_import("lightgbm", extra="surrogate", purpose="the lightgbm surrogate")
        model = cls()
        model.booster = lgb.Booster(model_str=data.decode("utf-8"))
        return model


@register_regressor("ridge")
class RidgeRegressor(Regressor):
    """Linear least squares with an L2 penalty ``alpha`` (closed form, numpy only).

    A missing value (NaN) takes its column's mean over the training rows, and each column that has missing
    values in training gets an indicator column (1 where missing) with a coefficient of its own, so a value
    that is missing for a reason (jacov of a network blind to its input) can weigh like any other level;
    scikit-learn's ``SimpleImputer(add_indicator=True)`` does the same.
    """

    accepted_params = frozenset({"alpha"})

    def fit(self, X, y, seed):
        X = np.asarray(X, dtype=np.float64)
        missing = ~np.isfinite(X)
        counts = (~missing).sum(axis=0)
        self.fill = np.where(missing, 0.0, X).sum(axis=0) / np.maximum(counts, 1)  # column means (0: none)
        self.flagged = np.flatnonzero(missing.any(axis=0))
        X1 = self._design(X)
        penalty = float(self.params.get("alpha", 1.0)) * np.eye(X1.shape[1])
        penalty[-1, -1] = 0.0
        self.coef = np.linalg.solve(X1.T @ X1 + penalty, X1.T @ y)
        return self

    def _design(self, X) -> np.ndarray:
        """``(n, columns + flagged + 1)``: the values (missing ones filled), the indicators, the intercept."""
        X = np.asarray(X, dtype=np.float64)
        missing = ~np.isfinite(X)
        return np.hstack([np.where(missing, self.fill, X), missing[:, self.flagged].astype(np.float64),
                          np.ones((len(X), 1))])

    def predict(self, X):
        return self._design(X) @ self.coef

    def to_bytes(self):
        return json.dumps({"coef": self.coef.tolist(), "fill": self.fill.tolist(),
                           "flagged": self.flagged.tolist()}).encode()

    @classmethod
    def from_bytes(cls, data):
        model, saved = cls(), json.loads(data.decode())
        if isinstance(saved, list):  # saved before missing values were filled: the coefficients, missing = 0
            saved = {"coef": saved, "fill": [0.0] * (len(saved) - 1), "flagged": []}
        model.coef = np.asarray(saved["coef"], dtype=np.float64)
        model.fill = np.asarray(saved["fill"], dtype=np.float64)
        model.flagged = np.asarray(saved["flagged"], dtype=np.int64)
        return model


def _regressor(model: Any, params: Mapping[str, Any]) -> Regressor:
    if isinstance(model, Regressor):
        return model
    if isinstance(model, type) and issubclass(model, Regressor):
        return model(**params)
    if model not in REGRESSORS:
        raise ConfigError(f"unknown surrogate model {model!r}; valid: {', '.join(sorted(REGRESSORS))} "
                          "or a Regressor subclass")
    return REGRESSORS[model](**params)


# ------------------------------------------------------------------ features
def feature_layout(space) -> dict:
    """How :func:`encode_features` turns ``space.encode(arch)`` into model columns (JSON-able)."""
    lower, upper = (np.asarray(b) for b in space.bounds()) if isinstance(space, HasBounds) else (None, None)
    if lower is None or not (np.issubdtype(lower.dtype, np.integer) and np.issubdtype(upper.dtype, np.integer)):
        length = None if lower is None else len(lower)
        return {"length": length, "onehot": []}
    onehot = [[i, int(lo), int(hi)] for i, (lo, hi) in enumerate(zip(lower, upper)) if hi - lo + 1 <= MAX_ONEHOT_LEVELS]
    return {"length": len(lower), "onehot": onehot, "lower": lower.tolist(), "upper": upper.tolist()}


def encode_features(vectors: np.ndarray, layout: Mapping[str, Any]) -> np.ndarray:
    """(n, genes) encodings -> (n, genes + one-hot columns) float matrix."""
    V = np.asarray(vectors, dtype=np.float64)
    blocks = [V]
    for i, lo, hi in layout.get("onehot", []):
        blocks.append((V[:, [i]] == np.arange(lo, hi + 1)[None, :]).astype(np.float64))
    return np.hstack(blocks)


# ------------------------------------------------------------------ data
def _objective_from_run(history: Path, name: str) -> Optional[str]:
    """Direction of ``name`` recorded in the run's config.json ("accuracy (max)"), if any."""
    try:
        settings = json.loads((history.parent / "config.json").read_text(encoding="utf-8"))["settings"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    for text in settings.get("objectives", []):
        if text.startswith(name + " (") and text.endswith(")"):
            return text[len(name) + 2:-1]
    return None


def read_history(path: str | Path, space, objective: str) -> tuple[list[tuple[Any, float]], Optional[str]]:
    """``(arch, value)`` rows of a ``history.csv`` (or a run directory holding one), and the recorded direction."""
    path = Path(path)
    if path.is_dir():
        path = path / "history.csv"
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as exc:
        raise ConfigError(f"cannot read history {path}: {exc.strerror or exc}") from None
    if rows and (objective not in rows[0] or "arch" not in rows[0]):
        missing = objective if objective not in rows[0] else "arch"
        raise ConfigError(f"{path} has no {missing!r} column; columns: {', '.join(rows[0])}")
    pairs = []
    for row in rows:
        try:
            value = float(row[objective])
        except (TypeError, ValueError):
            continue
        if math.isfinite(value):
            pairs.append((space.from_json(json.loads(row["arch"])), value))
    return pairs, _objective_from_run(path, objective)


def _collect(histories: Any, space, name: str) -> tuple[list[Any], np.ndarray, Optional[str]]:
    """Distinct architectures (by space key) with their mean value, and a recorded direction."""
    items = [histories] if isinstance(histories, (str, Path)) else list(histories)
    pairs, direction = [], None
    for item in items:
        if isinstance(item, (str, Path)):
            rows, recorded = read_history(item, space, name)
            pairs += rows
            direction = direction or recorded
        elif isinstance(item, Sequence) and len(item) == 2 and not isinstance(item, str):
            pairs.append((space.validate(item[0]), float(item[1])))
        else:
            raise ConfigError(f"histories must be history.csv paths, run directories or (arch, value) pairs; "
                              f"got {type(item).__name__}")
    groups: dict[str, list] = {}
    for arch, value in pairs:
        groups.setdefault(space.key(arch), [arch, []])[1].append(value)
    archs = [arch for arch, _ in groups.values()]
    return archs, np.array([np.mean(values) for _, values in groups.values()]), direction


def _metrics(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """Held-out Kendall tau, Spearman rho (NaN when either side is constant), R^2 and RMSE."""
    from scipy import stats

    nan = float("nan")
    if len(y) < 3:
        return {"kendall_tau": nan, "spearman": nan, "r2": nan, "rmse": nan}
    resid = float(np.sum((y - pred) ** 2))
    total = float(np.sum((y - y.mean()) ** 2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", stats.ConstantInputWarning)
        tau, rho = stats.kendalltau(y, pred)[0], stats.spearmanr(y, pred)[0]
    return {"kendall_tau": float(tau), "spearman": float(rho), "r2": 1.0 - resid / total if total > 0 else nan,
            "rmse": math.sqrt(resid / len(y))}


# ------------------------------------------------------------------ model
class SurrogateModel:
    """A fitted regressor plus what it needs to score architectures of one space."""

    def __init__(self, regressor: Regressor, *, objective: Objective, layout: Mapping[str, Any],
                 space: Any, report: Optional[Mapping[str, Any]] = None) -> None:
        """``space``: the fitted space's description (:func:`evonas.params.describe`; the text of its ``repr``
        in a sidecar an older evonas wrote)."""
        self.regressor, self.objective, self.layout = regressor, objective, dict(layout)
        self.space, self.report = space, dict(report or {})

    def __repr__(self) -> str:
        space = self.space.get("type") if isinstance(self.space, dict) else self.space
        return f"SurrogateModel({self.regressor.name}, objective={self.objective}, space={space})"

    def describe(self) -> dict:
        """Its identity (as a setting of :class:`SurrogateEvaluator`): the model, its bytes' digest, the objective
        and the space it was fitted on."""
        return {"type": "SurrogateModel", "model": self.regressor.name,
                "sha256": hashlib.sha256(self.regressor.to_bytes()).hexdigest(), "objective": str(self.objective),
                "space": self.space}

    def check_space(self, space) -> None:
        """CheckpointError when ``space`` encodes architectures differently from the fitted one."""
        layout = feature_layout(space)
        if any(layout.get(k) != self.layout.get(k) for k in ("length", "lower", "upper")):
            raise CheckpointError(f"surrogate was fitted on {self.space} (encoding length "
                                  f"{self.layout.get('length')}); {space!r} encodes {layout.get('length')} genes "
                                  "with other bounds")
        differing = differences(self.space, describe(space)) if isinstance(self.space, dict) else []
        if differing:  # (an older sidecar holds a repr text: only its layout is compared)
            log.warning("surrogate fitted on %s, scoring %r (same encoding layout; %s differ)", self.space, space,
                        ", ".join(differing))

    def predict(self, archs: Iterable[Any], space) -> np.ndarray:
        """Predicted objective values of ``archs`` (one batch prediction)."""
        vectors = [np.asarray(space.encode(a), dtype=np.float64) for a in archs]
        if not vectors:
            return np.empty(0)
        return np.asarray(self.regressor.predict(encode_features(np.stack(vectors), self.layout)), dtype=np.float64)

    def save(self, path: str | Path) -> Path:
        """Write the model bytes to ``path`` and the sidecar to ``path.json``, each atomically."""
        path = Path(path)
        blob = self.regressor.to_bytes()
        sidecar = {"format": FORMAT, "version": 1, "model": self.regressor.name,
                   "sha256": hashlib.sha256(blob).hexdigest(),
                   "objective": [self.objective.name, self.objective.direction],
                   "space": self.space, "layout": self.layout, "report": self.report}
        atomic_write_bytes(path, blob)
        atomic_write_text(_sidecar(path), json.dumps(sidecar, indent=1, allow_nan=True))
        return path

    @classmethod
    def load(cls, path: str | Path) -> "SurrogateModel":
        """Inverse of :meth:`save`; CheckpointError for a missing, corrupt or mismatched pair."""
        path = Path(path)
        try:
            meta = json.loads(_sidecar(path).read_text(encoding="utf-8"))
            blob = path.read_bytes()
        except FileNotFoundError as exc:
            raise CheckpointError(f"surrogate file {exc.filename} is missing (a surrogate is {path} plus "
                                  f"{_sidecar(path).name})") from None
        except (OSError, ValueError) as exc:
            raise CheckpointError(f"{_sidecar(path)} is not a surrogate sidecar ({exc})") from None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise CheckpointError(f"{_sidecar(path)} is not an evonas surrogate sidecar")
        if hashlib.sha256(blob).hexdigest() != meta.get("sha256"):
            raise CheckpointError(f"{path} does not match its sidecar (truncated, corrupt or replaced)")
        if meta.get("model") not in REGRESSORS:
            raise CheckpointError(f"{path}: unknown surrogate model {meta.get('model')!r} (register it with "
                                  f"register_regressor first); known: {', '.join(sorted(REGRESSORS))}")
        try:
            regressor = REGRESSORS[meta["model"]].from_bytes(blob)
            name, direction = meta["objective"]
            return cls(regressor, objective=Objective(name, direction), layout=meta["layout"],
                       space=meta["space"], report=meta.get("report"))
        except ConfigError:
            raise
        except Exception as exc:  # noqa: BLE001 - each library raises its own types for bad bytes
            raise CheckpointError(f"{path} cannot be read as a {meta['model']} surrogate ({exc})") from None


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def fit_surrogate(histories: Any, *, space, objective: str | Objective, model: Any = "xgboost",
                  test_fraction: float = 0.2, seed: int = 0, refit: bool = True,
                  model_params: Optional[Mapping[str, Any]] = None) -> tuple[SurrogateModel, dict]:
    """Fit a surrogate of ``objective`` on evaluated architectures.

    Args:
        histories: a ``history.csv`` path or run directory, or a list mixing
            those and ``(arch, value)`` pairs. Repeated architectures (same
            ``space.key``) are merged, their values averaged.
        objective: the column to learn, ``"name"`` or ``"name:max"``; without a
            direction the run's ``config.json`` is consulted, else ``min``.
        model: a registered name (``xgboost``, ``lightgbm``, ``ridge``), a
            :class:`Regressor` subclass or instance; ``model_params`` go to it.
        test_fraction: share of distinct architectures held out for the report.
        refit: after measuring, refit on all architectures (the returned model).

    Returns ``(model, report)``; ``report`` holds ``n``, ``n_train``,
    ``n_test``, ``kendall_tau``, ``spearman``, ``r2``, ``rmse`` (held out;
    NaN with fewer than 3 test points) and the settings.
    """
    if not 0.0 <= test_fraction < 1.0:
        raise ConfigError(f"test_fraction must be in [0, 1), got {test_fraction}")
    target = objective if isinstance(objective, Objective) else parse_objective(objective)
    archs, y, recorded = _collect(histories, space, target.name)
    if isinstance(objective, str) and ":" not in objective and recorded in ("min", "max"):
        target = Objective(target.name, recorded)
    if len(archs) < 5:
        raise ConfigError(f"need at least 5 distinct architectures with a {target.name!r} value, got {len(archs)}")
    layout = feature_layout(space)
    X = encode_features(np.stack([np.asarray(space.encode(a), dtype=np.float64) for a in archs]), layout)
    order = np.random.default_rng(seed).permutation(len(archs))
    n_test = int(round(test_fraction * len(archs)))
    test, train = order[:n_test], order[n_test:]
    params = dict(model_params or {})
    regressor = _regressor(model, params).fit(X[train], y[train], seed)
    report = {"objective": str(target), "model": regressor.name or type(regressor).__name__, "n": len(archs),
              "n_train": len(train), "n_test": n_test, "seed": seed, "refit_on_all": bool(refit and n_test)}
    report.update(_metrics(y[test], regressor.predict(X[test])) if n_test else _metrics(y[:0], y[:0]))
    if refit and n_test:
        regressor = _regressor(type(regressor), params).fit(X, y, seed)
    log.info("surrogate of %s: %d archs, held-out kendall tau %.3f, spearman %.3f, r2 %.3f", target.name,
             len(archs), report["kendall_tau"], report["spearman"], report["r2"])
    return SurrogateModel(regressor, objective=target, layout=layout, space=describe(space), report=report), report


@evaluators.register("surrogate")
class SurrogateEvaluator(Evaluator):
    """Fitness from a saved :class:`SurrogateModel` (``path``), scored in one batch per call.

    ``objective``: the reported name and direction (``"name"`` or
    ``"name:max"``); default ``predicted_<fitted objective>`` with the fitted
    direction, so predictions never pose as measurements in a history.
    ``model`` may be given instead of ``path`` (an in-memory surrogate).
    """

    name = "surrogate"

    def __init__(self, *, path: Optional[str | Path] = None, objective: Optional[str] = None,
                 model: Optional[SurrogateModel] = None) -> None:
        super().__init__()
        if path is None and model is None:
            raise ConfigError("SurrogateEvaluator needs path= (a file written by SurrogateModel.save) or model=")
        self.path, self.objective, self.model = path, objective, model

    def _surrogate(self) -> SurrogateModel:
        if self.model is None:
            self.model = SurrogateModel.load(self.path)
        return self.model

    @property
    def version(self) -> Any:
        if getattr(self, "_digest", None) is None:
            self._digest = hashlib.sha256(self._surrogate().regressor.to_bytes()).hexdigest()[:16]
        return ("surrogate", self._digest)

    @property
    def objectives(self) -> tuple[Objective, ...]:
        fitted = self._surrogate().objective
        if self.objective is None:
            return (Objective(f"predicted_{fitted.name}", fitted.direction),)
        spec = parse_objective(self.objective)
        return (spec if ":" in self.objective else Objective(spec.name, fitted.direction),)

    def _setup(self, space) -> None:
        self._surrogate().check_space(space)

    def _evaluate(self, archs: list[Any]) -> list[dict[str, float]]:
        name = self.objectives[0].name
        return [{name: float(v)} for v in self._surrogate().predict(archs, self.space)]


__all__ = ["FORMAT", "LightGBMRegressor", "MAX_ONEHOT_LEVELS", "REGRESSORS", "Regressor", "RidgeRegressor",
           "SurrogateEvaluator", "SurrogateModel", "XGBoostRegressor", "encode_features", "feature_layout",
           "fit_surrogate", "read_history", "register_regressor"]
