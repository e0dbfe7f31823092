"""RelativeNAS: the slow-learner update, schedules, the box decoding, the weight-set merge and exact resume."""
from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch

import evonas
from evonas.context import SearchContext
from evonas.core import Objective
from evonas.errors import ConfigError
from evonas.evaluators.supernet import SupernetEvaluator
from evonas.evaluators.tabular import NB201TableEvaluator
from evonas.spaces.darts import DartsSpace
from evonas.spaces.darts.genotype import Genotype
from evonas.spaces.darts.supernet import SearchNetwork
from evonas.spaces.nb201.space import NB201Space
from evonas.strategies.relative import (
    ContinuousBox,
    RelativeNAS,
    diversity,
    generation_learning_rate,
    slow_learner_update,
)
from evonas.training import weight_set
from evonas.training.weight_set import merge_weight_set, op_owners, snapshot


# ------------------------------------------------------------------ the update rule and schedules
def test_slow_learner_update_on_hand_computed_numbers():
    x_slow, v_slow, x_fast = np.array([[1.0, 4.0, 0.5]]), np.array([[0.5, -1.0, 0.0]]), np.array([[3.0, 1.0, 0.2]])
    r1, r2 = np.array([[0.5, 0.25, 1.0]]), np.array([[0.5, 1.0, 0.5]])
    lower, upper = np.zeros(3), np.array([2.0, 7.0, 7.0])
    x, v = slow_learner_update(x_slow, v_slow, x_fast, r1, r2, lower, upper)
    # v = r1 * v + r2 * (x_fast - x_slow) = [0.25 + 1.0, -0.25 - 3.0, 0 - 0.15]
    assert v == pytest.approx(np.array([[1.25, -3.25, -0.15]]))
    # x = clip(x + v): 2.25 is clipped to the upper bound 2; the velocity is not clipped
    assert x == pytest.approx(np.array([[2.0, 0.75, 0.35]]))


def test_cosine_schedule_and_the_published_codes_values():
    lr = [generation_learning_rate(g, 50, 0.1, 0.001) for g in range(50)]
    assert lr[0] == pytest.approx(0.1) and lr[25] == pytest.approx(0.001 + 0.099 / 2)
    published = [generation_learning_rate(g, 50, 0.1, 0.001, "published") for g in range(50)]
    assert published[0] == pytest.approx(0.1)
    assert published[1] == pytest.approx(0.0998, abs=5e-5)
    assert published[24] == pytest.approx(0.0507, abs=5e-5)
    assert published[49] == pytest.approx(0.00102, abs=5e-6)
    # it is what CosineAnnealingLR.get_lr() returns when read after each epoch's step, as the released code does
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, 50.0, eta_min=0.001)
    read = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(50):
            read.append(scheduler.get_lr()[0])
            optimizer.step()
            scheduler.step()
    # from generation 1 on (at 0 PyTorch 1.8, which the code pins, returned the base rate; newer versions apply
    # the recursive factor there too)
    assert published[1:] == pytest.approx(read[1:], rel=1e-9)
    assert lr[1:] != pytest.approx(read[1:], rel=1e-3)
    with pytest.raises(ConfigError, match="lr_schedule"):
        generation_learning_rate(0, 50, 0.1, 0.001, "step")


def test_diversity_is_the_mean_distance_to_the_centroid():
    X = np.array([[0.0, 0.0], [2.0, 0.0], [1.0, 3.0]])
    centre = np.array([1.0, 1.0])
    assert diversity(X) == pytest.approx(np.mean([np.linalg.norm(x - centre) for x in X]))


# -------------------------------------------------------------------------------- decoding
def test_integer_spaces_get_a_real_box_decoded_by_the_floor_rule():
    box = ContinuousBox(NB201Space())
    assert box.lower.tolist() == [0.0] * 6 and box.upper.tolist() == [5.0] * 6  # ops 0..4 -> [0, 5]
    x = np.array([0.0, 5.0, 2.0, 2.5, 4.999, 1e-9])
    assert box.indices(x).tolist() == [0, 4, 1, 2, 4, 0]  # integers map down, 0 stays 0
    assert box.decode(x) == NB201Space().decode(np.array([0, 4, 1, 2, 4, 0]))


def test_discrete_darts_vectors_are_repaired_into_distinct_inputs():
    space = DartsSpace()  # distinct inputs required
    box = ContinuousBox(space)
    rng = np.random.default_rng(0)
    for x in box.sample(rng, 50):
        assert space.is_valid(box.decode(x))
    same = np.zeros(box.dimensions) + 0.5  # every node reads state 0 twice before repair
    genotype = box.decode(same)
    assert all(genotype.normal[2 * i][1] != genotype.normal[2 * i + 1][1] for i in range(4))


def test_relativenas_vectors_are_used_as_they_are():
    space = DartsSpace(encoding="relativenas")
    box = ContinuousBox(space)
    assert not box.integer
    lower, upper = space.bounds()
    assert box.upper.tolist() == upper.tolist()
    x = box.sample(np.random.default_rng(1), 1)[0]
    assert box.decode(x) == space.decode(x)


def test_bad_settings_are_named():
    with pytest.raises(ConfigError, match="even"):
        RelativeNAS(pop_size=5)
    with pytest.raises(ConfigError, match="mode"):
        RelativeNAS(mode="swarm")
    with pytest.raises(ConfigError, match="fast_by"):
        RelativeNAS(fast_by="top5")
    with pytest.raises(ConfigError, match="member_steps"):
        RelativeNAS(member_steps=0)


# ------------------------------------------------------------------------------ evaluator mode
def test_only_slow_learners_move_and_velocities_persist():
    space = NB201Space()
    strategy = RelativeNAS(pop_size=6, generations=3)
    strategy.setup(space, [Objective("accuracy", "max")], np.random.default_rng(0))
    table = NB201TableEvaluator()
    table.setup(space)
    strategy._initialise()
    X0 = strategy.X.copy()
    fitness = -np.asarray([r["accuracy"] for r in table.evaluate(strategy.ask())])
    rng_copy = np.random.default_rng(0)
    rng_copy.bit_generator.state = strategy.rng.bit_generator.state
    pairs = rng_copy.permutation(6).reshape(-1, 2)
    strategy.step(SearchContext(evaluate=table.evaluate))
    for a, b in pairs:
        fast, slow = (a, b) if fitness[a] < fitness[b] else (b, a)
        assert np.array_equal(strategy.X[fast], X0[fast]), "a fast learner moved"
        assert np.all(strategy.V[fast] == 0)
        assert not np.array_equal(strategy.X[slow], X0[slow])
        assert np.all((strategy.X[slow] >= 0) & (strategy.X[slow] <= 5))
    assert strategy.completed == 1 and len(strategy.trajectory) == 1
    assert strategy.chosen() == strategy.ask()[int(np.argmax([r["accuracy"] for r in strategy.last_results]))]


def test_the_search_stops_after_its_generations():
    strategy = RelativeNAS(pop_size=8, generations=3)
    result = evonas.search(NB201Space(), strategy, NB201TableEvaluator(), budget=10_000, seed=0, progress=False)
    assert strategy.completed == 3 and len(strategy.trajectory) == 3
    assert max(ind.generation for ind in result.individuals) <= 2  # generations count from 0


# ------------------------------------------------------------------------------ the weight set
def tiny_network() -> SearchNetwork:
    torch.manual_seed(0)
    return DartsSpace(encoding="relativenas").build_supernet(C=4, layers=3)


def genotype(op_a: str, op_b: str) -> Genotype:
    normal = [(op_a, 0), (op_a, 0), (op_b, 1), ("skip_connect", 2), (op_a, 3), (op_b, 0), (op_b, 4), (op_b, 4)]
    return Genotype(normal, [2, 3, 4, 5], normal, [2, 3, 4, 5], allow_duplicate_inputs=True)


def test_the_relativenas_search_network_has_affine_bn_and_bare_pools():
    net = tiny_network()
    pool = net.cells[0].edges[0].ops["max_pool_3x3"]
    assert isinstance(pool, torch.nn.MaxPool2d)
    conv = net.cells[0].edges[0].ops["sep_conv_3x3"]
    assert all(m.affine for m in conv.modules() if isinstance(m, torch.nn.BatchNorm2d))
    darts = DartsSpace().build_supernet(C=4, layers=3)  # the DARTS search network keeps its pool BN
    assert isinstance(darts.cells[0].edges[0].ops["max_pool_3x3"], torch.nn.Sequential)


def test_merge_takes_each_tensor_from_the_right_member():
    net = tiny_network()
    owners = op_owners(net)
    keys = list(net.state_dict())
    base = {k: torch.zeros(()) for k in keys}
    fast = {k: torch.ones(()) for k in keys}
    slow = {k: torch.full((), 2.0) for k in keys}
    fast_g, slow_g = genotype("sep_conv_3x3", "sep_conv_5x5"), genotype("sep_conv_3x3", "dil_conv_3x3")
    fast_modules, slow_modules = net.path_modules(fast_g), net.path_modules(slow_g)
    merged = merge_weight_set(base, fast, slow, fast_modules=fast_modules, slow_modules=slow_modules, owners=owners)
    seen = {"fast op": 0, "slow op": 0, "untouched op": 0, "shared": 0}
    for key in keys:
        owner = owners.get(key)
        if owner is None:
            expected, kind = 1.0, "shared"  # stem, preprocessing, classifier: the fast learner's
        elif owner in fast_modules:
            expected, kind = 1.0, "fast op"
        elif owner in slow_modules:
            expected, kind = 2.0, "slow op"
        else:
            expected, kind = 0.0, "untouched op"
        assert float(merged[key]) == expected, key
        seen[kind] += 1
    assert all(seen.values()), seen
    # an op both use comes from the fast learner: cell 0's sep_conv_3x3 on edge (node 0, input 0)
    both = "cells.0.edges.0.ops.sep_conv_3x3"
    assert both in fast_modules and both in slow_modules
    assert all(float(merged[k]) == 1.0 for k, o in owners.items() if o == both)
    # 8 (input, op) pairs, two of them duplicated (node 0 and node 3 read one input twice with one op): 6 modules
    assert sum(1 for m in fast_modules if m.startswith("cells.0.")) == 6
    assert not any(k.startswith("stem") or k.startswith("classifier") or ".preprocess" in k for k in owners)


def test_a_member_changes_only_its_path(tmp_path):
    space = DartsSpace(encoding="relativenas")
    evaluator = SupernetEvaluator(epochs=0, supernet_kwargs={"C": 4, "layers": 3}, batch_size=16,
                                  recalibration_images=16, val_images=32, progress=False)
    evaluator.setup(space)
    shared = evaluator.shared
    base = snapshot(shared.module)
    arch = genotype("sep_conv_3x3", "max_pool_3x3")
    optimizer_state = {k: v.clone() if torch.is_tensor(v) else v for k, v in shared.optimizer.state_dict().items()}
    result = weight_set.train_member(shared, arch, base, steps=2, learning_rate=0.1, drop_path_prob=0.2)
    owners, used = op_owners(shared.module), shared.module.path_modules(arch)
    changed = {k for k in base if not torch.equal(base[k], result.state[k])}
    assert changed, "training changed nothing"
    for key in changed:
        assert owners.get(key) is None or owners[key] in used, f"{key} is off the path but changed"
    assert any(owners.get(k) in used for k in changed)
    assert shared.module.drop_path_prob == 0.0
    assert result.val_loss > 0 and 0 <= result.accuracy <= 100
    assert shared.optimizer.state_dict()["state"] == optimizer_state["state"], "the shared optimiser was used"


# ----------------------------------------------------------------------------------- searches
def weight_set_search(run_dir, **kwargs):
    space = DartsSpace(encoding="relativenas")
    evaluator = SupernetEvaluator(epochs=0, supernet_kwargs={"C": 4, "layers": 3}, batch_size=16,
                                  recalibration_images=16, val_images=32, progress=False)
    strategy = RelativeNAS(pop_size=4, generations=2, member_steps=2)
    result = evonas.search(space, strategy, evaluator, budget=10_000, seed=3, run_dir=run_dir, progress=False,
                           **kwargs)
    return result, strategy, evaluator


def test_a_weight_set_search_writes_its_trajectory_and_choice(tmp_path):
    result, strategy, evaluator = weight_set_search(tmp_path / "run")
    assert strategy.completed == 2
    assert len(result.individuals) == 8  # 4 members x 2 generations, each scored on that generation's weights
    assert len({ind.generation for ind in result.individuals}) == 2
    rows = (tmp_path / "run" / "trajectory.csv").read_text().splitlines()
    assert rows[0].startswith("generation,lr,pair_fast_val_loss,pair_slow_val_loss,drop_path_prob,diversity")
    assert len(rows) == 3
    for name in ("trajectory.png", "chosen.json", "chosen.txt", "chosen.png"):
        assert (tmp_path / "run" / name).stat().st_size > 0, name
    chosen = DartsSpace(encoding="relativenas").from_json(
        json.loads((tmp_path / "run" / "chosen.json").read_text()))
    assert chosen == strategy.chosen()
    last = [ind for ind in result.individuals if ind.generation == 1]  # generations count from 0
    assert strategy.chosen().key() == max(last, key=lambda ind: ind.values["accuracy"]).key
    assert evaluator.shared.updates >= 4  # every pair wrote the weight set


def test_resume_in_the_middle_of_a_generation_equals_an_uninterrupted_run(tmp_path, monkeypatch):
    reference, ref_strategy, ref_evaluator = weight_set_search(tmp_path / "straight")

    real, calls = weight_set.train_member, []

    def killed(*args, **kwargs):
        calls.append(1)
        if len(calls) == 7:  # generation 2, pair 2, member a: after the checkpoint written at pair 1
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(weight_set, "train_member", killed)
    with pytest.raises(KeyboardInterrupt):
        weight_set_search(tmp_path / "killed")
    trained = []

    def counted(*args, **kwargs):
        trained.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(weight_set, "train_member", counted)
    resumed, strategy, evaluator = weight_set_search(tmp_path / "killed", resume=True)
    assert len(trained) == 2, "the resumed run did not continue after the pair it had finished"
    assert np.array_equal(strategy.X, ref_strategy.X) and np.array_equal(strategy.V, ref_strategy.V)
    assert strategy.trajectory == ref_strategy.trajectory
    assert [ind.values for ind in resumed.individuals] == [ind.values for ind in reference.individuals]
    for key, value in ref_evaluator.shared.module.state_dict().items():
        assert torch.equal(value, evaluator.shared.module.state_dict()[key]), key
    assert (tmp_path / "killed" / "history.csv").read_text() == (tmp_path / "straight" / "history.csv").read_text()


def test_weight_set_mode_needs_a_shared_supernet():
    strategy = RelativeNAS(pop_size=2, generations=1, mode="weight-set")
    with pytest.raises(ConfigError, match="shared supernet"):
        evonas.search(NB201Space(), strategy, NB201TableEvaluator(), budget=10, seed=0, progress=False)


def test_pymoo_operators_drive_the_same_vectors():
    """The RelativeNAS encoding under pymoo's SBX and polynomial mutation: children stay real points of the box
    (not rounded) and decode."""
    from evonas.operators.vector import PolynomialMutation, SimulatedBinaryCrossover

    space = DartsSpace(encoding="relativenas")
    lower, upper = space.bounds()
    rng = np.random.default_rng(0)
    parents = np.stack([space.encode(space.sample(rng)) for _ in range(6)])
    sbx, pm = SimulatedBinaryCrossover(prob_var=1.0), PolynomialMutation(prob_var=1.0)
    sbx.setup(space)
    pm.setup(space)
    children = pm.vectors(sbx.vectors(np.stack([parents[:3], parents[3:]]), rng).reshape(6, -1), rng)
    assert np.all((children >= lower) & (children <= upper))
    assert np.any(children != np.round(children)) and np.any(np.abs(children - parents) > 1e-6)
    for x in children:
        assert space.is_valid(space.decode(x))
    for engine in ("ga", "deap-ga"):  # pymoo's GA and DEAP's (mu + lambda) drive them through the operators layer
        strategy = evonas.registry.strategies.create(engine, pop_size=8, crossover="sbx", mutation="pm")
        result = evonas.search(space, strategy, _OpCount(), budget=24, seed=0, progress=False)
        assert len(result.individuals) >= 24
        assert max(ind.values["sep"] for ind in result.individuals) > result.individuals[0].values["sep"]


class _OpCount(evonas.evaluators.base.Evaluator):
    """Counts separable convolutions (a cheap objective for a DARTS search)."""

    name = "op-count"

    @property
    def objectives(self):
        return (Objective("sep", "max"),)

    def _evaluate(self, archs):
        return [{"sep": float(sum(op.startswith("sep") for op, _ in a.normal + a.reduce))} for a in archs]


def test_ties_follow_the_released_code(monkeypatch):
    """On an exact tie of the validation losses, b writes the weight set first but a leads the move."""
    space = DartsSpace(encoding="relativenas")
    evaluator = SupernetEvaluator(epochs=0, supernet_kwargs={"C": 4, "layers": 3}, batch_size=16,
                                  recalibration_images=16, val_images=32, progress=False)
    evaluator.setup(space)
    module = evaluator.shared.module
    keys = list(module.state_dict())

    def tied(shared, arch, base, **kwargs):  # every member measures 1.0 nats; its tensors say which member it is
        marker = float(sum(ord(c) for c in space.key(arch)) % 997 + 1)
        state = {k: torch.full_like(v, marker) if v.is_floating_point() else v.clone() for k, v in base.items()}
        return weight_set.MemberResult(state, 1.0, 10.0, 1.0, 10.0)

    monkeypatch.setattr(weight_set, "train_member", tied)
    strategy = RelativeNAS(pop_size=2, generations=1, member_steps=1)
    strategy.setup(space, [Objective("accuracy", "max")], np.random.default_rng(0))
    strategy._initialise()
    X0, archs = strategy.X.copy(), strategy.ask()
    rng_copy = np.random.default_rng(0)
    rng_copy.bit_generator.state = strategy.rng.bit_generator.state
    a, b = rng_copy.permutation(2)
    strategy.step(SearchContext(evaluate=evaluator.evaluate, supernets=(evaluator.shared,)))
    assert np.array_equal(strategy.X[a], X0[a]) and not np.array_equal(strategy.X[b], X0[b])  # a led the move
    b_marker = float(sum(ord(c) for c in space.key(archs[b])) % 997 + 1)
    stem = next(k for k in keys if k.startswith("stem") and module.state_dict()[k].is_floating_point())
    assert float(module.state_dict()[stem].flatten()[0]) == b_marker  # b's shared tensors: b was fast


def test_a_resumed_finished_run_still_writes_its_choice(tmp_path):
    weight_set_search(tmp_path / "run")
    for name in ("chosen.json", "chosen.png"):
        (tmp_path / "run" / name).unlink()
    _, strategy, _ = weight_set_search(tmp_path / "run", resume=True)
    run = tmp_path / "run"
    assert strategy.finished and (run / "chosen.json").is_file() and (run / "chosen.png").is_file()
