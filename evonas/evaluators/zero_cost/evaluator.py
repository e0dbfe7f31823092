"""The ``zero-cost`` evaluator: any set of zero-cost proxies of each architecture's untrained network.

Each proxy is an objective to maximise (a proxy of accuracy: more
parameters or FLOPs count as better here). The proxies and how they share
their passes: :mod:`~evonas.evaluators.zero_cost.proxies`.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import torch

from evonas.core import Objective
from evonas.errors import ConfigError
from evonas.evaluators.base import Evaluator
from evonas.evaluators.zero_cost.batch import load_batch
from evonas.evaluators.zero_cost.proxies import PROXIES, check_proxies, score_architecture
from evonas.evaluators.zero_cost.zen import ZEN_GAMMA
from evonas.registry import evaluators


class ProxyEvaluator(Evaluator):
    """What the zero-cost evaluators share: the batch (loaded in :meth:`setup`; the data-free proxies read its
    shape), the network options and the seed. Subclasses say which proxies to compute (:attr:`computed`)."""

    operational_params = frozenset({"root"})  #: where the dataset's files are, not which data

    def _store(self, dataset: str, root: str | None, batch_size: int, net_kwargs: Mapping[str, Any] | None,
               seed: int, zen_gamma: float) -> None:
        if batch_size < 2:
            raise ConfigError(f"batch_size must be >= 2, got {batch_size}")
        if not zen_gamma > 0:
            raise ConfigError(f"zen_gamma must be > 0, got {zen_gamma}")
        self.dataset, self.root, self.batch_size = dataset, root, int(batch_size)
        self.net_kwargs, self.seed, self.zen_gamma = dict(net_kwargs or {}), seed, float(zen_gamma)
        self._images: torch.Tensor | None = None
        self._labels: torch.Tensor | None = None

    @property
    def computed(self) -> tuple[str, ...]:
        """The proxies computed for each architecture."""
        raise NotImplementedError

    def _load_batch(self) -> None:
        # the data-free proxies (synflow, zen, params, flops) read the batch's shape only
        self._images, self._labels = load_batch(self.dataset, root=self.root, batch_size=self.batch_size,
                                                seed=self.seed)

    def _setup(self, space) -> None:
        self._load_batch()

    def proxy_rows(self, archs: Sequence[Any]) -> list[dict[str, float]]:
        """``{proxy: value}`` of :attr:`computed` for each architecture (after :meth:`setup`)."""
        return [score_architecture(self.space, arch, self._images, self._labels, self.computed,
                                   net_kwargs=self.net_kwargs, seed=self.seed, zen_gamma=self.zen_gamma)
                for arch in archs]


@evaluators.register("zero-cost")
class ZeroCostEvaluator(ProxyEvaluator):
    """Zero-cost proxies of ``space.build(arch, **net_kwargs)`` at initialisation, each an objective to maximise.

    Args:
        proxies: which (default: every one of :data:`~evonas.evaluators.zero_cost.proxies.PROXIES`: naswot,
            jacov, grad_norm, snip, grasp, fisher, synflow, zen, params, flops).
        dataset, root, batch_size: the batch the data-dependent proxies read (default 64 ``cifar10-mini``
            images with their labels; the network must have as many outputs as the dataset has classes).
        net_kwargs: passed to ``space.build``; on NAS-Bench-201 ``{"C": 8, "N": 1}`` is 20x faster than the
            benchmark's network and ranks about as well.
        seed: picks the batch, seeds each network's initialisation and Zen's draws.
        zen_gamma: the size of Zen's input perturbation (the paper's 0.01).
    """

    name = "zero-cost"

    def __init__(self, *, proxies: Sequence[str] = tuple(PROXIES), dataset: str = "cifar10-mini",
                 root: str | None = None, batch_size: int = 64, net_kwargs: Mapping[str, Any] | None = None,
                 seed: int = 0, zen_gamma: float = ZEN_GAMMA) -> None:
        super().__init__()
        self.proxies = check_proxies(proxies)
        self._store(dataset, root, batch_size, net_kwargs, seed, zen_gamma)

    @property
    def computed(self) -> tuple[str, ...]:
        return self.proxies

    @property
    def objectives(self) -> tuple[Objective, ...]:
        return tuple(Objective(name, "max") for name in self.proxies)

    def _evaluate(self, archs: list) -> list[dict[str, float]]:
        return self.proxy_rows(archs)


__all__ = ["ProxyEvaluator", "ZeroCostEvaluator"]
