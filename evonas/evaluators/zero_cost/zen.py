"""Zen-score: how strongly an untrained network's pre-pooling features react to a small input change.

Lin, Wang, Sun, Chen, Sun, Qian, Li and Jin, "Zen-NAS: A Zero-Shot NAS for
High-Performance Image Recognition", ICCV 2021. With every convolution and
linear weight drawn from N(0, 1), biases 0 and BatchNorm's affine
parameters at identity, a Gaussian batch ``x`` (N, C, H, W) and a perturbed
copy ``x + gamma * eps`` (``gamma = 0.01``) go through the network in
training mode, without gradients. ``f`` is the feature map before the
global average pool (the input of the network's last
``nn.AdaptiveAvgPool2d``). The score is

    log(mean_n sum_{c,h,w} |f(x) - f(x + gamma eps)|) + sum_BN log sqrt(mean_c sigma_c^2)

with ``sigma_c^2`` the variance of each BatchNorm layer's input channel over
the batch of ``x`` (``zen``, higher is better): the second term undoes the
normalisation, which would otherwise hide how much each stage amplifies
(a BatchNorm layer whose input is constant, variance 0, is left out).
Those variances are the batch's, as in the paper's definition; the authors'
released code reads the layers' running variances after the two passes
instead (momentum 0.1 from 1, which adds a constant per BatchNorm layer).
"""
from __future__ import annotations

import copy
import math
from typing import Sequence

import torch
from torch import nn

from evonas.errors import ConfigError
from evonas.evaluators.zero_cost.layers import WEIGHT_LAYERS, mode

#: the size of the input perturbation (the paper's alpha / the code's mixup_gamma)
ZEN_GAMMA = 1e-2


def gaussian_init(model: nn.Module, generator: torch.Generator | None = None) -> nn.Module:
    """Zen-NAS' initialisation, in place: conv / linear weights N(0, 1), their biases 0, BatchNorm / GroupNorm
    weights 1 and biases 0. Returns ``model``."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, WEIGHT_LAYERS):
                m.weight.normal_(0.0, 1.0, generator=generator)
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, (nn.modules.batchnorm._BatchNorm, nn.GroupNorm)) and m.weight is not None:
                m.weight.fill_(1.0)
                m.bias.zero_()
    return model


def zen_score(model: nn.Module, input_shape: Sequence[int], *, gamma: float = ZEN_GAMMA,
              generator: torch.Generator | None = None) -> float:
    """The Zen-score of ``model`` on a Gaussian batch of ``input_shape`` (N, C, H, W), N >= 2.

    Works on a float32 copy (``model`` keeps its weights); ``generator`` draws the weights and both inputs.
    A network without an ``nn.AdaptiveAvgPool2d`` (no pre-pooling features to read) is a :class:`ConfigError`;
    ``-inf`` when the features do not move at all.
    """
    shape = tuple(input_shape)
    if len(shape) != 4 or shape[0] < 2:
        raise ConfigError(f"zen needs an input shape (N >= 2, C, H, W), got {shape}")
    net = gaussian_init(copy.deepcopy(model).float(), generator)
    pools = [m for m in net.modules() if isinstance(m, nn.AdaptiveAvgPool2d)]
    if not pools:
        raise ConfigError(f"{type(model).__name__} has no nn.AdaptiveAvgPool2d: Zen-NAS reads the features "
                          "before the global pool")
    features: list[torch.Tensor] = []
    variances: list[torch.Tensor] = []
    recording = [True]

    def keep_features(module, inputs):
        features.append(inputs[0])

    def keep_variance(module, inputs):
        if recording[0]:
            variances.append(inputs[0].double().transpose(0, 1).flatten(1).var(1, unbiased=False).mean())

    hooks = [p.register_forward_pre_hook(keep_features) for p in pools]
    hooks += [m.register_forward_pre_hook(keep_variance) for m in net.modules()
              if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    x = torch.randn(shape, generator=generator)
    noise = torch.randn(shape, generator=generator)
    try:
        with mode(net, True), torch.no_grad():
            net(x)
            clean = features[-1]
            recording[0] = False
            net(x + gamma * noise)
            moved = features[-1]
    finally:
        for hook in hooks:
            hook.remove()
    delta = float((clean.double() - moved.double()).abs().flatten(1).sum(1).mean())
    if not delta > 0:
        return -math.inf
    return math.log(delta) + sum(0.5 * math.log(float(v)) for v in variances if float(v) > 0)


__all__ = ["ZEN_GAMMA", "gaussian_init", "zen_score"]
