"""Gradient search steps: DARTS second order against the exact unrolled gradient; one-level vs bi-level."""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.func import functional_call

from evonas.errors import ConfigError
from evonas.operators.gradient import GradientSearch
from evonas.spaces.darts import DartsSpace
from evonas.spaces.nb201.space import NB201Space


def tiny_darts(dtype=torch.float64):
    torch.manual_seed(0)
    net = DartsSpace().build_supernet(C=4, layers=3, steps=2, multiplier=2,
                                      primitives=("none", "skip_connect", "sep_conv_3x3", "avg_pool_3x3"))
    with torch.no_grad():
        for alpha in net.arch_parameters():
            alpha.normal_(0.0, 0.5)  # away from uniform, so every term of the gradient matters
    return net.to(dtype)


def batches(dtype=torch.float64, n=6):
    g = torch.Generator().manual_seed(1)
    train = (torch.randn(n, 3, 8, 8, generator=g, dtype=dtype), torch.randint(0, 10, (n,), generator=g))
    val = (torch.randn(n, 3, 8, 8, generator=g, dtype=dtype), torch.randint(0, 10, (n,), generator=g))
    return train, val


def test_second_order_gradient_matches_the_exact_unrolled_gradient():
    net = tiny_darts()
    train, val = batches()
    search = GradientSearch(net, mode="second-order", learning_rate=0.1, weight_decay=3e-4)
    # a small finite-difference radius: this tiny random network (batch 6, 2x2 maps in its last cell) has
    # near-dead BN channels whose curvature DARTS' default radius (0.01) does not resolve; in float64 1e-4 does
    estimate, _ = search.second_order_gradient(train, val, epsilon=1e-4)
    # exact: d/dalpha L_val(w - xi * (dL_train/dw + wd * w), alpha), differentiating through the virtual step
    names = dict(net.named_parameters())
    alpha_names = [n for n, p in names.items() if any(p is a for a in search.alphas)]
    weight_names = [n for n, p in names.items() if any(p is w for w in search.weights)]
    loss_train = F.cross_entropy(net(train[0]), train[1])
    grads = torch.autograd.grad(loss_train, [names[n] for n in weight_names], create_graph=True, allow_unused=True)
    unrolled = {n: names[n] - 0.1 * ((torch.zeros_like(names[n]) if g is None else g) + 3e-4 * names[n])
                for n, g in zip(weight_names, grads)}
    params = {**{n: names[n] for n in alpha_names}, **unrolled}
    loss_val = F.cross_entropy(functional_call(net, params, (val[0],)), val[1])
    exact = torch.autograd.grad(loss_val, [names[n] for n in alpha_names])
    for e, x in zip(estimate, exact):
        assert torch.allclose(e, x, rtol=1e-4, atol=1e-8), (e - x).abs().max()
    first, _ = GradientSearch(tiny_darts(), mode="first-order").first_order_gradient(val)
    assert not torch.allclose(first[0], exact[0], rtol=1e-3)  # the second-order term is not negligible here


def test_second_order_leaves_the_weights_as_they_were():
    net = tiny_darts()
    before = copy.deepcopy(net.state_dict())
    GradientSearch(net, mode="second-order").second_order_gradient(*batches())
    after = net.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before if "running" not in k and "num_batches" not in k)


def test_one_level_steps_weights_and_alphas_from_one_training_batch():
    net = tiny_darts()
    twin = copy.deepcopy(net)
    train, _ = batches()
    GradientSearch(net, mode="one-level", grad_clip=3.0).step(train)
    # by hand: one backward of the training loss, SGD on the (clipped) weights, Adam on the (unclipped) alphas
    alphas = twin.arch_parameters()
    weights = [p for p in twin.parameters() if all(p is not a for a in alphas)]
    sgd = torch.optim.SGD(weights, lr=0.025, momentum=0.9, weight_decay=3e-4)
    adam = torch.optim.Adam(alphas, lr=3e-4, betas=(0.5, 0.999), weight_decay=1e-3)
    F.cross_entropy(twin(train[0]), train[1]).backward()
    torch.nn.utils.clip_grad_norm_([w for w in weights if w.grad is not None], 3.0)
    sgd.step()
    adam.step()
    for (name, a), b in zip(net.named_parameters(), twin.parameters()):
        assert torch.allclose(a, b, atol=1e-12), name


def test_bilevel_alphas_follow_the_validation_batch_and_weights_the_training_batch():
    train, val = batches()
    net = tiny_darts()
    before = [a.detach().clone() for a in net.arch_parameters()]
    search = GradientSearch(net, mode="first-order")
    expected, _ = GradientSearch(copy.deepcopy(net), mode="first-order").first_order_gradient(val)
    search.step(train, val)
    # Adam's first step moves each alpha by about lr * sign(gradient + weight decay * alpha)
    moved = net.arch_parameters()[0].detach() - before[0]
    g = expected[0] + 1e-3 * before[0]
    assert torch.equal(torch.sign(moved[g.abs() > 1e-9]), -torch.sign(g[g.abs() > 1e-9]))
    with pytest.raises(ConfigError, match="validation batch"):
        search.step(train)


def test_nb201_supernet_searches_too():
    torch.manual_seed(0)
    net = NB201Space().build_supernet(C=4, N=1)
    search = GradientSearch(net, mode="second-order")
    train, val = batches(torch.float32)
    before = net.alphas.detach().clone()
    losses = search.step(train, val)
    assert not torch.equal(before, net.alphas) and set(losses) == {"train_loss", "val_loss"}
    assert NB201Space().is_valid(net.genotype())


def test_bad_settings():
    with pytest.raises(ConfigError, match="mode"):
        GradientSearch(tiny_darts(), mode="zeroth-order")
    with pytest.raises(ConfigError, match="architecture parameters"):
        GradientSearch(torch.nn.Linear(2, 2))


# ------------------------------------------------------------------ the learned mutation
def shared_darts_supernet():
    from evonas.evaluators.supernet import SupernetEvaluator

    evaluator = SupernetEvaluator(epochs=1, supernet_kwargs={"C": 4, "layers": 3}, batch_size=32, split=(0.2, 0.1),
                                  recalibration_images=32, val_images=64, progress=False, device="cpu")
    evaluator.setup(DartsSpace())
    return evaluator


class _Shared:
    """The two things the gradient mutation reads of a shared supernet."""

    def __init__(self, module, batches):
        self.module, self.validation_batches = module, batches


def _nb201_context(seed=0):
    from evonas.context import SearchContext
    from evonas.spaces.nb201 import NB201Space

    torch.manual_seed(seed)
    net = NB201Space().build_supernet(C=4, N=1).double()
    batches = [(torch.randn(16, 3, 8, 8, dtype=torch.float64), torch.randint(0, 10, (16,))) for _ in range(2)]
    return net, SearchContext(evaluate=None, supernets=(_Shared(net, batches),))


def test_explicit_zero_one_weights_compute_the_discrete_path():
    from evonas.spaces.nb201 import NB201Space

    net, ctx = _nb201_context()
    net.eval()
    x = ctx.supernets[0].validation_batches[0][0]
    arch = NB201Space().sample(np.random.default_rng(3))
    nb201 = NB201Space()
    weights = [w.double().requires_grad_(True) for w in nb201.path_weights(net, arch)]  # all ops computed
    assert torch.allclose(nb201.mixture_logits(net, x, weights), net(x, arch), atol=1e-12)
    torch.manual_seed(0)
    darts = DartsSpace().build_supernet(C=4, layers=3).eval()
    genotype = DartsSpace().sample(np.random.default_rng(3))
    images = torch.randn(2, 3, 8, 8)
    weights = [w.requires_grad_(True) for w in DartsSpace().path_weights(darts, genotype)]
    assert torch.allclose(DartsSpace().mixture_logits(darts, images, weights), darts(images, genotype), atol=1e-5)
    with pytest.raises(ValueError, match="either arch"):
        net(x, arch, weights=weights[0])


def test_taylor_mutation_picks_the_candidate_with_the_lowest_first_order_loss_change():
    """The estimate of each neighbour is the directional derivative of the validation loss from the parent's
    0/1 weights towards the child's (checked by central differences in float64), and the operator returns the
    neighbour where it is lowest; with one candidate it is the space's own mutation."""
    from evonas.registry import operators
    from evonas.spaces.nb201 import NB201Space
    from evonas.spaces.nb201.arch import OPS

    space = NB201Space()
    net, ctx = _nb201_context()
    batches = ctx.supernets[0].validation_batches
    parent = space.sample(np.random.default_rng(1))
    neighbours = [parent[:e] + (op,) + parent[e + 1:] for e in range(6) for op in OPS if op != parent[e]]

    def loss_at(t, child):  # the mean validation loss at W_parent + t (W_child - W_parent)
        w = [p + t * (c - p) for p, c in zip(space.path_weights(net, parent), space.path_weights(net, child))]
        w = [x.double() for x in w]
        net.train()
        with torch.no_grad():
            return float(sum(F.cross_entropy(space.mixture_logits(net, x, w), y, reduction="sum") for x, y in batches))

    h = 1e-5
    slopes = {space.key(c): (loss_at(h, c) - loss_at(-h, c)) / (2 * h) for c in neighbours}
    before = {k: v.clone() for k, v in net.state_dict().items()}
    greedy = operators.create("gradient", candidates=len(neighbours), images=32, batch_size=8).setup(space)
    child = greedy([parent], np.random.default_rng(0), ctx)[0]
    assert space.key(child) == min(slopes, key=slopes.get)  # every neighbour drawn: the steepest descent
    assert greedy.refined == 1 and greedy.fallbacks == 0
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())  # weights and BN untouched
    assert all(p.requires_grad for p in net.parameters())
    single = operators.create("gradient", candidates=1).setup(space)
    assert single([parent], np.random.default_rng(5), ctx)[0] == space.mutate(parent, np.random.default_rng(5))
    with pytest.raises(ConfigError, match="method"):
        operators.create("gradient", method="sgd")


def test_gradient_mutation_refines_parents_and_leaves_the_supernet_as_it_was():
    import numpy as np

    from evonas.context import SearchContext
    from evonas.registry import operators

    space, evaluator = DartsSpace(), shared_darts_supernet()
    ctx = SearchContext(evaluate=evaluator.evaluate, supernets=(evaluator.shared,))
    before = {k: v.clone() for k, v in evaluator.shared.module.state_dict().items()}
    parents = [space.sample(np.random.default_rng(s)) for s in range(4)]
    operator = operators.create("gradient").setup(space)  # the defaults must change cells, not fall back
    children = operator(parents, np.random.default_rng(0), ctx)
    assert operator.refined >= 3 and operator.refined + operator.fallbacks == 4
    assert len(children) == 4 and all(space.is_valid(c) for c in children)
    assert all(space.key(c) != space.key(p) for c, p in zip(children, parents))
    after = evaluator.shared.module.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    # the starting architecture weights encode the parent: with a negligible step the parent comes back
    module = evaluator.shared.module
    still = operators.create("gradient", method="adam", steps=1, learning_rate=1e-9).setup(space)
    batches = evaluator.shared.validation_batches
    assert all(space.key(still._refine(module, module.arch_parameters(), p, batches)) == space.key(p) for p in parents)
    strong = still.__class__(method="adam", steps=3, learning_rate=0.5).setup(space)
    moved = [strong._refine(module, module.arch_parameters(), p, batches) for p in parents]
    assert any(space.key(m) != space.key(p) for m, p in zip(moved, parents)), "the gradient steps changed nothing"


def test_evolution_uses_the_gradient_mutation_and_it_needs_a_supernet():
    import numpy as np

    import evonas
    from evonas.registry import operators, strategies

    evaluator = shared_darts_supernet()
    result = evonas.search(DartsSpace(), strategies.create("evolution", pop_size=4, sample_size=2,
                                                            mutation="gradient"),
                           evaluator, budget=6, seed=0, progress=False)
    assert len(result.individuals) >= 6
    for engine in ("ga", "deap-ga"):  # pymoo and DEAP hand the generation's context to the operator too
        result = evonas.search(DartsSpace(), strategies.create(engine, pop_size=4, mutation="gradient"), evaluator,
                               budget=8, seed=0, progress=False)
        assert len(result.individuals) >= 8
    rng = np.random.default_rng(0)
    with pytest.raises(ConfigError, match="shared supernet"):
        operators.create("gradient").setup(DartsSpace())([DartsSpace().sample(rng)], rng, None)


def _darts_context(seed=0):
    from evonas.context import SearchContext

    torch.manual_seed(seed)
    net = DartsSpace().build_supernet(C=4, layers=3).double()
    batches = [(torch.randn(8, 3, 8, 8, dtype=torch.float64), torch.randint(0, 10, (8,))) for _ in range(2)]
    return net, SearchContext(evaluate=None, supernets=(_Shared(net, batches),))


@pytest.mark.parametrize("space_name", ["nb201", "darts"])
def test_taylor_estimates_are_the_train_mode_directional_derivatives_of_the_loss(space_name):
    """Each estimate equals the central difference (float64) of the summed validation loss along the straight
    line from the parent's 0/1 mixture weights to the child's, with BN on batch statistics (train mode, the
    same chunks): every op off the parent's path, at weight 0, must still carry its gradient."""
    from evonas.registry import operators
    from evonas.training.bn import preserved_bn_statistics

    space = NB201Space() if space_name == "nb201" else DartsSpace()
    net, ctx = _nb201_context() if space_name == "nb201" else _darts_context()
    batches = ctx.supernets[0].validation_batches
    rng = np.random.default_rng(1)
    parent = space.sample(rng)
    children = []
    while len(children) < 6:
        child = space.mutate(parent, rng)
        if space.key(child) not in {space.key(c) for c in children}:
            children.append(child)
    size = len(batches[0][1])
    operator = operators.create("gradient", images=size * len(batches), batch_size=size).setup(space)
    net.eval()  # the operator must switch to batch statistics itself
    before = {k: v.clone() for k, v in net.state_dict().items()}
    estimates = operator.taylor_estimates(parent, children, ctx)
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())  # weights and BN untouched

    def loss_at(t, child):  # the summed validation loss at W_parent + t (W_child - W_parent), batch statistics
        pairs = zip(space.path_weights(net, parent), space.path_weights(net, child))
        w = [(p + t * (c - p)).double() for p, c in pairs]
        with torch.no_grad(), preserved_bn_statistics(net):
            net.train()
            return float(sum(F.cross_entropy(space.mixture_logits(net, x, w), y, reduction="sum") for x, y in batches))

    h = 1e-5
    slopes = [(loss_at(h, c) - loss_at(-h, c)) / (2 * h) for c in children]
    # 1 %: ReLU kinks within +-h of the parent bend a difference quotient by a few tenths of a percent; a
    # gradient taken with running statistics (eval mode) or without the ops at weight 0 is off far more
    scale = max(abs(s) for s in slopes)
    assert scale > 1e-3  # the check is not vacuous
    for estimate, slope in zip(estimates, slopes):
        assert estimate == pytest.approx(slope, rel=1e-2, abs=1e-3 * scale), (estimates, slopes)
