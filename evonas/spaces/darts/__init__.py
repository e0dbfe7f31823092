"""The DARTS cell search space (Liu et al., ICLR 2019) and its published genotypes.

Architecture values are :class:`Genotype` objects; :func:`resolve_genotype`
accepts a published name, JSON, pasted ``Genotype(...)`` text or a file.
:class:`NetworkCIFAR` / :class:`NetworkImageNet` build stand-alone networks,
:class:`SearchNetwork` the weight-sharing supernet (discrete and continuous
modes), and :class:`DartsSpace` implements the SearchSpace contract.
"""
from evonas.spaces.darts.cells import Cell, MixedOp, SearchCell, edge_index, edge_list, num_edges
from evonas.spaces.darts.encodings import (
    RELATIVENAS_PRIMITIVES,
    DiscreteEdgeEncoding,
    RelativeNASEncoding,
    crossover_genotypes,
    mutate_genotype,
    sample_genotype,
)
from evonas.spaces.darts.genotype import (
    GENOTYPE_OPS,
    Genotype,
    canonical_key,
    parse_genotype,
    resolve_genotype,
)
from evonas.spaces.darts.genotypes import PUBLISHED_GENOTYPES, get_genotype, list_genotypes
from evonas.spaces.darts.networks import NetworkCIFAR, NetworkImageNet
from evonas.spaces.darts.ops import GENOTYPE_PRIMITIVES, OPS, PRIMITIVES, build_op
from evonas.spaces.darts.space import DartsSpace
from evonas.spaces.darts.supernet import SearchNetwork, derive_cell, genotype_to_weights

__all__ = [
    "Cell", "MixedOp", "SearchCell", "edge_index", "edge_list", "num_edges",
    "RELATIVENAS_PRIMITIVES", "DiscreteEdgeEncoding", "RelativeNASEncoding",
    "crossover_genotypes", "mutate_genotype", "sample_genotype",
    "GENOTYPE_OPS", "Genotype", "canonical_key", "parse_genotype", "resolve_genotype",
    "PUBLISHED_GENOTYPES", "get_genotype", "list_genotypes",
    "NetworkCIFAR", "NetworkImageNet",
    "GENOTYPE_PRIMITIVES", "OPS", "PRIMITIVES", "build_op",
    "DartsSpace",
    "SearchNetwork", "derive_cell", "genotype_to_weights",
]
