"""evonas.search (evonas.loop): memoisation, run directory, exact resume after a kill, bad input."""
from __future__ import annotations

import csv
import json
import random
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from evonas.errors import CheckpointError, ConfigError, EvonasError
from evonas.loop import search
from evonas.registry import strategies
from evonas.testing import HammingEvaluator, ToySpace, ZDTEvaluator


class CountingZDT(ZDTEvaluator):
    def __init__(self):
        super().__init__()
        self.seen = []

    def _evaluate(self, archs):
        self.seen += [self.space.key(a) for a in archs]
        return super()._evaluate(archs)


def test_each_architecture_is_evaluated_once():
    space = ToySpace(length=4, choices=3)  # 81 architectures: duplicates are certain
    evaluator = CountingZDT()
    result = search(space, strategies.create("deap-nsga2", pop_size=12), evaluator, budget=60, seed=0, progress=False)
    assert len(evaluator.seen) == len(set(evaluator.seen)) == len(result.individuals)
    assert [ind.index for ind in result.individuals] == list(range(len(result.individuals)))


def test_exhausted_space_stops():
    space = ToySpace(length=2, choices=2)  # 4 architectures
    result = search(space, strategies.create("ga", pop_size=4), HammingEvaluator(target=(1, 1)), budget=100, seed=0,
                    progress=False)
    assert len(result.individuals) == 4


def test_run_directory_contents(tmp_path):
    space = ToySpace(length=6, choices=3)
    result = search(space, strategies.create("nsga2", pop_size=10), ZDTEvaluator(), budget=50, seed=3,
                    run_dir=tmp_path, progress=False)
    rows = list(csv.DictReader(open(tmp_path / "history.csv")))
    assert len(rows) == len(result.individuals)
    assert {"index", "generation", "f1", "f2", "genes", "feasible", "key", "arch"} <= set(rows[0])
    front = json.loads((tmp_path / "front.json").read_text())
    assert len(front["front"]) == len(result.front) and front["objectives"][0] == {"name": "f1", "direction": "min"}
    assert space.from_json(front["front"][0]["arch"]) == result.front[0].arch
    for name in ("pareto.png", "progress.png", "checkpoint.pkl", "config.json", "log.txt"):
        assert (tmp_path / name).stat().st_size > 0, name
    assert [g for g, _ in result.hypervolume] == sorted({ind.generation for ind in result.individuals})
    assert all(b >= a - 1e-12 for (_, a), (_, b) in zip(result.hypervolume, result.hypervolume[1:]))


KILL_SCRIPT = textwrap.dedent(
    """
    import json, os, signal, sys
    from evonas.registry import strategies
    from evonas.loop import search
    from evonas.testing import HammingEvaluator, ToySpace, ZDTEvaluator

    strategy = strategies.create(sys.argv[2], **json.loads(sys.argv[4]))
    base = HammingEvaluator if strategy.max_objectives == 1 else ZDTEvaluator

    class DiesAt(base):
        def _evaluate(self, archs):
            self.count = getattr(self, "count", 0) + len(archs)
            if self.count > int(sys.argv[3]):
                os.kill(os.getpid(), signal.SIGKILL)
            return super()._evaluate(archs)

    search(ToySpace(length=8, choices=4), strategy, DiesAt(),
           budget=120, seed=11, run_dir=sys.argv[1], progress=False, checkpoint_every=0)
    """
)


# every registered strategy that can search the toy space (those that need a supernet, space_needs, resume in
# tests/strategies/test_gradient_search.py and tests/strategies/test_dap.py)
@pytest.mark.parametrize("name", [name for name in strategies.names()
                                  if all(isinstance(ToySpace(), need) for need in strategies.create(name).space_needs)])
def test_resume_after_kill_equals_uninterrupted_run(tmp_path, name):
    size = {"pop_size": 10} if "pop_size" in strategies.options(name) else {"batch_size": 10}
    make_evaluator = HammingEvaluator if strategies.create(name, **size).max_objectives == 1 else ZDTEvaluator
    reference = search(ToySpace(length=8, choices=4), strategies.create(name, **size), make_evaluator(),
                       budget=120, seed=11, progress=False)
    run_dir = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-c", KILL_SCRIPT, str(run_dir), name, "55", json.dumps(size)],
                          capture_output=True)
    assert proc.returncode == -9, proc.stderr.decode()[-2000:]
    assert (run_dir / "checkpoint.pkl").exists() and not (run_dir / "front.json").exists()
    resumed = search(ToySpace(length=8, choices=4), strategies.create(name, **size), make_evaluator(),
                     budget=120, seed=11, run_dir=run_dir, resume=True, progress=False)
    as_rows = lambda r: [(i.key, i.generation, i.values) for i in r.individuals]  # noqa: E731
    assert as_rows(resumed) == as_rows(reference)
    assert len(list(csv.DictReader(open(run_dir / "history.csv")))) == len(reference.individuals)


def test_resume_refuses_other_settings_and_keeps_files(tmp_path):
    space = ToySpace(length=6, choices=3)
    search(space, strategies.create("nsga2", pop_size=10), ZDTEvaluator(), budget=30, seed=0, run_dir=tmp_path,
           progress=False)
    files = lambda: {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.name != ".lock"}  # noqa: E731
    before = files()
    with pytest.raises(ConfigError, match=r"other settings \(strategy\.pop_size differ\)"):
        search(space, strategies.create("nsga2", pop_size=12), ZDTEvaluator(), budget=30, seed=0,
               run_dir=tmp_path, resume=True, progress=False)
    with pytest.raises(ConfigError, match="seed"):
        search(space, strategies.create("nsga2", pop_size=10), ZDTEvaluator(), budget=30, seed=1,
               run_dir=tmp_path, resume=True, progress=False)
    with pytest.raises(ConfigError, match="already holds a search"):
        search(space, strategies.create("nsga2", pop_size=10), ZDTEvaluator(), budget=30, seed=0,
               run_dir=tmp_path, progress=False)
    assert files() == before


def test_corrupt_latest_checkpoint_falls_back(tmp_path, caplog):
    space = ToySpace(length=6, choices=3)
    make = lambda: strategies.create("deap-nsga2", pop_size=10)  # noqa: E731
    reference = search(space, make(), ZDTEvaluator(), budget=60, seed=2, progress=False)
    search(space, make(), ZDTEvaluator(), budget=40, seed=2, run_dir=tmp_path, progress=False, checkpoint_every=0)
    (tmp_path / "checkpoint.pkl").write_bytes(b"\x80\x05garbage")
    with caplog.at_level("WARNING"):
        resumed = search(space, make(), ZDTEvaluator(), budget=60, seed=2, run_dir=tmp_path, resume=True,
                         progress=False)
    assert "falling back" in caplog.text
    assert [i.key for i in resumed.individuals] == [i.key for i in reference.individuals]
    (tmp_path / "checkpoint.pkl").write_bytes(b"")
    (tmp_path / "checkpoint.prev.pkl").write_bytes(b"")
    with pytest.raises(CheckpointError, match="truncated"):
        search(space, make(), ZDTEvaluator(), budget=80, seed=2, run_dir=tmp_path, resume=True, progress=False)


def test_deap_searches_do_not_touch_global_random_or_each_other():
    random.seed(1234)
    state = random.getstate()
    space = ToySpace(length=8, choices=4)
    a = search(space, strategies.create("deap-ga", pop_size=10), HammingEvaluator(target=(1,) * 8), budget=60,
               seed=5, progress=False)
    assert random.getstate() != state  # search() seeds the global RNGs from its seed, as documented
    b = search(space, strategies.create("deap-ga", pop_size=10), HammingEvaluator(target=(1,) * 8), budget=60,
               seed=5, progress=False)
    assert [i.key for i in a.individuals] == [i.key for i in b.individuals]


def test_constraints_keep_infeasible_points_off_the_front():
    space = ToySpace(length=6, choices=3)
    result = search(space, strategies.create("nsga2", pop_size=10), ZDTEvaluator(), budget=80, seed=0,
                    constraints=["genes <= 3"], progress=False)
    assert any(not ind.feasible for ind in result.individuals)
    assert result.front and all(ind.values["genes"] <= 3 for ind in result.front)
    with pytest.raises(EvonasError, match="does not report"):
        search(space, strategies.create("nsga2", pop_size=10), ZDTEvaluator(), budget=20, seed=0,
               constraints=["flops <= 3"], progress=False)


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: strategies.create("nsgaa2"), ConfigError, "did you mean 'nsga2'"),
        (lambda: strategies.create("nsga2", population=3), ConfigError, "population"),
        (lambda: search(ToySpace(), strategies.create("ga"), ZDTEvaluator(), budget=10), ConfigError,
         "'ga' handles 1 objective"),
        (lambda: search(ToySpace(), strategies.create("ga"), HammingEvaluator(target=(0,) * 12), budget=0),
         ConfigError, "budget"),
        (lambda: search(ToySpace(), strategies.create("ga"), HammingEvaluator(target=(0,) * 12), budget=5,
                        constraints=["flops < = 3"]), ConfigError, "NAME <= VALUE"),
    ],
)
def test_bad_input(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_constraint_parsing():
    from evonas.core import parse_constraint

    c = parse_constraint("flops<=300M")
    assert (c.name, c.op, c.bound) == ("flops", "<=", 300e6) and c.violation(200e6) < 0 < c.violation(4e8)
    assert parse_constraint("accuracy >= 90").violation(95) < 0
    assert np.isclose(parse_constraint("params <= 5e6").bound, 5e6)


def live_hypervolume(archive):
    """``update(archive, generation, history) -> history`` through :class:`~evonas.callbacks.LiveHypervolume`."""
    from evonas.callbacks import LiveHypervolume

    live = LiveHypervolume(archive.objectives)
    return lambda archive, generation, history: history + [(generation, live.update(archive))]


def brute_force_hypervolume(individuals, objectives, generation):
    """The live figure from its definition: every feasible point up to ``generation``, bounds from the earliest
    generations whose points spread on every objective (else all of them)."""
    from evonas.core import hypervolume, to_minimization

    feasible = [ind for ind in individuals if ind.feasible and ind.generation <= generation]
    if not feasible:
        return 0.0
    values = np.asarray([[ind.values[o.name] for o in objectives] for ind in feasible])
    generations = np.asarray([ind.generation for ind in feasible])
    F = to_minimization(values, objectives)
    bounds = F
    for g in np.unique(generations):
        early = F[generations <= g]
        if np.all(early.max(axis=0) > early.min(axis=0)):
            bounds = early
            break
    return hypervolume(values, objectives, ideal=bounds.min(axis=0), nadir=bounds.max(axis=0))


# nsga2-fast at 400: many late generations add points none of which reaches the front (the figure is kept)
@pytest.mark.parametrize("name, budget", [("nsga2", 150), ("nsga2-fast", 400)])
def test_live_and_final_hypervolume_from_the_front_equal_their_definitions_over_every_point(name, budget):
    from evonas.core import hypervolume, to_minimization

    curves = []
    result = search(ToySpace(length=8, choices=4), strategies.create(name, pop_size=12), ZDTEvaluator(),
                    budget=budget, seed=5, constraints=["genes <= 14"], progress=False,
                    callbacks=[lambda g, state: curves.append(list(state.hypervolume))])
    assert any(not ind.feasible for ind in result.individuals) and len(curves) > 8
    live = curves[-1]
    assert [g for g, _ in live] == list(range(len(curves)))
    for g, value in live:
        assert value == pytest.approx(brute_force_hypervolume(result.individuals, result.objectives, g), rel=1e-12)
    feasible = result.feasible
    values = result.values(feasible)
    F = to_minimization(values, result.objectives)
    generations = np.asarray([ind.generation for ind in feasible])
    for g, value in result.hypervolume:
        expected = hypervolume(values[generations <= g], result.objectives, ideal=F.min(0), nadir=F.max(0))
        assert value == pytest.approx(expected, rel=1e-12)


def test_live_hypervolume_never_drops_when_a_later_point_widens_the_bounds():
    from evonas.evaluators.base import Objective
    from evonas.result import Archive

    archive = Archive([Objective("f1", "min"), Objective("f2", "min")])
    _update_hypervolume = live_hypervolume(archive)
    for i, (f1, f2) in enumerate([(0.0, 1.0), (1.0, 0.0), (0.5, 0.5)]):
        archive.record((i,), str(i), None, {"f1": f1, "f2": f2}, generation=0)
    history = _update_hypervolume(archive, 0, [])
    # a new extreme point (f1 = -3) would stretch bounds taken from all points and shrink the figure
    archive.record((3,), "3", None, {"f1": -3.0, "f2": 0.99}, generation=1)
    history = _update_hypervolume(archive, 1, history)
    archive.record((4,), "4", None, {"f1": 0.2, "f2": 0.2}, generation=2)
    history = _update_hypervolume(archive, 2, history)
    values = [v for _, v in history]
    assert values[0] < values[1] < values[2]
    # bounds taken from every point seen so far would have dropped at generation 1
    from evonas.core import hypervolume

    seen = np.asarray([[ind.values["f1"], ind.values["f2"]] for ind in archive.individuals[:4]])
    assert hypervolume(seen, archive.objectives, ideal=seen.min(0), nadir=seen.max(0)) < values[0]


def test_live_hypervolume_waits_for_spread_bounds():
    """A first generation with one feasible point gives no bounds; the first spread generations do."""
    from evonas.core import hypervolume
    from evonas.evaluators.base import Objective
    from evonas.result import Archive

    archive = Archive([Objective("f1", "min"), Objective("f2", "min")])
    _update_hypervolume = live_hypervolume(archive)
    archive.record((0,), "0", None, {"f1": 2.0, "f2": 2.0}, generation=0)
    history = _update_hypervolume(archive, 0, [])
    for i, (f1, f2) in enumerate([(1.0, 4.0), (4.0, 1.0)], 1):
        archive.record((i,), str(i), None, {"f1": f1, "f2": f2}, generation=1)
    history = _update_hypervolume(archive, 1, history)
    archive.record((3,), "3", None, {"f1": 1.5, "f2": 1.5}, generation=2)
    history = _update_hypervolume(archive, 2, history)
    first_two = np.asarray([[2.0, 2.0], [1.0, 4.0], [4.0, 1.0]])
    bounds = dict(ideal=first_two.min(0), nadir=first_two.max(0))
    # generation 1's points count (bounds from the lone first point would leave them outside the box)
    assert history[1][1] == pytest.approx(hypervolume(first_two, archive.objectives, **bounds))
    assert history[1][1] < history[2][1]


def test_callback_objects_see_every_evaluation_generation_and_the_end_and_are_closed_on_failure():
    from evonas.callbacks import Callback

    class Recorder(Callback):
        def __init__(self):
            self.counts, self.generations, self.result, self.closed = [], [], None, False

        def on_evaluation(self, count):
            self.counts.append(count)

        def on_generation(self, generation, state):
            self.generations.append(generation)

        def on_end(self, result, run):
            self.result = result

        def close(self):
            self.closed = True

    recorder = Recorder()
    result = search(ToySpace(length=6, choices=3), strategies.create("nsga2", pop_size=10), ZDTEvaluator(),
                    budget=30, seed=0, progress=False, callbacks=[recorder])
    assert recorder.counts == list(range(1, len(result.individuals) + 1))
    assert recorder.generations == sorted({i.generation for i in result.individuals})
    assert recorder.result is result and recorder.closed

    class Fails(ZDTEvaluator):
        def _evaluate(self, archs):
            raise RuntimeError("boom")

    failing = Recorder()
    with pytest.raises(RuntimeError, match="boom"):
        search(ToySpace(length=6, choices=3), strategies.create("nsga2", pop_size=10), Fails(), budget=30, seed=0,
               progress=False, callbacks=[failing])
    assert failing.closed and failing.result is None


def test_an_evaluator_already_set_up_on_the_space_is_not_set_up_again():
    class CountingSetup(ZDTEvaluator):
        setups = 0

        def _setup(self, space):
            type(self).setups += 1
            super()._setup(space)

    evaluator = CountingSetup()
    evaluator.setup(ToySpace())
    search(ToySpace(), strategies.create("nsga2", pop_size=6), evaluator, budget=12, seed=0, progress=False)
    assert CountingSetup.setups == 1  # same type and settings: the caller's set-up is kept
    search(ToySpace(length=6), strategies.create("nsga2", pop_size=6), evaluator, budget=12, seed=0, progress=False)
    assert CountingSetup.setups == 2  # another space: set up again


def test_memoised_evaluation_scores_each_architecture_once_and_counts_hits():
    """New architectures of a batch go to the evaluator once each (repeats within the batch too); an architecture
    seen before is a hit, counted once per occurrence; every result is a copy of the archive's values."""
    from evonas.loop import MemoisedEvaluation
    from evonas.result import Archive

    space, evaluator = ToySpace(length=4, choices=3), ZDTEvaluator()
    evaluator.setup(space)
    sent = []
    evaluate = evaluator.evaluate
    evaluator.evaluate = lambda archs: sent.append(list(archs)) or evaluate(archs)
    archive, counts = Archive(evaluator.objectives), []
    memo = MemoisedEvaluation(space, evaluator, archive, on_new=lambda: counts.append(len(archive)))
    a, b, c = (0, 0, 0, 0), (1, 1, 1, 1), (2, 2, 2, 2)
    first = memo([a, b, a])
    assert sent == [[a, b]] and archive.hits == 0 and counts == [1, 2] and first[0] == first[2]
    first[0]["f1"] = -1.0  # a caller's change never reaches the archive
    second = memo([b, c, b, a])
    assert sent == [[a, b], [c]] and archive.hits == 3 and counts == [1, 2, 3]
    assert second[3] == archive.cache[(space.key(a), evaluator.version)] and second[3]["f1"] != -1.0
    assert [ind.key for ind in archive.individuals] == [space.key(x) for x in (a, b, c)]
