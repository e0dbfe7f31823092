"""The published configurations run end to end in smoke mode: every phase once, at the published widths and depths,
a step per phase, with a report of seconds per step, memory and the projected cost of the full run.

To fit the CI budget the tests lower the batch sizes (given explicitly, and the stand-alone recipe's batch is
patched; SCARLET: batches of 2 images at 224 px); ``benchmarks/bench_published.py`` runs the published batches.
"""
from __future__ import annotations

import json
import math

import pytest

import evonas
from evonas.evaluators.cost import CostEvaluator
from evonas.spaces.darts import DartsSpace
from evonas.strategies import dap as dap_module
from evonas.strategies.dap import DAP, OP_LISTS
from evonas.strategies.gradient import StacNASSearch


def _rows(report):
    return {(r["phase"], r["kind"]): r for r in report["rows"]}


def _no_leak(report, phases, limit_gib=1.0):
    """Resident memory at the end of each phase grows by less than ``limit_gib`` from the first to the last."""
    ends = [next(r["host_end_gib"] for r in report["rows"] if r["phase"] == p) for p in phases]
    assert max(ends) - ends[0] < limit_gib, ends


def test_dap_published_smoke_runs_every_phase_and_projects_the_full_run(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(dap_module.STANDALONE, "batch_size", 8)
    strategy = DAP(published=True, smoke_steps=1, batch_size=8, micro_batch=4)
    ops = getattr(DartsSpace().cell_tools, OP_LISTS["published"])
    space = DartsSpace(primitives=tuple(dict.fromkeys(ops)))
    evonas.search(space, strategy, CostEvaluator(metrics=("params",)), budget=100, seed=0, progress=False,
                  run_dir=tmp_path / "run")
    assert [row["phase"] for row in strategy.curve] == ["expand", "coarse", "fine", "topology"]
    report = json.loads((tmp_path / "run" / "smoke.json").read_text())
    rows = _rows(report)
    for key in [("expand", "train"), ("expand", "fine-tune"), ("expand", "validate"), ("coarse", "train"),
                ("fine", "train"), ("fine", "fine-tune"), ("topology", "fine-tune"), ("stand-alone", "train")]:
        assert rows[key]["smoke_steps"] >= 1 and rows[key]["seconds_per_step"] > 0, key
    # the full run of the published settings, at the batch given here: 4 members x 14 edges x 5 epochs
    per_epoch = 50_000 // 8
    assert rows[("expand", "train")]["full_steps"] == 4 * 14 * 5 * per_epoch
    assert rows[("expand", "fine-tune")]["full_steps"] == 4 * 14 * 9 * 71
    assert rows[("topology", "fine-tune")]["full_steps"] == 3 * 14 * 181
    assert rows[("stand-alone", "train")]["full_steps"] == 600 * 50_000 // 8
    assert report["search_hours"] > 0 and report["total_hours"] > report["search_hours"]
    assert any("micro-batches of 4" in n for n in report["notes"])
    assert any("cifar10-mini" in n for n in report["notes"])
    assert all(r["host_peak_gib"] < 6 for r in report["rows"] if r["host_peak_gib"] is not None)
    _no_leak(report, ["expand", "coarse", "fine", "topology"])
    assert "projected full run on this machine" in capsys.readouterr().out


def test_stacnas_published_smoke_runs_both_stages_and_the_standalone_network(tmp_path, monkeypatch):
    monkeypatch.setitem(StacNASSearch.STANDALONE, "batch_size", 8)
    strategy = StacNASSearch(published=True, smoke_steps=1, batch_size=8)
    assert strategy.config["layers"] == 14 and strategy.config["layers_stage2"] == 20
    evonas.search(DartsSpace(), strategy, CostEvaluator(metrics=("params",)), budget=100, seed=0, progress=False,
                  run_dir=tmp_path / "run")
    assert [row["stage"] for row in strategy.curve] == ["stacnas-groups", "stacnas-ops"]
    report = json.loads((tmp_path / "run" / "smoke.json").read_text())
    rows = _rows(report)
    assert rows[("stacnas-groups", "train")]["full_steps"] == 80 * (50_000 // 8)
    assert rows[("stacnas-ops", "train")]["seconds_per_step"] > 0
    assert rows[("stand-alone", "train")]["seconds_per_step"] > 0
    _no_leak(report, ["stacnas-groups", "stacnas-ops"])


def test_smoke_steps_are_checked():
    with pytest.raises(evonas.errors.ConfigError, match="smoke_steps must be >= 1"):
        DAP(smoke_steps=0)
    with pytest.raises(evonas.errors.ConfigError, match="micro_batch must be >= 2"):
        DAP(micro_batch=1)
    with pytest.raises(evonas.errors.ConfigError, match="smoke_steps must be >= 1"):
        StacNASSearch(smoke_steps=0)


def test_a_fixed_length_search_shows_progress_in_its_own_units():
    """The bar of a strategy with progress units counts them (not evaluations against the budget)."""
    from evonas.callbacks import ProgressDisplay
    from evonas.core import Objective

    class Fixed:
        done = 0

        def progress_units(self):
            return self.done, 32, "units"

    class Archive(list):
        objectives = ()
        individuals = []

    class State:
        archive = Archive()

    strategy = Fixed()
    display = ProgressDisplay(10_000, 0, [Objective("params", "min")], bar=True, strategy=strategy)
    assert display.bar.total == 32
    display.on_evaluation(1)
    assert display.bar.n == 0
    strategy.done = 5
    display.best.update = lambda archive: {}
    display.on_generation(1, State())
    assert display.bar.n == 5
    display.close()
    plain = ProgressDisplay(10_000, 0, [Objective("params", "min")], bar=False)
    assert plain.bar.total == 10_000
    plain.close()


def _relativenas_weight_set(batch):
    """The published weight set (RELATIVENAS_PUBLISHED_SUPERNET) on the embedded images, at a CI-sized batch."""
    from evonas.evaluators.supernet import SupernetEvaluator
    from evonas.strategies.relative import published_weight_set

    return SupernetEvaluator(**published_weight_set(smoke_steps=1, batch_size=batch, eval_batch_size=batch,
                                                    progress=False, device="cpu"))


def test_relativenas_published_smoke_runs_every_phase_and_projects_the_full_run(tmp_path, monkeypatch, capsys):
    from evonas.strategies import relative
    from evonas.strategies.relative import RelativeNAS

    monkeypatch.setitem(relative.STANDALONE, "batch_size", 2)
    strategy = RelativeNAS(published=True, smoke_steps=1)
    assert strategy.config["lr_schedule"] == "published" and strategy.config["augmented_validation"]
    assert strategy.config["pop_size"] == 20 and strategy.config["generations"] == 50
    evonas.search(DartsSpace(encoding="relativenas"), strategy, _relativenas_weight_set(8), budget=100, seed=0,
                  progress=False, run_dir=tmp_path / "run")
    assert strategy.completed == 1 and strategy.chosen() is not None
    report = json.loads((tmp_path / "run" / "smoke.json").read_text())
    rows = _rows(report)
    for key in [("pairs", "train"), ("pairs", "validate"), ("pairs", "merge"), ("evaluate", "score-batch"),
                ("derive", "run"), ("stand-alone", "train")]:
        assert rows[key]["smoke_steps"] >= 1 and rows[key]["seconds_per_step"] > 0, key
    # 50 generations x 20 members x one pass over 25k images at the batch given here (8)
    assert rows[("pairs", "train")]["full_steps"] == 50 * 20 * (25_000 // 8)
    assert rows[("pairs", "validate")]["full_steps"] == 50 * 20 * math.ceil(25_000 / 8)
    assert rows[("pairs", "merge")]["full_steps"] == 50 * 10
    assert rows[("stand-alone", "train")]["full_steps"] == 600 * math.ceil(50_000 / 2)
    assert report["search_hours"] > 0 and report["total_hours"] > report["search_hours"]
    assert any("batch_size=8 (published 256)" in n for n in report["notes"])  # said, not silent
    assert all(r["host_peak_gib"] < 6 for r in report["rows"])
    _no_leak(report, ["pairs", "evaluate", "stand-alone"])
    assert "projected full run on this machine" in capsys.readouterr().out


def test_relativenas_published_refuses_with_one_message_listing_every_missing_piece(tmp_path):
    from evonas.strategies.relative import RelativeNAS

    with pytest.raises(evonas.errors.ConfigError) as error:
        evonas.search(DartsSpace(), RelativeNAS(published=True, pop_size=2, generations=1),
                      CostEvaluator(metrics=("params",)), budget=10, seed=0, progress=False)
    message = str(error.value)
    assert message.count("\n") == 0 and "(1) a weight set" in message and "(2) real-valued" in message
    assert "smoke_steps" in message


def test_scarlet_published_network_smoke_runs_every_phase(tmp_path):
    """The ImageNet supernet at width 1.0, 224 px, 1000 classes: supernet step, scoring, export, stand-alone step
    (CI-sized batches of 2 images; the report names them)."""
    from evonas.training.scarlet_smoke import SCARLET_ASSUMED, scarlet_smoke

    report = scarlet_smoke(steps=1, run_dir=tmp_path, verbose=False, batch_size=2, standalone_batch_size=2,
                           sampler="uniform", eval_batch_size=2)
    assert json.loads((tmp_path / "smoke.json").read_text()) == report
    rows = _rows(report)
    for key in [("supernet", "train"), ("evolution", "score-batch"), ("derive", "export"), ("stand-alone", "train")]:
        assert rows[key]["smoke_steps"] >= 1 and rows[key]["seconds_per_step"] > 0, key
    assert rows[("supernet", "train")]["full_steps"] == SCARLET_ASSUMED["supernet_epochs"] * (1_281_167 // 2)
    assert rows[("evolution", "score-batch")]["full_steps"] == 40 * 40 * (50_000 // 2 + 2_560 // 2)
    assert len(report["architecture"]) == 19
    assert any("not published" in n for n in report["notes"])
    assert any("batch_size=2 (assumed 256)" in n and "sampler='uniform'" in n for n in report["notes"])
    assert any("scoring batch 2 (published 128)" in n for n in report["notes"])
    with pytest.raises(evonas.errors.ConfigError, match="unknown SCARLET smoke setting"):
        scarlet_smoke(steps=1, epochs=3)


def _dap_smoke_rank(rank: int, world: int, store: dict, out: str) -> None:
    """One torchrun-like process of a published DAP smoke run (gloo), saving what it did."""
    import os

    import torch

    from evonas.runtime import distributed

    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank), **store)
    torch.set_num_threads(1)
    assert distributed.init_from_env("gloo") and distributed.world_size() == world
    dap_module.STANDALONE["batch_size"] = 8  # a fresh process: the CI-sized stand-alone batch of the test above
    strategy = DAP(published=True, smoke_steps=1, batch_size=8, micro_batch=4)
    space = DartsSpace(**strategy.published_components()["space_options"])
    evonas.search(space, strategy, CostEvaluator(metrics=("params",)), budget=100, seed=0, progress=False,
                  run_dir=f"{out}/run{rank}")
    torch.save({"phases": [row["phase"] for row in strategy.curve], "matrices": strategy.matrices},
               f"{out}/rank{rank}.pt")
    torch.distributed.destroy_process_group()


def test_dap_published_smoke_runs_under_two_gloo_processes(tmp_path):
    """The torchrun path at the published size: member m on rank m mod 2 (a smoke run: each rank its first
    member's first edge), the valuation matrices gathered, rank 0's selections and stand-alone network."""
    import numpy as np
    import torch
    import torch.multiprocessing as mp

    from tests.rendezvous import agent_store

    with agent_store(2) as store:
        mp.spawn(_dap_smoke_rank, args=(2, store, str(tmp_path)), nprocs=2, join=True)
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=False) for r in range(2)]
    assert ranks[1]["phases"] == ["expand", "gather"]
    assert ranks[0]["phases"] == ["expand", "gather", "coarse", "fine", "topology"]
    for r in range(2):  # every rank holds both members' valuations of edge 0 after the gather
        assert np.any(ranks[r]["matrices"][0][0]) and np.any(ranks[r]["matrices"][1][0])
        assert all(np.array_equal(a, b) for a, b in zip(ranks[r]["matrices"], ranks[0]["matrices"]))
    report = json.loads((tmp_path / "run0" / "smoke.json").read_text())
    rows = _rows(report)
    for key in [("expand", "train"), ("coarse", "train"), ("fine", "train"), ("topology", "fine-tune"),
                ("stand-alone", "train")]:
        assert rows[key]["smoke_steps"] >= 1 and rows[key]["seconds_per_step"] > 0, key
    assert (tmp_path / "run1" / "history.csv").is_file()


def _relativenas_smoke_rank(rank: int, world: int, store: dict, out: str) -> None:
    """One torchrun-like process of a published RelativeNAS smoke run: the weight set trains data-parallel."""
    import hashlib
    import os

    import torch

    from evonas.runtime import distributed
    from evonas.strategies import relative
    from evonas.strategies.relative import RelativeNAS

    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank), **store)
    torch.set_num_threads(1)
    assert distributed.init_from_env("gloo") and distributed.world_size() == world
    relative.STANDALONE["batch_size"] = 2  # a fresh process: the CI-sized stand-alone batch of the test above
    strategy = RelativeNAS(published=True, smoke_steps=1)
    evaluator = _relativenas_weight_set(8)
    evonas.search(DartsSpace(encoding="relativenas"), strategy, evaluator, budget=100, seed=0, progress=False,
                  run_dir=f"{out}/run{rank}")
    weights = hashlib.sha256(b"".join(t.detach().numpy().tobytes()
                                      for t in evaluator.shared.module.parameters())).hexdigest()
    torch.save({"completed": strategy.completed, "chosen": strategy.space.key(strategy.chosen()), "weights": weights,
                "parallel": evaluator.shared.world}, f"{out}/rank{rank}.pt")
    torch.distributed.destroy_process_group()


def test_relativenas_published_smoke_trains_its_weight_set_data_parallel_under_two_gloo_processes(tmp_path):
    """Under torchrun the published weight set trains with DistributedDataParallel (half of each batch per rank):
    both ranks run every phase and end with the same parameters and the same chosen cell."""
    import torch
    import torch.multiprocessing as mp

    from tests.rendezvous import agent_store

    with agent_store(2) as store:
        mp.spawn(_relativenas_smoke_rank, args=(2, store, str(tmp_path)), nprocs=2, join=True)
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=False) for r in range(2)]
    assert [r["parallel"] for r in ranks] == [2, 2]  # data-parallel over both ranks
    assert [r["completed"] for r in ranks] == [1, 1]
    # the parameters are one weight set on both ranks (BatchNorm's running statistics are each rank's own: DDP
    # without SyncBatchNorm, as SharedSupernet documents)
    assert ranks[0]["weights"] == ranks[1]["weights"] and ranks[0]["chosen"] == ranks[1]["chosen"]
    report = json.loads((tmp_path / "run0" / "smoke.json").read_text())
    rows = _rows(report)
    for key in [("pairs", "train"), ("pairs", "merge"), ("evaluate", "score-batch"), ("stand-alone", "train")]:
        assert rows[key]["smoke_steps"] >= 1 and rows[key]["seconds_per_step"] > 0, key
