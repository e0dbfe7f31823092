"""Zero-cost fitness: score an untrained network from one forward (and backward) pass.

:class:`NaswotEvaluator` computes NASWOT (Mellor et al., "Neural
Architecture Search without Training", ICML 2021): one mini-batch goes
through the untrained network; each image's pattern of active ReLU units
is a binary code, ``K[i, j]`` counts the units on which images ``i`` and
``j`` agree (both active or both inactive), and the score is
``log |det K|`` (``naswot``, higher is better): a network that tells the
images of a batch apart scores high. On NAS-Bench-201 it ranks cells
better than the parameter count (see its docstring).

:class:`SynflowEvaluator` computes SynFlow (Tanaka et al., NeurIPS 2020), as
used as a zero-cost NAS proxy by Abdelfattah et al. (ICLR 2021): with every
weight replaced by its absolute value and an all-ones input, the score is
``sum |theta * dR/dtheta|`` for ``R`` the sum of the network's outputs
(float64, BatchNorm in eval mode; reported as its natural logarithm,
``synflow``, higher is better). It needs no data and no training: about
30 ms per NAS-Bench-201 network on a CPU. On NAS-Bench-201 (500 random
cells, CIFAR-10 test accuracy after 12 epochs) it ranks with Kendall tau
0.44 against 0.42 for the parameter count, and puts 24 % of the truly best
tenth in its top tenth against 10 % (``benchmarks/bench_ranking.py --zero-cost``).
"""
from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import torch

from evonas.core import Objective
from evonas.errors import ConfigError
from evonas.evaluators.base import Evaluator
from evonas.registry import evaluators


def synflow_score(model: torch.nn.Module, input_shape: Sequence[int]) -> float:
    """log(sum |theta * dR/dtheta|) of ``model`` with absolute weights on an all-ones input (float64)."""
    model = model.double().eval()
    with torch.no_grad():
        for tensor in model.state_dict().values():
            if tensor.is_floating_point():
                tensor.abs_()
    model.zero_grad()
    output = model(torch.ones(*input_shape, dtype=torch.float64))
    output = output[0] if isinstance(output, (tuple, list)) else output
    output.sum().backward()
    total = sum(float((p.detach() * p.grad).abs().sum()) for p in model.parameters() if p.grad is not None)
    return math.log(total) if total > 0 else -math.inf


@evaluators.register("synflow")
class SynflowEvaluator(Evaluator):
    """``synflow`` (max): the zero-cost SynFlow score of ``space.build(arch, **net_kwargs)`` at initialisation.

    Args:
        net_kwargs: passed to ``space.build`` (e.g. ``{"C": 16, "N": 5}`` for NAS-Bench-201).
        input_shape: (1, C, H, W) of the all-ones input (default one 32x32 RGB image).
        seed: torch seed of each network's initialisation (the score barely depends on it).
    """

    name = "synflow"

    def __init__(self, *, net_kwargs: Mapping[str, Any] | None = None, input_shape: Sequence[int] = (1, 3, 32, 32),
                 seed: int = 0) -> None:
        super().__init__()
        if len(tuple(input_shape)) != 4:
            raise ConfigError(f"input_shape must be (N, C, H, W), got {tuple(input_shape)}")
        self.net_kwargs, self.input_shape, self.seed = dict(net_kwargs or {}), tuple(input_shape), seed

    @property
    def objectives(self) -> tuple[Objective, ...]:
        return (Objective("synflow", "max"),)

    def _evaluate(self, archs: list) -> list[dict[str, float]]:
        scores = []
        for arch in archs:
            torch.manual_seed(self.seed)
            scores.append({"synflow": synflow_score(self.space.build(arch, **self.net_kwargs), self.input_shape)})
        return scores


def naswot_score(model: torch.nn.Module, images: torch.Tensor) -> float:
    """``log |det K|`` of ``model``'s ReLU activation codes on ``images`` (N, C, H, W), N >= 2 (float64).

    ``K = sum over ReLUs of c c^T + (1 - c)(1 - c)^T`` with ``c`` (N, units) the 0/1 codes of each ReLU's
    output; the network runs once, in training mode (batch statistics), without gradients. Its training
    flags are restored. As in the authors' code the codes are ``x > 0`` per unit; their code counts only
    the ReLUs a backward pass reaches, this counts every ReLU that runs (the same set in networks whose
    every branch reaches the output, as NAS-Bench-201's).
    """
    if len(images) < 2:
        raise ConfigError(f"NASWOT needs a batch of at least 2 images, got {len(images)}")
    kernel = torch.zeros(len(images), len(images), dtype=torch.float64)

    def record(module, inputs, output) -> None:
        codes = (output.detach() > 0).flatten(1).float()
        kernel.add_((codes @ codes.t() + (1 - codes) @ (1 - codes).t()).double())

    relus = [m for m in model.modules() if isinstance(m, (torch.nn.ReLU, torch.nn.ReLU6))]
    if not relus:
        raise ConfigError(f"{type(model).__name__} has no ReLU to read activation codes from")
    hooks = [m.register_forward_hook(record) for m in relus]
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
    sign, logdet = torch.linalg.slogdet(kernel)
    return float(logdet) if sign > 0 else -math.inf


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
    C=8, N=1): see the README's ranking table.
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
        import numpy as np

        from evonas.data import Subset, dataset_family, default_transforms, get_dataset

        base = get_dataset(self.dataset, root=self.root)
        _, eval_tf = default_transforms(dataset_family(base))
        if len(base) < self.batch_size:
            raise ConfigError(f"{self.dataset} has {len(base)} images, fewer than batch_size={self.batch_size}")
        chosen = np.random.default_rng(self.seed).permutation(len(base))[:self.batch_size]
        batch = Subset(base, chosen, eval_tf)
        images = torch.stack([batch[i][0] for i in range(len(batch))])
        self._images = images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images  # grey: as RGB

    def _evaluate(self, archs: list) -> list[dict[str, float]]:
        scores = []
        for arch in archs:
            torch.manual_seed(self.seed)
            scores.append({"naswot": naswot_score(self.space.build(arch, **self.net_kwargs), self._images)})
        return scores


__all__ = ["NaswotEvaluator", "SynflowEvaluator", "naswot_score", "synflow_score"]
