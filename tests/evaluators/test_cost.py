"""CostEvaluator and its counters: hand-computed MACs, parameter counts, latency."""
import numpy as np
import pytest
import torch
from torch import nn

from evonas.counting import count_macs, count_params
from evonas.errors import ConfigError, EvonasError
from evonas.evaluators.base import Objective
from evonas.evaluators.cost import CostEvaluator, measure_latency
from evonas.spaces.darts import DartsSpace, NetworkCIFAR, get_genotype

TINY = dict(C=4, layers=5, num_classes=10)



class SqueezeExcite(nn.Module):
    """x * sigmoid(conv(relu(conv(avgpool(x))))): only the two 1x1 convs cost MACs."""

    def __init__(self, C: int, r: int):
        super().__init__()
        self.reduce = nn.Conv2d(C, C // r, 1)
        self.expand = nn.Conv2d(C // r, C, 1)

    def forward(self, x):
        s = x.mean((2, 3), keepdim=True)
        return x * torch.sigmoid(self.expand(torch.relu(self.reduce(s))))


class TupleOut(nn.Module):
    """Returns (logits, None) like the DARTS networks."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(8)
        self.drop = nn.Dropout(0.5)
        self.fc = nn.Linear(8, 10)

    def forward(self, x):
        y = torch.relu(self.bn(self.conv(x))).mean((2, 3))
        return self.fc(self.drop(y)), None


class ReadsValues(nn.Module):
    """Data-dependent control flow: cannot run on the meta device."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)

    def forward(self, x):
        if x.sum().item() >= 0:
            return self.conv(x)
        return x


class MatMul(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(5, 6))

    def forward(self, x):  # (N, 4, 5) @ (5, 6) -> (N, 4, 6)
        return torch.matmul(x, self.w)


@pytest.mark.parametrize("module, shape, macs", [
    (nn.Conv2d(3, 8, 3, padding=1), (1, 3, 8, 8), 3 * 8 * 9 * 64),               # 13824, bias not counted
    (nn.Conv2d(3, 8, 3, stride=2, padding=1, bias=False), (1, 3, 8, 8), 3 * 8 * 9 * 16),
    (nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False), (1, 8, 8, 8), 8 * 9 * 64),  # depthwise
    (nn.Conv2d(8, 16, 3, padding=1, groups=2, bias=False), (1, 8, 8, 8), 16 * 4 * 9 * 64),  # grouped
    (nn.Conv2d(8, 8, 3, padding=2, dilation=2, groups=8, bias=False), (1, 8, 8, 8), 8 * 9 * 64),
    (nn.Linear(16, 10), (1, 16), 160),
    (SqueezeExcite(16, 4), (1, 16, 8, 8), 16 * 4 + 4 * 16),
    (MatMul(), (1, 4, 5), 4 * 5 * 6),
    (nn.Sequential(nn.BatchNorm2d(3), nn.ReLU(), nn.MaxPool2d(2), nn.AvgPool2d(2)), (1, 3, 8, 8), 0),
    (TupleOut(), (1, 3, 8, 8), 3 * 8 * 9 * 64 + 80),
])
def test_count_macs_hand_computed(module, shape, macs):
    assert count_macs(module, shape) == macs
    assert count_macs(module, shape, device="cpu") == macs  # real pass agrees with the meta pass


def test_count_macs_is_per_image():
    model = TupleOut()
    assert count_macs(model, (4, 3, 8, 8)) == count_macs(model, (1, 3, 8, 8))
    assert count_macs(model, (3, 3, 8, 8), device="cpu") == 3 * 8 * 9 * 64 + 80


def test_count_macs_falls_back_when_meta_fails():
    assert count_macs(ReadsValues(), (2, 3, 8, 8)) == 3 * 8 * 9 * 64


def test_count_macs_restores_each_training_flag():
    model = TupleOut().train()
    model.drop.eval()  # a mixed state must survive too
    seen = []
    model.bn.register_forward_hook(lambda m, i, o: seen.append(m.training))
    count_macs(model, (1, 3, 8, 8))
    measure_latency(model, (1, 3, 8, 8), repeats=2, warmup=0)
    assert seen and not any(seen)  # counted and timed in eval mode
    assert model.training and model.bn.training and model.fc.training and not model.drop.training
    assert all(p.device.type == "cpu" for p in model.parameters())
    assert torch.is_grad_enabled()


def test_count_macs_darts_meta_equals_real():
    model = NetworkCIFAR(auxiliary=True, genotype=get_genotype("DARTS_V2"), **TINY)
    meta = count_macs(model, (1, 3, 16, 16))
    assert meta > 0
    assert meta == count_macs(model, (1, 3, 16, 16), device="cpu")


def test_measure_latency_positive_milliseconds():
    ms = measure_latency(nn.Conv2d(3, 8, 3), (1, 3, 8, 8), "cpu", repeats=3, warmup=1)
    assert 0.0 < ms < 1000.0
    with pytest.raises(ConfigError):
        measure_latency(nn.Conv2d(3, 8, 3), (1, 3, 8, 8), repeats=0)


def test_params_match_darts_count_params():
    space = DartsSpace()
    genotype = get_genotype("DARTS_V2")
    evaluator = CostEvaluator(metrics=("params",), net_kwargs=dict(auxiliary=True, **TINY))
    evaluator.setup(space)
    [result] = evaluator.evaluate([genotype])
    model = NetworkCIFAR(auxiliary=True, genotype=genotype, **TINY)
    assert result == {"params": count_params(model, exclude_auxiliary=True)}
    assert count_params(model, exclude_auxiliary=False) > result["params"]  # a head was excluded
    assert count_params(model) == result["params"]


def test_cost_evaluator_on_darts_space():
    space = DartsSpace()
    evaluator = CostEvaluator(metrics=("params", "flops", "macs", "latency"), input_shape=(1, 3, 16, 16),
                              net_kwargs=TINY, device="cpu", latency_repeats=2, latency_warmup=1)
    assert evaluator.objectives == tuple(Objective(m, "min") for m in ("params", "flops", "macs", "latency"))
    evaluator.setup(space)
    archs = [get_genotype("DARTS_V2"), space.sample(np.random.default_rng(0))]
    results = evaluator.evaluate(archs)
    assert len(results) == 2 and evaluator.evaluations == 2
    for arch, result in zip(archs, results):
        assert set(result) == {"params", "flops", "macs", "latency"}
        assert result["latency"] > 0
        assert result["flops"] == result["macs"] > 0
        model = space.build(arch, **TINY)
        assert result["flops"] == count_macs(model, (1, 3, 16, 16))
        assert result["params"] == count_params(model)


def test_default_metrics_and_repr():
    evaluator = CostEvaluator()
    assert [o.name for o in evaluator.objectives] == ["params", "flops"]
    assert "CostEvaluator" in repr(evaluator)


@pytest.mark.parametrize("metrics", [("params", "energy"), (), ("flops", "flops")])
def test_bad_metrics_raise_config_error(metrics):
    with pytest.raises(ConfigError) as info:
        CostEvaluator(metrics=metrics)
    if "energy" in metrics:
        assert "energy" in str(info.value)
        for name in ("params", "flops", "macs", "latency"):
            assert name in str(info.value)


def test_evaluate_before_setup_raises():
    with pytest.raises(EvonasError, match="setup"):
        CostEvaluator().evaluate([get_genotype("DARTS_V2")])


def test_analytic_cost_counts_what_the_built_network_has_without_building_it():
    from evonas.evaluators.cost import AnalyticCostEvaluator
    from evonas.spaces.nb201 import NB201Space
    from evonas.testing import ToySpace

    space = NB201Space()
    archs = [space.sample(np.random.default_rng(seed)) for seed in range(2)]
    built, analytic = CostEvaluator(metrics=("params",)), AnalyticCostEvaluator()
    built.setup(space)
    analytic.setup(space)
    assert [r["params"] for r in analytic.evaluate(archs)] == [r["params"] for r in built.evaluate(archs)]
    assert [r["flops"] for r in analytic.evaluate(archs)] == [space.analytic_cost(a, num_classes=10, resolution=32)
                                                              ["flops"] for a in archs]
    assert [o.name for o in AnalyticCostEvaluator(metrics="params").objectives] == ["params"]
    with pytest.raises(ConfigError, match="analytic_cost"):  # a space that cannot count without building
        AnalyticCostEvaluator().setup(ToySpace())
    with pytest.raises(ConfigError, match="unknown analytic cost metric"):
        AnalyticCostEvaluator(metrics=("latency",))
