"""Supernet training under torchrun: 2 gloo processes (DistributedDataParallel, half of each batch per rank)
compute what one process computes with ``micro_batches=2``, for the DARTS supernet (uniform single paths) and
the SCARLET supernet (FairNAS: 12 paths accumulated per step)."""
from __future__ import annotations

import os

import pytest
import torch

from evonas.errors import CheckpointError, ConfigError
from tests.rendezvous import agent_store

# SCARLET with 8-image slices amplifies float rounding quickly (in one process, 1 vs 2 threads already
# differ by 3e-3 after 3 steps), so it is compared after one step
CASES = {
    "darts": dict(space=("darts", {}), supernet_kwargs={"C": 4, "layers": 3}, sampler="uniform", steps=3),
    "scarlet": dict(space=("scarlet", {"width_mult": 0.25}), supernet_kwargs={}, sampler="fair", steps=1),
}


def _train(case: str, **options) -> dict:
    from evonas.registry import spaces
    from evonas.training.shared_supernet import SharedSupernet

    config = CASES[case]
    space = spaces.create(config["space"][0], **config["space"][1])
    shared = SharedSupernet(space, split=(0.05, 0.05), supernet_kwargs=config["supernet_kwargs"], epochs=1,
                            batch_size=16, sampler=config["sampler"], val_images=32, recalibration_images=32,
                            progress=False, device="cpu", **options)
    stats = shared.train(steps=config["steps"])
    return {"weights": {k: v.detach().clone() for k, v in shared.module.named_parameters()},
            "loss": stats.loss, "top1": stats.top1, "digest": shared.digest,
            "score": shared.score([space.sample(__import__("numpy").random.default_rng(1))])[0]}


def _rank(rank: int, world: int, store: dict, case: str, out: str) -> None:
    from evonas.runtime import distributed

    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank), **store)
    torch.set_num_threads(1)
    assert distributed.init_from_env("gloo")
    torch.save(_train(case), f"{out}/{case}-rank{rank}.pt")
    torch.distributed.destroy_process_group()


@pytest.mark.parametrize("case", sorted(CASES))
def test_two_gloo_processes_train_as_one_process_with_two_micro_batches(case, tmp_path):
    import torch.multiprocessing as mp

    with agent_store(2) as store:
        mp.spawn(_rank, args=(2, store, case, str(tmp_path)), nprocs=2, join=True)
    ranks = [torch.load(tmp_path / f"{case}-rank{r}.pt", weights_only=False) for r in range(2)]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        single = _train(case, micro_batches=2)
        plain = _train(case)
    finally:
        torch.set_num_threads(threads)
    for rank in ranks:
        assert rank["digest"] == single["digest"] != plain["digest"]
        assert rank["loss"] == pytest.approx(single["loss"], rel=1e-5)
        assert rank["top1"] == single["top1"]
        for name, value in single["weights"].items():
            torch.testing.assert_close(rank["weights"][name], value, rtol=1e-5, atol=1e-6, msg=name)
        assert rank["score"]["val_loss"] == pytest.approx(single["score"]["val_loss"], rel=1e-4)
    # the slices matter: a whole batch per pass (other batch-norm statistics) trains other weights
    assert any(not torch.allclose(plain["weights"][k], v, atol=1e-6) for k, v in single["weights"].items())


def test_settings_are_checked():
    with pytest.raises(ConfigError, match="torchrun"):
        _train("darts", data_parallel=True)
    with pytest.raises(ConfigError, match="micro_batches"):
        _train("darts", micro_batches=3)


OPTIONS = ["--space", "darts", "--opt", 'supernet_kwargs={"C": 4, "layers": 3}', "--opt", "epochs=1",
           "--opt", "split=[0.05, 0.05]", "--opt", "batch_size=16", "--opt", "device=cpu", "--quiet"]


def _train_supernet_rank(rank: int, world: int, store: dict, checkpoint: str) -> None:
    from evonas.cli import main

    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank), **store)
    torch.set_num_threads(1)
    assert main(["train-supernet", *OPTIONS, "--checkpoint", checkpoint]) == 0
    assert not torch.distributed.is_initialized()  # the command leaves no process group behind


def test_train_supernet_under_torchrun_saves_weights_one_process_loads(tmp_path, capsys):
    import torch.multiprocessing as mp

    from evonas.evaluators.supernet import SupernetEvaluator
    from evonas.spaces.darts import DartsSpace

    checkpoint = tmp_path / "supernet.pt"
    with agent_store(2) as store:
        mp.spawn(_train_supernet_rank, args=(2, store, str(checkpoint)), nprocs=2, join=True)
    assert checkpoint.is_file() and not list(tmp_path.glob("*.training.pt"))  # rank 0 saved, progress removed

    def loads(**options) -> SupernetEvaluator:
        evaluator = SupernetEvaluator(supernet_kwargs={"C": 4, "layers": 3}, epochs=1, split=(0.05, 0.05),
                                      batch_size=16, device="cpu", progress=False, checkpoint=str(checkpoint),
                                      **options)
        evaluator._train = lambda: pytest.fail("the supernet was trained again instead of loaded")
        evaluator.setup(DartsSpace())
        return evaluator

    loads(micro_batches=2)  # what 2 ranks trained is what one process trains with 2 micro-batches
    with pytest.raises(CheckpointError, match="other settings: micro_batches 2 there, '\\(default\\)' here"):
        loads()  # other settings: refused, naming them, not silently reused
