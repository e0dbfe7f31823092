"""SupernetEvaluator on a tiny DARTS supernet: training, scoring, checkpoint reuse."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from evonas.errors import CheckpointError, ConfigError
from evonas.evaluators.supernet import SupernetEvaluator
from evonas.spaces.darts import DartsSpace

TINY = dict(supernet_kwargs=dict(C=4, layers=3), epochs=1, batch_size=32, recalibration_images=64,
            val_images=128, progress=False, split=(0.1, 0.1))


def test_trains_scores_and_reuses_its_checkpoint(tmp_path):
    space = DartsSpace()
    archs = [space.sample(np.random.default_rng(s)) for s in range(3)]
    first = SupernetEvaluator(checkpoint=str(tmp_path / "supernet.pt"), **TINY)
    first.setup(space)
    scores = first.evaluate(archs)
    assert all(0 <= r["accuracy"] <= 100 and r["val_loss"] > 0 for r in scores)
    assert first.objectives[0].name == "accuracy" and first.objectives[0].direction == "max"
    assert (tmp_path / "supernet.pt").is_file()
    # same settings: loaded, not retrained, identical scores
    again = SupernetEvaluator(checkpoint=str(tmp_path / "supernet.pt"), **{**TINY, "epochs": 1})
    again.setup(space)
    assert again.evaluate(archs) == scores and again.version == first.version
    # scoring is deterministic and independent of what was scored before
    assert first.evaluate(archs[::-1]) == scores[::-1]


def test_checkpoint_of_other_settings_is_refused(tmp_path):
    space = DartsSpace()
    SupernetEvaluator(checkpoint=str(tmp_path / "s.pt"), **TINY).setup(space)
    other = SupernetEvaluator(checkpoint=str(tmp_path / "s.pt"), **{**TINY, "learning_rate": 0.1})
    with pytest.raises(CheckpointError, match="settings_digest"):
        other.setup(space)


def test_loss_metric_and_bad_options():
    evaluator = SupernetEvaluator(metric="loss", **TINY)
    assert evaluator.objectives[0].name == "val_loss" and evaluator.objectives[0].direction == "min"
    with pytest.raises(ConfigError, match="metric"):
        SupernetEvaluator(metric="top5")
    with pytest.raises(ConfigError, match="sampler"):
        SupernetEvaluator(sampler="greedy")
    with pytest.raises(ConfigError, match="warmup_epochs"):
        SupernetEvaluator(epochs=2, warmup_epochs=3)


def test_supernet_path_runs_only_selected_ops():
    space = DartsSpace()
    net = space.build_supernet(C=4, layers=3)
    arch = space.sample(np.random.default_rng(0))
    out = net.forward_path(torch.randn(2, 3, 16, 16), arch)
    out.sum().backward()
    grads = [name for name, p in net.named_parameters() if ".ops." in name and p.grad is not None]
    unused = [name for name, p in net.named_parameters() if ".ops." in name and p.grad is None]
    assert grads and unused  # only the path's op modules get gradients
