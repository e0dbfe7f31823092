"""Zero-cost proxies against hand-computed or independently computed values, training-mode BatchNorm where the
definitions need it, the ensemble's rank aggregation, and the zero-cost evaluators through the registry."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import evonas
from evonas.errors import ConfigError
from evonas.evaluators.zero_cost import compute_proxies, jacov_score, mean_rank, percentile_ranks, zen_score
from evonas.evaluators.zero_cost.jacov import JACOV_K


def conv_bn_net(classes: int = 3) -> nn.Module:
    """(N, 3, 6, 6) -> (N, classes): conv, train-mode-sensitive BatchNorm, ReLU, global pool, linear."""
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Linear(4, classes))


def batch(n: int = 6, shape=(3, 6, 6), classes: int = 3):
    g = torch.Generator().manual_seed(1)
    return torch.randn(n, *shape, generator=g) * 2 + 1, torch.arange(n) % classes


def loss_grads(model, images, labels, training: bool):
    model.train(training)
    weights = [model[0].weight, model[5].weight]
    return weights, torch.autograd.grad(F.cross_entropy(model(images), labels), weights)


def test_grad_norm_is_the_sum_of_the_layers_gradient_norms_in_training_mode():
    model, (images, labels) = conv_bn_net(), batch()
    model.eval()
    value = compute_proxies(model, images, labels, ["grad_norm"])["grad_norm"]
    _, grads = loss_grads(model, images, labels, training=True)
    assert value == pytest.approx(sum(float(g.norm()) for g in grads), rel=1e-6)
    _, eval_grads = loss_grads(model, images, labels, training=False)  # BN with running statistics: another value
    assert abs(value - sum(float(g.norm()) for g in eval_grads)) > 1e-3 * value
    model.eval()
    compute_proxies(model, images, labels, ["grad_norm", "snip"])
    assert not any(m.training for m in model.modules())  # flags restored


def test_snip_on_a_linear_layer_is_the_closed_form_saliency():
    torch.manual_seed(0)
    model = nn.Linear(5, 3)
    x, y = torch.randn(8, 5, dtype=torch.float64), torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    model = model.double()
    value = compute_proxies(model, x, y, ["snip", "grad_norm"])
    w, b = model.weight.detach().numpy(), model.bias.detach().numpy()
    z = x.numpy() @ w.T + b
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    grad = (p - np.eye(3)[y.numpy()]).T @ x.numpy() / len(x)  # dL/dW of the mean cross-entropy
    assert value["snip"] == pytest.approx(np.abs(w * grad).sum(), rel=1e-9)
    assert value["grad_norm"] == pytest.approx(np.linalg.norm(grad), rel=1e-9)


def test_fisher_of_a_linear_layer_is_half_the_mean_squared_activation_gradient_times_the_fan_in():
    torch.manual_seed(0)
    model = nn.Linear(5, 3).double()
    x, y = torch.randn(8, 5, dtype=torch.float64), torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    value = compute_proxies(model, x, y, ["fisher"])["fisher"]
    z = model(x).detach().numpy()
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    dz = (p - np.eye(3)[y.numpy()]) / len(x)
    delta = 0.5 * ((z * dz) ** 2).mean(0)  # per output channel
    assert value == pytest.approx(delta.sum() * 5, rel=1e-9)


def test_fisher_sees_the_convolution_output_even_when_an_in_place_op_follows_it():
    torch.manual_seed(0)
    plain = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Hardtanh(-0.5, 0.5), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                          nn.Linear(4, 3))
    inplace = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Hardtanh(-0.5, 0.5, inplace=True), nn.AdaptiveAvgPool2d(1),
                            nn.Flatten(), nn.Linear(4, 3))
    inplace.load_state_dict(plain.state_dict())
    images, labels = batch()
    assert compute_proxies(inplace, images, labels, ["fisher"]) == pytest.approx(
        compute_proxies(plain, images, labels, ["fisher"]))


def test_grasp_is_minus_theta_times_the_hessian_gradient_product():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3, bias=False), nn.Tanh(), nn.Linear(3, 2, bias=False)).double()
    x, y = torch.randn(6, 4, dtype=torch.float64), torch.tensor([0, 1, 0, 1, 1, 0])
    value = compute_proxies(model, x, y, ["grasp"])["grasp"]
    shapes = [(3, 4), (2, 3)]
    theta = torch.cat([model[0].weight.detach().flatten(), model[2].weight.detach().flatten()])

    def loss(flat):
        w1, w2 = flat[:12].view(shapes[0]), flat[12:].view(shapes[1])
        return F.cross_entropy(torch.tanh(x @ w1.t()) @ w2.t(), y)

    g = torch.autograd.functional.jacobian(loss, theta)
    hessian = torch.autograd.functional.hessian(loss, theta)
    assert value == pytest.approx(float(-(theta * (hessian @ g)).sum()), rel=1e-8)


def test_jacov_of_a_known_jacobian():
    # rows e1, e2, e3: pairwise correlation -1/2, eigenvalues 0, 3/2, 3/2
    expected = -sum(math.log(v + JACOV_K) + 1 / (v + JACOV_K) for v in (0.0, 1.5, 1.5))
    assert jacov_score(np.eye(3)) == pytest.approx(expected, rel=1e-9)
    # a linear network has the same input gradient for every image: one eigenvalue N, the rest 0
    torch.manual_seed(0)
    linear = nn.Sequential(nn.Flatten(), nn.Linear(12, 3, bias=False))
    n = 5
    value = compute_proxies(linear, torch.randn(n, 3, 2, 2), None, ["jacov"])["jacov"]
    assert value == pytest.approx(-((n - 1) * (math.log(JACOV_K) + 1 / JACOV_K)
                                    + math.log(n + JACOV_K) + 1 / (n + JACOV_K)), rel=1e-6)
    assert jacov_score(np.ones((3, 4))) == -math.inf  # constant rows: correlation undefined


def test_jacov_reads_the_network_in_training_mode():
    model, (images, _) = conv_bn_net(), batch()
    model.eval()
    value = compute_proxies(model, images, None, ["jacov"])["jacov"]
    x = images.clone().requires_grad_(True)
    model.train()
    (jacobian,) = torch.autograd.grad(model(x).sum(), x)
    assert value == pytest.approx(jacov_score(jacobian.flatten(1)), rel=1e-9)
    model.eval()
    x = images.clone().requires_grad_(True)
    (eval_jacobian,) = torch.autograd.grad(model(x).sum(), x)
    assert abs(value - jacov_score(eval_jacobian.flatten(1))) > 1e-3


def test_synflow_of_a_linear_chain_is_twice_its_path_sum():
    torch.manual_seed(0)
    chain = nn.Sequential(nn.Flatten(), nn.Linear(12, 5, bias=False), nn.BatchNorm1d(5), nn.Linear(5, 2, bias=False))
    value = compute_proxies(chain, torch.randn(4, 3, 2, 2), None, ["synflow"])["synflow"]
    w1, w2 = chain[1].weight.detach().double().abs(), chain[3].weight.detach().double().abs()
    paths = float((w2 @ w1 @ torch.ones(12, dtype=torch.float64)).sum())  # BatchNorm bypassed
    # R is homogeneous of degree 1 in each layer's weights: each layer's sum |theta dR/dtheta| is R itself
    assert value == pytest.approx(math.log(2 * paths), rel=1e-12)
    assert chain[1].weight.min() < 0 and chain[1].weight.dtype == torch.float32  # the model is left as it was


def test_zen_against_a_hand_computed_batchnorm_network():
    torch.manual_seed(3)
    model = nn.Sequential(nn.Conv2d(3, 4, 1, bias=False), nn.BatchNorm2d(4), nn.AdaptiveAvgPool2d(1),
                          nn.Flatten(), nn.Linear(4, 2))
    shape = (8, 3, 5, 5)
    value = zen_score(model, shape, generator=torch.Generator().manual_seed(7))
    g = torch.Generator().manual_seed(7)  # the same draws in the same order: weights, then the two inputs
    w = torch.empty(4, 3, 1, 1).normal_(generator=g)
    torch.empty(2, 4).normal_(generator=g)
    x, eps = torch.randn(shape, generator=g), torch.randn(shape, generator=g)

    def features(inp):
        h = F.conv2d(inp, w).double()
        mean, var = h.mean((0, 2, 3), keepdim=True), h.var((0, 2, 3), unbiased=False, keepdim=True)
        return (h - mean) / torch.sqrt(var + 1e-5), var  # training-mode BatchNorm: the batch's statistics

    clean, var = features(x)
    moved, _ = features(x + 0.01 * eps)
    expected = math.log(float((clean - moved).abs().sum((1, 2, 3)).mean())) + 0.5 * math.log(float(var.mean()))
    assert value == pytest.approx(expected, rel=1e-4)
    # the network's own weights do not matter (Zen re-initialises a copy), and it keeps them
    before = model[0].weight.clone()
    with torch.no_grad():
        model[0].weight.mul_(5)
    assert zen_score(model, shape, generator=torch.Generator().manual_seed(7)) == pytest.approx(value, rel=1e-6)
    assert torch.equal(model[0].weight, before * 5)
    with pytest.raises(ConfigError, match="AdaptiveAvgPool2d"):
        zen_score(nn.Sequential(nn.Flatten(), nn.Linear(75, 2)), shape)


def test_the_shared_pass_gives_each_proxy_its_value_alone_and_naswot_as_naswot_score():
    from evonas.evaluators.zero_cost import naswot_score

    model, (images, labels) = conv_bn_net(), batch()
    together = compute_proxies(model, images, labels, generator=torch.Generator().manual_seed(0))
    for name, value in together.items():
        alone = compute_proxies(model, images, labels, [name], generator=torch.Generator().manual_seed(0))[name]
        assert alone == pytest.approx(value, rel=1e-9), name
    assert together["naswot"] == naswot_score(model, images)
    assert together["params"] == sum(p.numel() for p in model.parameters())
    assert together["flops"] == 4 * 3 * 9 * 36 + 4 * 3  # conv and linear multiply-accumulates per image


def test_bad_proxy_input_is_one_line():
    model, (images, labels) = conv_bn_net(), batch()
    with pytest.raises(ConfigError, match="unknown proxy 'snp'; valid: naswot, jacov"):
        compute_proxies(model, images, labels, ["snp"])
    with pytest.raises(ConfigError, match="need the batch's labels"):
        compute_proxies(model, images, None, ["snip"])
    with pytest.raises(ConfigError, match="label 3 but the network's last linear layer has 3 outputs"):
        compute_proxies(model, images, labels + 1, ["grad_norm"])


def test_percentile_ranks_and_mean_rank():
    assert percentile_ranks([0.5, 2.0, 5.0, -1.0, float("nan")], [1.0, 2.0, 3.0, 4.0]).tolist() == \
        [0.0, 0.375, 1.0, 0.0, 0.0]  # ties count half; NaN ranks last
    table = {"a": [1.0, 2.0, 3.0, 4.0], "b": [40.0, 30.0, 20.0, 10.0], "c": [5.0, 5.0, 7.0, 6.0]}
    assert mean_rank(table, ["a", "b"]).tolist() == [0.5] * 4  # opposite orders cancel
    # a: 1/8, 3/8, 5/8, 7/8; c (tie at 5 shares 1/4): 2/8, 2/8, 7/8, 5/8
    assert mean_rank(table, ["a", "c"]) == pytest.approx([1.5 / 8, 2.5 / 8, 6 / 8, 6 / 8])
    with pytest.raises(ConfigError, match="different lengths"):
        mean_rank({"a": [1.0, 2.0], "b": [1.0]})


def small(**options):
    return {"net_kwargs": {"C": 4, "N": 1}, "batch_size": 8, **options}


def test_the_ensemble_evaluator_ranks_against_its_reference_sample():
    from evonas.spaces.nb201 import NB201Space

    space = NB201Space()
    evaluator = evonas.create("evaluator", "zc-ensemble", **small(proxies=["naswot", "synflow"], reference=6,
                                                                   report=["params"]))
    assert [o.name for o in evaluator.objectives] == ["zc_ensemble"]
    evaluator.setup(space)
    archs = [space.sample(np.random.default_rng(seed)) for seed in range(10, 14)]
    rows = evaluator.evaluate(archs)
    assert set(rows[0]) == {"zc_ensemble", "zc_naswot", "zc_synflow", "zc_params"}
    reference = evaluator._reference_values
    for row in rows:
        expected = np.mean([percentile_ranks([row["zc_" + p]], reference[p])[0] for p in ("naswot", "synflow")])
        assert row["zc_ensemble"] == pytest.approx(expected) and 0 <= row["zc_ensemble"] <= 1
    assert evaluator.evaluate(archs[2:3]) == rows[2:3]  # a score does not depend on the batch
    proxies = evonas.create("evaluator", "zero-cost", **small(proxies=["naswot", "synflow"]))
    proxies.setup(space)
    assert [r["naswot"] for r in proxies.evaluate(archs)] == [r["zc_naswot"] for r in rows]
    replica = evonas.create("evaluator", "zc-ensemble", **small(proxies=["naswot", "synflow"], reference=6,
                                                                report=["params"]))
    replica.setup_replica(space, evaluator.replica_state())
    assert replica.evaluate(archs) == rows
    for bad, message in (({"proxies": ["naswot", "zenn"]}, "unknown proxy 'zenn'"),
                         ({"proxies": []}, "no proxies to average given"),
                         ({"reference": 1}, "reference must be")):
        with pytest.raises(ConfigError, match=message):
            evonas.create("evaluator", "zc-ensemble", **bad)


def test_a_search_with_the_ensemble_from_the_command_line(capsys, tmp_path):
    import csv

    from evonas.cli import main

    argv = ["search", "--space", "nb201", "--strategy", "random", "--evaluator", "zc-ensemble",
            "--evaluator-opt", 'net_kwargs={"C": 4, "N": 1}', "--evaluator-opt", "batch_size=8",
            "--evaluator-opt", "reference=4", "--evaluator-opt", 'proxies=["naswot", "jacov"]',
            "--budget", "6", "--strategy-opt", "batch_size=6", "--run-dir", str(tmp_path / "run"), "--quiet"]
    assert main(argv) == 0
    with open(tmp_path / "run" / "history.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 6 and all(0 <= float(r["zc_ensemble"]) <= 1 for r in rows) and "zc_jacov" in rows[0]


def test_rank_scores_a_single_proxy(capsys, tmp_path):
    from evonas.ranking import rank_nb201_cells

    report = rank_nb201_cells(archs=6, scorer="jacov", evaluator_options={"batch_size": 8}, out_dir=None)
    assert report["label"] == "jacov" and report["score"] == "jacov" and report["scorer"]["n"] == 6


def test_rank_command_scores_the_ensemble(capsys, tmp_path):
    from evonas.cli import main

    assert main(["rank", "--scorer", "zc-ensemble", "--archs", "5", "--out", str(tmp_path / "zc"), "--quiet",
                 "--evaluator-opt", "reference=3", "--evaluator-opt", "batch_size=8", "--evaluator-opt",
                 'net_kwargs={"C": 4, "N": 1}']) == 0
    assert "zc-ensemble: Kendall tau" in capsys.readouterr().out
    assert (tmp_path / "zc" / "ranking.csv").read_text().splitlines()[0] == "arch,zc_ensemble,truth,params"
