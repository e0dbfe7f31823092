"""DAP's perturbation-based valuation of ops ("perturb-val") and its selection rules.

DAP (Discrete Architectural Perturbations, github.com/afzalxo/PertNAS) never
learns architecture weights: every edge of its search network is the
*unweighted sum* of the ops it currently holds plus ``none``. An op is
valued by removing it: mask it, fine-tune the network a few steps, measure
validation accuracy; ``delta = accuracy after - accuracy before``, so the
more negative, the more the op matters (the perturbation selection of
DARTS+PT, with a fine-tune after each mask).

* The DARTS space's :class:`~evonas.spaces.darts.dap_cell.DapCell` (reached
  through the space's ``cell_tools``) holds which ops each of the 14 edges
  carries and builds the 0/1 weights the search network runs them with.
* :class:`PerturbationValuer` values ops (or whole edges) of a trained
  network by perturb-val: snapshot, then per target mask, restore,
  fine-tune ``steps``, measure, unmask.
* :func:`coarse_select`, :func:`fine_select`: DAP's rules on the values
  (keep the 2, then the 1 most-needed ops per edge; the DARTS space's
  ``node_inputs`` keeps the 2 most-needed incoming edges of a node).
* :class:`PerturbationMutation`: perturb-val as a guided mutation on any
  space with a relaxation (:class:`~evonas.spaces.base.HasRelaxation`).

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

import contextlib
import copy
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from evonas.errors import ConfigError, EvonasError
from evonas.operators.base import Mutation
from evonas.registry import operators
from evonas.spaces.base import HasRelaxation, require
from evonas.training.precision import MixedPrecision

Batch = tuple[torch.Tensor, torch.Tensor]
#: how a masked op is treated: not run (evonas) or run as 0 * op(x) (the released code)
MASKED_OPS: tuple[str, ...] = ("skip", "zero")


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
    run) or ``"zero"`` (it runs as ``0 * op(x)``, the released code); ``precision``: a
    :class:`~evonas.training.precision.MixedPrecision` (fp16 autocast and a gradient scaler per :meth:`value`
    call on CUDA, as the released code) or None (fp32); ``micro_batch``: run each fine-tune batch as chunks of
    this many images, gradients accumulated (see :meth:`~evonas.training.precision.MixedPrecision.train_step`);
    ``timer(kind, count)``: a context manager timing ``count`` steps of ``kind`` (``"fine-tune"``,
    ``"validate"``), e.g. :meth:`evonas.runtime.phases.PhaseMeter.steps` bound to a phase.
    """

    def __init__(self, network, weights: torch.Tensor, optimizer: torch.optim.Optimizer,
                 train_batches: Iterator[Batch], val_batches: Sequence[Batch], *, restore: str = "copy",
                 extra_step: bool = False, masked_ops: str = "skip",
                 progress: Callable[[str], None] | None = None, precision=None, micro_batch: int | None = None,
                 timer: Callable[[str, int], Any] | None = None) -> None:
        if restore not in ("copy", "published"):
            raise ConfigError(f"restore must be 'copy' or 'published', got {restore!r}")
        if masked_ops not in MASKED_OPS:
            raise ConfigError(f"masked_ops must be one of {', '.join(MASKED_OPS)}, got {masked_ops!r}")
        self.network, self.weights, self.optimizer = network, weights.clone(), optimizer
        #: the ops a masked forward runs: the held ones ("zero") or only the weighted ones ("skip")
        self.compute = (weights != 0) if masked_ops == "zero" else None
        self.train_batches, self.val_batches = train_batches, list(val_batches)
        self.restore, self.extra_step, self.progress = restore, extra_step, progress
        self.precision = precision if precision is not None else MixedPrecision("float32", "cpu")
        self.scaler = self.precision.scaler()
        self.micro_batch = micro_batch
        self.timer = timer if timer is not None else (lambda kind, count: contextlib.nullcontext())

    def accuracy(self, weights: torch.Tensor | None = None) -> float:
        """Top-1 (%) on the validation batches, eval mode (BN running statistics), with ``weights``."""
        weights = self.weights if weights is None else weights
        was_training = self.network.training
        self.network.eval()
        correct = total = 0
        with torch.no_grad(), self.timer("validate", len(self.val_batches)):
            for images, targets in self.val_batches:
                with self.precision.autocast():
                    logits = masked_forward(self.network, weights, images, self.compute)
                correct += int((logits.argmax(1) == targets).sum())
                total += len(targets)
        self.network.train(was_training)
        return 100.0 * correct / max(total, 1)

    def fine_tune(self, steps: int, weights: torch.Tensor) -> None:
        """``steps`` SGD steps (``steps + 1`` with ``extra_step``) on training batches, with ``weights``."""
        self.network.train()
        count = steps + (1 if self.extra_step else 0)
        with self.timer("fine-tune", count):
            self._fine_tune(count, weights)

    def _fine_tune(self, count: int, weights: torch.Tensor) -> None:
        for _ in range(count):
            images, targets = next(self.train_batches)
            self.precision.train_step(
                lambda x, y: F.cross_entropy(masked_forward(self.network, weights, x, self.compute), y),
                images, targets, self.optimizer, self.scaler, self.micro_batch)

    def value(self, targets: Sequence[Sequence[tuple[int, int]]], steps: int, *,
              before: float | None = None) -> list[float]:
        """Per target (a list of ``(edge, column)`` entries of the weights, masked together), the accuracy change
        after masking it and fine-tuning ``steps``; the network and optimizer end as they started (``"copy"``).
        ``before``: the unmasked accuracy, when already known."""
        before = self.accuracy() if before is None else before
        self.scaler = self.precision.scaler()  # the released code starts a scaler per perturb-val call
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
        if module is None:
            raise ConfigError("the 'perturbation' mutation needs an evaluator with one shared supernet "
                              "(e.g. 'supernet' on a space with a relaxation: darts, nb201)")
        require(self.space, HasRelaxation, "the 'perturbation' mutation")
        batches = shared.validation_batches[: self.config["batches"]]
        children = []
        with preserved_bn_statistics(module), torch.no_grad():
            was_training = module.training
            module.train()  # batch statistics: the expanded edge shifts what later layers see
            try:
                for arch in archs:
                    child = self._guided(module, arch, batches, rng)
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

    def _guided(self, module, arch, batches, rng):
        """The child of ``arch`` whose expanded edge keeps the op valued most needed; None if not valid."""
        expansion = self.space.expand_edge(module, arch, rng)

        def accuracy(masked_column):
            weights = expansion.masked(masked_column)
            return _batch_accuracy(lambda images: self.space.mixture_logits(
                module, images, [w.to(images.device) for w in weights]), batches)

        best = self._choose(expansion.names, accuracy)
        self.last_choice = (*expansion.where, best)
        try:
            return self.space.validate(expansion.child(best))
        except EvonasError:
            return None


def _batch_accuracy(logits_of: Callable[[torch.Tensor], torch.Tensor], batches: Sequence[Batch]) -> float:
    """Top-1 (%) of ``logits_of(images)`` over ``(images, targets)`` batches."""
    correct = total = 0
    for images, targets in batches:
        correct += int((logits_of(images).argmax(1) == targets).sum())
        total += len(targets)
    return 100.0 * correct / max(total, 1)


__all__ = ["MASKED_OPS", "PerturbationMutation", "PerturbationValuer", "average_valuations", "coarse_select",
           "fine_select", "masked_forward"]
