"""The DAP strategy end to end at toy scale: phases, selections, outputs, an exact resume in the middle of an
edge's valuation, and its settings' errors."""
from __future__ import annotations

import json

import numpy as np
import pytest

import evonas
from evonas.errors import ConfigError
from evonas.evaluators.cost import CostEvaluator
from evonas.operators import perturbation
from evonas.operators.perturbation import average_valuations, coarse_select
from evonas.spaces.darts import DartsSpace
from evonas.spaces.darts.dap_cell import FINE_SELECTION_ORDER
from evonas.strategies.dap import DAP

TOY = dict(population=1, C=4, layers=3, batch_size=8, train_steps=1, expand_steps=1, select_steps=1,
           topology_steps=1, val_images=16)


def dap_search(run_dir, resume=False, **options):
    strategy = DAP(**{**TOY, **options})
    evaluator = CostEvaluator(metrics=("params",), net_kwargs={"C": 4, "layers": 3})
    result = evonas.search(DartsSpace(), strategy, evaluator, budget=1000, seed=0, progress=False,
                           run_dir=run_dir, resume=resume)
    return result, strategy


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("dap") / "straight"
    result, strategy = dap_search(run_dir)
    return run_dir, result, strategy


def test_dap_runs_its_phases_and_ends_with_the_selected_cell(straight):
    run_dir, result, strategy = straight
    phases = [row["phase"] for row in strategy.curve]
    assert phases == ["expand"] * 14 + ["coarse"] + ["fine"] * 14 + ["topology"] * 3 and strategy.finished
    assert [row["target"] for row in strategy.curve[15:29]] == [f"edge {e}" for e in FINE_SELECTION_ORDER]
    coarse = coarse_select(average_valuations(strategy.matrices))
    assert all(len(held) == 2 for held in coarse)
    for row, edge in zip(strategy.curve[15:29], FINE_SELECTION_ORDER):  # fine selection keeps a coarse survivor
        assert strategy.ops.index(row["kept"]) in coarse[edge]
    final = strategy.chosen()
    assert final == strategy.cell.genotype() and final.normal == final.reduce
    assert sum(1 for held in strategy.cell.edges if held) == 8 and not strategy.cell.with_zero
    assert strategy.curve[-1]["arch"] == final.key() == result.individuals[-1].key
    assert json.loads((run_dir / "chosen.json").read_text()) == final.to_dict()
    assert (run_dir / "search_curve.png").stat().st_size > 0


def test_resume_in_the_middle_of_an_edges_valuation_equals_an_uninterrupted_run(straight, tmp_path, monkeypatch):
    run_dir, reference, ref = straight
    real, calls = perturbation.PerturbationValuer.value, []

    def killed(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 40:  # member 0, edge 5, its 5th op: after the checkpoint written at the 4th
            raise KeyboardInterrupt
        return real(self, *args, **kwargs)

    monkeypatch.setattr(perturbation.PerturbationValuer, "value", killed)
    with pytest.raises(KeyboardInterrupt):  # saved after every valued op; the straight run saved less often
        dap_search(tmp_path / "killed", checkpoint_seconds=0)
    counted = []

    def counting(self, *args, **kwargs):
        counted.append(1)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(perturbation.PerturbationValuer, "value", counting)
    resumed, strategy = dap_search(tmp_path / "killed", resume=True, checkpoint_seconds=0)
    # 14 edges x 7 ops, 14 x 2 in fine selection, 3 + 4 + 5 edges in topology: 138 valuations, 39 done before
    assert len(counted) == 14 * 7 + 14 * 2 + (3 + 4 + 5) - 39
    assert strategy.curve == ref.curve
    assert all(np.array_equal(a, b) for a, b in zip(strategy.matrices, ref.matrices))
    assert strategy.cell == ref.cell and strategy.chosen() == ref.chosen()
    assert [ind.values for ind in resumed.individuals] == [ind.values for ind in reference.individuals]
    assert (tmp_path / "killed" / "history.csv").read_text() == (run_dir / "history.csv").read_text()


def test_settings_are_checked():
    with pytest.raises(ConfigError, match="validation='test' needs a dataset with a test split"):
        dap_search(None, validation="test")
    with pytest.raises(ConfigError, match="sep_conv_7x7.*not in the search space"):
        dap_search(None, ops="dap")
    with pytest.raises(ConfigError, match="restore must be"):
        DAP(restore="never")
    published = DAP(published=True)
    assert published.config["expand_steps"] == 70 and published.config["validation"] == "test"
    assert published.config["ops"] == "published" and published.config["population"] == 4
    assert DAP(published=True, population=2).config["population"] == 2  # what the caller gives wins
    with pytest.raises(ConfigError, match="fewer than one batch"):
        dap_search(None, batch_size=4000)


def test_a_run_resumes_only_as_the_process_that_saved_it():
    import evonas.evaluators.cost as cost

    strategy = DAP(**TOY)
    evaluator = cost.CostEvaluator(metrics=("params",))
    strategy.setup(DartsSpace(), evaluator.objectives, np.random.default_rng(0))
    state = strategy.state_dict()
    assert state["processes"] == (0, 1)
    state["processes"] = (1, 2)
    with pytest.raises(ConfigError, match="saved by process 1 of 2; resume it as process 1 of 2"):
        strategy.load_state_dict(state)


def _distributed_member(rank: int, world: int, store: dict, out: str) -> None:
    """One torchrun-like process: join a gloo group, run the toy DAP search, save what it selected."""
    import os

    import torch

    from evonas.runtime import distributed

    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank), **store)
    torch.set_num_threads(1)
    assert distributed.init_from_env("gloo") and distributed.world_size() == world
    _, strategy = dap_search(f"{out}/run{rank}", population=2)  # a run directory each: outputs on every rank
    torch.save({"matrices": strategy.matrices, "chosen": strategy.chosen() if rank == 0 else None,
                "phases": [row["phase"] for row in strategy.curve]}, f"{out}/rank{rank}.pt")
    torch.distributed.destroy_process_group()


def test_two_gloo_processes_select_what_one_process_selects(tmp_path):
    import torch
    import torch.multiprocessing as mp

    from tests.rendezvous import agent_store

    with agent_store(2) as store:
        mp.spawn(_distributed_member, args=(2, store, str(tmp_path)), nprocs=2, join=True)
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=False) for r in range(2)]
    assert ranks[1]["phases"] == ["expand"] * 14 + ["gather"]  # rank 1: member 1, then the gather
    assert ranks[0]["phases"][:15] == ["expand"] * 14 + ["gather"] and ranks[0]["phases"][-1] == "topology"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the processes ran
    try:
        _, single = dap_search(None, population=2)
    finally:
        torch.set_num_threads(threads)
    for r in range(2):  # after the gather every rank holds every member's matrix, as one process computed them
        assert all(np.array_equal(a, b) for a, b in zip(ranks[r]["matrices"], single.matrices))
    assert ranks[0]["chosen"] == single.chosen()
    assert json.loads((tmp_path / "run0" / "chosen.json").read_text()) == single.chosen().to_dict()
    assert (tmp_path / "run1" / "history.csv").is_file()  # rank 1 ended after the gather, outputs written
