"""The DARTS cell utilities a cell-based algorithm works with, in one namespace.

:attr:`DartsSpace.cell_tools <evonas.spaces.darts.space.DartsSpace.cell_tools>` returns this module, so that
algorithms defined on DARTS-style cells (StacNAS' op groups, DAP's expanded cells, op clustering, NAS-Bench-301's
encoding and cost) reach the
cell values and rules through the space they search (:class:`~evonas.spaces.base.HasCellTools`) instead of
importing a concrete space. A space of other DARTS-style cells can offer a module with the same names.
"""
from evonas.spaces.darts import nb301_encoding as nb301
from evonas.spaces.darts import stacnas
from evonas.spaces.darts.cells import edge_index, edge_list, num_edges
from evonas.spaces.darts.cellwise import CellwiseGenotype, as_cellwise, nearest_layers
from evonas.spaces.darts.cost import network_cost
from evonas.spaces.darts.dap_cell import DAP_OPS, DAP_OPS_PUBLISHED, FINE_SELECTION_ORDER, DapCell, node_inputs
from evonas.spaces.darts.encodings import sample_genotype
from evonas.spaces.darts.genotype import CELL_KINDS, Genotype, resolve_genotype
from evonas.spaces.darts.ops import GENOTYPE_PRIMITIVES
from evonas.spaces.darts.supernet import SearchNetwork, derive_cell, genotype_to_weights

__all__ = ["CELL_KINDS", "CellwiseGenotype", "DAP_OPS", "DAP_OPS_PUBLISHED", "DapCell", "FINE_SELECTION_ORDER",
           "GENOTYPE_PRIMITIVES", "Genotype", "SearchNetwork", "as_cellwise", "derive_cell", "edge_index",
           "edge_list", "genotype_to_weights", "nb301", "nearest_layers", "network_cost", "node_inputs", "num_edges",
           "resolve_genotype", "sample_genotype", "stacnas"]
