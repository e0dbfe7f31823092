"""SharedSupernet: training in steps and epochs, a version that follows the weights, exact resume, and a search
whose strategy trains the supernet between generations (the memo cache re-scores only after the weights moved)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from evonas.errors import CheckpointError, ConfigError
from evonas.evaluators.supernet import SupernetEvaluator
from evonas.loop import search
from evonas.spaces.darts import DartsSpace
from evonas.strategies.base import Strategy
from evonas.training.shared_supernet import SharedSupernet

TINY = dict(supernet_kwargs=dict(C=4, layers=3), epochs=2, batch_size=32, recalibration_images=32,
            val_images=64, progress=False, split=(0.05, 0.05), device="cpu")


def tiny_supernet(**overrides) -> SharedSupernet:
    return SharedSupernet(DartsSpace(), **{**TINY, **overrides})


def weights(shared: SharedSupernet) -> dict:
    return {k: v.clone() for k, v in shared.module.state_dict().items()}


def test_version_changes_with_the_weights_and_only_then():
    shared = tiny_supernet()
    archs = [DartsSpace().sample(np.random.default_rng(s)) for s in range(2)]
    v0 = shared.version
    first = shared.score(archs)
    assert shared.version == v0 and shared.score(archs) == first  # scoring moves nothing
    shared.train(steps=2)
    v1 = shared.version
    assert v1 != v0 and shared.step == 2
    shared.mark_changed()
    assert shared.version not in (v0, v1)
    with pytest.raises(ConfigError, match="epochs or steps"):
        shared.train()


def test_epochs_and_steps_meet_and_a_resumed_supernet_continues_exactly():
    reference = tiny_supernet()
    reference.train(epochs=1)
    assert reference.step == reference.steps_per_epoch
    reference.train(steps=reference.steps_per_epoch + 1)  # into the third epoch
    part = tiny_supernet()
    part.train(steps=reference.steps_per_epoch + 1)  # stops mid-epoch
    state = part.state_dict()
    resumed = tiny_supernet()
    resumed.load_state_dict(state)
    resumed.train(steps=reference.step - part.step)
    assert resumed.step == reference.step and resumed.version == reference.version
    for name, tensor in weights(reference).items():
        assert torch.equal(tensor, resumed.module.state_dict()[name]), name
    with pytest.raises(CheckpointError, match="other settings"):
        tiny_supernet(learning_rate=0.2).load_state_dict(state)


def test_training_on_given_paths_changes_only_their_weights():
    space = DartsSpace()
    shared = tiny_supernet()
    arch = space.sample(np.random.default_rng(3))
    before = {name: p.detach().clone() for name, p in shared.module.named_parameters()}
    shared.train(steps=1, paths=[arch])
    changed = {name for name, p in shared.module.named_parameters() if not torch.equal(p, before[name])}
    on_path = {name for name, p in shared.module.named_parameters() if p.grad is not None}
    ops = {name for name in before if ".ops." in name}
    assert changed & ops and changed <= on_path and ops - changed  # the path's ops moved, the others did not


class RetrainEveryOtherGeneration(Strategy):
    """Asks the same architectures every generation; trains the shared supernet after odd generations."""

    name = "retrain-test"

    def _setup(self) -> None:
        self.archs = [self.space.sample(self.rng) for _ in range(3)]
        self.seen = []

    def ask(self):
        return list(self.archs)

    def tell(self, archs, results):
        self.seen.append([r["accuracy"] for r in results])

    def step(self, ctx):
        results = ctx.evaluate(self.ask())
        self.tell(self.archs, results)
        if ctx.generation % 2 == 1:
            ctx.supernet.train(steps=1)


class CountingSupernetEvaluator(SupernetEvaluator):
    def _evaluate(self, archs):
        self.scored = getattr(self, "scored", []) + [len(archs)]
        return super()._evaluate(archs)


def test_memo_cache_rescores_after_the_supernet_trains_and_only_then(tmp_path):
    evaluator = CountingSupernetEvaluator(**{**TINY, "epochs": 1, "schedule_epochs": 10})
    result = search(DartsSpace(), RetrainEveryOtherGeneration(), evaluator, budget=12, seed=0, progress=False)
    # generation 0 scores 3; 1 is all memo hits, then trains; 2 scores again; 3 memo, trains; 4 ...
    assert evaluator.scored == [3, 3, 3, 3]
    generations = [ind.generation for ind in result.individuals]
    assert generations == [0, 0, 0, 2, 2, 2, 4, 4, 4, 6, 6, 6]
    losses = [ind.values["val_loss"] for ind in result.individuals]
    assert losses[:3] != losses[3:6] != losses[6:9]  # the weights moved the scores


def test_a_search_that_trains_the_supernet_resumes_exactly(tmp_path):
    class Dies(Exception):
        pass

    def run(run_dir=None, *, resume=False, die_at=None):
        def stop(generation, state):
            if generation == die_at:
                raise Dies()

        evaluator = SupernetEvaluator(**{**TINY, "epochs": 1, "schedule_epochs": 10})
        return search(DartsSpace(), RetrainEveryOtherGeneration(), evaluator, budget=12, seed=1, progress=False,
                      run_dir=run_dir, resume=resume, callbacks=[stop])

    reference = run()
    with pytest.raises(Dies):
        run(tmp_path, die_at=3)  # after generation 3's training, before its checkpoint: resumes from 2
    resumed = run(tmp_path, resume=True)
    rows = lambda r: [(i.key, i.generation, i.values) for i in r.individuals]  # noqa: E731
    assert rows(resumed) == rows(reference)


def test_scoring_leaves_every_tensor_as_it_was():
    """BN statistics are re-estimated per scored path and put back (RelativeNAS members inherit them)."""
    shared = tiny_supernet()
    shared.train(steps=2)
    before = weights(shared)
    rng = np.random.default_rng(0)
    shared.score([shared.space.sample(rng) for _ in range(3)])
    after = shared.module.state_dict()
    changed = [k for k in before if not torch.equal(before[k], after[k])]
    assert not changed, changed[:3]


def test_cutout_is_part_of_the_training_augmentation_and_of_the_digest():
    plain, cut = tiny_supernet(), tiny_supernet(cutout=16)
    assert "Cutout" in repr(cut.train_set.transform) and "Cutout" not in repr(plain.train_set.transform)
    assert plain.digest != cut.digest
    assert SupernetEvaluator(cutout=16).digest != SupernetEvaluator().digest
    assert SupernetEvaluator(cutout=None).digest == SupernetEvaluator().digest  # old checkpoints stay valid
