"""Stand-alone DARTS networks and the weight-sharing search network."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from evonas.counting import count_params
from evonas.errors import ConfigError, GenotypeError
from evonas.spaces.darts import (
    PRIMITIVES,
    Cell,
    Genotype,
    NetworkCIFAR,
    NetworkImageNet,
    SearchNetwork,
    edge_index,
    edge_list,
    genotype_to_weights,
    get_genotype,
    num_edges,
    sample_genotype,
)
from evonas.spaces.darts.genotypes import DARTS_V1, DARTS_V2, RELATIVENAS


# ------------------------------------------------------------ edge layout
def test_edge_index_follows_darts_order():
    assert num_edges(4) == 14
    assert [edge_index(0, j) for j in range(2)] == [0, 1]
    assert [edge_index(1, j) for j in range(3)] == [2, 3, 4]
    assert [edge_index(2, j) for j in range(4)] == [5, 6, 7, 8]
    assert [edge_index(3, j) for j in range(5)] == [9, 10, 11, 12, 13]
    assert edge_list(4)[13] == (3, 4)
    with pytest.raises(ValueError, match="node 1 has no edge from state 3"):
        edge_index(1, 3)


# ------------------------------------------------------ parameter counts
@pytest.mark.parametrize("genotype, expected", [(DARTS_V2, 3_349_342), (DARTS_V1, 3_169_414)])
def test_darts_parameter_counts_are_exact(genotype, expected):
    net = NetworkCIFAR(36, 10, 20, True, genotype)
    assert count_params(net) == expected
    assert count_params(net, exclude_auxiliary=False) > expected


@pytest.mark.parametrize("name, millions", [
    ("RELATIVENAS", 3.93), ("DAP_EVAL_BEST_EVOLUTIONARY", 3.98), ("DAP_BEST_SUPERNET", 4.06),
    ("PC_DARTS", 3.6), ("PDARTS", 3.4),
])
def test_published_parameter_counts_match_papers(name, millions):
    digits = len(str(millions).split(".")[1])
    count = count_params(NetworkCIFAR(36, 10, 20, False, name))
    assert round(count / 1e6, digits) == millions


def test_imagenet_parameter_counts_match_papers():
    assert round(count_params(NetworkImageNet(48, 1000, 14, True, DARTS_V2)) / 1e6, 1) == 4.7
    assert round(count_params(NetworkImageNet(46, 1000, 14, True, RELATIVENAS)) / 1e6, 2) == 5.05


# ---------------------------------------------------- stand-alone forward
def test_network_cifar_forward_shapes():
    net = NetworkCIFAR(4, 10, 5, False, "DARTS_V2")
    logits, aux = net(torch.randn(2, 3, 16, 16))
    assert logits.shape == (2, 10) and aux is None
    assert net.drop_path_prob == 0.0 and net.genotype == DARTS_V2


def test_network_cifar_handles_odd_feature_maps():
    logits, _ = NetworkCIFAR(4, 3, 5, False, DARTS_V1).eval()(torch.randn(1, 3, 18, 18))
    assert logits.shape == (1, 3)


def test_auxiliary_head_only_in_training():
    net = NetworkCIFAR(4, 7, 5, True, "PC_DARTS")
    logits, aux = net(torch.randn(2, 3, 32, 32))
    assert logits.shape == aux.shape == (2, 7)
    aux.sum().backward()
    net.eval()
    assert net(torch.randn(2, 3, 32, 32))[1] is None


def test_network_imagenet_forward():
    net = NetworkImageNet(C=4, num_classes=5, layers=5, auxiliary=False, genotype="DAP_BEST_SUPERNET").eval()
    logits, aux = net(torch.randn(2, 3, 64, 64))
    assert logits.shape == (2, 5) and aux is None


def test_state_dict_keys_follow_darts():
    keys = NetworkCIFAR(4, 10, 5, True, DARTS_V2).state_dict().keys()
    for key in ("stem.0.weight", "cells.0.preprocess0.op.1.weight", "cells.0._ops.0.op.1.weight",
                "cells.1.preprocess0.op.1.weight", "cells.2.preprocess0.conv_1.weight",
                "auxiliary_head.features.2.weight", "classifier.weight"):
        assert key in keys


def test_duplicate_pairs_get_separate_modules_in_standalone_net():
    net = NetworkCIFAR(4, 10, 5, False, RELATIVENAS)
    a, b = net.cells[0]._ops[2], net.cells[0]._ops[3]  # normal node 1: sep_conv_3x3 on state 1 twice
    assert a is not b
    assert {id(p) for p in a.parameters()}.isdisjoint(id(p) for p in b.parameters())


def test_drop_path_spares_identity_ops_and_acts_only_in_training():
    skip = Genotype(normal=[("skip_connect", 0), ("skip_connect", 1)] * 4,
                    reduce=[("skip_connect", 0), ("skip_connect", 1)] * 4, allow_duplicate_inputs=True)
    cell = Cell(skip, 8, 8, 8, reduction=False, reduction_prev=False).train()
    s0, s1 = torch.randn(4, 8, 6, 6), torch.randn(4, 8, 6, 6)
    assert torch.equal(cell(s0, s1, 0.9), cell(s0, s1, 0.0))

    net = NetworkCIFAR(4, 10, 5, False, DARTS_V2, drop_path_prob=0.5).train()
    x = torch.randn(4, 3, 16, 16)
    assert not torch.allclose(net(x)[0], net(x)[0])
    net.eval()
    assert torch.equal(net(x)[0], net(x)[0])


def test_count_parameters_skips_arch_parameters():
    net = SearchNetwork(C=4, layers=3)
    total = sum(p.numel() for p in net.parameters())
    assert count_params(net) == total - 2 * 14 * len(PRIMITIVES)


# ---------------------------------------------------------- search network
def _hook_ops(net):
    """Hook every op's last layer (it runs once per call of the op; the fused continuous mixture calls an op's
    layers, not the op); return the list the hooks append (cell, edge, op) to."""
    ran = []
    for c, cell in enumerate(net.cells):
        for e, mixed in enumerate(cell.edges):
            for name, op in mixed.ops.items():
                last = list(op.modules())[-1]
                last.register_forward_hook(lambda m, i, o, key=(c, e, name): ran.append(key))
    return ran


def _selected(net, genotype):
    out = set()
    for c, cell in enumerate(net.cells):
        pairs = genotype.reduce if cell.reduction else genotype.normal
        out |= {(c, edge_index(j // 2, inp), op) for j, (op, inp) in enumerate(pairs)}
    return out


def _one_hot_with_none(genotype):
    """(E, 8) weights: the genotype's ops on selected edges, 'none' on all other edges."""
    out = []
    for w in genotype_to_weights(genotype, PRIMITIVES):
        w = w.clone()
        w[w.sum(dim=1) == 0, PRIMITIVES.index("none")] = 1.0
        out.append(w)
    return out


def test_search_network_structure_and_parameter_split():
    net = SearchNetwork(C=4, num_classes=10, layers=5)
    assert [c.reduction for c in net.cells] == [False, True, False, True, False]
    assert len(net.cells[0].edges) == 14 and tuple(net.cells[0].edges[0].ops) == PRIMITIVES
    assert net.alphas_normal.shape == net.alphas_reduce.shape == (14, 8)
    assert float(net.alphas_normal.detach().abs().max()) < 0.01
    arch, weights = net.arch_parameters(), net.weight_parameters()
    assert {id(p) for p in arch}.isdisjoint(id(p) for p in weights)
    assert len(arch) + len(weights) == len(list(net.parameters()))
    bns = [m for m in net.cells.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert bns and not any(bn.affine for bn in bns)
    assert net.stem[1].affine


def test_discrete_mode_runs_only_selected_ops():
    net = SearchNetwork(C=4, num_classes=10, layers=3)
    ran = _hook_ops(net)
    g = sample_genotype(np.random.default_rng(3))
    net(torch.randn(2, 3, 8, 8), genotype=g)
    assert set(ran) == _selected(net, g)
    assert len(ran) == 8 * len(net.cells)


def test_discrete_mode_backward_touches_only_selected_ops():
    net = SearchNetwork(C=4, num_classes=10, layers=3)
    net(torch.randn(2, 3, 8, 8), genotype=DARTS_V2).sum().backward()
    used = _selected(net, DARTS_V2)
    for c, cell in enumerate(net.cells):
        for e, mixed in enumerate(cell.edges):
            for name, op in mixed.ops.items():
                grads = [p.grad for p in op.parameters()]
                if grads and (c, e, name) not in used:
                    assert all(g is None for g in grads)
    assert net.alphas_normal.grad is None


@pytest.mark.parametrize("genotype", [DARTS_V2, RELATIVENAS, sample_genotype(np.random.default_rng(7))])
@pytest.mark.parametrize("requires_grad", [False, True])
def test_continuous_one_hot_equals_discrete(genotype, requires_grad):
    net = SearchNetwork(C=4, num_classes=10, layers=5).eval()
    x = torch.randn(2, 3, 16, 16)
    wn, wr = _one_hot_with_none(genotype)
    with torch.no_grad():
        discrete = net(x, genotype=genotype)
    continuous = net(x, weights_normal=wn.requires_grad_(requires_grad),
                     weights_reduce=wr.requires_grad_(requires_grad))
    assert torch.allclose(discrete, continuous, atol=1e-5)


def test_mask_weights_skip_masked_ops():
    net = SearchNetwork(C=4, num_classes=10, layers=3).eval()
    ran = _hook_ops(net)
    wn, wr = genotype_to_weights(DARTS_V2, PRIMITIVES)
    x = torch.randn(2, 3, 8, 8)
    masked = net(x, weights_normal=wn, weights_reduce=wr)
    assert set(ran) == _selected(net, DARTS_V2)
    assert torch.allclose(masked, net(x, genotype=DARTS_V2), atol=1e-5)


def test_continuous_mode_with_own_alphas_runs_all_ops_and_trains_alphas():
    net = SearchNetwork(C=4, num_classes=10, layers=3)
    ran = _hook_ops(net)
    net(torch.randn(2, 3, 8, 8)).sum().backward()
    # every op but 'none' (which adds w * 0: nothing, and a zero gradient for w) runs on every edge
    assert len(set(ran)) == len(net.cells) * 14 * 7 and not any(name == "none" for _, _, name in ran)
    assert net.alphas_normal.grad is not None and net.alphas_reduce.grad is not None


def test_partial_channels_with_edge_normalisation():
    net = SearchNetwork(C=8, num_classes=10, layers=3, partial_channel_k=4, edge_normalization=True)
    assert net.cells[0].edges[0].ops["sep_conv_3x3"].op[1].in_channels == 2
    assert len(net.arch_parameters()) == 4 and net.betas_normal.shape == (14,)
    ew = net.edge_weights("normal")
    assert torch.allclose(ew[0:2].sum(), torch.tensor(1.0)) and torch.allclose(ew[9:14].sum(), torch.tensor(1.0))
    x = torch.randn(2, 3, 8, 8)
    out = net(x)
    assert out.shape == (2, 10)
    out.sum().backward()
    assert net.betas_reduce.grad is not None
    assert net(x, genotype=DARTS_V2).shape == (2, 10)
    assert isinstance(net.genotype(), Genotype)
    with pytest.raises(ConfigError, match="partial_channel_k=3 must divide C=8"):
        SearchNetwork(C=8, layers=3, partial_channel_k=3)


def test_derived_genotype_follows_alphas():
    net = SearchNetwork(C=4, layers=3)
    wn, wr = genotype_to_weights(DARTS_V2, PRIMITIVES)
    with torch.no_grad():
        net.alphas_normal.copy_(10 * wn)
        net.alphas_reduce.copy_(10 * wr)
    assert net.genotype().key() == DARTS_V2.key()


def test_discrete_mode_rejects_genotypes_it_cannot_run():
    net = SearchNetwork(C=4, layers=3, primitives=("none", "max_pool_3x3", "skip_connect", "sep_conv_3x3"))
    x = torch.randn(1, 3, 8, 8)
    with pytest.raises(GenotypeError,
                       match=r"normal cell, node 3 \(state 5\), pair 1: op 'dil_conv_3x3' is not in this "
                             r"network's primitives"):
        net(x, genotype=DARTS_V2)
    three = Genotype(normal=[("skip_connect", 0), ("sep_conv_3x3", 1)] * 3,
                     reduce=[("skip_connect", 0), ("sep_conv_3x3", 1)] * 3)
    with pytest.raises(GenotypeError, match="genotype has 3 nodes per cell; this network has 4"):
        net(x, genotype=three)
    with pytest.raises(GenotypeError, match=r"normal_concat \[2, 3\] does not match"):
        SearchNetwork(C=4, layers=3)(x, genotype=DARTS_V2.with_cells(normal_concat=[2, 3]))
    with pytest.raises(ValueError, match="either genotype"):
        net(x, genotype=DARTS_V2, weights_normal=torch.zeros(14, 4))
    with pytest.raises(ValueError, match=r"weights_normal must have shape \(14, 4\)"):
        net(x, weights_normal=torch.zeros(14, 8), weights_reduce=torch.zeros(14, 4))
    with pytest.raises(ConfigError, match="primitives must be distinct known op names"):
        SearchNetwork(C=4, layers=3, primitives=("none", "conv_9x9"))


def test_discrete_mode_accepts_published_names_and_drop_path():
    net = SearchNetwork(C=4, layers=3)
    net.drop_path_prob = 0.5
    x = torch.randn(4, 3, 8, 8)
    assert not torch.allclose(net(x, genotype="DARTS_V1"), net(x, genotype="DARTS_V1"))
    net.eval()
    assert torch.equal(net(x, genotype="DARTS_V1"), net(x, genotype=get_genotype("DARTS_V1")))


@pytest.mark.parametrize("options", [{}, {"affine": True, "pool_bn": False}, {"partial_channel_k": 2},
                                     {"edge_normalization": True}, {"explicit": True}])
def test_fused_mixture_equals_op_by_op(options):
    """The fused continuous mode (none skipped, one ReLU per edge) gives DARTS' op-by-op sum: the same
    logits, the same gradient for every parameter and alpha, the same BN running statistics."""
    import copy

    from evonas.spaces.darts.cells import MixedOp

    options = dict(options)
    explicit = options.pop("explicit", False)
    torch.manual_seed(0)
    fused = SearchNetwork(C=4, num_classes=10, layers=4, **options).double().train()
    plain = copy.deepcopy(fused)
    for module in plain.modules():
        if isinstance(module, MixedOp):
            module.fused = False
    x, y = torch.randn(3, 3, 8, 8, dtype=torch.float64), torch.tensor([1, 2, 3])
    kwargs = {}
    if explicit:  # DAP-style given weights with zeros, and 'none' weighted on some edges
        w = torch.rand(2, 14, len(PRIMITIVES), dtype=torch.float64)
        w[w < 0.3] = 0.0
        kwargs = {"weights_normal": w[0], "weights_reduce": w[1]}
    losses = [F.cross_entropy(net(x, **kwargs), y) for net in (fused, plain)]
    for loss in losses:
        loss.backward()
    assert torch.allclose(losses[0], losses[1], rtol=1e-12)
    for (name, a), b in zip(fused.named_parameters(), plain.parameters()):
        assert (a.grad is None) == (b.grad is None), name
        if a.grad is not None:
            assert torch.allclose(a.grad, b.grad, rtol=1e-9, atol=1e-12), name
    for (name, a), b in zip(fused.named_buffers(), plain.buffers()):
        assert torch.equal(a, b) or torch.allclose(a, b, rtol=1e-12), name
    fused.eval(), plain.eval()
    assert torch.allclose(fused(x, **kwargs), plain(x, **kwargs), rtol=1e-12)


def test_edge_attention_scales_each_pair_and_is_learnable():
    torch.manual_seed(0)
    plain = NetworkCIFAR(4, 10, 3, False, DARTS_V2).eval()
    ones = {"normal": [1.0] * 8, "reduce": [1.0] * 8}
    scaled = NetworkCIFAR(4, 10, 3, False, DARTS_V2, edge_attention=ones).eval()
    assert "attention" not in "".join(plain.state_dict())  # DARTS' checkpoints still load
    missing = scaled.load_state_dict(plain.state_dict(), strict=False).missing_keys
    assert sorted(missing) == ["cells.0.attention", "cells.1.attention", "cells.2.attention"]
    x = torch.randn(2, 3, 16, 16)
    assert torch.allclose(scaled(x)[0], plain(x)[0], atol=1e-6)  # all ones: the plain cell
    with torch.no_grad():
        scaled.cells[0].attention[0] = 0.0
    assert not torch.allclose(scaled(x)[0], plain(x)[0], atol=1e-4)
    scaled.train()
    scaled(x)[0].sum().backward()
    assert scaled.cells[2].attention.grad is not None and scaled.cells[2].attention.grad.abs().sum() > 0
    with pytest.raises(ConfigError, match=r"edge_attention\['reduce'\] needs 8 finite values"):
        NetworkCIFAR(4, 10, 3, False, DARTS_V2, edge_attention={"normal": [1.0] * 8, "reduce": [1.0] * 7})
    with pytest.raises(ConfigError, match="must map 'normal' and 'reduce'"):
        NetworkCIFAR(4, 10, 3, False, DARTS_V2, edge_attention={"normal": [1.0] * 8})
