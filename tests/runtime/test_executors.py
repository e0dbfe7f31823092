"""Executors: a pool of worker processes gives the same search as in-process evaluation."""
from __future__ import annotations

import pytest

from evonas.errors import ConfigError
from evonas.loop import search
from evonas.registry import executors, strategies
from evonas.runtime.executors import ProcessExecutor
from evonas.testing import ToySpace, ZDTEvaluator


def run(**kwargs):
    return search(ToySpace(length=8, choices=4), strategies.create("nsga2", pop_size=10), ZDTEvaluator(),
                  budget=60, seed=3, progress=False, **kwargs)


def test_worker_processes_give_the_local_result():
    rows = lambda r: [(i.key, i.generation, i.values) for i in r.individuals]  # noqa: E731
    assert rows(run(executor="processes", executor_options={"workers": 2})) == rows(run())
    assert set(executors.names()) == {"local", "processes"}


def test_processes_refuse_a_shared_supernet_and_unknown_names():
    from evonas.evaluators.supernet import SupernetEvaluator
    from evonas.spaces.darts import DartsSpace

    evaluator = SupernetEvaluator(supernet_kwargs=dict(C=4, layers=3), epochs=0, split=(0.05, 0.05),
                                  progress=False, device="cpu")
    evaluator.setup(DartsSpace())
    with pytest.raises(ConfigError, match="use the local executor"):
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
