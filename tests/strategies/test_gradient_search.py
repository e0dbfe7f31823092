"""DARTS and StacNAS as strategies, and StacNAS' rules: groups, zero never chosen, raw-logit ranking, stage 2."""
from __future__ import annotations

import json
import math

import pytest
import torch

import evonas
from evonas.errors import ConfigError
from evonas.evaluators.cost import CostEvaluator
from evonas.operators import gradient
from evonas.spaces.darts import DartsSpace
from evonas.spaces.darts.cells import edge_index
from evonas.spaces.darts.stacnas import (
    GROUPS,
    STAGE1_PRIMITIVES,
    stacnas_cell,
    stacnas_genotype,
    stage2_edge_primitives,
    winning_groups,
    zero_attention,
)
from evonas.spaces.darts.supernet import SearchNetwork, derive_cell
from evonas.spaces.nb201.space import NB201Space
from evonas.strategies.gradient import DartsSearch, StacNASSearch, cosine_rate


# ------------------------------------------------------------------------------------------ rules
def test_groups_win_by_raw_logit_and_none_never_wins():
    alphas = torch.tensor([[0.1, 0.2, 0.3, 0.4, 9.0],    # none largest: dil_conv_3x3 (dilated) still wins
                           [1.0, 0.0, 0.0, 0.0, 0.0],    # max_pool_3x3 -> pooling
                           [0.0, 2.0, 1.9, 0.0, -1.0],   # skip -> identity
                           [0.0, 0.0, 0.5, 0.4, 0.0]])   # sep_conv_3x3 -> separable
    assert winning_groups(alphas) == ["dilated", "pooling", "identity", "separable"]
    assert STAGE1_PRIMITIVES[-1] == "none" and len(GROUPS) == 4


def test_stage2_never_chooses_none_and_ranks_edges_by_raw_logits():
    groups = ["separable"] * 14
    primitives = stage2_edge_primitives({"normal": groups, "reduce": groups})["normal"]
    assert primitives[0] == ("sep_conv_3x3", "sep_conv_5x5", "none")
    alphas = torch.full((14, 3), -5.0)
    alphas[:, 2] = 10.0  # 'none' is the strongest everywhere; it is never chosen
    # node 0 (edges 0, 1): edge 0 has the larger raw logit (3.0) but a smaller softmax weight than edge 1
    alphas[0] = torch.tensor([3.0, 2.9, 0.0])
    alphas[1] = torch.tensor([2.0, -5.0, -5.0])
    alphas[0, 2] = alphas[1, 2] = 0.0
    cell = stacnas_cell(alphas, primitives, 4)
    assert all(op != "none" for op, _ in cell)
    assert cell[:2] == [("sep_conv_3x3", 0), ("sep_conv_3x3", 1)]
    # DARTS' softmax rule would rank edge 1 first: the rules differ
    darts = derive_cell(torch.softmax(alphas, dim=-1), primitives, 4)
    assert darts[0] == ("sep_conv_3x3", 1)
    # a third edge with a larger raw logit displaces the weaker of node 1's edges
    alphas[2:5] = torch.tensor([[1.0, 0.0, 0.0], [0.0, 4.0, 0.0], [0.0, 0.0, 0.0]])
    assert stacnas_cell(alphas, primitives, 4)[2:4] == [("sep_conv_5x5", 1), ("sep_conv_3x3", 0)]


def test_zero_attention_weighs_a_nodes_two_paths_by_their_non_none_share():
    groups = ["separable"] * 14
    primitives = stage2_edge_primitives({"normal": groups, "reduce": groups})
    alphas = torch.zeros(14, 3)
    alphas[0] = torch.tensor([2.0, 0.0, 0.0])  # node 0, edge 0: 'none' holds 1 / (e^2 + 2)
    alphas[1] = torch.tensor([2.0, 0.0, math.log(9 * (math.e ** 2 + 1))])  # edge 1: 'none' holds 0.9
    genotype = stacnas_genotype(alphas, alphas, primitives)
    attention = zero_attention(alphas, alphas, primitives, genotype)
    assert genotype.normal[:2] == (("sep_conv_3x3", 0), ("sep_conv_3x3", 1))
    a, b = 1 - 1 / (math.e ** 2 + 2), 0.1
    assert attention["normal"][:2] == pytest.approx([2 * a / (a + b), 2 * b / (a + b)])
    for kind in ("normal", "reduce"):  # each node's two scales sum to 2; equal shares give 1 and 1
        values = attention[kind]
        assert len(values) == 8 and all(v + w == pytest.approx(2.0) for v, w in zip(values[::2], values[1::2]))
    assert attention["normal"][2:4] == pytest.approx([1.0, 1.0])


def test_stage2_network_is_built_from_the_stage1_groups():
    groups = {"normal": ["identity", "pooling"] * 7, "reduce": ["dilated", "separable"] * 7}
    torch.manual_seed(0)
    net = SearchNetwork(C=4, layers=3, edge_primitives=stage2_edge_primitives(groups))
    assert net.alphas_normal.shape == (14, 3)
    normal, reduce = net.cells[0], net.cells[1]
    assert normal.edges[0].keys == ("skip_connect", "skip_connect_2", "none")  # two parameter-free skips
    assert isinstance(normal.edges[0].ops["skip_connect_2"], torch.nn.Identity)
    assert reduce.edges[1].primitives == ("sep_conv_3x3", "sep_conv_5x5", "none")
    logits = net(torch.randn(2, 3, 16, 16))
    assert logits.shape == (2, 10) and torch.isfinite(logits).all()
    genotype = stacnas_genotype(net.alphas_normal, net.alphas_reduce, net.edge_primitives)
    assert net(torch.randn(2, 3, 16, 16), genotype).shape == (2, 10)  # the derived cell runs as a path
    with pytest.raises(Exception, match="not in this network's primitives"):
        bad = genotype.normal[:1] + (("dil_conv_3x3", genotype.normal[1][1]),) + genotype.normal[2:]
        net.check_genotype(type(genotype)(bad, genotype.normal_concat, genotype.reduce, genotype.reduce_concat))


def test_cosine_rate():
    assert cosine_rate(0, 10, 0.025, 0.001) == pytest.approx(0.025)
    assert cosine_rate(5, 10, 0.025, 0.001) == pytest.approx(0.013)
    assert cosine_rate(10, 10, 0.025, 0.001) == pytest.approx(0.001)


# ------------------------------------------------------------------------------------- strategies
QUICK = dict(C=4, layers=3, steps_per_epoch=2, batch_size=16)


def run(strategy, run_dir=None, **kwargs):
    evaluator = CostEvaluator(metrics=("params",), net_kwargs={"C": 8, "layers": 5})
    return evonas.search(DartsSpace(), strategy, evaluator, budget=1000, seed=0, run_dir=run_dir, progress=False,
                         **kwargs)


def test_stacnas_runs_two_stages_and_hands_the_groups_on():
    strategy = StacNASSearch(epochs=2, layers_stage2=4, lr_schedule="published", **QUICK)
    result = run(strategy)
    # the released code steps its cosine before each epoch: epoch 0 trains at the rate of epoch 1
    assert strategy.curve[0]["lr"] == pytest.approx(cosine_rate(1, 2, 0.025, 0.001))
    stage1 = next(ind.arch for ind in result.individuals if ind.key == strategy.curve[1]["arch"])
    assert {op for op, _ in stage1.normal + stage1.reduce} <= set(STAGE1_PRIMITIVES[:-1])  # representatives
    stages = [row["stage"] for row in strategy.curve]
    assert strategy.finished and stages == ["stacnas-groups"] * 2 + ["stacnas-ops"] * 2
    groups = strategy.stage_results[0]
    assert len(groups["normal"]) == 14 and set(groups["normal"]) <= set(GROUPS)
    last = strategy.curve[-1]["arch"]
    genotype = next(ind.arch for ind in result.individuals if ind.key == last)  # evaluated, in the history
    for kind in ("normal", "reduce"):  # every op of the final cell belongs to its edge's group
        for j, (op, inp) in enumerate(genotype.cell(kind)):
            assert op in GROUPS[groups[kind][edge_index(j // 2, inp)]]


def test_stacnas_keeps_zero_as_attention_for_the_final_network(tmp_path):
    strategy = StacNASSearch(epochs=1, layers_stage2=4, keep_zero_attention=True, **QUICK)
    assert strategy.edge_attention() is None
    run(strategy, run_dir=tmp_path / "run")
    attention = strategy.edge_attention()
    written = json.loads((tmp_path / "run" / "edge_attention.json").read_text())
    assert written == attention and set(written) == {"normal", "reduce"}  # JSON keeps floats exactly
    chosen = strategy.chosen()
    net = DartsSpace().build(chosen, C=4, layers=3, auxiliary=False, edge_attention=written)
    assert torch.allclose(net.cells[0].attention.detach(), torch.tensor(written["normal"]))
    assert torch.allclose(net.cells[1].attention.detach(), torch.tensor(written["reduce"]))  # a reduction cell
    assert net(torch.randn(2, 3, 16, 16))[0].shape == (2, 10)


def test_stacnas_without_alpha_share_derives_one_cell_per_layer(tmp_path):
    from evonas.spaces.darts.cellwise import CellwiseGenotype, nearest_layers

    strategy = StacNASSearch(epochs=1, alpha_share=False, layers_stage2=5, **QUICK)  # 3 cells, then 5
    result = run(strategy, run_dir=tmp_path / "run")
    groups = strategy.stage_results[0]["cells"]
    assert len(groups) == 3 and all(len(g) == 14 and set(g) <= set(GROUPS) for g in groups)
    final = strategy.chosen()
    assert isinstance(final, CellwiseGenotype) and final.layers == 5
    for layer, source in enumerate(nearest_layers(3, 5)):  # each cell's ops from its mapped stage-1 cell's groups
        for j, (op, inp) in enumerate(final.cells[layer]):
            assert op in GROUPS[groups[source][edge_index(j // 2, inp)]]
    assert json.loads((tmp_path / "run" / "chosen.json").read_text()) == final.to_dict()
    assert any(ind.key == final.key() for ind in result.individuals)  # evaluated like any architecture
    with pytest.raises(ConfigError, match="needs alpha_share=True"):
        StacNASSearch(alpha_share=False, keep_zero_attention=True)
    darts = DartsSearch(epochs=1, alpha_share=False, **QUICK)
    run(darts)
    assert isinstance(darts.chosen(), CellwiseGenotype) and darts.chosen().layers == QUICK["layers"]


def test_darts_on_nb201_and_bad_settings():
    strategy = DartsSearch(epochs=1, C=4, N=1, steps_per_epoch=2, batch_size=16)
    from evonas.evaluators.tabular import NB201TableEvaluator

    result = evonas.search(NB201Space(), strategy, NB201TableEvaluator(), budget=10, seed=0, progress=False)
    assert len(result.individuals) == 1 and strategy.finished
    with pytest.raises(ConfigError, match="stacnas"):
        DartsSearch(mode="one-level")
    with pytest.raises(ConfigError, match="strategy .stacnas. needs a space with cell_tools"):
        evonas.search(NB201Space(), StacNASSearch(epochs=1, **QUICK), NB201TableEvaluator(), budget=5, seed=0,
                      progress=False)


def test_a_non_finite_loss_rolls_back_and_halves_the_rate(monkeypatch, caplog):
    strategy = DartsSearch(epochs=1, **QUICK)
    real, calls = gradient.GradientSearch.step, []

    def sometimes_nan(self, train, val=None):
        calls.append(1)
        result = real(self, train, val)
        return {**result, "train_loss": math.nan} if len(calls) == 2 else result

    monkeypatch.setattr(gradient.GradientSearch, "step", sometimes_nan)
    before = {}

    def remember(self, stage):  # the weights at the start of the epoch
        before.update({k: v.clone() for k, v in self.module.state_dict().items()})
        return epoch(self, stage)

    epoch = DartsSearch._epoch
    monkeypatch.setattr(DartsSearch, "_epoch", remember)
    strategy.config["epochs"] = 2  # keep the stage open after the first epoch, so its state can be looked at
    strategy.config["steps_per_epoch"] = 3
    evaluator = CostEvaluator(metrics=("params",), net_kwargs={"C": 8, "layers": 5})
    evonas.search(DartsSpace(), strategy, evaluator, budget=1, seed=0, progress=False)  # one epoch only
    assert len(calls) == 2, "the epoch went on after the non-finite loss"
    assert strategy.rate_scale == 0.5 and "non-finite loss at step 1" in caplog.text
    after = strategy.module.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before), "the weights were not rolled back"


def test_resume_after_an_epoch_equals_an_uninterrupted_run(tmp_path, monkeypatch):
    reference = StacNASSearch(epochs=2, layers_stage2=4, **QUICK)
    run(reference, tmp_path / "straight")
    real, calls = gradient.GradientSearch.step, []

    def dies(self, train, val=None):
        calls.append(1)
        if len(calls) == 6:  # stage 2, first epoch, second step
            raise KeyboardInterrupt
        return real(self, train, val)

    monkeypatch.setattr(gradient.GradientSearch, "step", dies)
    with pytest.raises(KeyboardInterrupt):
        run(StacNASSearch(epochs=2, layers_stage2=4, **QUICK), tmp_path / "killed")
    monkeypatch.setattr(gradient.GradientSearch, "step", real)
    resumed = StacNASSearch(epochs=2, layers_stage2=4, **QUICK)
    run(resumed, tmp_path / "killed", resume=True)
    for name in ("search_curve.csv", "search_curve.png", "chosen.json", "chosen.txt", "chosen.png"):
        assert (tmp_path / "killed" / name).stat().st_size > 0, name
    assert DartsSpace().key(resumed.chosen()) == resumed.curve[-1]["arch"]
    assert resumed.curve == reference.curve
    assert resumed.stage_results == reference.stage_results
    assert (tmp_path / "killed" / "history.csv").read_text() == (tmp_path / "straight" / "history.csv").read_text()


def test_channels_last_on_the_cpu_computes_the_same_search():
    runs = {}
    for channels_last in (None, False):
        strategy = DartsSearch(epochs=2, channels_last=channels_last, **QUICK)
        evonas.search(DartsSpace(), strategy, CostEvaluator(metrics=("params",)), budget=1, seed=0, progress=False)
        runs[channels_last] = strategy
    conv = runs[None].module.stem[0].weight
    assert conv.is_contiguous(memory_format=torch.channels_last) and not conv.is_contiguous()
    assert runs[False].module.stem[0].weight.is_contiguous()
    fast, plain = runs[None].curve[0], runs[False].curve[0]
    assert fast["train_loss"] == pytest.approx(plain["train_loss"], rel=1e-4)
    # Adam normalises the alphas' tiny gradients, so float rounding shows at about 1e-5 of its 3e-4 steps
    assert torch.allclose(runs[None].module.alphas_normal, runs[False].module.alphas_normal, atol=1e-4)
