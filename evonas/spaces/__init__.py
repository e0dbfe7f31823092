"""Search spaces: what an architecture is, how to sample, vary, encode and build it.

:class:`~evonas.spaces.base.SearchSpace` is the contract; the DARTS cell
space lives in :mod:`evonas.spaces.darts` (imported on demand, it needs torch).
"""
from evonas.spaces.base import SearchSpace, check_rng

__all__ = ["SearchSpace", "check_rng"]
