"""NASWOT: how differently an untrained network's ReLUs fire on the images of one batch.

Mellor, Turner, Storkey and Crowley, "Neural Architecture Search without
Training", ICML 2021. One mini-batch goes through the untrained network
(training mode: BatchNorm uses the batch's statistics); each image's pattern
of active ReLU units is a binary code, ``K[i, j]`` counts the units on which
images ``i`` and ``j`` agree (both active or both inactive), and the score is
``log |det K|`` (``naswot``, higher is better): a network that tells the
images of a batch apart scores high. On NAS-Bench-201 it ranks cells better
than the parameter count (docs/algorithms/zero-cost.md).

:class:`ActivationCodeKernel` accumulates ``K`` while a network runs, so
that :func:`~evonas.evaluators.zero_cost.proxies.compute_proxies` can read
NASWOT off the forward pass it shares with the gradient-based proxies.
"""
from __future__ import annotations

import math
from typing import Any, Mapping

import torch

from evonas.core import Objective
from evonas.errors import ConfigError
from evonas.evaluators.base import Evaluator
from evonas.evaluators.zero_cost.batch import load_batch
from evonas.registry import evaluators

#: the activations whose outputs give the binary codes
RELUS = (torch.nn.ReLU, torch.nn.ReLU6)


class ActivationCodeKernel:
    """``K`` (N, N) float64 of the ReLU codes of N images, accumulated over every ReLU that runs.

    ``K = sum over ReLUs of c c^T + (1 - c)(1 - c)^T`` with ``c`` (N, units) the 0/1 codes ``output > 0`` of
    each ReLU's output. :meth:`attach` hooks every ReLU of a network (a :class:`ConfigError` when it has
    none) and returns the hook handles, to be removed by the caller after the forward pass.
    """

    def __init__(self, n: int) -> None:
        if n < 2:
            raise ConfigError(f"NASWOT needs a batch of at least 2 images, got {n}")
        self.kernel = torch.zeros(n, n, dtype=torch.float64)

    def attach(self, model: torch.nn.Module) -> list:
        relus = [m for m in model.modules() if isinstance(m, RELUS)]
        if not relus:
            raise ConfigError(f"{type(model).__name__} has no ReLU to read activation codes from")
        return [m.register_forward_hook(self._record) for m in relus]

    def _record(self, module, inputs, output) -> None:
        codes = (output.detach() > 0).flatten(1).double()
        self.kernel.add_(codes @ codes.t() + (1 - codes) @ (1 - codes).t())

    def score(self) -> float:
        """``log |det K|``; ``-inf`` when ``K`` is singular (two images share every code)."""
        sign, logdet = torch.linalg.slogdet(self.kernel)
        return float(logdet) if sign > 0 else -math.inf


def naswot_score(model: torch.nn.Module, images: torch.Tensor) -> float:
    """``log |det K|`` of ``model``'s ReLU activation codes on ``images`` (N, C, H, W), N >= 2 (float64).

    The network runs once, in training mode (batch statistics), without gradients; its training flags are
    restored. As in the authors' code the codes are ``x > 0`` per unit; their code counts only the ReLUs a
    backward pass reaches, this counts every ReLU that runs (the same set in networks whose every branch
    reaches the output, as NAS-Bench-201's).
    """
    kernel = ActivationCodeKernel(len(images))
    hooks = kernel.attach(model)
    modes = [(m, m.training) for m in model.modules()]
    model.train()
    try:
        with torch.no_grad():
            model(images)
    finally:
        for hook in hooks:
            hook.remove()
        for module, training in modes:
            module.training = training
    return kernel.score()


@evaluators.register("naswot")
class NaswotEvaluator(Evaluator):
    """``naswot`` (max): the NASWOT score of ``space.build(arch, **net_kwargs)`` at initialisation.

    Args:
        dataset, root: where the mini-batch comes from (default the embedded ``cifar10-mini``).
        batch_size: images in the batch (Mellor et al. use 128).
        net_kwargs: passed to ``space.build``. The score depends on the cell far more than on the network's
            size: on NAS-Bench-201 ``{"C": 8, "N": 1}`` ranks as well as the benchmark's C=16, N=5 network,
            20x faster (``benchmarks/bench_ranking.py --zero-cost``).
        seed: picks the batch and seeds each network's initialisation.

    Measured on NAS-Bench-201 (1,000 random cells, CIFAR-10 test accuracy after 12 epochs, batch 64,
    C=8, N=1): see docs/algorithms/zero-cost.md.
    """

    name = "naswot"
    operational_params = frozenset({"root"})  #: where the dataset's files are, not which data

    def __init__(self, *, dataset: str = "cifar10-mini", root: str | None = None, batch_size: int = 64,
                 net_kwargs: Mapping[str, Any] | None = None, seed: int = 0) -> None:
        super().__init__()
        if batch_size < 2:
            raise ConfigError(f"batch_size must be >= 2, got {batch_size}")
        self.dataset, self.root, self.batch_size = dataset, root, int(batch_size)
        self.net_kwargs, self.seed = dict(net_kwargs or {}), seed
        self._images: torch.Tensor | None = None

    @property
    def objectives(self) -> tuple[Objective, ...]:
        return (Objective("naswot", "max"),)

    def _setup(self, space) -> None:
        self._images, _ = load_batch(self.dataset, root=self.root, batch_size=self.batch_size, seed=self.seed)

    def _evaluate(self, archs: list) -> list[dict[str, float]]:
        scores = []
        for arch in archs:
            torch.manual_seed(self.seed)
            scores.append({"naswot": naswot_score(self.space.build(arch, **self.net_kwargs), self._images)})
        return scores


__all__ = ["ActivationCodeKernel", "NaswotEvaluator", "RELUS", "naswot_score"]
