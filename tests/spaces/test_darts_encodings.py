"""Encodings, random variation and the DartsSpace contract."""
import numpy as np
import pytest
from torch import nn

from evonas.errors import GenotypeError
from evonas.spaces.base import SearchSpace
from evonas.spaces.darts import (
    GENOTYPE_PRIMITIVES,
    PUBLISHED_GENOTYPES,
    RELATIVENAS_PRIMITIVES,
    DartsSpace,
    DiscreteEdgeEncoding,
    Genotype,
    NetworkCIFAR,
    NetworkImageNet,
    RelativeNASEncoding,
    crossover_genotypes,
    mutate_genotype,
    sample_genotype,
)
from evonas.spaces.darts.genotypes import DARTS_V2, RELATIVENAS

SEEDS = range(200)


def _distinct_inputs(g):
    return all(cell[j][1] != cell[j + 1][1] for cell in (g.normal, g.reduce) for j in range(0, len(cell), 2))


# --------------------------------------------------------- discrete edges
@pytest.mark.parametrize("name", sorted(PUBLISHED_GENOTYPES))
def test_discrete_encoding_round_trips_published(name):
    g = PUBLISHED_GENOTYPES[name]
    enc = DiscreteEdgeEncoding(allow_duplicate_inputs=g.allow_duplicate_inputs)
    v = enc.encode(g)
    assert v.dtype == np.int64 and v.shape == (32,)
    assert enc.decode(v) == g
    lower, upper = enc.bounds()
    assert np.all(v >= lower) and np.all(v <= upper)


def test_discrete_encoding_layout_uses_its_own_op_list():
    v = DiscreteEdgeEncoding().encode(DARTS_V2)
    # normal node 0: (sep_conv_3x3, 0), (sep_conv_3x3, 1); sep_conv_3x3 is index 3 of the 7 ops
    assert v[:4].tolist() == [0, 3, 1, 3]
    custom = DiscreteEdgeEncoding(primitives=("sep_conv_3x3", "skip_connect", "max_pool_3x3", "dil_conv_3x3"))
    assert custom.encode(DARTS_V2)[:4].tolist() == [0, 0, 1, 0]
    assert custom.decode(custom.encode(DARTS_V2)) == DARTS_V2
    lower, upper = DiscreteEdgeEncoding().bounds()
    assert upper[:16].tolist() == [1, 6, 1, 6, 2, 6, 2, 6, 3, 6, 3, 6, 4, 6, 4, 6]


def test_discrete_encoding_errors_name_the_coordinate():
    enc = DiscreteEdgeEncoding()
    v = enc.encode(DARTS_V2)
    bad = v.copy()
    bad[9] = 7  # normal node 2, op 1
    with pytest.raises(GenotypeError, match=r"normal cell, node 2 \(state 4\), op 1 \(vector index 9\): "
                                              r"value 7 is outside 0\.\.6"):
        enc.decode(bad)
    bad = v.copy()
    bad[16 + 12] = 5  # reduce node 3, input 1
    with pytest.raises(GenotypeError, match=r"reduce cell, node 3 \(state 5\), input 1 \(vector index 28\)"):
        enc.decode(bad)
    with pytest.raises(GenotypeError, match=r"normal cell, node 0 \(state 2\), input 1 \(vector index 0\): "
                                              r"value 0.5 is not an integer"):
        enc.decode(v + 0.5)
    with pytest.raises(GenotypeError, match=r"shape \(32,\)"):
        enc.decode(v[:10])
    dup = v.copy()
    dup[2] = 0
    with pytest.raises(GenotypeError, match=r"node 0 \(state 2\): both inputs are state 0 \(vector indices 0, 2\)"):
        enc.decode(dup)
    assert DiscreteEdgeEncoding(allow_duplicate_inputs=True).decode(dup).allow_duplicate_inputs
    with pytest.raises(GenotypeError, match="is not in this encoding's primitives"):
        DiscreteEdgeEncoding(primitives=("sep_conv_3x3",)).encode(DARTS_V2)
    with pytest.raises(GenotypeError, match="cannot be encoded"):
        enc.encode(DARTS_V2.with_cells(normal_concat=[2, 3]))
    with pytest.raises(GenotypeError, match="other than 'none'"):
        DiscreteEdgeEncoding(primitives=("none", "sep_conv_3x3"))


# ------------------------------------------------------------- RelativeNAS
def test_relativenas_bounds_and_op_order():
    enc = RelativeNASEncoding()
    lower, upper = enc.bounds()
    assert enc.length == 32 and not lower.any()
    assert upper[:16].tolist() == [2, 7, 2, 7, 3, 7, 3, 7, 4, 7, 4, 7, 5, 7, 5, 7]
    assert np.array_equal(upper[:16], upper[16:])
    assert RELATIVENAS_PRIMITIVES == ("max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3",
                                      "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5")


@pytest.mark.parametrize("value, index", [(2.0, 1), (0.0, 0), (1.5, 1), (7.0, 6), (3.5, 3), (1.0, 0),
                                          (0.999, 0), (6.2, 6), (5.0, 4)])
def test_relativenas_decode_rule(value, index):
    assert RelativeNASEncoding.decode_value(value) == index


def test_relativenas_worked_examples_of_section_3_2():
    enc = RelativeNASEncoding()
    v = enc.encode(DARTS_V2)
    # node 0: input 2.0 -> 1, op 7.0 -> dil_conv_5x5, input 0.0 -> 0, op 3.5 -> sep_conv_3x3
    v[0:4] = [2.0, 7.0, 0.0, 3.5]
    g = enc.decode(v)
    assert g.normal[:2] == (("dil_conv_5x5", 1), ("sep_conv_3x3", 0))
    v[0] = 1.5  # -> input 1
    assert enc.decode(v).normal[0] == ("dil_conv_5x5", 1)


def test_relativenas_round_trip_duplicates_and_box():
    enc = RelativeNASEncoding()
    assert enc.decode(enc.encode(RELATIVENAS)) == RELATIVENAS
    lower, upper = enc.bounds()
    assert enc.decode(upper).normal[-1] == ("dil_conv_5x5", 4)
    assert enc.decode(lower).normal[0] == ("max_pool_3x3", 0)
    with pytest.raises(GenotypeError, match=r"normal cell, node 0 \(state 2\), input 1 \(vector index 0\): "
                                              r"value 2.5 is outside 0..2"):
        enc.decode(np.r_[2.5, upper[1:]])
    assert enc.decode(enc.clip(np.r_[2.5, upper[1:]])).normal[0][1] == 1
    with pytest.raises(GenotypeError, match="finite"):
        enc.decode(np.r_[np.nan, upper[1:]])


def test_relativenas_sampling_is_uniform_in_box_and_always_decodes():
    enc = RelativeNASEncoding()
    lower, upper = enc.bounds()
    for seed in SEEDS:
        v = enc.sample(np.random.default_rng(seed))
        assert np.all(v >= lower) and np.all(v <= upper)
        assert enc.decode(v).allow_duplicate_inputs
    a, b = enc.sample(np.random.default_rng(5)), enc.sample(np.random.default_rng(5))
    assert np.array_equal(a, b)


# ----------------------------------------------------------------- variation
@pytest.mark.parametrize("dup", [False, True])
def test_sampling_mutation_crossover_always_valid(dup):
    keys = set()
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        g = sample_genotype(rng, allow_duplicate_inputs=dup)
        h = sample_genotype(rng, allow_duplicate_inputs=dup)
        m = mutate_genotype(g, rng)
        c1, c2 = crossover_genotypes(g, h, rng)
        for child in (g, h, m, c1, c2):
            assert isinstance(child, Genotype) and child.steps == 4
            assert set(child.ops()) <= set(GENOTYPE_PRIMITIVES)
            assert dup or _distinct_inputs(child)
        assert m.key() != g.key()
        assert sum(a != b for a, b in zip(g.normal + g.reduce, m.normal + m.reduce)) == 1
        for node in range(4):
            sl = slice(2 * node, 2 * node + 2)
            assert {c1.normal[sl], c2.normal[sl]} == {g.normal[sl], h.normal[sl]}
        keys.add(g.key())
    assert len(keys) == len(SEEDS)


def test_variation_is_reproducible_from_the_seed():
    def run(seed):
        rng = np.random.default_rng(seed)
        g = sample_genotype(rng)
        return g, mutate_genotype(g, rng), crossover_genotypes(g, sample_genotype(rng), rng)
    assert run(11) == run(11)
    assert run(11) != run(12)


def test_variation_rejects_global_random_state():
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        sample_genotype(np.random.RandomState(0))
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        mutate_genotype(DARTS_V2, 0)


def test_shared_cell_and_restricted_primitives():
    rng = np.random.default_rng(0)
    for _ in range(50):
        g = sample_genotype(rng, shared_cell=True, primitives=("sep_conv_3x3", "skip_connect"))
        assert g.normal == g.reduce and set(g.ops()) <= {"sep_conv_3x3", "skip_connect"}
        m = mutate_genotype(g, rng, shared_cell=True, primitives=("sep_conv_3x3", "skip_connect"))
        assert m.normal == m.reduce and m != g
        c1, c2 = crossover_genotypes(g, m, rng, shared_cell=True)
        assert c1.normal == c1.reduce and c2.normal == c2.reduce


def test_mutation_of_duplicate_genotype_keeps_policy():
    rng = np.random.default_rng(1)
    for _ in range(50):
        assert mutate_genotype(RELATIVENAS, rng).allow_duplicate_inputs
    with pytest.raises(GenotypeError, match="cannot cross"):
        crossover_genotypes(DARTS_V2, Genotype(normal=DARTS_V2.normal[:6], reduce=DARTS_V2.reduce[:6]), rng)


# ------------------------------------------------------------------- space
def test_darts_space_contract():
    space = DartsSpace()
    assert isinstance(space, SearchSpace) and space.name == "darts"
    rng = np.random.default_rng(0)
    for _ in range(20):
        g = space.sample(rng)
        assert space.is_valid(g)
        assert space.decode(space.encode(g)) == g
        assert space.is_valid(space.mutate(g, rng))
        assert all(space.is_valid(c) for c in space.crossover(g, space.sample(rng), rng))
    assert space.key("DARTS_V2") == DARTS_V2.key() == space.key(DARTS_V2.to_json())
    assert not space.is_valid(RELATIVENAS) and not space.is_valid("nonsense")
    with pytest.raises(GenotypeError, match="this space does not allow duplicate inputs"):
        space.validate(RELATIVENAS)
    assert repr(DartsSpace(steps=4, shared_cell=True)) == "DartsSpace(steps=4, shared_cell=True)"


def test_darts_space_is_registered():
    from evonas.registry import spaces

    space = spaces.create("darts", shared_cell=True)
    assert isinstance(space, DartsSpace) and space.shared_cell


def test_darts_space_options():
    rng = np.random.default_rng(0)
    rel = DartsSpace(encoding="relativenas")
    assert rel.is_valid(RELATIVENAS)
    v = rel.encode(RELATIVENAS)
    assert v.dtype == np.float64 and rel.decode(v) == RELATIVENAS
    assert rel.bounds()[1][0] == 2
    shared = DartsSpace(shared_cell=True)
    assert shared.is_valid("DAP_BEST_SUPERNET") and not shared.is_valid(DARTS_V2)
    g = shared.sample(rng)
    m = shared.mutate(g, rng)
    assert g.normal == g.reduce and m.normal == m.reduce and m != g
    small = DartsSpace(primitives=("sep_conv_3x3", "max_pool_3x3"))
    g = small.sample(rng)
    assert set(g.ops()) <= {"sep_conv_3x3", "max_pool_3x3"}
    with pytest.raises(GenotypeError, match="op 'skip_connect' is not in this space"):
        small.validate(DARTS_V2)
    with pytest.raises(GenotypeError, match="3 nodes per cell; this space has 4"):
        DartsSpace().validate(Genotype(normal=DARTS_V2.normal[:6], reduce=DARTS_V2.reduce[:6]))


def test_darts_space_build():
    space = DartsSpace()
    net = space.build("DARTS_V2", C=4, layers=5)
    assert isinstance(net, NetworkCIFAR) and isinstance(net, nn.Module)
    assert net.genotype == DARTS_V2 and len(net.cells) == 5
    assert isinstance(space.build(DARTS_V2, network="imagenet", C=4, layers=3), NetworkImageNet)
    with pytest.raises(Exception, match="unknown network 'mnist'"):
        space.build(DARTS_V2, network="mnist")


@pytest.mark.parametrize("dup", [False, True])
def test_decode_many_equals_decode_row_by_row(dup):
    """A batch decodes to the genotypes (and keys) that decoding its rows one at a time gives; a bad row fails the
    batch with that row's own error."""
    space = DartsSpace(allow_duplicate_inputs=dup)
    rng = np.random.default_rng(7)
    rows = np.asarray([space.encode(space.sample(rng)) for _ in range(300)])
    for batch in (rows, rows.astype(float)):
        decoded = space.decode_many(batch)
        assert decoded == [space.decode(row) for row in batch]
        for genotype in decoded:  # the key a decoded genotype carries is the one Genotype.key() computes
            rebuilt = Genotype(normal=genotype.normal, normal_concat=genotype.normal_concat, reduce=genotype.reduce,
                               reduce_concat=genotype.reduce_concat)
            assert genotype.key() == rebuilt.key() == space.key(genotype)
        encoded = [space.encode(genotype) for genotype in decoded]  # from the indices kept at decoding
        assert np.array_equal(encoded, rows) and np.array_equal(encoded, [space.encode(rebuilt) for rebuilt in
                                                                          map(Genotype.from_dict, (g.to_dict() for g
                                                                                                   in decoded))])
        encoded[0][:] = 0  # each encoding is the caller's own array
        assert np.array_equal(space.encode(decoded[0]), rows[0])
    other = DartsSpace(allow_duplicate_inputs=dup, primitives=GENOTYPE_PRIMITIVES[::-1])  # another op order
    assert [other.decode(other.encode(g)) for g in decoded] == decoded
    bad = rows[:5].copy()
    bad[3, 9] = 7
    with pytest.raises(GenotypeError, match=r"op 1 \(vector index 9\): value 7 is outside 0\.\.6"):
        space.decode_many(bad)
    with pytest.raises(GenotypeError, match="is not an integer"):
        space.decode_many(rows[:5] + 0.5)
    if not dup:
        same = rows[:5].copy()
        same[4, 2] = same[4, 0]
        with pytest.raises(GenotypeError, match="both inputs are state"):
            space.decode_many(same)
