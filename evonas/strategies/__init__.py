"""Strategies: how the population moves (ask / tell / step, ``state_dict`` for an exact resume).

DEAP and pymoo are imported only inside their adapters, on first use. By name:
:data:`evonas.registry.strategies` (``evonas.create("strategy", "nsga2", pop_size=20)``).
"""
from evonas.imports import lazy_exports

_EXPORTS = {
    "Strategy": "base",
    "RandomSearch": "random_search",
    "RegularizedEvolution": "evolution",
    "PymooStrategy": "pymoo_moo",
    "FastNSGA2": "nsga2_fast",
    "DeapStrategy": "deap_ga",
    "RelativeNAS": "relative",
    "DartsSearch": "gradient",
    "StacNASSearch": "gradient",
    "DAP": "dap",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
