"""Every zero-cost proxy of a network, computed together: one forward pass shared by the data-dependent ones.

:func:`compute_proxies` scores one untrained network with any set of
:data:`PROXIES`. The data-dependent proxies share a single forward pass of
the batch in training mode (BatchNorm normalises by the batch's statistics,
as every author's code runs them): NASWOT reads the ReLU codes during it,
jacov takes one backward pass of all-ones from the logits to the input,
grad_norm, SNIP and Fisher share one backward pass of the cross-entropy
loss, and GraSP adds the second-order pass it needs to that one. SynFlow
and Zen-NAS need their own passes (absolute weights and an all-ones input;
Gaussian weights and inputs), each on a copy of the network. ``params`` and
``flops`` are the network's parameter count and multiply-accumulates per
image (:mod:`evonas.counting`), the baselines every proxy is measured
against. Every value is "higher is better".

:func:`proxy_values` scores a batch of architectures of a space and returns
one array per proxy, for reuse outside an evaluator (a surrogate's
features).
"""
from __future__ import annotations

import math
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from evonas.errors import ConfigError
from evonas.evaluators.zero_cost import gradients
from evonas.evaluators.zero_cost.jacov import jacov_score
from evonas.evaluators.zero_cost.layers import logits as logits_of
from evonas.evaluators.zero_cost.layers import mode, weight_layers
from evonas.evaluators.zero_cost.naswot import ActivationCodeKernel
from evonas.evaluators.zero_cost.synflow import synflow_score
from evonas.evaluators.zero_cost.zen import ZEN_GAMMA, zen_score

#: every proxy :func:`compute_proxies` knows, with what it is (all: higher is better)
PROXIES: dict[str, str] = {
    "naswot": "log |det K| of the batch's ReLU activation codes (Mellor et al., ICML 2021)",
    "jacov": "correlation of the input gradients across the batch (Mellor et al., 2020)",
    "grad_norm": "sum of the layers' loss-gradient norms (Abdelfattah et al., ICLR 2021)",
    "snip": "sum |theta * dL/dtheta| (Lee et al., ICLR 2019)",
    "grasp": "-sum theta * H g (Wang et al., ICLR 2020)",
    "fisher": "channel-wise Fisher information of the activations (Turner et al., ICLR 2020)",
    "synflow": "log synaptic flow, absolute weights, all-ones input (Tanaka et al., NeurIPS 2020)",
    "zen": "log feature response to an input perturbation, BN-rescaled (Lin et al., ICCV 2021)",
    "params": "parameter count",
    "flops": "multiply-accumulates per image",
}
#: the proxies that read the forward pass of the data batch
DATA_PROXIES = frozenset({"naswot", "jacov", "grad_norm", "snip", "grasp", "fisher"})
#: the proxies that need the gradient of the batch's cross-entropy loss
LOSS_PROXIES = frozenset({"grad_norm", "snip", "grasp", "fisher"})


def check_proxies(names: Iterable[str] | str, *, what: str = "proxies") -> tuple[str, ...]:
    """``names`` as a tuple (order kept, repeats dropped); an unknown or empty set is a one-line
    :class:`ConfigError` naming the valid proxies."""
    names = (names,) if isinstance(names, str) else tuple(names)
    unknown = [n for n in names if n not in PROXIES]
    if unknown or not names:
        problem = f"unknown proxy {unknown[0]!r}" if unknown else f"no {what} given"
        raise ConfigError(f"{problem}; valid: {', '.join(PROXIES)}")
    return tuple(dict.fromkeys(names))


def compute_proxies(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor | None = None,
                    proxies: Iterable[str] = tuple(PROXIES), *, generator: torch.Generator | None = None,
                    zen_gamma: float = ZEN_GAMMA) -> dict[str, float]:
    """``{proxy: value}`` of the untrained ``model`` for each of ``proxies`` (all of :data:`PROXIES` by default).

    Args:
        model: the network, taking ``images`` and returning logits (N, classes) or a tuple whose first entry
            they are. Its weights and training flags are left as they were (SynFlow and Zen work on copies;
            BatchNorm's running statistics do move, as in any training-mode pass).
        images: the batch (N, C, H, W), N >= 2; SynFlow uses one all-ones image of its shape, Zen a Gaussian
            batch of its shape.
        labels: (N,) class indices, needed by the loss proxies (grad_norm, snip, grasp, fisher).
        generator: draws Zen's weights and inputs (None: torch's global generator).
        zen_gamma: the size of Zen's input perturbation.

    Returns floats; a proxy that is undefined for the network (every image's codes or gradients alike, a
    network whose output ignores its input) is ``-inf``, which ranks last.
    """
    wanted = check_proxies(proxies)
    if len(images) < 2:
        raise ConfigError(f"zero-cost proxies need a batch of at least 2 images, got {len(images)}")
    if LOSS_PROXIES & set(wanted) and labels is None:
        raise ConfigError(f"{', '.join(sorted(LOSS_PROXIES & set(wanted)))} need the batch's labels")
    values: dict[str, float] = {}
    if DATA_PROXIES & set(wanted):
        values.update(_data_pass(model, images, labels, set(wanted)))
    if "synflow" in wanted:
        values["synflow"] = synflow_score(model, (1, *images.shape[1:]))
    if "zen" in wanted:
        values["zen"] = zen_score(model, tuple(images.shape), gamma=zen_gamma, generator=generator)
    if "params" in wanted:
        from evonas.counting import count_params

        values["params"] = float(count_params(model))
    if "flops" in wanted:
        from evonas.counting import count_macs

        values["flops"] = float(count_macs(model, (1, *images.shape[1:])))
    return {name: values[name] for name in wanted}


def _data_pass(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor | None,
               wanted: set[str]) -> dict[str, float]:
    """NASWOT, jacov and the loss proxies of ``wanted`` from one training-mode forward pass of ``images``."""
    values: dict[str, float] = {}
    hooks = []
    kernel = ActivationCodeKernel(len(images)) if "naswot" in wanted else None
    layers = weight_layers(model)
    outputs: dict[int, list[torch.Tensor]] = {}
    loss_wanted = LOSS_PROXIES & wanted
    if labels is not None and loss_wanted:
        _check_labels(model, labels)

    def keep_output(index: int):
        def hook(module, inputs, output):
            outputs.setdefault(index, []).append(output)
            return output.clone()  # what runs on: an in-place op after the layer leaves ``output`` intact
        return hook

    try:
        if kernel is not None:
            hooks += kernel.attach(model)
        if "fisher" in wanted:
            hooks += [layer.register_forward_hook(keep_output(i)) for i, layer in enumerate(layers)]
        needs_grad = bool(loss_wanted or "jacov" in wanted)
        x = images.detach().clone().requires_grad_("jacov" in wanted)
        with mode(model, True), torch.set_grad_enabled(needs_grad):
            out = logits_of(model(x))
    finally:
        for hook in hooks:
            hook.remove()
    if kernel is not None:
        values["naswot"] = kernel.score()
    if not needs_grad:
        return values
    if "jacov" in wanted:
        (jacobian,) = torch.autograd.grad(out.sum(), x, retain_graph=bool(loss_wanted))
        values["jacov"] = jacov_score(jacobian.flatten(1))
    if loss_wanted:
        loss = F.cross_entropy(out, labels)
        weights = [layer.weight for layer in layers]
        acts = [(i, a) for i in sorted(outputs) for a in outputs[i]]
        grads = torch.autograd.grad(loss, weights + [a for _, a in acts], create_graph="grasp" in wanted,
                                    allow_unused=True)
        weight_grads, act_grads = grads[:len(weights)], grads[len(weights):]
        if "grad_norm" in wanted:
            values["grad_norm"] = gradients.grad_norm(weight_grads)
        if "snip" in wanted:
            values["snip"] = gradients.snip(weights, weight_grads)
        if "fisher" in wanted:
            deltas = [torch.zeros(w.shape[0], dtype=torch.float64) for w in weights]
            for (i, act), grad in zip(acts, act_grads):
                if grad is not None:
                    deltas[i] += gradients.channel_fisher(act, grad)
            values["fisher"] = gradients.fisher(deltas, weights)
        if "grasp" in wanted:
            used = [(w, g) for w, g in zip(weights, weight_grads) if g is not None]
            z = sum((g.detach() * g).sum() for _, g in used)
            hessian_grads = torch.autograd.grad(z, [w for w, _ in used], allow_unused=True) if used else []
            values["grasp"] = gradients.grasp([w for w, _ in used], hessian_grads)
    return {name: (value if math.isfinite(value) or value == -math.inf else -math.inf)
            for name, value in values.items()}


def _check_labels(model: torch.nn.Module, labels: torch.Tensor) -> None:
    linear = [m for m in weight_layers(model) if isinstance(m, torch.nn.Linear)]
    if linear and int(labels.max()) >= linear[-1].out_features:
        raise ConfigError(f"the batch has label {int(labels.max())} but the network's last linear layer has "
                          f"{linear[-1].out_features} outputs; build it with as many classes as the dataset")


def proxy_values(space, archs: Sequence[Any], *, proxies: Iterable[str] = tuple(PROXIES),
                 images: torch.Tensor | None = None, labels: torch.Tensor | None = None,
                 net_kwargs: Mapping[str, Any] | None = None, seed: int = 0,
                 zen_gamma: float = ZEN_GAMMA) -> dict[str, np.ndarray]:
    """``{proxy: array (len(archs),)}``: :func:`compute_proxies` of ``space.build(arch, **net_kwargs)`` for each
    architecture (higher is better for every proxy).

    Each network is initialised from torch seed ``seed`` (torch's global generator is left as it was) and
    Zen draws from a generator seeded with ``seed``, so an architecture gets the same values in any batch.
    ``images`` / ``labels`` default to :func:`~evonas.evaluators.zero_cost.batch.load_batch` (64 cifar10-mini
    images picked with ``seed``).
    """
    wanted = check_proxies(proxies)
    if images is None:
        from evonas.evaluators.zero_cost.batch import load_batch

        images, labels = load_batch(seed=seed)
    rows = [score_architecture(space, arch, images, labels, wanted, net_kwargs=net_kwargs, seed=seed,
                               zen_gamma=zen_gamma) for arch in archs]
    return {name: np.asarray([row[name] for row in rows], dtype=float) for name in wanted}


def score_architecture(space, arch: Any, images: torch.Tensor, labels: torch.Tensor | None,
                       proxies: Iterable[str], *, net_kwargs: Mapping[str, Any] | None = None, seed: int = 0,
                       zen_gamma: float = ZEN_GAMMA) -> dict[str, float]:
    """:func:`compute_proxies` of ``space.build(arch, **net_kwargs)``, initialised from torch seed ``seed``."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = space.build(arch, **dict(net_kwargs or {}))
    return compute_proxies(model, images, labels, proxies, generator=torch.Generator().manual_seed(seed),
                           zen_gamma=zen_gamma)


__all__ = ["DATA_PROXIES", "LOSS_PROXIES", "PROXIES", "check_proxies", "compute_proxies", "proxy_values",
           "score_architecture"]
