"""DAP's perturb-val: restore, masking, the selection rules on hand-made valuation matrices."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from evonas.errors import ConfigError
from evonas.operators.perturbation import (
    PerturbationValuer,
    average_valuations,
    coarse_select,
    fine_select,
    masked_forward,
)
from evonas.spaces.darts.dap_cell import DAP_OPS, DAP_OPS_PUBLISHED, FINE_SELECTION_ORDER, DapCell, node_inputs
from evonas.spaces.darts.genotype import Genotype


def _valuer(restore="copy", seed=0, ops=DAP_OPS, masked_ops="skip"):
    torch.manual_seed(seed)
    cell = DapCell.random(ops, np.random.default_rng(seed)).expanded(3)
    net = cell.build_network(C=4, layers=3)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, weight_decay=3e-4)
    data = [(torch.randn(8, 3, 8, 8), torch.randint(0, 10, (8,))) for _ in range(4)]
    weights = cell.weights()
    for images, targets in data:  # some training, so the optimizer has momentum buffers
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(masked_forward(net, weights, images), targets).backward()
        optimizer.step()
    return cell, PerturbationValuer(net, weights, optimizer, itertools.cycle(data), data[:2], restore=restore,
                                    masked_ops=masked_ops)


def _state(valuer):
    return ([t.clone() for t in valuer.network.state_dict().values()],
            [t.clone() for s in valuer.optimizer.state.values() for t in s.values() if torch.is_tensor(t)])


def test_copy_restore_leaves_weights_and_optimizer_state_bit_identical():
    cell, valuer = _valuer("copy")
    before = _state(valuer)
    values = valuer.value_ops(3, steps=2)
    assert sorted(values) == list(range(len(DAP_OPS)))  # the expanded edge: every op valued
    after = _state(valuer)
    assert all(torch.equal(a, b) for a, b in zip(before[0] + before[1], after[0] + after[1]))
    # each op is valued from the same network: valuing one op alone gives the same value
    alone = valuer.value([[(3, 1 + 4)]], steps=2)[0]
    assert alone == pytest.approx(values[4])


def test_the_published_restore_restores_no_weights():
    """The released code snapshots ``model.state_dict()`` references: the weights drift from op to op (the
    optimizer state is restored, as torch 1.12's ``load_state_dict`` copied it)."""
    _, valuer = _valuer("published")
    before = _state(valuer)
    valuer.value_ops(3, steps=2)
    after = _state(valuer)
    assert not all(torch.equal(a, b) for a, b in zip(before[0], after[0]))
    assert all(torch.equal(a, b) for a, b in zip(before[1], after[1]))


def test_masking_removes_the_op_from_the_forward_pass():
    cell, valuer = _valuer()
    x = torch.randn(2, 3, 8, 8)
    w = valuer.weights.clone()
    held = cell.edges[5][0]
    ran = []
    op = valuer.network.cells[0].edges[5].ops[valuer.network.cells[0].edges[5].keys[1 + held]]
    handle = list(op.modules())[-1].register_forward_hook(lambda *a: ran.append(1))
    masked_forward(valuer.network.eval(), w, x)
    assert ran
    ran.clear()
    w[5, 1 + held] = 0.0
    masked_forward(valuer.network, w, x)
    assert not ran
    handle.remove()


def test_published_masking_runs_the_masked_op_as_zero_times_op():
    """The released code masks by a zero weight: the op still runs, so under the published restore weight decay,
    momentum and BN statistics move it during its own fine-tune; evonas' default skips it (it stays as it was)."""
    def masked_op_state(masked_ops):
        cell, valuer = _valuer("published", masked_ops=masked_ops)
        names = [f"cells.{c}.edges.3.ops.{valuer.network.cells[c].edges[3].keys[1 + 4]}."
                 for c in range(len(valuer.network.cells))]
        def state():
            return {k: v.clone() for k, v in valuer.network.state_dict().items() if k.startswith(tuple(names))}
        before = state()
        assert before and any("running_mean" in k for k in before)
        valuer.value([[(3, 1 + 4)]], steps=2)
        after = state()
        return [k for k in before if not torch.equal(before[k], after[k])]

    assert masked_op_state("skip") == []
    moved = masked_op_state("zero")
    assert any("running_mean" in k for k in moved) and any(k.endswith("weight") for k in moved)
    with pytest.raises(ConfigError, match="masked_ops"):
        _valuer(masked_ops="drop")


def test_the_published_op_list_keeps_its_duplicate_as_two_modules():
    cell = DapCell.random(DAP_OPS_PUBLISHED, np.random.default_rng(0)).expanded(0)
    net = cell.build_network(C=4, layers=3)
    keys = net.cells[0].edges[0].keys
    assert keys[-2:] == ("dil_conv_5x5", "dil_conv_5x5_2") and len(keys) == 10
    assert cell.weights().shape == (14, 10) and cell.weights()[0].sum() == 10  # 9 ops + none
    assert cell.weights()[1].sum() == 2  # one random op + none


def test_selection_rules_on_hand_made_valuations():
    values = np.zeros((14, 8))
    values[0] = [0.5, -3.0, 0.1, -1.0, 2.0, -1.5, 0.0, 0.0]  # the two most negative: ops 1 and 5
    assert coarse_select(values)[0] == (1, 5)
    assert fine_select({3: -0.2, 5: -0.7, 7: -0.7}) == 5
    edge_values = np.zeros(14)
    edge_values[[5, 6, 7, 8]] = [0.3, -2.0, -0.1, -2.0]  # node 2's edges 5..8 (inputs 0..3)
    assert node_inputs(edge_values, 2) == (6, 8)
    assert node_inputs(np.arange(14.0), 3) == (9, 10)
    assert sorted(FINE_SELECTION_ORDER) == list(range(14))
    assert np.allclose(average_valuations([np.ones((14, 8)), 3 * np.ones((14, 8))]), 2.0)
    with pytest.raises(ConfigError, match="no valuation"):
        average_valuations([])


def test_a_cell_with_two_single_op_inputs_per_node_is_a_genotype():
    ops = DAP_OPS
    edges = [()] * 14
    chosen = {0: 3, 1: 0, 2: 3, 4: 4, 5: 0, 6: 4, 9: 3, 10: 3}  # two inputs for each node
    edges = tuple((chosen[e],) if e in chosen else () for e in range(14))
    g = DapCell(ops, edges, with_zero=False).genotype()
    assert isinstance(g, Genotype) and g.normal == g.reduce
    assert g.normal == (("sep_conv_3x3", 0), ("skip_connect", 1), ("sep_conv_3x3", 0), ("sep_conv_5x5", 2),
                        ("skip_connect", 0), ("sep_conv_5x5", 1), ("sep_conv_3x3", 0), ("sep_conv_3x3", 1))
    with pytest.raises(ConfigError, match="node 0 does not have exactly two"):
        DapCell(ops, ((0, 1),) + edges[1:]).genotype()
    with pytest.raises(ConfigError, match="14 edges"):
        DapCell(ops, edges[:5])
    with pytest.raises(ConfigError, match="edge 2"):
        DapCell(ops, edges[:2] + ((0, 0),) + edges[3:])
    with pytest.raises(ConfigError, match="restore must be"):
        PerturbationValuer(None, torch.zeros(14, 9), None, iter(()), [], restore="none")


# ------------------------------------------------------------------ the guided mutation
def test_perturbation_mutation_moves_a_pair_to_the_op_whose_removal_hurts_most():
    import evonas
    from evonas.context import SearchContext
    from evonas.registry import operators, strategies
    from evonas.spaces.darts import DartsSpace
    from tests.operators.test_gradient import shared_darts_supernet

    space, evaluator = DartsSpace(), shared_darts_supernet()
    ctx = SearchContext(evaluate=evaluator.evaluate, supernets=(evaluator.shared,))
    before = {k: v.clone() for k, v in evaluator.shared.module.state_dict().items()}
    rng = np.random.default_rng(0)
    operator = operators.create("perturbation").setup(space)
    for seed in range(4):
        parent = space.sample(np.random.default_rng(seed))
        child = operator([parent], rng, ctx)[0]
        assert space.is_valid(child) and space.key(child) != space.key(parent)
        values = operator.last_values
        assert set(values) == set(space._primitives)  # every op of the expanded edge valued
        if operator.last_choice is not None:  # guided (not a fallback): the pair took the most-needed op
            kind, j, op = operator.last_choice
            assert child.cell(kind)[j] == (op, parent.cell(kind)[j][1]) and values[op] == min(values.values())
            assert parent.cell(kind)[j][0] != op
    assert operator.guided + operator.fallbacks == 4 and operator.guided >= 1
    after = evaluator.shared.module.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # weights and BN statistics as they were
    result = evonas.search(DartsSpace(), strategies.create("ga", pop_size=4, mutation="perturbation"), evaluator,
                           budget=8, seed=0, progress=False)
    assert len(result.individuals) >= 8
    with pytest.raises(ConfigError, match="one shared supernet"):
        operators.create("perturbation").setup(space)([parent], rng, None)


def test_perturbation_mutation_on_the_nb201_supernet():
    """An NB201 edge is expanded to its four non-zero ops; each removal is measured by hand here and the edge
    takes the op whose removal lowers the accuracy most."""
    from evonas.registry import operators
    from evonas.spaces.nb201 import NB201Space
    from evonas.spaces.nb201.arch import OPS
    from tests.operators.test_gradient import _nb201_context

    space = NB201Space()
    net, ctx = _nb201_context()
    batches = ctx.supernets[0].validation_batches
    operator = operators.create("perturbation", batches=2).setup(space)
    guided = 0
    for seed in range(6):
        parent = space.sample(np.random.default_rng(seed))
        before = {k: v.clone() for k, v in net.state_dict().items()}
        child = operator([parent], np.random.default_rng(seed), ctx)[0]
        assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())  # weights and BN as they were
        assert space.is_valid(child) and child != parent
        if operator.last_choice is None:
            continue
        guided += 1
        _, e, op = operator.last_choice
        assert child == parent[:e] + (op,) + parent[e + 1:]
        assert set(operator.last_values) == set(OPS) - {"none"}
        expanded = torch.zeros(6, len(OPS), dtype=torch.float64)
        expanded[range(6), [OPS.index(o) for o in parent]] = 1.0
        expanded[e] = torch.tensor([0.0 if o == "none" else 1.0 for o in OPS])

        def accuracy(w):
            net.train()
            with torch.no_grad():
                hits = sum(int((net(x, weights=w).argmax(1) == y).sum()) for x, y in batches)
            return 100.0 * hits / sum(len(y) for _, y in batches)

        for name, value in operator.last_values.items():
            masked = expanded.clone()
            masked[e, OPS.index(name)] = 0.0
            assert value == pytest.approx(accuracy(masked) - accuracy(expanded))
        assert operator.last_values[op] == min(operator.last_values.values())
    assert guided >= 1
