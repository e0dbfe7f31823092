"""NAS-Bench-301 scores for DARTS genotypes, read from the official model files.

NAS-Bench-301 (Siems, Zimmer, Zela, Lukasik, Keuper, Hutter; arXiv:2008.09777)
is an ensemble of gradient-boosted trees fitted on ~60k trained DARTS-space
architectures: it predicts the CIFAR-10 validation accuracy (percent) and the
training time (seconds) of a genotype. Its package ``nasbench301`` pins
ConfigSpace 0.4.12 / torch 1.5 and no longer installs; this module needs only
numpy, xgboost and lightgbm (``pip install evonas[nb301]``).

Getting the model files (figshare, the URLs the nasbench301 README and its
``model_downloader.py`` give)::

    # v1.0: https://figshare.com/articles/software/nasbench301_models_v1_0_zip/13061510
    curl -L -o nb_models_1.0.zip https://ndownloader.figshare.com/files/24992018
    unzip nb_models_1.0.zip && mv nb_models nb_models_1.0
    # v0.9: https://figshare.com/articles/software/nasbench301_models_v0_9_zip/12962432
    #       (file https://ndownloader.figshare.com/files/24693026, folders xgb_v0.9 / lgb_runtime_v0.9)

``nb_models_1.0/xgb_v1.0`` holds the accuracy ensemble and
``nb_models_1.0/lgb_runtime_v1.0`` the runtime ensemble: one sub-folder per
member with ``surrogate_model.model`` (a pickled xgboost / LightGBM Booster),
``model_config.json`` and ``data_config.json``.

How a genotype is scored (reproducing ``nasbench301.api`` + ``surrogate_models``):

1. :func:`~evonas.spaces.darts.nb301_encoding.nb301_config`: ``representations.convert_genotype_to_config`` -
   ``edge_{cell}_{k}`` = op for the DARTS edge k (node i's edges start at
   0, 2, 5, 9; edge = start + input) and ``inputs_node_{cell}_{3,4,5}`` =
   the sorted input pair ``"0_2"``. Node 2's inputs are always 0 and 1.
2. :func:`~evonas.spaces.darts.nb301_encoding.nb301_array`: ConfigSpace 0.4.12's ``Configuration.get_array()``
   on the package's ``configspace.json`` as its ``ConfigLoader`` alters it,
   with api.py's fixed training hyperparameters: 56 values, unconditional
   hyperparameters first, then the 24 conditional edges, each group sorted by
   name; a categorical is the index of its value in the choices, an inactive
   edge is NaN; numbers are normalised as ConfigSpace does.
3. :func:`~evonas.spaces.darts.nb301_encoding.nb301_features`: NaN -> -1 (``XGBModel.query``), the model input.
4. Each member predicts; accuracy = ensemble mean (``query_mean``), the noisy
   variant = mean + N(0, std of the members) (``query``, float32 as numpy
   computes it). The runtime is the LightGBM ensemble's mean.

Pickles are read with a restricted unpickler (no code runs). Boosters
pickled by xgboost 1.x hold the pre-1.6 binary model, which xgboost >= 3
refuses; :func:`legacy_xgboost_to_ubj` converts it to the current UBJSON
model format (same trees, so predictions agree with xgboost 1.2 up to
float32 summation order, |delta| < 1e-4 accuracy points).
"""
from __future__ import annotations

import functools
import hashlib
import json
import logging
import pickle
from pathlib import Path
from typing import Any, Iterable, Optional

import numpy as np

from evonas.errors import CheckpointError, ConfigError, GenotypeError
from evonas.evaluators.base import Evaluator, Objective
from evonas.evaluators.nb301_models import (  # noqa: F401  (public names re-exported here)
    _LAYOUT,
    MODEL_FILE,
    NB301Ensemble,
    legacy_xgboost_to_ubj,
    load_ensemble,
    resolve_model_dir,
)
from evonas.imports import optional_import
from evonas.registry import evaluators

log = logging.getLogger(__name__)


def _short_spec(spec: Any, limit: int = 60) -> str:
    """``spec`` as one line of at most ``limit`` characters, for error messages."""
    text = " ".join((spec if isinstance(spec, str) else repr(spec)).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


#: the encoding's public names, also readable here (``from evonas.evaluators.nb301 import NB301_OPS``)
ENCODING_NAMES = ("FEATURE_NAMES", "FIXED_HYPERPARAMETERS", "NB301_OPS", "check_nb301_genotype",
                  "hyperparameter_value", "nb301_array", "nb301_config", "nb301_features")


@functools.lru_cache(maxsize=1)
def _cells():
    """The DARTS space's cell tools: NAS-Bench-301 is a benchmark of the registered ``darts`` space, whose
    genotypes, encoding (:mod:`evonas.spaces.darts.nb301_encoding`) and network cost it uses."""
    from evonas.registry import spaces
    from evonas.spaces.base import HasCellTools, require

    return require(spaces.create("darts"), HasCellTools, "NAS-Bench-301").cell_tools


def __getattr__(name: str):
    if name in ENCODING_NAMES:
        return getattr(_cells().nb301, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def check_nb301_genotypes(specs: Iterable[Any]) -> list:
    """Each of ``specs`` as a Genotype NAS-Bench-301 can score
    (:func:`~evonas.spaces.darts.nb301_encoding.check_nb301_genotype`).

    A bad one raises its GenotypeError with its 1-based position and the
    start of its text prepended: ``genotype 1234 of 5000 ('DARTS_V9'): ...``.
    """
    specs = list(specs)
    check = _cells().nb301.check_nb301_genotype
    checked = []
    for position, spec in enumerate(specs, start=1):
        try:
            checked.append(check(spec))
        except GenotypeError as exc:
            raise GenotypeError(f"genotype {position} of {len(specs)} ({_short_spec(spec)!r}): {exc}") from None
    return checked


def _noise_rng(seed: int, key: str) -> np.random.Generator:
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return np.random.default_rng([int(seed)] + [int.from_bytes(digest[i:i + 4], "little") for i in range(0, 16, 4)])


@evaluators.register("nb301")
class NB301Evaluator(Evaluator):
    """NAS-Bench-301 predicted CIFAR-10 accuracy of DARTS genotypes (objective ``nb301_accuracy``, max).

    Arguments (stored as given; the models load in :meth:`setup`):

    * ``model_dir``: the unzipped ``nb_models_1.0`` folder (or its parent).
    * ``version``: ``"1.0"`` (default) or ``"0.9"``: picks ``xgb_v{version}`` /
      ``lgb_runtime_v{version}``.
    * ``noisy``: report mean + N(0, std of the members) as
      ``nasbench301``'s ``predict(with_noise=True)`` does, instead of the
      mean. The draw is seeded by ``seed`` and the genotype's canonical key,
      so one genotype always gets the same draw (any batch, any order);
      change ``seed`` for another benchmark instance.
    * ``runtime``: also report ``nb301_runtime``, predicted training time in
      seconds (LightGBM ensemble mean, never noisy).
    * ``cost``: also report ``params`` and ``flops`` (multiply-adds) of the
      DARTS evaluation network ``NetworkCIFAR(36, 10, 20, False, genotype)``
      (auxiliary head excluded), counted by evonas and cached per genotype.
      The benchmark itself trains 32 channels / 8 cells; these are the sizes
      papers report.

    Values: ``nb301_accuracy`` (percent, e.g. 94.71), ``nb301_std`` (spread
    of the members), and the optional columns above. Genotypes NB301 cannot
    represent raise GenotypeError naming their position in the batch
    (:func:`check_nb301_genotypes`).
    """

    name = "nb301"

    def __init__(self, model_dir: Optional[str | Path] = None, *, version: str = "1.0", noisy: bool = False,
                 seed: int = 0, runtime: bool = True, cost: bool = True) -> None:
        super().__init__()
        self.model_dir, self.model_version = model_dir, str(version)
        self.noisy, self.seed, self.runtime, self.cost = bool(noisy), int(seed), bool(runtime), bool(cost)
        self.performance: Optional[NB301Ensemble] = None
        self.runtime_model: Optional[NB301Ensemble] = None
        self._cost_cache: dict[str, tuple[float, float]] = {}

    @property
    def objectives(self) -> tuple[Objective, ...]:
        return (Objective("nb301_accuracy", "max"),)

    @property
    def version(self) -> Any:
        return ("nb301", self.model_version, ("noisy", self.seed) if self.noisy else "mean")

    def _setup(self, space) -> None:
        if self.model_dir is None:
            raise ConfigError("NB301Evaluator needs model_dir, the unzipped NAS-Bench-301 model folder; "
                              + _LAYOUT.format(root="<model_dir>", v=self.model_version))
        root = resolve_model_dir(self.model_dir, self.model_version)
        self.performance = load_ensemble(root / f"xgb_v{self.model_version}")
        if self.runtime:
            runtime_dir = root / f"lgb_runtime_v{self.model_version}"
            if not runtime_dir.is_dir():
                raise CheckpointError(f"{root} has no lgb_runtime_v{self.model_version}/ folder (pass runtime=False "
                                      "to score accuracy only); " + _LAYOUT.format(root=root, v=self.model_version))
            self.runtime_model = load_ensemble(runtime_dir)
        log.info("NAS-Bench-301 v%s: %r%s", self.model_version, self.performance,
                 f", {self.runtime_model!r}" if self.runtime_model else "")
        if self.performance.model_config.get("evonas_demo"):
            log.warning("%s: %s", self.performance.path, DEMO_NOTE)

    def _evaluate(self, archs: list[Any]) -> list[dict[str, float]]:
        genotypes = check_nb301_genotypes(archs)
        X = _cells().nb301.nb301_features(genotypes)
        mean, std = self.performance.mean_std(X)
        results = []
        for g, m, s in zip(genotypes, mean, std):
            acc = m + _noise_rng(self.seed, g.key()).normal(0.0, s) if self.noisy else m
            results.append({"nb301_accuracy": float(acc), "nb301_std": float(s)})
        if self.runtime_model is not None:
            for row, value in zip(results, self.runtime_model.mean_std(X)[0]):
                row["nb301_runtime"] = float(value)
        if self.cost:
            for row, g in zip(results, genotypes):
                row["params"], row["flops"] = self._network_cost(g)
        return results

    def _network_cost(self, genotype) -> tuple[float, float]:
        key = genotype.key()
        if key not in self._cost_cache:
            self._cost_cache[key] = network_cost(genotype)
        return self._cost_cache[key]


def network_cost(arch: Any) -> tuple[float, float]:
    """(params, multiply-adds) of the DARTS CIFAR evaluation network (C=36, 20 cells, no auxiliary head) of an
    NB301 genotype (:func:`evonas.spaces.darts.cost.network_cost`)."""
    cells = _cells()
    return cells.network_cost(cells.nb301.check_nb301_genotype(arch))


DEMO_NOTE = "DEMO surrogate trained on a made-up formula: NOT NAS-Bench-301, its numbers mean nothing"


def build_demo_model_dir(path: str | Path, *, seed: int = 0, members: int = 3, n: int = 600) -> Path:
    """Write a tiny model folder in the official layout (``xgb_v1.0``, ``lgb_runtime_v1.0``) for demos and tests.

    The boosters are fitted on ``n`` random genotypes against an invented
    formula (sep convs up, skips and pools down, ~92-95 "percent"); every
    ``model_config.json`` carries ``"evonas_demo": true`` and
    :data:`DEMO_NOTE`, and :class:`NB301Evaluator` logs a warning when it loads one.
    """
    xgb = optional_import("xgboost", extra="nb301", purpose="the NAS-Bench-301 demo models")
    lgb = optional_import("lightgbm", extra="nb301", purpose="the NAS-Bench-301 demo models")
    cells = _cells()
    ops_list = cells.nb301.NB301_OPS
    rng = np.random.default_rng(seed)
    genotypes = [cells.sample_genotype(rng, primitives=ops_list) for _ in range(n)]
    X = cells.nb301.nb301_features(genotypes)
    ops = np.stack([[ops_list.index(op) for op, _ in g.normal + g.reduce] for g in genotypes])
    gain = np.array([-0.25, -0.3, -0.45, 0.35, 0.3, 0.15, 0.1])[ops]
    accuracy = 93.2 + gain[:, :8].sum(1) * 0.35 + gain[:, 8:].sum(1) * 0.1 + rng.normal(0, 0.1, n)
    seconds = 2500.0 + 400.0 * (ops >= 3).sum(1) + rng.normal(0, 50, n)
    root = Path(path)
    for folder, model, fit in (("xgb_v1.0", "xgb", lambda y, i: xgb.train(
            {"max_depth": 5, "eta": 0.1, "subsample": 0.8, "seed": i, "nthread": 1}, xgb.DMatrix(X, label=y), 150)),
            ("lgb_runtime_v1.0", "lgb_time", lambda y, i: lgb.train(
                {"objective": "regression", "num_leaves": 15, "seed": i, "verbose": -1, "num_threads": 1,
                 "bagging_fraction": 0.8, "bagging_freq": 1}, lgb.Dataset(X, label=y), 100))):
        target = accuracy if model == "xgb" else seconds
        for i in range(members):
            member = root / folder / f"demo_member_{i}"
            member.mkdir(parents=True, exist_ok=True)
            (member / MODEL_FILE).write_bytes(pickle.dumps(fit(target, seed + i)))
            config = {"model": model, "evonas_demo": True, "note": DEMO_NOTE}
            (member / "model_config.json").write_text(json.dumps(config))
            (member / "data_config.json").write_text(json.dumps({"seed": seed + i}))
    return root


__all__ = ["DEMO_NOTE", "ENCODING_NAMES", "MODEL_FILE", "NB301Ensemble", "NB301Evaluator", "build_demo_model_dir",
           "check_nb301_genotypes", "legacy_xgboost_to_ubj", "load_ensemble", "network_cost", "resolve_model_dir"]
