"""Per-cell DARTS genotypes and per-cell architecture weights (StacNAS without alpha_share)."""
from __future__ import annotations

import pytest
import torch

from evonas.counting import count_params
from evonas.errors import ConfigError, GenotypeError
from evonas.spaces.darts import DartsSpace, SearchNetwork
from evonas.spaces.darts.cellwise import CellwiseGenotype, nearest_layers, reduction_layers
from evonas.spaces.darts.genotypes import DARTS_V1, DARTS_V2
from evonas.spaces.darts.networks import NetworkCIFAR


def _by_kind(normal, reduce, layers):
    return CellwiseGenotype(tuple(reduce if i in reduction_layers(layers) else normal for i in range(layers)))


def test_a_per_cell_genotype_of_the_two_darts_cells_builds_darts_network():
    g = _by_kind(DARTS_V2.normal, DARTS_V2.reduce, 8)
    torch.manual_seed(0)
    per_cell = NetworkCIFAR(8, 10, 8, False, g)
    torch.manual_seed(0)
    shared = NetworkCIFAR(8, 10, 8, False, DARTS_V2)
    assert count_params(per_cell) == count_params(shared)
    x = torch.randn(2, 3, 16, 16)
    assert torch.allclose(per_cell.eval()(x)[0], shared.eval()(x)[0], atol=1e-6)
    # one layer different: that layer's ops, and only that layer's, change
    mixed = CellwiseGenotype(g.cells[:1] + (DARTS_V1.normal,) + g.cells[2:])
    net = NetworkCIFAR(8, 10, 8, False, mixed)
    ops = lambda cell: [type(op).__name__ for op in cell._ops]  # noqa: E731
    assert ops(net.cells[1]) == ops(NetworkCIFAR(8, 10, 8, False, DARTS_V1).cells[1]) != ops(net.cells[0])


def test_validation_json_keys_and_the_space():
    g = _by_kind(DARTS_V2.normal, DARTS_V2.reduce, 5)
    space = DartsSpace()
    assert space.from_json(space.to_json(g)) == g and space.validate(space.to_json(g)) == g
    swapped = list(g.cells)
    swapped[0] = (swapped[0][1], swapped[0][0]) + swapped[0][2:]  # a node's two pairs in the other order
    assert CellwiseGenotype(tuple(swapped)).key() == g.key() and g.key().startswith("cells=")
    other = list(g.cells)
    other[3] = DARTS_V1.normal
    assert CellwiseGenotype(tuple(other)).key() != g.key()
    with pytest.raises(GenotypeError, match="at least 3 cells"):
        CellwiseGenotype((DARTS_V2.normal,) * 2)
    with pytest.raises(GenotypeError, match="layer 2 cell, node 0"):
        CellwiseGenotype((DARTS_V2.normal,) * 2 + ((("bogus", 0), ("skip_connect", 1)) + DARTS_V2.normal[2:],))
    with pytest.raises(GenotypeError, match="same number of nodes"):
        CellwiseGenotype((DARTS_V2.normal,) * 2 + (DARTS_V2.normal[:6],))
    with pytest.raises(GenotypeError, match="layer 1 cell.*not in this space"):
        DartsSpace(primitives=("skip_connect", "sep_conv_3x3", "dil_conv_3x3")).validate(g)  # layer 1 reduces
    with pytest.raises(GenotypeError, match="no vector encoding"):
        space.encode(g)


def test_other_depths_take_the_cell_of_their_kind_at_the_nearest_relative_depth():
    assert nearest_layers(8, 8) == list(range(8))
    for source, target in ((14, 20), (20, 8), (8, 5), (5, 14)):
        mapping = nearest_layers(source, target)
        assert len(mapping) == target and mapping == sorted(mapping)  # depth order kept
        for j, i in enumerate(mapping):
            assert (j in reduction_layers(target)) == (i in reduction_layers(source))
    assert nearest_layers(14, 20)[:4] == [0, 1, 1, 2]
    assert nearest_layers(20, 5)[0] == 1  # layers 1 and 2 are equally near: the shallower
    g = CellwiseGenotype(tuple(DARTS_V1.normal if i % 2 else DARTS_V2.normal for i in range(14)))
    assert g.resized(20).cells == tuple(g.cells[i] for i in nearest_layers(14, 20)) and g.resized(14) is g


def test_per_cell_alphas_in_the_search_network():
    torch.manual_seed(0)
    net = SearchNetwork(C=4, num_classes=10, layers=4, alpha_share=False)
    assert [tuple(a.shape) for a in net.arch_parameters()] == [(4, 14, 8)]
    assert not hasattr(net, "alphas_normal") and net.cell_alphas(2) is not None
    net(torch.randn(2, 3, 8, 8)).sum().backward()
    assert all(net.alphas_cells.grad[i].abs().sum() > 0 for i in range(4))
    with torch.no_grad():  # layer 0 wants sep_conv_3x3 everywhere, layer 3 max_pool_3x3
        net.alphas_cells[0, :, net.primitives.index("sep_conv_3x3")] = 5.0
        net.alphas_cells[3, :, net.primitives.index("max_pool_3x3")] = 5.0
    g = net.genotype()
    assert isinstance(g, CellwiseGenotype) and g.layers == 4
    assert {op for op, _ in g.cells[0]} == {"sep_conv_3x3"} and {op for op, _ in g.cells[3]} == {"max_pool_3x3"}
    assert net(torch.randn(2, 3, 8, 8), g).shape == (2, 10)  # discrete mode runs it, cell by cell
    assert net.path_modules(g) >= {"cells.0.edges.0.ops.sep_conv_3x3", "cells.3.edges.0.ops.max_pool_3x3"}
    shared = SearchNetwork(C=4, num_classes=10, layers=5)
    assert shared(torch.randn(2, 3, 8, 8), g).shape == (2, 10)  # resized to 5 cells by relative depth
    with pytest.raises(ValueError, match="alpha_share=True"):
        net(torch.randn(2, 3, 8, 8), weights_normal=torch.ones(14, 8), weights_reduce=torch.ones(14, 8))
    with pytest.raises(ConfigError, match="needs multiplier == steps"):
        SearchNetwork(C=4, layers=4, alpha_share=False, multiplier=3)
    with pytest.raises(ConfigError, match="edge_normalization needs alpha_share=True"):
        SearchNetwork(C=4, layers=4, alpha_share=False, edge_normalization=True)
    per_layer = [[("skip_connect", "none")] * 14 for _ in range(4)]
    with pytest.raises(ConfigError, match="need alpha_share=False"):
        SearchNetwork(C=4, layers=4, edge_primitives=per_layer)
    with pytest.raises(ConfigError, match="one entry per cell"):
        SearchNetwork(C=4, layers=5, edge_primitives=per_layer, alpha_share=False)
    tiny = SearchNetwork(C=4, layers=4, edge_primitives=per_layer, alpha_share=False)
    assert tiny.cell_primitives[1][0] == ("skip_connect", "none")
    with pytest.raises(GenotypeError, match="layer 0 cell, node 0.*'sep_conv_3x3' is not in"):
        tiny(torch.randn(2, 3, 8, 8), g)


def test_per_cell_genotypes_plot_and_are_refused_by_nb301(tmp_path):
    from evonas.evaluators.nb301 import check_nb301_genotypes
    from evonas.spaces.darts.drawing import plot_genotype

    g = _by_kind(DARTS_V2.normal, DARTS_V2.reduce, 5)
    (tmp_path / "g.json").write_text(g.to_json())
    assert plot_genotype(str(tmp_path / "g.json"), tmp_path / "cells.png").stat().st_size > 0
    with pytest.raises(GenotypeError, match="not per-cell genotypes"):
        check_nb301_genotypes([g])
