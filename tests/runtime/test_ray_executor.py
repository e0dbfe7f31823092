"""The Ray executor on a local Ray cluster the tests start: same results as local, replicas follow the shared
supernet's weights, a dead actor's candidates are scored again exactly once."""
from __future__ import annotations

import os
import signal
from collections import Counter

import numpy as np
import pytest
import ray

from evonas.errors import ConfigError
from evonas.loop import search
from evonas.registry import create, evaluators, executors, strategies
from evonas.runtime.ray_executor import RayExecutor
from evonas.testing import ToySpace, ZDTEvaluator


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def rows(result):
    return [(i.key, i.generation, i.values) for i in result.individuals]


def run(evaluator, **kwargs):
    return search(ToySpace(length=8, choices=4), strategies.create("nsga2", pop_size=10), evaluator,
                  budget=60, seed=3, progress=False, **kwargs)


def test_command_line_starts_a_private_cluster_and_gives_the_local_history(tmp_path):
    from evonas.cli import main

    argv = ["search", "--space", "toy", "--evaluator", "zdt", "--strategy", "nsga2", "--pop-size", "10",
            "--budget", "30", "--quiet"]
    assert main([*argv, "--run-dir", str(tmp_path / "local")]) == 0
    assert main([*argv, "--run-dir", str(tmp_path / "ray"), "--executor", "ray", "--workers", "2"]) == 0
    assert (tmp_path / "ray" / "history.csv").read_text() == (tmp_path / "local" / "history.csv").read_text()
    assert not ray.is_initialized()  # the cluster it started for the search is shut down
    assert main([*argv, "--run-dir", str(tmp_path / "bad"), "--address", "auto"]) == 2


def test_ray_actors_give_the_local_front(cluster):
    local = run(ZDTEvaluator())
    remote = run(ZDTEvaluator(), executor=create("executor", "ray", workers=2, chunk_size=2))
    assert rows(remote) == rows(local)
    assert [i.key for i in remote.front] == [i.key for i in local.front]
    assert "ray" in executors.names()
    assert ray.is_initialized()  # a cluster the caller started is left running


def test_a_killed_actor_mid_batch_still_gives_every_result_once(cluster, tmp_path):
    space = ToySpace(length=8, choices=4)
    archs = [space.sample(np.random.default_rng(seed)) for seed in range(12)]
    scored = tmp_path / "scored"  # each actor appends the key of every candidate it scores
    evaluator = evaluators.create("crash-once", crash_on=archs[7], marker=str(tmp_path / "crashed"),
                                  log=str(scored))
    executor = RayExecutor(workers=2, chunk_size=3)
    executor.start(space, evaluator)
    evaluator.setup(space)
    results = executor.evaluate(evaluator, archs)
    assert (tmp_path / "crashed").exists()  # an actor really died in the middle of the batch
    assert executor.replaced == 1
    plain = ZDTEvaluator()
    plain.setup(space)
    assert results == plain.evaluate(archs)  # in order, none missing
    # counted on the actors: the dead actor scored none of its chunk, so every candidate was scored exactly
    # once (chunks that came back before the death are not scored again)
    counts = Counter(scored.read_text().split())
    assert counts == Counter(space.key(a) for a in archs), counts
    assert evaluator.evaluations == len(archs)

    # an actor killed from outside between batches: replaced, same results again
    pids = executor.actor_pids()
    os.kill(pids[0], signal.SIGKILL)
    scored.unlink()
    again = executor.evaluate(evaluator, archs)
    assert again == results and executor.replaced == 2
    assert Counter(scored.read_text().split()) == counts  # the killed actor was idle: nothing scored twice
    executor.close()


def test_a_chunk_lost_too_often_stops_with_an_error(cluster, tmp_path):
    space = ToySpace(length=8, choices=4)
    arch = space.sample(np.random.default_rng(0))
    evaluator = evaluators.create("crash-once", crash_on=arch, marker=str(tmp_path / "crashed"))
    executor = RayExecutor(workers=1, max_retries=0)
    executor.start(space, evaluator)
    evaluator.setup(space)
    with pytest.raises(Exception, match="lost with 1 actors in a row"):
        executor.evaluate(evaluator, [arch])
    executor.close()


def test_replicas_score_with_the_current_supernet_weights(cluster):
    from evonas.evaluators.supernet import SupernetEvaluator
    from evonas.spaces.darts import DartsSpace

    space = DartsSpace()
    evaluator = SupernetEvaluator(supernet_kwargs=dict(C=4, layers=3), epochs=1, schedule_epochs=3,
                                  split=(0.05, 0.05), val_images=64, recalibration_images=64, progress=False,
                                  device="cpu")
    executor = RayExecutor(workers=2, chunk_size=1)
    executor.start(space, evaluator)
    evaluator.setup(space)
    archs = [space.sample(np.random.default_rng(seed)) for seed in range(4)]

    def check():
        remote, local = executor.evaluate(evaluator, archs), evaluator.evaluate(archs)
        for r, loc in zip(remote, local):
            assert r["accuracy"] == pytest.approx(loc["accuracy"], abs=1.6)  # one image of 64 may flip
            assert r["val_loss"] == pytest.approx(loc["val_loss"], rel=1e-4)
        return remote

    before = check()
    evaluator.shared.train(steps=2)  # a strategy trains the shared weights: the version changes
    after = check()
    assert [r["val_loss"] for r in after] != [r["val_loss"] for r in before]

    # weights that fail to load on the actors: the batch is refused, never scored with the old weights
    evaluator.shared.train(steps=1)
    real = evaluator.replica_state
    evaluator.replica_state = lambda: {**real(), "settings_digest": "0" * 16}
    with pytest.raises(Exception, match="weights did not load"):
        executor.evaluate(evaluator, archs)
    executor.close()


def test_actor_set_up_errors_and_oversized_requests_are_reported_at_once(cluster):
    from evonas.spaces.nb201 import NB201Space

    space = NB201Space()
    broken = evaluators.create("nb201-table", table="/nonexistent/table.csv")
    executor = RayExecutor(workers=1)
    executor.start(space, broken)
    with pytest.raises(ConfigError, match="set-up failed on a Ray actor"):
        executor.evaluate(broken, [space.sample(np.random.default_rng(0))])
    assert executor.replaced == 0  # not retried as if the actor had died
    executor.close()
    with pytest.raises(ConfigError, match="3 Ray actors need 3 CPUs"):
        RayExecutor(workers=3).start(space, evaluators.create("nb201-table"))


def test_settings_are_checked():
    with pytest.raises(ConfigError, match="workers"):
        RayExecutor(workers=0)
    with pytest.raises(ConfigError, match="chunk_size"):
        RayExecutor(chunk_size=0)
