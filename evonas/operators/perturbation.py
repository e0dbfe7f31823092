"""DAP's perturbation-based valuation of ops ("perturb-val") and its selection rules.

DAP (Discrete Architectural Perturbations, github.com/afzalxo/PertNAS) never
learns architecture weights: every edge of its search network is the
*unweighted sum* of the ops it currently holds plus ``none``. An op is
valued by removing it: mask it, fine-tune the network a few steps, measure
validation accuracy; ``delta = accuracy after - accuracy before``, so the
more negative, the more the op matters (the perturbation selection of
DARTS+PT, with a fine-tune after each mask).

* :class:`DapCell` holds which ops each of the 14 edges carries (indices
  into an op list such as :data:`DAP_OPS`) and builds the 0/1 weights the
  search network runs them with; one cell serves normal and reduction
  cells (DAP searches one cell type).
* :class:`PerturbationValuer` values ops (or whole edges) of a trained
  network by perturb-val: snapshot, then per target mask, restore,
  fine-tune ``steps``, measure, unmask.
* :func:`coarse_select`, :func:`fine_select`, :func:`node_inputs`: DAP's
  rules on the values (keep the 2, then the 1 most-needed ops per edge;
  keep the 2 most-needed incoming edges of a node).

Faithful to the released code behind ``restore="published"``: its weight
snapshot is ``model.state_dict()`` without a copy, whose tensors are the
live weights, so restoring it restores nothing and every op's fine-tune
starts from the weights the previous op's fine-tune left (its optimizer
state is restored: torch 1.12's ``load_state_dict`` deep-copies). evonas
restores a deep copy of both by default (``restore="copy"``), so every op
is valued from the same network. The
released code also runs ``steps + 1`` updates per fine-tune
(``extra_step=True``) and keeps running a masked op as ``0 * op(x)``
(``masked_ops="zero"``); evonas skips masked ops (``masked_ops="skip"``).
With ``restore="copy"`` that changes no value; with ``restore="published"``
it does a little: in the released code the masked op's weights keep moving
during its fine-tune (momentum and weight decay act on a zero gradient, its
BN statistics update) and that drift carries into the next ops'
valuations; skipped, they stay untouched.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from evonas.errors import ConfigError, EvonasError
from evonas.operators.base import Mutation
from evonas.registry import operators
from evonas.spaces.darts.cells import edge_index, num_edges
from evonas.spaces.darts.genotype import Genotype

#: DAP's op list as released (``extras/genotypes.py``): sep_conv_7x7 added and dil_conv_5x5 listed twice (two
#: independent modules per edge; the second looks like a typo). ``none`` is added by the network.
DAP_OPS_PUBLISHED: tuple[str, ...] = ("skip_connect", "max_pool_3x3", "avg_pool_3x3", "sep_conv_3x3", "sep_conv_5x5",
                                      "sep_conv_7x7", "dil_conv_3x3", "dil_conv_5x5", "dil_conv_5x5")
#: evonas' default: the same ops once each
DAP_OPS: tuple[str, ...] = DAP_OPS_PUBLISHED[:-1]
#: the released code's edge order for fine op selection
FINE_SELECTION_ORDER: tuple[int, ...] = (13, 12, 8, 11, 7, 4, 9, 10, 5, 6, 2, 3, 0, 1)

Batch = tuple[torch.Tensor, torch.Tensor]
#: how a masked op is treated: not run (evonas) or run as 0 * op(x) (the released code)
MASKED_OPS: tuple[str, ...] = ("skip", "zero")


@dataclass(frozen=True)
class DapCell:
    """The ops each edge holds: ``edges[e]`` is a sorted tuple of indices into ``ops`` (``none`` comes on top
    when ``with_zero``). One cell for normal and reduction cells; 14 edges for 4 nodes."""

    ops: tuple
    edges: tuple
    with_zero: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "ops", tuple(self.ops))
        object.__setattr__(self, "edges", tuple(tuple(sorted(int(p) for p in e)) for e in self.edges))
        if len(self.edges) != num_edges(4):
            raise ConfigError(f"a DAP cell has {num_edges(4)} edges, got {len(self.edges)}")
        for e, held in enumerate(self.edges):
            if any(not 0 <= p < len(self.ops) for p in held) or len(set(held)) != len(held):
                raise ConfigError(f"edge {e}: op indices {list(held)} must be distinct, in 0..{len(self.ops) - 1}")

    @classmethod
    def random(cls, ops: Sequence[str], rng: np.random.Generator, per_edge: int = 1) -> "DapCell":
        """Every edge ``per_edge`` random ops (DAP's ``op_cap``) plus ``none``."""
        return cls(tuple(ops), tuple(tuple(rng.choice(len(ops), size=per_edge, replace=False)) for _ in range(14)))

    def with_edge(self, edge: int, held: Sequence[int]) -> "DapCell":
        edges = list(self.edges)
        edges[edge] = tuple(held)
        return DapCell(self.ops, tuple(edges), self.with_zero)

    def expanded(self, edge: int) -> "DapCell":
        """``edge`` holding every op (DAP's expand step)."""
        return self.with_edge(edge, range(len(self.ops)))

    # ----------------------------------------------------------- networks
    def primitives(self) -> tuple[str, ...]:
        """The op list of every edge of the search network: ``none`` first, then ``ops`` (duplicates allowed)."""
        return ("none",) + self.ops

    def weights(self) -> torch.Tensor:
        """(14, 1 + len(ops)) 0/1 weights: column 0 is ``none`` (1 when ``with_zero``; it adds nothing), column
        1 + p is op p."""
        w = torch.zeros(len(self.edges), 1 + len(self.ops))
        for e, held in enumerate(self.edges):
            w[e, [1 + p for p in held]] = 1.0
            w[e, 0] = 1.0 if self.with_zero else 0.0
        return w

    def build_network(self, *, C: int = 16, layers: int = 5, num_classes: int = 10):
        """A DARTS search network (non-affine BN, pools followed by BN) whose every edge holds the whole op list;
        run it with :meth:`weights` as ``weights_normal`` and ``weights_reduce``: only held ops compute."""
        from evonas.spaces.darts.supernet import SearchNetwork

        lists = [self.primitives()] * len(self.edges)
        return SearchNetwork(C=C, layers=layers, num_classes=num_classes,
                             edge_primitives={"normal": lists, "reduce": lists})

    def genotype(self) -> Genotype:
        """The final cell: every edge that holds exactly one op (edges holding none are unused), normal = reduce.
        Raises ConfigError unless each node then has two inputs."""
        pairs = []
        for node in range(4):
            inputs = [(self.ops[self.edges[edge_index(node, j)][0]], j) for j in range(node + 2)
                      if len(self.edges[edge_index(node, j)]) == 1]
            if len(inputs) != 2 or any(len(self.edges[edge_index(node, j)]) > 1 for j in range(node + 2)):
                raise ConfigError(f"node {node} does not have exactly two single-op inputs yet: "
                                  f"{[list(self.edges[edge_index(node, j)]) for j in range(node + 2)]}")
            pairs += inputs
        return Genotype.from_cell(pairs)


def masked_forward(network, weights: torch.Tensor, images: torch.Tensor,
                   compute: torch.Tensor | None = None) -> torch.Tensor:
    """Logits of ``network`` run with the 0/1 ``weights`` (E, P) as both cell kinds' op weights; ``compute``
    (E, P) bool: the ops to run even at weight 0 (as ``0 * op(x)``), default only the non-zero ones."""
    if compute is None:
        return network(images, weights_normal=weights, weights_reduce=weights)
    return network(images, weights_normal=weights, weights_reduce=weights, compute=compute)


class PerturbationValuer:
    """Perturb-val on a trained DAP network.

    ``network``: the search network; ``weights``: its (E, P) 0/1 op weights (see :meth:`DapCell.weights`);
    ``optimizer``: the one that trained it (its state is snapshotted with the weights); ``train_batches``: an
    endless iterator of training batches for the fine-tunes; ``val_batches``: the fixed validation batches.
    ``restore``: ``"copy"`` (evonas) or ``"published"`` (restores nothing, see the module docstring);
    ``extra_step``: the released code's ``steps + 1`` updates; ``masked_ops``: ``"skip"`` (a masked op does not
    run) or ``"zero"`` (it runs as ``0 * op(x)``, the released code).
    """

    def __init__(self, network, weights: torch.Tensor, optimizer: torch.optim.Optimizer,
                 train_batches: Iterator[Batch], val_batches: Sequence[Batch], *, restore: str = "copy",
                 extra_step: bool = False, masked_ops: str = "skip",
                 progress: Callable[[str], None] | None = None) -> None:
        if restore not in ("copy", "published"):
            raise ConfigError(f"restore must be 'copy' or 'published', got {restore!r}")
        if masked_ops not in MASKED_OPS:
            raise ConfigError(f"masked_ops must be one of {', '.join(MASKED_OPS)}, got {masked_ops!r}")
        self.network, self.weights, self.optimizer = network, weights.clone(), optimizer
        #: the ops a masked forward runs: the held ones ("zero") or only the weighted ones ("skip")
        self.compute = (weights != 0) if masked_ops == "zero" else None
        self.train_batches, self.val_batches = train_batches, list(val_batches)
        self.restore, self.extra_step, self.progress = restore, extra_step, progress

    def accuracy(self, weights: torch.Tensor | None = None) -> float:
        """Top-1 (%) on the validation batches, eval mode (BN running statistics), with ``weights``."""
        weights = self.weights if weights is None else weights
        was_training = self.network.training
        self.network.eval()
        correct = total = 0
        with torch.no_grad():
            for images, targets in self.val_batches:
                logits = masked_forward(self.network, weights, images, self.compute)
                correct += int((logits.argmax(1) == targets).sum())
                total += len(targets)
        self.network.train(was_training)
        return 100.0 * correct / max(total, 1)

    def fine_tune(self, steps: int, weights: torch.Tensor) -> None:
        """``steps`` SGD steps (``steps + 1`` with ``extra_step``) on training batches, with ``weights``."""
        self.network.train()
        for _ in range(steps + (1 if self.extra_step else 0)):
            images, targets = next(self.train_batches)
            self.optimizer.zero_grad(set_to_none=True)
            F.cross_entropy(masked_forward(self.network, weights, images, self.compute), targets).backward()
            self.optimizer.step()

    def value(self, targets: Sequence[Sequence[tuple[int, int]]], steps: int, *,
              before: float | None = None) -> list[float]:
        """Per target (a list of ``(edge, column)`` entries of the weights, masked together), the accuracy change
        after masking it and fine-tuning ``steps``; the network and optimizer end as they started (``"copy"``).
        ``before``: the unmasked accuracy, when already known."""
        before = self.accuracy() if before is None else before
        live = [t for t in self.network.state_dict(keep_vars=True).values()]  # parameters and buffers
        optimizer_state = copy.deepcopy(self.optimizer.state_dict())
        if self.restore == "copy":
            snapshot = (live, [t.detach().clone() for t in live], optimizer_state)
        else:  # the released code's weight snapshot: references to the live tensors, restoring nothing
            snapshot = (live, None, optimizer_state)
        deltas = []
        for target in targets:
            weights = self.weights.clone()
            for edge, column in target:
                weights[edge, column] = 0.0
            self._restore(snapshot)
            if steps:
                self.fine_tune(steps, weights)
            deltas.append(self.accuracy(weights) - before)
            if self.progress is not None:
                self.progress(f"masked {list(target)}: accuracy change {deltas[-1]:+.2f}")
        self._restore(snapshot)
        return deltas

    def _restore(self, snapshot) -> None:
        live, saved, optimizer_state = snapshot
        if saved is not None:
            with torch.no_grad():
                torch._foreach_copy_(live, saved)
        # torch 2 keeps the given tensors as the optimizer's state (1.12 copied them): give it a copy, or the
        # next fine-tune would update the snapshot in place
        self.optimizer.load_state_dict(copy.deepcopy(optimizer_state))

    def value_ops(self, edge: int, steps: int) -> dict[int, float]:
        """Each op an edge holds (``none`` aside), by its op-list index (weights column - 1)."""
        columns = [c for c in range(1, self.weights.shape[1]) if self.weights[edge, c] != 0]
        return dict(zip((c - 1 for c in columns), self.value([[(edge, c)] for c in columns], steps)))

    def value_edges(self, steps: int, edges: Sequence[int] | None = None) -> dict[int, float]:
        """``edges`` (default all) each as a whole: all its ops but ``none`` masked together. An edge holding
        nothing masks nothing (its value is the fine-tune's own drift, as in the released code)."""
        edges = range(self.weights.shape[0]) if edges is None else list(edges)
        targets = [[(e, c) for c in range(1, self.weights.shape[1]) if self.weights[e, c] != 0] for e in edges]
        return dict(zip(edges, self.value(targets, steps)))


# ---------------------------------------------------------------------------------------------- rules
def coarse_select(values: np.ndarray, k: int = 2) -> list[tuple[int, ...]]:
    """Per edge (row of the (E, ops) valuation matrix), the ``k`` ops with the smallest (most negative) value.
    Ties are broken by numpy's default ``argsort``, as in the released code."""
    values = np.asarray(values, dtype=float)
    return [tuple(sorted(np.argsort(row)[:k].tolist())) for row in values]


def fine_select(values: dict[int, float]) -> int:
    """The op (by op-list index) whose removal hurt most: the smallest value (ties: the lower index)."""
    return min(values, key=lambda p: (values[p], p))


def node_inputs(edge_values: Sequence[float], node: int) -> tuple[int, int]:
    """The two incoming edges of ``node`` (edge indices) with the smallest values (ties broken by numpy's
    default ``argsort``, as in the released code)."""
    edges = np.array([edge_index(node, j) for j in range(node + 2)])
    values = np.array([edge_values[e] for e in edges], dtype=float)
    return tuple(sorted(edges[np.argsort(values)[:2]].tolist()))


def average_valuations(matrices: Sequence[np.ndarray]) -> np.ndarray:
    """The population's valuation: the members' (E, ops) matrices averaged."""
    if not matrices:
        raise ConfigError("no valuation matrices to average")
    return np.mean(np.stack([np.asarray(m, dtype=float) for m in matrices]), axis=0)


# ------------------------------------------------------------------------------------ the operator
@operators.register("perturbation")
class PerturbationMutation(Mutation):
    """A guided mutation by perturbation (DAP's valuation inside evolution): for each parent, one of its
    (op, input) pairs is picked at random; on the search's shared supernet that edge is expanded to every
    op (the rest of the network runs the parent's path), each op is removed in turn, and the pair takes the
    op whose removal lowers the validation accuracy most. Accuracy is measured on ``batches`` of the
    supernet's validation batches with BN in batch mode (as DARTS+PT; the running statistics are put back)
    and no fine-tune. A child equal to its parent, or not valid in the space, is replaced by the space's own
    mutation (:attr:`guided` / :attr:`fallbacks` count both); :attr:`last_values` holds the last parent's
    ``{op: accuracy change}`` and :attr:`last_choice` its ``(cell kind, pair index, op)`` (None after a
    fallback). The supernet is left as it was. Needs an evaluator with one shared supernet with explicit
    op weights: ``supernet`` on the darts space, or on the nb201 space (one of the six edges is picked;
    ``none`` is never valued, as removing it changes nothing, so the operator never moves an edge to it)."""

    name = "perturbation"
    needs_supernet = True

    def __init__(self, *, batches: int = 2) -> None:
        if batches < 1:
            raise ConfigError(f"batches must be >= 1, got {batches}")
        super().__init__(batches=batches)
        self.guided, self.fallbacks = 0, 0
        self.last_values: dict[str, float] = {}
        self.last_choice: tuple | None = None

    def _do(self, archs: list, rng, ctx) -> list:
        from evonas.training.bn import preserved_bn_statistics

        shared = ctx.supernets[0] if ctx is not None and len(getattr(ctx, "supernets", ())) == 1 else None
        module = getattr(shared, "module", None)
        nb201 = module is not None and type(module).__name__ == "NB201Supernet"
        if module is None or not nb201 and (not hasattr(module, "cell_primitives")
                                            or not getattr(module, "alpha_share", False)):
            raise ConfigError("the 'perturbation' mutation needs an evaluator with one shared DARTS or NAS-Bench-201 "
                              "supernet (e.g. 'supernet' on the darts or nb201 space)")
        if not nb201 and any(tuple(ops) != tuple(module.primitives) for cell in module.cell_primitives for ops in cell):
            raise ConfigError("the 'perturbation' mutation needs a supernet whose every edge holds its primitives "
                              "(not per-edge op lists)")
        batches = shared.validation_batches[: self.config["batches"]]
        children = []
        with preserved_bn_statistics(module), torch.no_grad():
            was_training = module.training
            module.train()  # batch statistics: the expanded edge shifts what later layers see
            try:
                for arch in archs:
                    child = (self._guided_nb201 if nb201 else self._guided)(module, arch, batches, rng)
                    if child is None or self.space.key(child) == self.space.key(arch):
                        child = self.space.mutate(arch, rng)
                        self.fallbacks += 1
                        self.last_choice = None
                    else:
                        self.guided += 1
                    children.append(child)
            finally:
                module.train(was_training)
        return children

    def _choose(self, names: Sequence[str], accuracy: Callable[[int | None], float]) -> str:
        """The op whose removal lowers ``accuracy(masked column)`` most (``accuracy(None)``: nothing masked);
        records :attr:`last_values`."""
        before = accuracy(None)
        self.last_values = {names[p]: accuracy(p) - before for p in range(len(names)) if names[p] != "none"}
        return min(self.last_values, key=lambda name: (self.last_values[name], names.index(name)))

    def _guided_nb201(self, module, arch, batches, rng):
        from evonas.spaces.nb201.arch import OPS

        arch = tuple(self.space.validate(arch))
        e = int(rng.integers(len(arch)))
        expanded = torch.zeros(len(arch), len(OPS))
        expanded[range(len(arch)), [OPS.index(op) for op in arch]] = 1.0
        expanded[e] = torch.tensor([0.0 if op == "none" else 1.0 for op in OPS])

        def accuracy(masked):
            w = expanded.clone()
            if masked is not None:
                w[e, masked] = 0.0
            return _batch_accuracy(lambda images: module(images, weights=w.to(images)), batches)

        best = self._choose(OPS, accuracy)
        self.last_choice = ("cell", e, best)
        try:
            return self.space.validate(arch[:e] + (best,) + arch[e + 1:])
        except EvonasError:
            return None

    def _guided(self, module, arch, batches, rng):
        from evonas.spaces.darts.supernet import genotype_to_weights

        genotype = self.space.validate(arch)
        kind = "normal" if getattr(self.space, "shared_cell", False) else ("normal", "reduce")[int(rng.integers(2))]
        cell = list(genotype.cell(kind))
        j = int(rng.integers(len(cell)))
        op, inp = cell[j]
        e = edge_index(j // 2, inp)
        names = module.cell_primitives[0][e]  # every cell of a shared-alpha network holds the same op lists
        weights = dict(zip(("normal", "reduce"), genotype_to_weights(genotype, module.primitives)))
        kinds = ("normal", "reduce") if getattr(self.space, "shared_cell", False) else (kind,)
        candidates = [p for p, name in enumerate(names) if name != "none"]
        for k in kinds:
            weights[k][e, candidates] = 1.0

        def accuracy(masked_column):
            w = {k: v.clone() for k, v in weights.items()}
            if masked_column is not None:
                for k in kinds:
                    w[k][e, masked_column] = 0.0
            return _batch_accuracy(lambda images: module(images, weights_normal=w["normal"].to(images.device),
                                                         weights_reduce=w["reduce"].to(images.device)), batches)

        best = self._choose(names, accuracy)
        cell[j] = (best, inp)
        self.last_choice = (kind, j, best)
        changes = {kind: cell} if len(kinds) == 1 else {"normal": cell, "reduce": cell}
        try:
            return self.space.validate(genotype.with_cells(**changes))
        except EvonasError:
            return None


def _batch_accuracy(logits_of: Callable[[torch.Tensor], torch.Tensor], batches: Sequence[Batch]) -> float:
    """Top-1 (%) of ``logits_of(images)`` over ``(images, targets)`` batches."""
    correct = total = 0
    for images, targets in batches:
        correct += int((logits_of(images).argmax(1) == targets).sum())
        total += len(targets)
    return 100.0 * correct / max(total, 1)


__all__ = ["DAP_OPS", "DAP_OPS_PUBLISHED", "DapCell", "FINE_SELECTION_ORDER", "PerturbationMutation",
           "PerturbationValuer", "average_valuations", "coarse_select", "fine_select", "masked_forward",
           "node_inputs"]
