"""Zero-cost fitness: score an untrained network from one batch, in milliseconds, with no training.

One module per proxy family (``naswot``, ``jacov``, ``gradients``: grad_norm,
SNIP, GraSP, Fisher; ``synflow``, ``zen``), ``proxies`` computing any set of
them together on one network (shared passes) or on a batch of architectures
(:func:`proxy_values`), ``ensemble`` turning several into one unsupervised
score. Evaluators: ``naswot``, ``synflow`` (one proxy each), ``zero-cost``
(any set of raw proxies as objectives) and ``zc-ensemble`` (the mean
percentile rank of a chosen set against a reference sample). How well each
ranks NAS-Bench-201 cells: docs/algorithms/zero-cost.md.
"""
from evonas.imports import lazy_exports

_EXPORTS = {
    "ActivationCodeKernel": "naswot",
    "NaswotEvaluator": "naswot",
    "naswot_score": "naswot",
    "SynflowEvaluator": "synflow",
    "synflow_score": "synflow",
    "jacov_score": "jacov",
    "zen_score": "zen",
    "PROXIES": "proxies",
    "compute_proxies": "proxies",
    "proxy_values": "proxies",
    "load_batch": "batch",
    "ZeroCostEvaluator": "evaluator",
    "ZeroCostEnsembleEvaluator": "ensemble",
    "DEFAULT_ENSEMBLE": "ensemble",
    "mean_rank": "ensemble",
    "percentile_ranks": "ensemble",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
