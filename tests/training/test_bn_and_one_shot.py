"""BN recalibration and single-path supernet training on tiny networks."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from evonas.errors import ConfigError
from evonas.training.bn import recalibrate_bn
from evonas.training.one_shot import sample_paths


class TwoPaths(nn.Module):
    """A tiny single-path supernet: path 0 scales by 1, path 1 by 5, then a shared BN."""

    def __init__(self):
        super().__init__()
        self.bn = nn.BatchNorm2d(2)

    def forward(self, x, arch):
        return self.bn(x * (1.0 if arch == 0 else 5.0))


def test_recalibration_sets_running_stats_to_the_path_statistics():
    torch.manual_seed(0)
    net = TwoPaths()
    batches = [torch.randn(8, 2, 4, 4) + 3.0 for _ in range(3)]
    data = torch.cat(batches)
    for arch, scale in ((0, 1.0), (1, 5.0)):
        net.bn.running_mean.fill_(123.0)  # stale statistics from other paths
        used = recalibrate_bn(net, lambda x, a=arch: net(x, a), batches)
        assert used == 24 and not net.training
        expected_mean = (data * scale).mean(dim=(0, 2, 3))
        expected_var = torch.stack([(b * scale).var(dim=(0, 2, 3), unbiased=True) for b in batches]).mean(0)
        assert torch.allclose(net.bn.running_mean, expected_mean, atol=1e-5)
        assert torch.allclose(net.bn.running_var, expected_var, rtol=1e-3)
    assert net.bn.momentum == 0.1  # restored


def test_recalibrated_supernet_scores_differ_from_stale_statistics():
    torch.manual_seed(0)
    net = TwoPaths()
    batches = [torch.randn(16, 2, 4, 4) for _ in range(2)]
    recalibrate_bn(net, lambda x: net(x, 1), batches)
    with torch.no_grad():
        out = net(batches[0], 1)
    assert abs(float(out.std()) - 1.0) < 0.2  # normalised with the path's own statistics


def test_fair_sampling_needs_space_support():
    from evonas.testing import ToySpace

    with pytest.raises(ConfigError, match="fair_paths"):
        sample_paths(ToySpace(), np.random.default_rng(0), "fair")
    with pytest.raises(ConfigError, match="unknown sampler"):
        sample_paths(ToySpace(), np.random.default_rng(0), "greedy")
    assert len(sample_paths(ToySpace(), np.random.default_rng(0), "uniform")) == 1


def test_warmup_cosine_schedule():
    from evonas.training.one_shot import warmup_cosine

    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    schedule = warmup_cosine(optimizer, total_steps=10, warmup_steps=4)
    rates = []
    for _ in range(10):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        schedule.step()
    assert rates[:4] == pytest.approx([0.025, 0.05, 0.075, 0.1])
    assert rates[4] == pytest.approx(0.1) and rates[-1] < 0.01
    assert all(a >= b for a, b in zip(rates[3:], rates[4:]))
