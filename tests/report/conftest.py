"""Run directories the report tests read: written once per session by real (small) searches."""
from __future__ import annotations

import pytest

import evonas
from evonas.core import Objective

OBJECTIVES = [Objective("accuracy", "max"), Objective("params", "min")]


def nb201_search(run_dir, strategy: str, *, budget: int = 60, callbacks=(), seed: int = 0,
                 checkpoint_every: float = 2.0, **options):
    """A two-objective NAS-Bench-201 search (table accuracy vs parameters), milliseconds per evaluation
    (``checkpoint_every``: seconds between writes of the run directory, as :func:`evonas.search` takes it)."""
    from evonas.evaluators.base import SelectObjectives
    from evonas.evaluators.tabular import NB201TableEvaluator

    return evonas.search(evonas.create("space", "nb201"), evonas.create("strategy", strategy, **options),
                         SelectObjectives(NB201TableEvaluator(dataset="cifar10"), OBJECTIVES), budget=budget,
                         seed=seed, run_dir=run_dir, progress=False, plots=False, callbacks=callbacks,
                         checkpoint_every=checkpoint_every)


@pytest.fixture(scope="session")
def nb201_runs(tmp_path_factory):
    """Two finished NAS-Bench-201 searches: ``(nsga2 run dir, random run dir)``."""
    root = tmp_path_factory.mktemp("nb201")
    nb201_search(root / "nsga2", "nsga2", pop_size=10)
    nb201_search(root / "random", "random", batch_size=10)
    return root / "nsga2", root / "random"


@pytest.fixture(scope="session")
def darts_run(tmp_path_factory):
    """A finished DARTS search (random, parameters vs multiply-adds): a space that draws its cells."""
    from evonas.evaluators.cost import CostEvaluator

    run_dir = tmp_path_factory.mktemp("darts") / "run"
    evonas.search(evonas.create("space", "darts"), evonas.create("strategy", "random", batch_size=4),
                  CostEvaluator(metrics=("params", "flops"), net_kwargs={"C": 4, "layers": 3}), budget=8, seed=0,
                  run_dir=run_dir, progress=False, plots=False)
    return run_dir
