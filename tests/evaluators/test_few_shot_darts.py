"""Few-shot supernets on a tiny DARTS supernet (C=4, 3 cells of 2 nodes), split on a node-0 edge of the reduction
cell: one sub-supernet per op, each trained only on its own genotypes from the one-shot weights, scoring by the right
one, checkpoints, exact resume and seeds."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from evonas.errors import ConfigError
from evonas.evaluators.few_shot import FewShotSupernetEvaluator
from evonas.spaces.darts import DartsSpace
from evonas.spaces.darts.cellwise import reduction_layers
from evonas.spaces.darts.ops import GENOTYPE_PRIMITIVES as OPS
from evonas.testing import ToySpace
from evonas.training import shared_supernet

LAYERS = 3
TINY = dict(supernet_kwargs=dict(C=4, layers=LAYERS, multiplier=2), epochs=1, batch_size=16, recalibration_images=32,
            val_images=48, progress=False, split=(0.02, 0.03))
EDGE = 3  # the split edge: the reduction cell's node 0, its input from state 1 (c_{k-1})
KIND, STATE = "reduce", 1


class _Killed(Exception):
    pass


def _op(genotype):
    """The op on the split edge, found by hand (by input state, in either pair order)."""
    (pair,) = [p for p in genotype.cell(KIND)[:2] if p[1] == STATE]
    return pair[0]


def _split_modules(weights, op):
    """Names of the split edge's weights of ``op`` in every reduction cell of the supernet."""
    return [k for k in weights for layer in reduction_layers(LAYERS)
            if k.startswith(f"cells.{layer}.edges.{STATE}.ops.{op}.") and "num_batches" not in k]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A few-shot evaluator on DARTS split on EDGE, its sub-supernets trained one epoch each, and every path each
    trained (module id -> paths)."""
    real, trained_paths = shared_supernet.train_step, {}
    threads = torch.get_num_threads()  # as the per-test fixture (conftest) sets them: one thread, seed 0
    torch.set_num_threads(1)
    torch.manual_seed(0)

    def spy(module, images, targets, paths, *args, **kwargs):
        trained_paths.setdefault(id(module), []).extend(paths)
        return real(module, images, targets, paths, *args, **kwargs)

    shared_supernet.train_step = spy
    try:
        evaluator = FewShotSupernetEvaluator(split_edges=(EDGE,), sub_epochs=1,
                                             checkpoint=str(tmp_path_factory.mktemp("fsd") / "fs.pt"), **TINY)
        evaluator.setup(DartsSpace(steps=2))
    finally:
        shared_supernet.train_step = real
        torch.set_num_threads(threads)
    return evaluator, trained_paths


def test_one_sub_supernet_per_op_each_trained_only_on_its_own_genotypes_from_the_one_shot_weights(trained):
    evaluator, paths = trained
    assert evaluator.groups == [(op,) for op in OPS] and len(evaluator.sub_supernets) == len(OPS) == 7
    one_shot = evaluator.one_shot.supernet.state_dict()
    for (op,), sub in zip(evaluator.groups, evaluator.sub_supernets):
        seen = paths[id(sub.module)]
        assert seen and all(_op(path) == op for path in seen)  # only its own genotypes
        assert len({path.normal[0] for path in seen}) > 1  # the other edges still vary
        assert {path.reduce[0][1] for path in seen} == {0, 1}  # node 0's pairs in either order
        weights = sub.module.state_dict()
        for other in OPS:  # the split edge's other ops never ran: still the one-shot weights
            names = _split_modules(weights, other)
            if other != op and names:
                assert all(torch.equal(weights[k], one_shot[k]) for k in names), (op, other)
        assert any(not torch.equal(weights[k], one_shot[k]) for k in weights)  # and it did train
    assert len({_op(path) for path in paths[id(evaluator.one_shot.supernet)]}) > 1  # one-shot: every op


def test_each_genotype_is_scored_by_the_sub_supernet_holding_it(trained):
    evaluator, _ = trained
    space = evaluator.space
    archs = [space.fix_edges(space.sample(np.random.default_rng(s)), {EDGE: OPS[s % len(OPS)]}) for s in range(9)]
    results = evaluator.evaluate(archs)
    for arch, result in zip(archs, results):
        index = OPS.index(_op(arch))
        assert result["sub_supernet"] == index == evaluator.sub_supernet_of(arch)
        own = evaluator.sub_supernets[index].score([arch])[0]
        assert result["accuracy"] == own["accuracy"] and result["val_loss"] == own["val_loss"]
    others = [evaluator.sub_supernets[(OPS.index(_op(a)) + 1) % len(OPS)].score([a])[0]["val_loss"] for a in archs]
    assert others != [r["val_loss"] for r in results]  # which sub-supernet scores matters


def test_checkpoint_is_reused_and_a_search_resume_restores_trained_sub_supernets(trained, monkeypatch):
    evaluator, _ = trained
    space = evaluator.space
    archs = [space.sample(np.random.default_rng(s)) for s in range(5)]
    monkeypatch.setattr(shared_supernet.SharedSupernet, "train", lambda *a, **k: pytest.fail("retrained"))
    again = FewShotSupernetEvaluator(split_edges=(EDGE,), sub_epochs=1, checkpoint=evaluator.checkpoint, **TINY)
    again.setup(space)
    assert again.evaluate(archs) == evaluator.evaluate(archs) and again.state_dict() == {}
    monkeypatch.undo()
    before = again.version  # a strategy trains one sub-supernet during the search: state_dict carries it
    again.sub_supernets[4].train(steps=1)
    assert again.version != before
    resumed = FewShotSupernetEvaluator(split_edges=(EDGE,), sub_epochs=1, checkpoint=evaluator.checkpoint, **TINY)
    resumed.setup(space)
    resumed.load_state_dict(again.state_dict())
    assert resumed.evaluate(archs) == again.evaluate(archs) and resumed.version == again.version


def test_killed_few_shot_training_continues_exactly(trained, tmp_path, monkeypatch):
    from evonas.evaluators import few_shot as module

    full, _ = trained  # trained without a stop
    real_save, saves = module.save_checkpoint, []

    def save_then_die(path, state, *, kind):
        real_save(path, state, kind=kind)
        saves.append(kind)
        if saves.count("few-shot-training") == 3:  # after the third sub-supernet
            raise _Killed()

    monkeypatch.setattr(module, "save_checkpoint", save_then_die)
    settings = dict(split_edges=(EDGE,), sub_epochs=1, checkpoint=str(tmp_path / "cut.pt"), **TINY)
    with pytest.raises(_Killed):
        FewShotSupernetEvaluator(**settings).setup(full.space)
    monkeypatch.setattr(module, "save_checkpoint", real_save)
    resumed = FewShotSupernetEvaluator(**settings)
    resumed.setup(full.space)  # three sub-supernets from the progress file, four from the saved one-shot supernet
    for a, b in zip(full.sub_supernets, resumed.sub_supernets):
        expected, got = a.module.state_dict(), b.module.state_dict()
        assert all(torch.equal(expected[k], got[k]) for k in expected)
    assert not (tmp_path / "cut.training.pt").exists() and (tmp_path / "cut.pt").is_file()


def test_seeds_reproduce_the_sub_supernets(trained):
    full, _ = trained
    space = full.space
    archs = [space.sample(np.random.default_rng(s)) for s in range(4)]
    same = FewShotSupernetEvaluator(split_edges=(EDGE,), sub_epochs=1, **TINY)
    same.setup(space)
    for a, b in zip(full.sub_supernets, same.sub_supernets):
        expected, got = a.module.state_dict(), b.module.state_dict()
        assert all(torch.equal(expected[k], got[k]) for k in expected)
    assert same.evaluate(archs) == full.evaluate(archs)
    other = FewShotSupernetEvaluator(split_edges=(EDGE,), sub_epochs=1, seed=1, **TINY)
    other.setup(space)
    assert other.evaluate(archs) != full.evaluate(archs)


def test_spaces_that_cannot_split_are_refused_in_one_line():
    with pytest.raises(ConfigError, match="HasEdgeSplit"):
        FewShotSupernetEvaluator(**TINY).setup(ToySpace())
    with pytest.raises(ConfigError, match="allow_duplicate_inputs"):
        FewShotSupernetEvaluator(**TINY).setup(DartsSpace(encoding="relativenas"))
    with pytest.raises(ConfigError, match=r"split_edges \[4\] do not exist"):
        FewShotSupernetEvaluator(split_edges=(4,), **TINY).setup(DartsSpace(steps=2))
