"""Evaluators: what an architecture is worth (``evaluate(archs) -> list[dict]`` with declared objectives).

Components are imported on first use, so ``import evonas.evaluators`` stays cheap. By name:
:data:`evonas.registry.evaluators` (``evonas.create("evaluator", "cost")``).
"""
from evonas.imports import lazy_exports

_EXPORTS = {
    "Evaluator": "base",
    "CompositeEvaluator": "base",
    "SelectObjectives": "base",
    "Objective": "base",
    "CostEvaluator": "cost",
    "measure_latency": "cost",
    "SupernetEvaluator": "supernet",
    "FewShotSupernetEvaluator": "few_shot",
    "NaswotEvaluator": "zero_cost",
    "SynflowEvaluator": "zero_cost",
    "naswot_score": "zero_cost",
    "synflow_score": "zero_cost",
    "ZeroCostEvaluator": "zero_cost",
    "ZeroCostEnsembleEvaluator": "zero_cost",
    "compute_proxies": "zero_cost",
    "proxy_values": "zero_cost",
    "NB201TableEvaluator": "tabular",
    "load_nb201_table": "tabular",
    "NB301Evaluator": "nb301",
    "SurrogateEvaluator": "surrogate",
    "SurrogateModel": "surrogate",
    "fit_surrogate": "surrogate",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
