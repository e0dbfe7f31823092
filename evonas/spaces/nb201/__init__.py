"""The NAS-Bench-201 cell space: cell strings, the benchmark's network, a weight-sharing supernet."""
from evonas.spaces.nb201.arch import EDGES, OPS, arch_string, parse_arch_string, validate_arch
from evonas.spaces.nb201.space import NB201Space

__all__ = ["EDGES", "OPS", "NB201Space", "arch_string", "parse_arch_string", "validate_arch"]
