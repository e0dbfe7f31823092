"""Cost of an architecture: parameters, multiply-adds ("FLOPs") and latency.

Counting conventions for params and flops: :mod:`evonas.counting` (one counting module for the library).

* **latency**: median wall-clock milliseconds of one forward pass at
  ``input_shape`` (batch included) on the evaluator's device.
* **onnx_latency**: the same in onnxruntime, on the network exported with
  ``torch.onnx`` (:mod:`evonas.deploy.onnx`): the runtime many deployments
  use, with its own fused kernels, so that a hardware-aware search targets
  it rather than eager PyTorch. Needs ``pip install "evonas[onnx]"``.

All cost objectives are minimised.
"""
from __future__ import annotations

import logging
import statistics
import time
from typing import Any, Mapping, Optional, Sequence

import torch
from torch import nn

from evonas.counting import check_input_shape, count_macs, count_params, eval_mode, model_device
from evonas.errors import ConfigError
from evonas.evaluators.base import Evaluator, Objective
from evonas.registry import evaluators

#: metric names :class:`CostEvaluator` accepts, with their units
COST_METRICS = {
    "params": "parameters (count, auxiliary head excluded)",
    "flops": "multiply-adds per image (the papers' 'FLOPs')",
    "macs": "multiply-adds per image (same number as 'flops')",
    "latency": "median forward time in milliseconds",
    "onnx_latency": "median onnxruntime run time in milliseconds",
}


log = logging.getLogger(__name__)


def measure_latency(model: nn.Module, input_shape: Sequence[int] = (1, 3, 32, 32),
                    device: Optional[torch.device | str] = None, *, repeats: int = 20,
                    warmup: int = 5) -> float:
    """Median wall-clock time of one forward pass, in milliseconds.

    Forward passes at ``input_shape`` (batch included: the time is for the
    whole batch) in eval mode under ``torch.no_grad()``; ``warmup`` untimed
    passes first, then the median of ``repeats`` timed ones. The input is
    created on ``device`` (default: the model's device; move the model
    there first). On CUDA each pass is bracketed by
    ``torch.cuda.synchronize()`` so the time covers the kernels, not their
    launch. Training flags are restored afterwards.
    """
    if repeats < 1 or warmup < 0:
        raise ConfigError(f"latency needs repeats >= 1 and warmup >= 0, got {repeats} and {warmup}")
    shape = check_input_shape(input_shape)
    device = torch.device(device) if device is not None else model_device(model)
    x = torch.zeros(shape, device=device)
    cuda = device.type == "cuda"
    times = []
    with eval_mode(model), torch.no_grad():
        for _ in range(warmup):
            model(x)
        for _ in range(repeats):
            if cuda:
                torch.cuda.synchronize(device)
            start = time.perf_counter()
            model(x)
            if cuda:
                torch.cuda.synchronize(device)
            times.append(time.perf_counter() - start)
    return 1000.0 * statistics.median(times)


@evaluators.register("cost")
class CostEvaluator(Evaluator):
    """Objectives from the built network alone (no training): params, FLOPs, latency.

    Keyword-only arguments, stored as given (nothing is built before
    :meth:`evaluate`):

    * ``metrics``: names from ``"params"``, ``"flops"``, ``"macs"``,
      ``"latency"`` (default ``("params", "flops")``); each becomes a
      minimised objective of the same name. ``"flops"`` and ``"macs"`` are
      both multiply-adds per image (see :mod:`evonas.evaluators.cost`).
    * ``input_shape``: ``(N, C, H, W)`` the cost is measured at (default
      ``(1, 3, 32, 32)``); FLOPs are per image, latency per batch.
    * ``net_kwargs``: keyword arguments for ``space.build(arch, **net_kwargs)``
      (default ``{}``: the space's defaults, e.g. DARTS C=36, 20 cells).
    * ``device``: where latency is measured, ``"auto"`` (default), ``"cpu"``,
      ``"cuda"``, ... (:func:`evonas.runtime.device.resolve_device`); FLOPs
      are counted on the meta device (shapes only) wherever possible.
    * ``latency_repeats`` / ``latency_warmup``: timed / untimed passes.
    * ``onnx_device``: where onnxruntime runs for ``onnx_latency``: ``"cpu"``
      (default) or ``"cuda"`` (needs ``onnxruntime-gpu``; checked at set-up).
    * ``onnx_exporter``: how ``onnx_latency`` exports each network,
      ``"torchscript"`` (default here: 3-24x quicker to export on the
      DARTS, NB201 and SCARLET networks, deprecated by torch) or
      ``"dynamo"`` (torch.export, what ``evonas export`` writes).

    One network is built per architecture (the search layer memoises
    results per architecture key).
    """

    name = "cost"

    def __init__(self, *, metrics: Sequence[str] = ("params", "flops"),
                 input_shape: Sequence[int] = (1, 3, 32, 32),
                 net_kwargs: Optional[Mapping[str, Any]] = None, device: Any = "auto",
                 latency_repeats: int = 20, latency_warmup: int = 5, onnx_exporter: str = "torchscript",
                 onnx_device: str = "cpu") -> None:
        super().__init__()
        if isinstance(metrics, str):
            metrics = (metrics,)
        metrics = tuple(metrics)
        unknown = [m for m in metrics if m not in COST_METRICS]
        if unknown or not metrics:
            what = f"unknown cost metric(s) {unknown}" if unknown else "no cost metric given"
            raise ConfigError(f"{what}; valid: {', '.join(COST_METRICS)}")
        if len(set(metrics)) != len(metrics):
            raise ConfigError(f"cost metrics repeat a name: {metrics!r}")
        if latency_repeats < 1 or latency_warmup < 0:
            raise ConfigError(f"latency_repeats must be >= 1 and latency_warmup >= 0, "
                              f"got {latency_repeats} and {latency_warmup}")
        self.metrics = metrics
        self.input_shape = check_input_shape(input_shape)
        self.net_kwargs = dict(net_kwargs or {})
        self.device = device
        self.latency_repeats = int(latency_repeats)
        self.latency_warmup = int(latency_warmup)
        from evonas.deploy.onnx import EXPORTERS

        if onnx_exporter not in EXPORTERS:
            raise ConfigError(f"onnx_exporter must be one of {', '.join(EXPORTERS)}, got {onnx_exporter!r}")
        if onnx_device not in ("cpu", "cuda"):
            raise ConfigError(f"onnx_device must be 'cpu' or 'cuda', got {onnx_device!r}")
        self.onnx_exporter, self.onnx_device = onnx_exporter, onnx_device
        self._device: Optional[torch.device] = None

    @property
    def objectives(self) -> tuple[Objective, ...]:
        return tuple(Objective(m, "min") for m in self.metrics)

    @property
    def wants_gpu(self) -> bool:
        return ("latency" in self.metrics and self.device != "cpu") or self.onnx_device == "cuda"

    def _setup(self, space) -> None:
        from evonas.runtime.device import resolve_device

        self._device = resolve_device(self.device)
        if "onnx_latency" in self.metrics:  # fail now, not at the first evaluation
            from evonas.deploy.onnx import check_onnx_runtime

            check_onnx_runtime(self.onnx_device)

    def _evaluate(self, archs: list[Any]) -> list[dict[str, float]]:
        return [self._cost(arch) for arch in archs]

    def _cost(self, arch: Any) -> dict[str, float]:
        """Build ``arch`` once and measure every requested metric on it."""
        model = self.space.build(arch, **self.net_kwargs)
        result: dict[str, float] = {}
        if "params" in self.metrics:
            result["params"] = float(count_params(model))
        if {"flops", "macs"} & set(self.metrics):
            macs = float(count_macs(model, self.input_shape))  # meta device: shapes only
            for name in ("flops", "macs"):
                if name in self.metrics:
                    result[name] = macs
        if "latency" in self.metrics:
            model = model.to(self._device)
            result["latency"] = measure_latency(model, self.input_shape, self._device,
                                                repeats=self.latency_repeats, warmup=self.latency_warmup)
        if "onnx_latency" in self.metrics:
            from evonas.deploy.onnx import onnx_latency, onnx_session, to_onnx

            session = onnx_session(to_onnx(model.cpu(), self.input_shape, exporter=self.onnx_exporter),
                                   device=self.onnx_device)
            result["onnx_latency"] = onnx_latency(session, self.input_shape, repeats=self.latency_repeats,
                                                  warmup=self.latency_warmup)
        return result


@evaluators.register("analytic-cost")
class AnalyticCostEvaluator(Evaluator):
    """``params`` and ``flops`` (multiply-accumulates per image), both minimised, counted by the space without
    building a network (its ``analytic_cost`` capability, :class:`~evonas.spaces.base.HasAnalyticCost`: the
    NAS-Bench-201 and DARTS spaces): microseconds an architecture where ``cost`` builds each network, e.g. as
    a screen's features (:mod:`evonas.screening`).

    Args:
        metrics: names from ``"params"``, ``"flops"`` (default both).
        num_classes, resolution: the network's outputs and its input's height and width (pixels).
    """

    name = "analytic-cost"

    def __init__(self, *, metrics: Sequence[str] = ("params", "flops"), num_classes: int = 10,
                 resolution: int = 32) -> None:
        super().__init__()
        metrics = (metrics,) if isinstance(metrics, str) else tuple(metrics)
        unknown = [m for m in metrics if m not in ("params", "flops")]
        if unknown or not metrics:
            what = f"unknown analytic cost metric(s) {unknown}" if unknown else "no analytic cost metric given"
            raise ConfigError(f"{what}; valid: params, flops")
        self.metrics, self.num_classes, self.resolution = metrics, int(num_classes), int(resolution)

    @property
    def objectives(self) -> tuple[Objective, ...]:
        return tuple(Objective(m, "min") for m in self.metrics)

    def _setup(self, space) -> None:
        from evonas.spaces.base import HasAnalyticCost, require

        require(space, HasAnalyticCost, "the analytic-cost evaluator (the cost evaluator builds each network)")

    def _evaluate(self, archs: list[Any]) -> list[dict[str, float]]:
        out = []
        for arch in archs:
            cost = self.space.analytic_cost(arch, num_classes=self.num_classes, resolution=self.resolution)
            out.append({m: float(cost[m]) for m in self.metrics})
        return out


__all__ = ["COST_METRICS", "AnalyticCostEvaluator", "CostEvaluator", "count_macs", "count_params",
           "measure_latency"]
