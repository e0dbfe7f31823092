"""Stand-alone training: run directory, exact resume, checkpoint checks, evaluation."""
from __future__ import annotations

import csv
import json

import pytest
import torch

from evonas.errors import CheckpointError, ConfigError
from evonas.spaces.darts.genotypes import get_genotype
from evonas.training import standalone
from evonas.training.standalone import StandaloneConfig, evaluate_checkpoint, train_standalone


def tiny_config(**overrides) -> StandaloneConfig:
    values = dict(arch=get_genotype("DARTS_V2").to_dict(), init_channels=4, layers=3, epochs=3,
                  batch_size=16, max_batches=2, workers=0, test_fraction=0.05, device="cpu", seed=5)
    values.update(overrides)
    return StandaloneConfig.from_dict(values)


def test_run_writes_results(tmp_path):
    result = train_standalone(tiny_config(epochs=2), tmp_path / "run", progress=False)
    run = tmp_path / "run"
    rows = list(csv.DictReader(open(run / "metrics.csv")))
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    assert float(rows[1]["lr"]) < float(rows[0]["lr"])  # cosine schedule
    final = json.loads((run / "final.json").read_text())
    assert final["test_top1"] == pytest.approx(float(rows[-1]["test_top1"]))
    assert final["test_images"] == result["test_images"] > 0
    assert json.loads((run / "config.json").read_text())["layers"] == 3
    assert (run / "checkpoint.pt").is_file() and (run / "checkpoint.prev.pt").is_file()
    assert "epoch 2/2" in (run / "log.txt").read_text()
    for plot in ("curves.png", "genotype.png"):
        assert (run / plot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


class _Killed(Exception):
    pass


def test_resume_after_interruption_matches_uninterrupted_run(tmp_path, monkeypatch):
    full = train_standalone(tiny_config(), tmp_path / "full", progress=False)
    full_state = torch.load(tmp_path / "full" / "checkpoint.pt", weights_only=True)

    real_save = standalone.save_checkpoint
    calls = []

    def save_then_die(*args, **kwargs):
        real_save(*args, **kwargs)
        calls.append(1)
        if len(calls) == 1:
            raise _Killed()

    monkeypatch.setattr(standalone, "save_checkpoint", save_then_die)
    with pytest.raises(_Killed):
        train_standalone(tiny_config(), tmp_path / "cut", progress=False)
    monkeypatch.setattr(standalone, "save_checkpoint", real_save)
    resumed = train_standalone(None, tmp_path / "cut", resume=True, progress=False)

    cut_state = torch.load(tmp_path / "cut" / "checkpoint.pt", weights_only=True)
    for name, tensor in full_state["model"].items():
        assert torch.equal(tensor, cut_state["model"][name]), name
    strip = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]  # noqa: E731
    assert strip(full_state["metrics"]) == strip(cut_state["metrics"])
    assert resumed["test_top1"] == full["test_top1"]


def test_new_run_refuses_an_existing_run_dir(tmp_path):
    train_standalone(tiny_config(epochs=1), tmp_path / "run", progress=False)
    before = (tmp_path / "run" / "checkpoint.pt").read_bytes()
    with pytest.raises(ConfigError, match="already holds a run"):
        train_standalone(tiny_config(epochs=1), tmp_path / "run", progress=False)
    assert (tmp_path / "run" / "checkpoint.pt").read_bytes() == before


def test_resume_refuses_a_checkpoint_of_another_genotype(tmp_path):
    run = tmp_path / "run"
    train_standalone(tiny_config(epochs=1), run, progress=False)
    config = json.loads((run / "config.json").read_text())
    config["arch"] = get_genotype("DARTS_V1").to_dict()
    (run / "config.json").write_text(json.dumps(config))
    before = (run / "checkpoint.pt").read_bytes()
    with pytest.raises(CheckpointError, match="arch_key"):
        train_standalone(None, run, resume=True, progress=False)
    assert (run / "checkpoint.pt").read_bytes() == before


def test_truncated_checkpoint_falls_back_or_fails_clearly(tmp_path, caplog):
    run = tmp_path / "run"
    train_standalone(tiny_config(epochs=2), run, progress=False)
    blob = (run / "checkpoint.pt").read_bytes()
    (run / "checkpoint.pt").write_bytes(blob[: len(blob) // 3])
    with pytest.raises(CheckpointError, match="truncated"):
        evaluate_checkpoint(run / "checkpoint.pt")
    # resume falls back to the previous (epoch 1) checkpoint with a warning, and finishes the run
    config = json.loads((run / "config.json").read_text())
    config["epochs"] = 2
    with caplog.at_level("WARNING"):
        result = train_standalone(None, run, resume=True, progress=False)
    assert "falling back" in caplog.text and result["epochs"] == 2
    (run / "checkpoint.prev.pt").write_bytes(b"junk")
    (run / "checkpoint.pt").write_bytes(b"junk")
    with pytest.raises(CheckpointError):
        train_standalone(None, run, resume=True, progress=False)


def test_evaluate_checkpoint_reproduces_the_final_accuracy(tmp_path):
    result = train_standalone(tiny_config(epochs=1), tmp_path / "run", progress=False)
    evaluated = evaluate_checkpoint(tmp_path / "run", device="cpu")
    assert evaluated["top1"] == pytest.approx(result["test_top1"])
    assert evaluated["images"] == result["test_images"]
    with pytest.raises(CheckpointError, match="arch_key"):
        evaluate_checkpoint(tmp_path / "run", arch="DARTS_V1")


def test_config_typo_names_the_key():
    with pytest.raises(ConfigError, match="'epocs' \\(did you mean 'epochs'\\?\\)"):
        StandaloneConfig.from_dict({"arch": {}, "epocs": 3})
    with pytest.raises(ConfigError, match="epochs must be >= 1"):
        tiny_config(epochs=0)
