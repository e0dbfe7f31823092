"""Executors: a pool of worker processes gives the same search as in-process evaluation."""
from __future__ import annotations

import pytest

from evonas.errors import ConfigError
from evonas.loop import search
from evonas.registry import create, executors, strategies
from evonas.runtime.executors import ProcessExecutor
from evonas.testing import ToySpace, ZDTEvaluator


def run(**kwargs):
    return search(ToySpace(length=8, choices=4), strategies.create("nsga2", pop_size=10), ZDTEvaluator(),
                  budget=60, seed=3, progress=False, **kwargs)


def test_worker_processes_give_the_local_result():
    rows = lambda r: [(i.key, i.generation, i.values) for i in r.individuals]  # noqa: E731
    assert rows(run(executor=create("executor", "processes", workers=2))) == rows(run())
    assert set(executors.names()) == {"local", "processes", "ray"}


def test_processes_refuse_a_shared_supernet_and_unknown_names():
    from evonas.evaluators.supernet import SupernetEvaluator
    from evonas.spaces.darts import DartsSpace

    evaluator = SupernetEvaluator(supernet_kwargs=dict(C=4, layers=3), epochs=0, split=(0.05, 0.05),
                                  progress=False, device="cpu")
    with pytest.raises(ConfigError, match="use the local or the ray executor"):  # before set-up, as search() calls it
        ProcessExecutor(workers=1).start(DartsSpace(), evaluator)
    with pytest.raises(ConfigError, match="unknown executor 'threads'"):
        run(executor="threads")


def test_command_line_runs_with_worker_processes(capsys, tmp_path):
    from evonas.cli import main

    argv = ["search", "--space", "toy", "--evaluator", "zdt", "--strategy", "nsga2", "--pop-size", "10",
            "--budget", "30", "--quiet"]
    assert main([*argv, "--run-dir", str(tmp_path / "local")]) == 0
    assert main([*argv, "--run-dir", str(tmp_path / "pool"), "--executor", "processes", "--workers", "2"]) == 0
    assert (tmp_path / "pool" / "history.csv").read_text() == (tmp_path / "local" / "history.csv").read_text()


def test_workers_rebuild_a_registry_evaluator_from_its_name_and_options():
    from evonas.registry import evaluators
    from evonas.runtime import executors as module

    evaluator = evaluators.create("hamming", target=(1,) * 8)
    assert evaluator._registry_spec == ("hamming", {"target": (1,) * 8})
    shipped = []
    real = module.pickle.dumps
    module.pickle.dumps = lambda obj: shipped.append(obj) or real(obj)
    try:
        rows = lambda r: [(i.key, i.values) for i in r.individuals]  # noqa: E731
        space = ToySpace(length=8, choices=4)
        pooled = search(space, strategies.create("ga", pop_size=10), evaluator, budget=30, seed=1, progress=False,
                        executor=create("executor", "processes", workers=2))
    finally:
        module.pickle.dumps = real
    assert shipped[0][1] == ("hamming", {"target": (1,) * 8})  # the name and options, not the object
    local = search(space, strategies.create("ga", pop_size=10), evaluators.create("hamming", target=(1,) * 8),
                   budget=30, seed=1, progress=False)
    assert rows(pooled) == rows(local)
