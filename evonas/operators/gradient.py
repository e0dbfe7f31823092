"""Gradient (differentiable) architecture search over a supernet's continuous mode: DARTS and StacNAS' step.

A supernet in continuous mode (``module(x)``: every edge a softmax(alpha)
mixture of its ops; ``module.arch_parameters()``: the alphas) is searched by
alternating two optimisers (Liu, Simonyan and Yang, "DARTS: Differentiable
Architecture Search", ICLR 2019):

* weights w: SGD (momentum, weight decay, gradient clipping) on training batches;
* alphas: Adam on validation batches (bi-level, DARTS), either
  ``"first-order"`` (the gradient at the current w) or ``"second-order"``
  (the gradient of the validation loss after one virtual SGD step of w, with
  the Hessian-vector product approximated by central finite differences,
  DARTS eq. 7-8); or ``"one-level"`` (StacNAS, Li et al. 2019): w and the
  alphas step from the *same* training batch loss, one backward pass, only
  w's gradient clipped.

:class:`GradientSearch` holds the two optimisers and takes one step per
call; the DARTS space's :class:`~evonas.spaces.darts.supernet.SearchNetwork`
and the NAS-Bench-201 supernet both work. Shapes: batches are
``(images (N, 3, H, W), targets (N,))``.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from evonas.errors import ConfigError, EvonasError
from evonas.operators.base import Mutation
from evonas.registry import operators
from evonas.spaces.base import HasRelaxation, require
from evonas.training.bn import preserved_bn_statistics

MODES = ("first-order", "second-order", "one-level")
Batch = tuple[torch.Tensor, torch.Tensor]


class GradientSearch:
    """One optimiser step at a time of DARTS (bi-level) or StacNAS (one-level) search.

    Args:
        module: a supernet with ``arch_parameters()`` whose ``module(x)`` is the continuous mixture.
        mode: ``"first-order"``, ``"second-order"`` (DARTS) or ``"one-level"`` (StacNAS).
        learning_rate, momentum, weight_decay, grad_clip: the weights' SGD (DARTS: 0.025, 0.9, 3e-4, 5;
            StacNAS clips at 3). :meth:`set_learning_rate` moves the rate (a schedule is the caller's).
        arch_learning_rate, arch_betas, arch_weight_decay: the alphas' Adam (DARTS and StacNAS: 3e-4,
            (0.5, 0.999), 1e-3).
        micro_batch: run each training batch's loss as chunks of this many images, gradients accumulated (for a
            batch that does not fit in memory; the architecture gradients of bi-level modes are not chunked).
    """

    def __init__(self, module: nn.Module, *, mode: str = "first-order", learning_rate: float = 0.025,
                 momentum: float = 0.9, weight_decay: float = 3e-4, grad_clip: float | None = 5.0,
                 arch_learning_rate: float = 3e-4, arch_betas: Sequence[float] = (0.5, 0.999),
                 arch_weight_decay: float = 1e-3, micro_batch: int | None = None) -> None:
        if mode not in MODES:
            raise ConfigError(f"unknown gradient search mode {mode!r}; valid: {', '.join(MODES)}")
        arch_parameters = getattr(module, "arch_parameters", None)
        if not callable(arch_parameters) or not arch_parameters():
            raise ConfigError(f"{type(module).__name__} has no architecture parameters (arch_parameters()); "
                              "gradient search needs a supernet with a continuous mode")
        self.module, self.mode, self.grad_clip = module, mode, grad_clip
        self.alphas = list(arch_parameters())
        ids = {id(a) for a in self.alphas}
        self.weights = [p for p in module.parameters() if id(p) not in ids and p.requires_grad]
        self.momentum, self.weight_decay, self.micro_batch = momentum, weight_decay, micro_batch
        self.w_optimizer = torch.optim.SGD(self.weights, lr=learning_rate, momentum=momentum,
                                           weight_decay=weight_decay)
        self.a_optimizer = torch.optim.Adam(self.alphas, lr=arch_learning_rate, betas=tuple(arch_betas),
                                            weight_decay=arch_weight_decay)

    @property
    def learning_rate(self) -> float:
        return self.w_optimizer.param_groups[0]["lr"]

    def set_learning_rate(self, learning_rate: float) -> None:
        """The weights' learning rate from now on (also the virtual step of ``"second-order"``)."""
        for group in self.w_optimizer.param_groups:
            group["lr"] = learning_rate

    def _loss(self, batch: Batch) -> torch.Tensor:
        images, targets = batch
        return F.cross_entropy(self.module(images), targets)

    # ------------------------------------------------------------------ steps
    def step(self, train: Batch, val: Batch | None = None) -> dict[str, float]:
        """One search step: alphas then weights (bi-level, ``val`` required), or both from ``train``
        (one-level). Returns the training loss (nats) and, bi-level, the validation loss used."""
        self.module.train()
        if self.mode == "one-level":
            self.w_optimizer.zero_grad(set_to_none=True)
            self.a_optimizer.zero_grad(set_to_none=True)
            loss = self._backward_in_chunks(train)
            self._clip()
            self.w_optimizer.step()
            self.a_optimizer.step()
            return {"train_loss": loss}
        if val is None:
            raise ConfigError(f"{self.mode} DARTS needs a validation batch for the architecture step")
        self.a_optimizer.zero_grad(set_to_none=True)
        grads, val_loss = (self.first_order_gradient(val) if self.mode == "first-order"
                           else self.second_order_gradient(train, val))
        for alpha, grad in zip(self.alphas, grads):
            alpha.grad = grad
        self.a_optimizer.step()
        self.w_optimizer.zero_grad(set_to_none=True)
        loss = self._backward_in_chunks(train)
        for alpha in self.alphas:  # the weight step must not leave gradients on the alphas
            alpha.grad = None
        self._clip()
        self.w_optimizer.step()
        return {"train_loss": loss, "val_loss": val_loss}

    def _backward_in_chunks(self, batch: Batch) -> float:
        """Backward the batch's mean loss, as chunks of ``micro_batch`` images when set (gradients accumulated;
        BatchNorm then sees a chunk); returns the loss (nats)."""
        images, targets = batch
        n = len(targets)
        size = self.micro_batch if self.micro_batch and self.micro_batch < n else n
        total = 0.0
        for start in range(0, n, size):
            x, y = images[start:start + size], targets[start:start + size]
            loss = self._loss((x, y)) * (len(y) / n)
            loss.backward()
            total += float(loss.detach())
        return total

    def _clip(self) -> None:
        if self.grad_clip:
            nn.utils.clip_grad_norm_([w for w in self.weights if w.grad is not None], self.grad_clip)

    def first_order_gradient(self, val: Batch) -> tuple[list[torch.Tensor], float]:
        """d L_val(w, alpha) / d alpha at the current weights, and L_val."""
        loss = self._loss(val)
        return _grads(loss, self.alphas), float(loss.detach())

    def second_order_gradient(self, train: Batch, val: Batch, epsilon: float = 0.01
                              ) -> tuple[list[torch.Tensor], float]:
        """DARTS' unrolled architecture gradient, and the validation loss at the unrolled weights.

        w' = w - xi * (momentum buffer * momentum + dL_train/dw + weight_decay * w) with xi the weights'
        learning rate (the optimiser's next step); then
        ``dL_val(w', a)/da - xi * (dL_train(w+, a)/da - dL_train(w-, a)/da) / (2 r)`` with
        ``w± = w ± r * dL_val(w', a)/dw'`` and ``r = epsilon / ||dL_val(w', a)/dw'||``. The weights are left
        as they were.
        """
        xi = self.learning_rate
        saved = [w.detach().clone() for w in self.weights]
        train_grads = _grads(self._loss(train), self.weights)
        with torch.no_grad():
            for w, g in zip(self.weights, train_grads):
                buffer = self.w_optimizer.state.get(w, {}).get("momentum_buffer")
                moment = 0.0 if buffer is None else self.momentum * buffer
                w.sub_(xi * (moment + g + self.weight_decay * w))
        val_loss = self._loss(val)
        grads = _grads(val_loss, self.alphas + self.weights)
        d_alpha, d_weights = grads[:len(self.alphas)], grads[len(self.alphas):]
        radius = epsilon / torch.sqrt(sum((d * d).sum() for d in d_weights)).clamp_min(1e-12)
        plus_minus = []
        for sign in (1.0, -1.0):
            with torch.no_grad():
                for w, w0, d in zip(self.weights, saved, d_weights):
                    w.copy_(w0 + sign * radius * d)
            plus_minus.append(_grads(self._loss(train), self.alphas))
        with torch.no_grad():
            for w, w0 in zip(self.weights, saved):
                w.copy_(w0)
        hessian = [(p - m) / (2 * radius) for p, m in zip(*plus_minus)]
        return [d - xi * h for d, h in zip(d_alpha, hessian)], float(val_loss.detach())


@operators.register("gradient")
class GradientMutation(Mutation):
    """A learned mutation: the gradient of the validation loss with respect to architecture weights over the
    search's shared supernet decides each parent's child.

    Two methods:

    * ``"taylor"`` (the default): the parent's ops as 0/1 mixture weights ``W`` (no softmax: the continuous
      mode then computes exactly the parent's path, every other op at weight 0), ``g = d loss / d W`` on
      ``images`` validation images (in chunks of ``batch_size``), and ``candidates`` distinct children of the
      space's own mutation; the child is the candidate with the lowest first-order estimate of the loss
      change, ``sum((W_child - W_parent) * g)`` (a swap of op o for op a on edge e is estimated at
      ``g[e, o] - g[e, a]``). With ``candidates=1`` it is the space's mutation; more candidates trade
      diversity for guidance.
    * ``"adam"``: the supernet's architecture weights are set to ``strength`` on the parent's ops (0
      elsewhere), ``steps`` Adam steps (``learning_rate``) descend the loss of the softmax mixture on
      ``batch_size`` images of a validation batch each, and the child is derived by the supernet's rule
      (DARTS: per node the two strongest edges). Adam moves each weight by about ``learning_rate`` a step, so
      ``steps * learning_rate`` must be able to overcome ``strength`` for the steps to change a cell. The
      softmax mixture is a network a single-path supernet never trained; ``"taylor"`` stays at the parent's
      discrete path, where the supernet's fitness is measured.

    Either way the supernet's weights are fixed, BN runs in batch mode (its running statistics put back) and
    the supernet is left as it was (weights, alphas, BN statistics). A child equal to its parent or not valid in
    the space is replaced by the space's own mutation (:attr:`refined` / :attr:`fallbacks` count both). Needs a
    search whose evaluator has a shared supernet with a continuous mode (``supernet`` on the DARTS or
    NAS-Bench-201 space).
    """

    name = "gradient"
    needs_supernet = True
    METHODS = ("taylor", "adam")

    def __init__(self, *, method: str = "taylor", candidates: int = 8, images: int = 256, steps: int = 3,
                 learning_rate: float = 0.3, strength: float = 1.0, batch_size: int = 64) -> None:
        if method not in self.METHODS:
            raise ConfigError(f"unknown gradient mutation method {method!r}; valid: {', '.join(self.METHODS)}")
        if steps < 1 or batch_size < 1 or candidates < 1 or images < 1:
            raise ConfigError(f"steps, batch_size, candidates and images must be >= 1, got {steps}, {batch_size}, "
                              f"{candidates}, {images}")
        super().__init__(method=method, candidates=candidates, images=images, steps=steps,
                         learning_rate=learning_rate, strength=strength, batch_size=batch_size)
        #: children the gradient made, and children that fell back to the space's mutation
        self.refined, self.fallbacks = 0, 0

    def _do(self, archs: list, rng, ctx) -> list:
        module, batches = self._shared(ctx)
        children = []
        with _fixed_weights(module):
            for arch in archs:
                child = (self._taylor(module, arch, batches, rng) if self.config["method"] == "taylor"
                         else self._refine(module, module.arch_parameters(), arch, batches))
                if child is None or self.space.key(child) == self.space.key(arch):
                    child = self.space.mutate(arch, rng)
                    self.fallbacks += 1
                else:
                    self.refined += 1
                children.append(child)
        return children

    def _shared(self, ctx) -> tuple[nn.Module, list]:
        """The search's shared supernet module in continuous mode and its validation batches."""
        require(self.space, HasRelaxation, "the 'gradient' mutation")
        shared = None
        if ctx is not None and len(getattr(ctx, "supernets", ())) == 1:
            shared = ctx.supernets[0]
        module = getattr(shared, "module", None)
        if module is None or not callable(getattr(module, "arch_parameters", None)) \
                or not callable(getattr(module, "genotype", None)):
            raise ConfigError("the 'gradient' mutation needs an evaluator with one shared supernet in continuous "
                              "mode (e.g. 'supernet' on the darts or nb201 space)")
        return module, shared.validation_batches

    def taylor_estimates(self, arch, children: Sequence, ctx) -> list[float]:
        """The first-order estimate of the change of the summed validation loss (nats) from ``arch`` to each of
        ``children``, ``sum((W_child - W_parent) * g)``, as ``"taylor"`` ranks them (same images, chunks and
        train-mode BN); the supernet is left as it was."""
        module, batches = self._shared(ctx)
        with _fixed_weights(module):
            parent, grads = self._path_gradient(module, arch, batches)
            return self._estimates(module, parent, grads, children)

    def _path_gradient(self, module: nn.Module, arch, batches) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """The parent's 0/1 path weights and ``d loss / d W`` there (loss summed over ``images`` images)."""
        reference = next(module.parameters())
        device = reference.device
        parent = [w.to(device=device, dtype=reference.dtype).requires_grad_(True)
                  for w in self.space.path_weights(module, arch)]
        total, wanted = 0, self.config["images"]
        for images, targets in batches:
            for start in range(0, len(targets), self.config["batch_size"]):
                chunk = slice(start, min(start + self.config["batch_size"], len(targets), start + wanted - total))
                loss = F.cross_entropy(self.space.mixture_logits(module, images[chunk], parent), targets[chunk],
                                       reduction="sum")
                loss.backward()
                total += len(targets[chunk])
                if total >= wanted:
                    break
            if total >= wanted:
                break
        return parent, [w.grad for w in parent]

    def _estimates(self, module: nn.Module, parent: list, grads: list, children: Sequence) -> list[float]:
        return [float(sum(((c.to(p) - p.detach()) * g).sum()
                          for c, p, g in zip(self.space.path_weights(module, child), parent, grads)))
                for child in children]

    def _taylor(self, module: nn.Module, arch, batches, rng):
        """The candidate child with the lowest first-order estimate of the validation loss change."""
        parent, grads = self._path_gradient(module, arch, batches)
        seen, candidates = {self.space.key(arch)}, []
        for _ in range(4 * self.config["candidates"]):
            if len(candidates) == self.config["candidates"]:
                break
            child = self.space.mutate(arch, rng)
            if self.space.key(child) not in seen:
                seen.add(self.space.key(child))
                candidates.append(child)
        if not candidates:
            return None
        return candidates[int(np.argmin(self._estimates(module, parent, grads, candidates)))]

    def _refine(self, module: nn.Module, alphas: list, arch, batches):
        """The architecture after ``steps`` Adam steps from ``arch``; None when it is not valid here."""
        with torch.no_grad():
            for alpha, start in zip(alphas, self.space.path_weights(module, arch)):
                alpha.copy_(self.config["strength"] * start.clamp(max=1.0).to(alpha))
        optimizer = torch.optim.Adam(alphas, lr=self.config["learning_rate"], betas=(0.5, 0.999))
        for step in range(self.config["steps"]):
            images, targets = batches[step % len(batches)]
            images, targets = images[:self.config["batch_size"]], targets[:self.config["batch_size"]]
            optimizer.zero_grad(set_to_none=True)
            F.cross_entropy(module(images), targets).backward()
            optimizer.step()
        try:
            return self.space.derive(module)
        except EvonasError:
            return None


@contextmanager
def _fixed_weights(module: nn.Module) -> Iterator[None]:
    """Within the block the supernet's weights take no gradient and BN runs in batch mode (train); on leaving
    it the weights' ``requires_grad``, the architecture weights and the BN statistics are put back."""
    alphas = module.arch_parameters()
    saved = [a.detach().clone() for a in alphas]
    weights = [p for p in module.parameters() if all(p is not a for a in alphas)]
    flags = [w.requires_grad for w in weights]
    try:
        for w in weights:
            w.requires_grad_(False)
        with preserved_bn_statistics(module):
            module.train()
            yield
    finally:
        for w, flag in zip(weights, flags):
            w.requires_grad_(flag)
        with torch.no_grad():
            for alpha, value in zip(alphas, saved):
                alpha.copy_(value)
                alpha.grad = None


def _grads(loss: torch.Tensor, tensors: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """d loss / d tensor for each tensor (zeros for one the loss does not use, e.g. the normal cell's alphas
    in a network of reduction cells only)."""
    grads = torch.autograd.grad(loss, list(tensors), allow_unused=True)
    return [torch.zeros_like(t) if g is None else g for t, g in zip(tensors, grads)]


__all__ = ["GradientMutation", "GradientSearch", "MODES"]
