"""Variation operators any strategy accepts (by name from :data:`evonas.registry.operators`, or as objects).

Batch-shaped: a :class:`Mutation` maps parents to children, a :class:`Crossover` pairs to pairs; learned
operators read the search's shared supernet from the context and what they need of the space from its
capabilities.
"""
from evonas.imports import lazy_exports

_EXPORTS = {
    "Operator": "base",
    "Mutation": "base",
    "Crossover": "base",
    "unique_offspring": "base",
    "SpaceMutation": "variation",
    "SpaceCrossover": "variation",
    "PolynomialMutation": "vector",
    "SimulatedBinaryCrossover": "vector",
    "GradientMutation": "gradient",
    "GradientSearch": "gradient",
    "PerturbationMutation": "perturbation",
    "PerturbationValuer": "perturbation",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
