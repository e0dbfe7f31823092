"""The DARTS space's few-shot split (HasEdgeSplit): node 0's edges, keyed by input state, fixed in a uniform
sample without changing the distribution of anything else."""
from __future__ import annotations

from collections import Counter
from itertools import product

import numpy as np
import pytest

from evonas.errors import ConfigError, GenotypeError
from evonas.spaces.base import HasEdgeSplit
from evonas.spaces.darts import DartsSpace, Genotype
from evonas.spaces.darts.cellwise import CellwiseGenotype
from evonas.spaces.darts.ops import GENOTYPE_PRIMITIVES

#: (cell kind, input state of node 0) of each splittable edge, in index order
EDGES = (("normal", 0), ("normal", 1), ("reduce", 0), ("reduce", 1))


def _op_on(genotype, kind, state):
    """The op of node 0's pair reading ``state`` in cell ``kind``, found by hand."""
    (pair,) = [p for p in genotype.cell(kind)[:2] if p[1] == state]
    return pair[0]


def _swap_node0(genotype):
    """The same genotype with node 0's two pairs listed in the other order (both cells)."""
    swap = {kind: genotype.cell(kind)[1::-1] + genotype.cell(kind)[2:] for kind in ("normal", "reduce")}
    return genotype.with_cells(**swap)


def test_four_edges_with_the_space_ops_and_edge_ops_key_by_input_not_position():
    space = DartsSpace()
    assert isinstance(space, HasEdgeSplit)
    assert space.edge_choices() == (GENOTYPE_PRIMITIVES,) * 4
    orders = set()
    for seed in range(40):
        g = space.sample(np.random.default_rng(seed))
        expected = tuple(_op_on(g, kind, state) for kind, state in EDGES)
        swapped = _swap_node0(g)
        assert space.key(swapped) == space.key(g) and swapped != g
        assert space.edge_ops(g, range(4)) == expected == space.edge_ops(swapped, range(4))
        assert space.edge_ops(g, (3, 0)) == (expected[3], expected[0]) == space.edge_ops(g, np.array([3, 0]))
        orders.add(g.normal[0][1])
    assert orders == {0, 1}  # samples list node 0's pairs in both orders, so the keying is exercised
    # a published cell (both orders of its pairs) reads the same
    g = Genotype(normal=[("sep_conv_3x3", 1), ("skip_connect", 0)] + [("sep_conv_3x3", 0), ("sep_conv_3x3", 1)] * 3,
                 reduce=[("max_pool_3x3", 0), ("dil_conv_5x5", 1)] + [("sep_conv_3x3", 0), ("sep_conv_3x3", 1)] * 3)
    assert space.edge_ops(g, range(4)) == ("skip_connect", "sep_conv_3x3", "max_pool_3x3", "dil_conv_5x5")


def test_fix_edges_sets_only_the_fixed_ops_and_keeps_every_input_and_order():
    space = DartsSpace()
    for seed in range(40):
        g = space.sample(np.random.default_rng(seed))
        fixed = {1: "skip_connect", 2: "dil_conv_5x5"}
        for arch in (g, _swap_node0(g)):
            out = space.fix_edges(arch, fixed)
            assert space.validate(out) is out and space.is_valid(out)
            assert space.edge_ops(out, (1, 2)) == ("skip_connect", "dil_conv_5x5")
            assert space.edge_ops(out, (0, 3)) == space.edge_ops(arch, (0, 3))
            for kind in ("normal", "reduce"):
                old, new = arch.cell(kind), out.cell(kind)
                assert [inp for _, inp in new] == [inp for _, inp in old]  # inputs and pair order kept
                assert new[2:] == old[2:]  # nodes 1.. untouched
            assert space.fix_edges(out, fixed) == out


def test_fixing_a_uniform_sample_draws_uniformly_among_the_genotypes_with_those_ops():
    # one node per cell and three ops: every genotype value can be counted (2 orders x 3 x 3 ops per cell)
    ops = ("skip_connect", "sep_conv_3x3", "max_pool_3x3")
    space = DartsSpace(steps=1, primitives=ops)
    rng, draws = np.random.default_rng(0), 6000
    counts = Counter(space.fix_edges(space.sample(rng), {0: "sep_conv_3x3", 3: "skip_connect"}) for _ in range(draws))
    cells = [((a, i), (b, 1 - i)) for i in (0, 1) for a, b in product(ops, ops)]
    carrying = [Genotype(normal=n, reduce=r) for n, r in product(cells, cells)
                if _op_on(Genotype(normal=n, reduce=r), "normal", 0) == "sep_conv_3x3"
                and _op_on(Genotype(normal=n, reduce=r), "reduce", 1) == "skip_connect"]
    assert len(carrying) == 36 and set(counts) == set(carrying)  # every genotype carrying them, nothing else
    expected = draws / len(carrying)
    chi2 = sum((counts[g] - expected) ** 2 / expected for g in carrying)
    assert chi2 < 70  # 35 degrees of freedom: p < 1e-3 beyond 66.6


def test_shared_cell_has_two_edges_that_set_both_cells():
    space = DartsSpace(shared_cell=True)
    assert len(space.edge_choices()) == 2
    for seed in range(10):
        out = space.fix_edges(space.sample(np.random.default_rng(seed)), {1: "avg_pool_3x3"})
        assert out.normal == out.reduce and space.is_valid(out)
        assert space.edge_ops(out, (1,)) == ("avg_pool_3x3",)
    with pytest.raises(GenotypeError, match="edges are 0..1"):
        space.edge_ops(out, (2,))


def test_bad_edges_ops_duplicate_inputs_and_per_cell_genotypes_are_refused():
    space = DartsSpace(primitives=("skip_connect", "sep_conv_3x3"))
    g = space.sample(np.random.default_rng(0))
    with pytest.raises(GenotypeError, match="edges are 0..3"):
        space.fix_edges(g, {4: "skip_connect"})
    with pytest.raises(GenotypeError, match="ops are skip_connect, sep_conv_3x3"):
        space.fix_edges(g, {0: "max_pool_3x3"})
    for bad in (-1, 1.0, True, "0"):
        with pytest.raises(GenotypeError, match="edges are 0..3"):
            space.edge_ops(g, (bad,))
    for dup in (DartsSpace(encoding="relativenas"), DartsSpace(allow_duplicate_inputs=True)):
        with pytest.raises(ConfigError, match="allow_duplicate_inputs"):
            dup.edge_choices()
        with pytest.raises(ConfigError, match="allow_duplicate_inputs"):
            dup.fix_edges(dup.sample(np.random.default_rng(0)), {0: "skip_connect"})
    # the RelativeNAS encoding without duplicate inputs samples distinct inputs: it splits
    assert len(DartsSpace(encoding="relativenas", allow_duplicate_inputs=False).edge_choices()) == 4
    cellwise = CellwiseGenotype(cells=(g.normal, g.reduce, g.reduce))
    with pytest.raises(GenotypeError, match="per-cell genotype"):
        DartsSpace().edge_ops(cellwise, (0,))
