"""TensorBoard event files of a search, read back with TensorBoard's own reader."""
from __future__ import annotations

import pytest

import evonas
from evonas.report.tensorboard import TensorBoardCallback
from tests.report.conftest import nb201_search

pytest.importorskip("tensorboard")


def events(log_dir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(str(log_dir), size_guidance={"scalars": 0, "images": 0})
    accumulator.Reload()
    return accumulator


def test_search_logs_values_hypervolume_and_the_front(tmp_path):
    result = nb201_search(tmp_path / "run", "nsga2", budget=40, pop_size=10,
                          callbacks=[TensorBoardCallback(tmp_path / "tb", figure_every=2)])
    found = events(tmp_path / "tb")
    generations = sorted({ind.generation for ind in result.individuals})
    best = found.Scalars("best/accuracy")
    assert [e.step for e in best] == generations
    assert best[-1].value == pytest.approx(result.best["accuracy"].values["accuracy"], rel=1e-6)
    assert [e.value for e in best] == sorted(e.value for e in best)  # best so far never falls
    assert found.Scalars("best/params")[-1].value == pytest.approx(result.best["params"].values["params"])
    assert [e.value for e in found.Scalars("search/evaluations")][-1] == len(result.individuals)
    assert len(found.Scalars("search/hypervolume")) == len(generations)
    assert found.Scalars("front/size")[-1].value == len(result.front)
    assert len(found.Scalars("search/evaluations_per_second")) == len(generations) - 1
    images = found.Images("front")
    assert len(images) >= 2 and images[0].width > 100  # a figure every 2 generations and at the end


def test_a_training_supernet_logs_its_loss_and_learning_rate(tmp_path):
    from evonas.evaluators.supernet import SupernetEvaluator

    evaluator = SupernetEvaluator(supernet_kwargs=dict(C=4, layers=3), epochs=2, batch_size=32,
                                  recalibration_images=32, val_images=32, progress=False, split=(0.1, 0.1))
    evonas.search(evonas.create("space", "darts"), evonas.create("strategy", "random", batch_size=2), evaluator,
                  budget=2, seed=0, run_dir=tmp_path / "run", progress=False, plots=False,
                  callbacks=[TensorBoardCallback(tmp_path / "tb")])
    found = events(tmp_path / "tb")
    loss, lr = found.Scalars("supernet/loss"), found.Scalars("supernet/lr")
    steps = evaluator.shared.steps_per_epoch
    assert [e.step for e in loss] == [steps, 2 * steps]  # one point per training call, at its optimiser step
    assert all(0 < e.value < 10 for e in loss)
    assert [e.value for e in lr] == pytest.approx([row["lr"] for row in evaluator.shared.training_log])
    assert lr[0].value > 0


def test_a_strategy_logs_its_own_rows(tmp_path):
    from evonas.evaluators.tabular import NB201TableEvaluator
    from evonas.strategies.gradient import DartsSearch

    strategy = DartsSearch(epochs=2, C=4, N=1, steps_per_epoch=2, batch_size=16)
    evonas.search(evonas.create("space", "nb201"), strategy, NB201TableEvaluator(), budget=10, seed=0,
                  progress=False, plots=False, run_dir=tmp_path / "run",
                  callbacks=[TensorBoardCallback(tmp_path / "tb")])
    found = events(tmp_path / "tb")
    assert [e.value for e in found.Scalars("strategy/train_loss")] == pytest.approx(
        [row["train_loss"] for row in strategy.curve])
    assert [e.step for e in found.Scalars("strategy/alphas_entropy")] == [0, 1]
    assert not (tmp_path / "tb" / "search_curve.csv").exists()  # the strategy's files stay in its run directory
