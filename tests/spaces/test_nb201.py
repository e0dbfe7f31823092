"""NAS-Bench-201 space: cell strings, the benchmark's network (parameter counts), the supernet, the cost sums."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from evonas.counting import count_macs, count_params
from evonas.errors import GenotypeError
from evonas.spaces.nb201 import OPS, NB201Space, arch_string, parse_arch_string, validate_arch
from evonas.spaces.nb201.cost import nb201_macs, nb201_params
from evonas.spaces.nb201.network import NB201Network

# the best cell of the 12-epoch table on CIFAR-10 test accuracy (89.16 %), in the benchmark's string format
BEST_TEST = "|nor_conv_3x3~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|skip_connect~0|none~1|nor_conv_3x3~2|"


def test_string_round_trip_and_edge_order():
    arch = parse_arch_string(BEST_TEST)
    # edges in the benchmark's order: 1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2
    assert arch == ("nor_conv_3x3", "nor_conv_1x1", "nor_conv_3x3", "skip_connect", "none", "nor_conv_3x3")
    assert arch_string(arch) == BEST_TEST
    assert validate_arch([3, 2, 3, 1, 0, 3]) == arch == validate_arch('["nor_conv_3x3", 2, 3, 1, 0, 3]')
    space = NB201Space()
    assert space.key(arch) == BEST_TEST and space.from_json(space.to_json(arch)) == arch
    assert space.decode(space.encode(arch)) == arch and len(space.all_archs()) == 15625


@pytest.mark.parametrize("text, message", [
    ("|nor_conv_3x3~0|+|nor_conv_3x3~0|", "3 nodes"),
    ("|nor_conv_3x3~0|+|nor_conv_3x3~0|+|skip_connect~0|none~1|nor_conv_3x3~2|", "node 2 .* needs 2 edge"),
    ("|nor_conv_3x3~0|+|nor_conv_3x3~1|nor_conv_3x3~0|+|skip_connect~0|none~1|nor_conv_3x3~2|", "node 2, edge 0"),
    ("|conv_5x5~0|+|nor_conv_3x3~0|none~1|+|skip_connect~0|none~1|nor_conv_3x3~2|", "unknown op 'conv_5x5'"),
    ("[1, 2, 3]", "6 edges"),
])
def test_bad_cells_are_named(text, message):
    with pytest.raises(GenotypeError, match=message):
        validate_arch(text)


@pytest.mark.parametrize("cell, params", [
    ("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|", 1531546),
    ("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", 73306),
    ("|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|", 802426),
    ("|nor_conv_1x1~0|+|skip_connect~0|avg_pool_3x3~1|+|nor_conv_3x3~0|none~1|nor_conv_1x1~2|", 372346),
])
def test_network_parameter_counts_match_the_benchmark(cell, params):
    """Counts of the authors' TinyNetwork (C=16, N=5, 10 classes), the benchmark's 1.53M / 0.07M extremes."""
    net = NB201Network(cell)
    assert count_params(net) == params == nb201_params(validate_arch(cell))
    assert net(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_cost_sums_equal_built_networks():
    rng = np.random.default_rng(0)
    assert nb201_macs(("nor_conv_3x3",) * 6) == 220_119_680  # the benchmark's 220.11M FLOPs maximum
    for _ in range(5):
        arch = tuple(OPS[i] for i in rng.integers(0, 5, 6))
        net = NB201Network(arch, C=8, N=2, num_classes=100)
        assert nb201_params(arch, C=8, N=2, num_classes=100) == count_params(net)
        assert nb201_macs(arch, C=8, N=2, num_classes=100, resolution=16) == count_macs(net, (1, 3, 16, 16))


def test_supernet_paths_and_mixture():
    space = NB201Space()
    net = space.build_supernet(C=4, N=1)
    arch = parse_arch_string(BEST_TEST)
    x = torch.randn(2, 3, 16, 16)
    net(x, arch).sum().backward()
    used = {n for n, p in net.named_parameters() if p.grad is not None and ".ops." in n}
    assert used and all(".ops.nor_conv" in n for n in used)  # only the path's convs (skip / none have no weights)
    assert "nor_conv_1x1" in " ".join(used) and net.alphas.grad is None
    net.zero_grad()
    net(x).sum().backward()  # the DARTS mixture: every op, and the architecture weights get gradients
    assert net.alphas.grad is not None and all(op in OPS for op in net.genotype())
    assert "none" not in net.genotype()


def test_decoding_keys_and_canonical_rows():
    """Every cell decodes from its op ids (as integers or as whole floats) and back; a row's canonical form is
    itself (one row per cell), and bad ids are named."""
    space = NB201Space()
    archs = space.all_archs()[::97]
    rows = np.asarray([space.encode(arch) for arch in archs])
    assert space.decode_many(rows) == space.decode_many(rows.astype(float)) == archs
    assert [space.key(arch) for arch in archs] == [arch_string(arch) for arch in archs]
    assert all(parse_arch_string(space.key(arch)) == arch for arch in archs)
    assert np.array_equal(space.canonical_rows(rows), rows)
    for bad in ([0, 1, 2, 3, 5, 0], [0.5, 1, 2, 3, 4, 4], [-1, 0, 0, 0, 0, 0], [np.nan] * 6):
        with pytest.raises(GenotypeError, match="op ids are integers 0..4"):
            space.decode(np.asarray(bad))
    assert validate_arch(["none"] * 6) == ("none",) * 6 and validate_arch((0,) * 6) == ("none",) * 6
    with pytest.raises(GenotypeError, match="unknown op"):
        validate_arch(("none",) * 5 + (["none"],))


def test_path_encoding_counts_the_op_sequences_of_the_live_routes():
    from evonas.spaces.nb201.paths import SEQUENCES

    space = NB201Space()
    column = {sequence: i for i, sequence in enumerate(SEQUENCES)}
    row = space.path_encoding([BEST_TEST])[0]
    # routes 0->3: skip; 0->1->3: conv3, none (cut); 0->2->3: conv1, conv3; 0->1->2->3: conv3, conv3, conv3
    expected = {("skip_connect",): 1, ("nor_conv_1x1", "nor_conv_3x3"): 1,
                ("nor_conv_3x3", "nor_conv_3x3", "nor_conv_3x3"): 1}
    assert {SEQUENCES[i]: int(v) for i, v in enumerate(row) if v} == expected
    all_conv = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
    assert space.path_encoding([all_conv])[0][column[("nor_conv_3x3", "nor_conv_3x3")]] == 2  # two routes of two
    # nodes 1 and 2 swapped (0->1->3 and 0->2->3 exchange their ops; 1->2 cut): the same routes, the same row
    a = "|nor_conv_1x1~0|+|avg_pool_3x3~0|none~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
    b = "|avg_pool_3x3~0|+|nor_conv_1x1~0|none~1|+|skip_connect~0|skip_connect~1|nor_conv_3x3~2|"
    assert space.key(a) != space.key(b) and np.array_equal(*space.path_encoding([a, b]))
    assert space.path_encoding(["|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"]).sum() == 0
