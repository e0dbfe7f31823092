"""Variation operators any strategy accepts (by name from :data:`evonas.registry.operators`, or as objects)."""
