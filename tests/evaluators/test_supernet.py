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
    with pytest.raises(CheckpointError, match="other settings: learning_rate 0.05 there, 0.1 here"):
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
    out = net(torch.randn(2, 3, 16, 16), arch)
    out.sum().backward()
    grads = [name for name, p in net.named_parameters() if ".ops." in name and p.grad is not None]
    unused = [name for name, p in net.named_parameters() if ".ops." in name and p.grad is None]
    assert grads and unused  # only the path's op modules get gradients


class _Killed(Exception):
    pass


def test_killed_supernet_training_continues_exactly(tmp_path, monkeypatch):
    from evonas.evaluators import supernet as module

    space = DartsSpace()
    settings = {**TINY, "epochs": 3, "warmup_epochs": 1}
    full = SupernetEvaluator(checkpoint=str(tmp_path / "full.pt"), **settings)
    full.setup(space)

    real_save = module.save_checkpoint
    saves = []

    def save_then_die(path, state, *, kind):
        real_save(path, state, kind=kind)
        saves.append(kind)
        if kind == "supernet-training" and saves.count(kind) == 2:
            raise _Killed()

    monkeypatch.setattr(module, "save_checkpoint", save_then_die)
    with pytest.raises(_Killed):
        SupernetEvaluator(checkpoint=str(tmp_path / "cut.pt"), **settings).setup(space)
    assert (tmp_path / "cut.training.pt").is_file() and not (tmp_path / "cut.pt").exists()
    monkeypatch.setattr(module, "save_checkpoint", real_save)
    resumed = SupernetEvaluator(checkpoint=str(tmp_path / "cut.pt"), **settings)
    resumed.setup(space)
    expected, got = full.supernet.state_dict(), resumed.supernet.state_dict()
    assert all(torch.equal(expected[k], got[k]) for k in expected)
    assert not (tmp_path / "cut.training.pt").exists() and not (tmp_path / "cut.training.prev.pt").exists()
    # progress left by other settings, or another kind of file, is refused and kept
    from evonas.runtime.checkpoint import save_checkpoint

    save_checkpoint(tmp_path / "other.training.pt", {"settings_digest": "0" * 16, "epoch": 1},
                    kind="supernet-training")
    with pytest.raises(CheckpointError, match="other.training.pt belongs to another run: its settings_digest"):
        SupernetEvaluator(checkpoint=str(tmp_path / "other.pt"), **settings).setup(space)
    assert (tmp_path / "other.training.pt").is_file()
    (tmp_path / "odd.training.pt").write_bytes((tmp_path / "full.pt").read_bytes())
    with pytest.raises(CheckpointError, match="not a 'supernet-training' one"):
        SupernetEvaluator(checkpoint=str(tmp_path / "odd.pt"), **settings).setup(space)


def test_bfloat16_scoring_stays_close_to_float32(tmp_path):
    space = DartsSpace()
    archs = [space.sample(np.random.default_rng(s)) for s in range(3)]
    fp32 = SupernetEvaluator(checkpoint=str(tmp_path / "s.pt"), **TINY)
    fp32.setup(space)
    bf16 = SupernetEvaluator(checkpoint=str(tmp_path / "s.pt"), eval_dtype="bfloat16", **TINY)
    bf16.setup(space)  # loads the same trained supernet
    assert "eval_dtype='bfloat16'" in repr(bf16) and "eval_dtype" not in repr(fp32)
    exact, low = fp32.evaluate(archs), bf16.evaluate(archs)
    assert any(a["val_loss"] != b["val_loss"] for a, b in zip(exact, low))  # bf16 did run
    for a, b in zip(exact, low):
        assert b["val_loss"] == pytest.approx(a["val_loss"], rel=0.02)
        assert abs(a["accuracy"] - b["accuracy"]) <= 100.0 * 4 / 128
    with pytest.raises(ConfigError, match="eval_dtype"):
        SupernetEvaluator(eval_dtype="float16")
