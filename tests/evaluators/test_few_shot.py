"""Few-shot supernets on a tiny NAS-Bench-201 supernet: restricted sampling, one-shot initialisation, scoring
by the right sub-supernet, checkpoints and exact resume; bf16 training of a supernet."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from evonas import registry
from evonas.errors import CheckpointError, ConfigError
from evonas.evaluators.few_shot import FewShotSupernetEvaluator
from evonas.evaluators.supernet import SupernetEvaluator
from evonas.spaces.nb201 import OPS, NB201Space
from evonas.testing import ToySpace
from evonas.training import shared_supernet
from evonas.training.one_shot import sample_paths

TINY = dict(supernet_kwargs=dict(C=4, N=1), epochs=1, batch_size=16, recalibration_images=32, val_images=48,
            progress=False, split=(0.02, 0.03))
EDGE = 2  # the split edge (2 <- 1)


class _Killed(Exception):
    pass


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A few-shot evaluator split on EDGE, its sub-supernets trained one epoch each, and every path each trained
    (module -> paths)."""
    real, trained_paths = shared_supernet.train_step, {}
    # a module fixture runs before the per-test one that sets one thread and the seed (conftest): set them here
    # too, or its training (two threads on a 2-core machine) differs in the last bits from the tests' own runs
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)

    def spy(module, images, targets, paths, *args, **kwargs):
        trained_paths.setdefault(id(module), []).extend(paths)
        return real(module, images, targets, paths, *args, **kwargs)

    shared_supernet.train_step = spy
    try:
        evaluator = FewShotSupernetEvaluator(split_edges=(EDGE,), sub_epochs=1,
                                             checkpoint=str(tmp_path_factory.mktemp("fs") / "fs.pt"), **TINY)
        evaluator.setup(NB201Space())
    finally:
        shared_supernet.train_step = real
        torch.set_num_threads(threads)
    return evaluator, trained_paths


def test_each_sub_supernet_trains_only_its_own_architectures_from_the_one_shot_weights(trained):
    evaluator, paths = trained
    assert evaluator.groups == [(op,) for op in OPS] and len(evaluator.sub_supernets) == len(OPS)
    one_shot = evaluator.one_shot.supernet.state_dict()
    for (op,), sub in zip(evaluator.groups, evaluator.sub_supernets):
        seen = paths[id(sub.module)]
        assert seen and all(path[EDGE] == op for path in seen)  # only its own architectures
        assert len({path[0] for path in seen}) > 1  # the other edges still vary
        weights = sub.module.state_dict()
        for other in OPS:  # the split edge's other ops never ran: still the one-shot weights
            names = [k for k in weights if f".edges.{EDGE}.ops.{other}." in k and "num_batches" not in k]
            if other != op and names:
                assert all(torch.equal(weights[k], one_shot[k]) for k in names), (op, other)
        assert any(not torch.equal(weights[k], one_shot[k]) for k in weights)  # and it did train
    # the one-shot supernet trained on every op of the split edge
    assert len({path[EDGE] for path in paths[id(evaluator.one_shot.supernet)]}) > 1


def test_zero_sub_epochs_score_exactly_as_the_one_shot_supernet():
    space = NB201Space()
    archs = [space.sample(np.random.default_rng(s)) for s in range(6)]
    evaluator = FewShotSupernetEvaluator(split_edges=(EDGE,), sub_epochs=0, **TINY)
    evaluator.setup(space)
    one_shot = evaluator.one_shot.evaluate(archs)
    assert [{k: v for k, v in r.items() if k != "sub_supernet"} for r in evaluator.evaluate(archs)] == one_shot


def test_each_architecture_is_scored_by_its_own_sub_supernet(trained):
    evaluator, _ = trained
    space = evaluator.space
    archs = [space.fix_edges(space.sample(np.random.default_rng(s)), {EDGE: OPS[s % len(OPS)]}) for s in range(10)]
    results = evaluator.evaluate(archs)
    for arch, result in zip(archs, results):
        index = OPS.index(arch[EDGE])
        assert result["sub_supernet"] == index == evaluator.sub_supernet_of(arch)
        own = evaluator.sub_supernets[index].score([arch])[0]
        assert result["accuracy"] == own["accuracy"] and result["val_loss"] == own["val_loss"]
    others = [evaluator.sub_supernets[(OPS.index(a[EDGE]) + 1) % len(OPS)].score([a])[0]["val_loss"] for a in archs]
    assert others != [r["val_loss"] for r in results]  # which sub-supernet scores matters


def test_sampling_restricted_to_fixed_edges_uniform_and_fair():
    space, rng = NB201Space(), np.random.default_rng(0)
    uniform = [p for _ in range(50) for p in sample_paths(space, rng, "uniform", {1: "none", 4: "nor_conv_1x1"})]
    assert all(p[1] == "none" and p[4] == "nor_conv_1x1" for p in uniform)
    assert len({p[0] for p in uniform}) == len(OPS)
    fair = sample_paths(space, rng, "fair", {3: "skip_connect"})
    assert all(p[3] == "skip_connect" for p in fair)
    assert all(sorted(p[e] for p in fair) == sorted(OPS) for e in (0, 1, 2, 4, 5))  # still fair elsewhere


def test_checkpoint_is_reused_and_a_search_resume_restores_trained_sub_supernets(trained, monkeypatch):
    evaluator, _ = trained
    space = evaluator.space
    archs = [space.sample(np.random.default_rng(s)) for s in range(5)]
    monkeypatch.setattr(shared_supernet.SharedSupernet, "train", lambda *a, **k: pytest.fail("retrained"))
    again = FewShotSupernetEvaluator(split_edges=(EDGE,), sub_epochs=1, checkpoint=evaluator.checkpoint, **TINY)
    again.setup(space)
    assert again.evaluate(archs) == evaluator.evaluate(archs) and again.state_dict() == {}
    monkeypatch.undo()
    # a strategy trains one sub-supernet during the search: state_dict carries it, a fresh evaluator takes it
    before = again.version
    again.sub_supernets[3].train(steps=1)
    assert again.version != before
    state = again.state_dict()
    resumed = FewShotSupernetEvaluator(split_edges=(EDGE,), sub_epochs=1, checkpoint=evaluator.checkpoint, **TINY)
    resumed.setup(space)
    resumed.load_state_dict(state)
    assert resumed.evaluate(archs) == again.evaluate(archs) and resumed.version == again.version
    assert resumed.evaluate(archs) != evaluator.evaluate(archs)
    unsplit = FewShotSupernetEvaluator(split_edges=(), sub_epochs=1, **TINY)
    with pytest.raises(CheckpointError, match="holds 5 sub-supernets, these settings make 1"):
        unsplit.setup_replica(space, {**evaluator.replica_state(), "settings_digest": unsplit.digest})


def test_killed_few_shot_training_continues_exactly(trained, tmp_path, monkeypatch):
    from evonas.evaluators import few_shot as module

    full, _ = trained  # trained without a stop
    real_save, saves = module.save_checkpoint, []

    def save_then_die(path, state, *, kind):
        real_save(path, state, kind=kind)
        saves.append(kind)
        if saves.count("few-shot-training") == 2:  # after the second sub-supernet
            raise _Killed()

    monkeypatch.setattr(module, "save_checkpoint", save_then_die)
    settings = dict(split_edges=(EDGE,), sub_epochs=1, checkpoint=str(tmp_path / "cut.pt"), **TINY)
    with pytest.raises(_Killed):
        FewShotSupernetEvaluator(**settings).setup(full.space)
    assert (tmp_path / "cut.training.pt").is_file() and (tmp_path / "cut.one-shot.pt").is_file()
    monkeypatch.setattr(module, "save_checkpoint", real_save)
    resumed = FewShotSupernetEvaluator(**settings)
    resumed.setup(full.space)  # two sub-supernets from the progress file, three from the saved one-shot supernet
    for a, b in zip(full.sub_supernets, resumed.sub_supernets):
        expected, got = a.module.state_dict(), b.module.state_dict()
        assert all(torch.equal(expected[k], got[k]) for k in expected)
    assert not (tmp_path / "cut.training.pt").exists() and (tmp_path / "cut.pt").is_file()


def test_options_are_checked_and_the_space_must_split():
    assert isinstance(registry.evaluators.create("few-shot-supernet"), FewShotSupernetEvaluator)
    with pytest.raises(ConfigError, match="split_edges"):
        FewShotSupernetEvaluator(split_edges=(1, 1))
    with pytest.raises(ConfigError, match="sub_epochs"):
        FewShotSupernetEvaluator(sub_epochs=-1)
    with pytest.raises(ConfigError, match=r"split_edges \[6\] do not exist"):
        FewShotSupernetEvaluator(split_edges=(6,), **TINY).setup(NB201Space())
    with pytest.raises(ConfigError, match="HasEdgeSplit"):
        FewShotSupernetEvaluator(**TINY).setup(ToySpace())


def test_bfloat16_training_runs_under_autocast_and_has_its_own_digest():
    space = NB201Space()
    settings = dict(TINY, epochs=1)
    fp32, bf16 = SupernetEvaluator(**settings), SupernetEvaluator(train_dtype="bfloat16", **settings)
    assert fp32.digest != bf16.digest and "train_dtype='bfloat16'" in repr(bf16)
    fp32.setup(space)
    bf16.setup(space)
    a, b = fp32.supernet.state_dict(), bf16.supernet.state_dict()
    assert all(b[k].dtype == a[k].dtype for k in a)  # weights stay fp32
    changed = [k for k in a if a[k].is_floating_point() and not torch.equal(a[k], b[k])]
    assert changed  # the bf16 forward passes gave other gradients
    assert max(float((a[k] - b[k]).abs().max()) for k in changed) < 0.05
    with pytest.raises(ConfigError, match="train_dtype"):
        SupernetEvaluator(train_dtype="float16")


def test_evonas_rank_scores_with_few_shot_supernets(tmp_path):
    from evonas.ranking import rank_nb201_cells

    options = {k: v for k, v in TINY.items() if k != "progress"}
    report = rank_nb201_cells(archs=5, scorer="few-shot-supernet", score="loss", out_dir=None, progress=False,
                              evaluator_options={**options, "sub_epochs": 0, "split_edges": [EDGE]})
    assert report["label"] == "few-shot-supernet loss" and report["scorer"]["n"] == 5
