"""Building blocks of the SCARLET-NAS space (Chu et al., arXiv 1908.06022).

Conventions follow the released SCARLET model code
(github.com/xiaomi-automl/SCARLET-NAS, ``models/basic_ops.py`` and
``models/Scarlet_{A,B,C}.py``):

* :class:`InvertedResidual` (MBConv): 1x1 expand to ``hidden = round(in * e)``
  -> BN -> h-swish -> k x k depthwise (carries the stride) -> BN -> h-swish
  -> optional :class:`SqueezeExcite` on the *hidden* width -> 1x1 project ->
  BN (linear bottleneck, no activation) -> ``+ x`` only when stride 1 and
  in == out.
* :class:`SqueezeExcite`: global average pool -> 1x1 conv to ``hidden // 4``
  (bias) -> ReLU -> 1x1 conv back to ``hidden`` (bias) -> h-sigmoid ->
  multiply. ``hidden // 4`` is the released code's floor division.
* stem (3x3 conv + BN + ReLU6), the fixed depthwise-separable block and the
  head (1x1 conv + BN + ReLU6) use ReLU6; MBConvs use h-swish.
* :class:`Stabilizer`: SCARLET's equivariant learnable stabilizer (ELS), a
  bias-free 1x1 convolution with no activation and no BN that replaces the
  skip choice in the supernet only; exported models use a plain identity,
  as the released SCARLET models do.

h-swish(x) = x * relu6(x + 3) / 6 and h-sigmoid(x) = relu6(x + 3) / 6
(MobileNetV3); torch's ``nn.Hardswish`` / ``nn.Hardsigmoid`` compute exactly
these, so they are used directly.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from evonas.errors import ConfigError
from evonas.spaces.pointwise import PointwiseConv

#: h-swish, x * relu6(x + 3) / 6 (torch's ``nn.Hardswish`` is this function)
HSwish = nn.Hardswish
#: h-sigmoid, relu6(x + 3) / 6 (torch's ``nn.Hardsigmoid`` is this function)
HSigmoid = nn.Hardsigmoid

#: SE reduction factor of the released code (squeeze width = hidden // 4)
SE_REDUCTION = 4


def make_divisible(value: float, divisor: int = 8) -> int:
    """``value`` rounded to the nearest multiple of ``divisor`` (at least ``divisor``), never
    more than 10 % below ``value`` (MobileNetV2's ``_make_divisible``)."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


class SqueezeExcite(nn.Module):
    """Squeeze-and-excite on ``channels`` features: (N, C, H, W) -> (N, C, H, W).

    ``s = h_sigmoid(W2 relu(W1 avgpool(x) + b1) + b2)``, output ``x * s``
    with W1: C -> C // 4 and W2: C // 4 -> C (1x1 convs with bias).
    """

    def __init__(self, channels: int, reduction: int = SE_REDUCTION):
        super().__init__()
        squeezed = channels // reduction
        if squeezed < 1:
            raise ConfigError(f"SqueezeExcite needs at least {reduction} channels, got {channels}")
        self.channels, self.squeezed = channels, squeezed
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.squeeze = nn.Conv2d(channels, squeezed, 1, bias=True)
        self.squeeze_act = nn.ReLU(inplace=True)
        self.excite = nn.Conv2d(squeezed, channels, 1, bias=True)
        self.excite_act = HSigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = self.excite_act(self.excite(self.squeeze_act(self.squeeze(self.pool(x)))))
        return x * scale


class InvertedResidual(nn.Module):
    """MBConv candidate: (N, in_ch, H, W) -> (N, out_ch, ceil(H / stride), ceil(W / stride)).

    Args:
        in_ch, out_ch: input / output channels.
        expansion: hidden width factor e; hidden = round(in_ch * e).
        kernel: depthwise kernel size k (odd; padding k // 2).
        stride: 1 or 2, applied by the depthwise conv.
        se: squeeze-excite on the hidden features.

    The residual ``x + f(x)`` is used only when stride == 1 and in_ch == out_ch.
    """

    def __init__(self, in_ch: int, out_ch: int, expansion: float, kernel: int, stride: int, se: bool):
        super().__init__()
        if stride not in (1, 2):
            raise ConfigError(f"InvertedResidual stride must be 1 or 2, got {stride}")
        if kernel < 1 or kernel % 2 == 0:
            raise ConfigError(f"InvertedResidual kernel must be odd, got {kernel}")
        hidden = int(round(in_ch * expansion))
        self.in_ch, self.out_ch, self.hidden = in_ch, out_ch, hidden
        self.expansion, self.kernel, self.stride, self.se = expansion, kernel, stride, bool(se)
        self.use_residual = stride == 1 and in_ch == out_ch
        self.expand = nn.Conv2d(in_ch, hidden, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(hidden)
        self.act1 = HSwish()
        self.depthwise = nn.Conv2d(hidden, hidden, kernel, stride, kernel // 2, groups=hidden, bias=False)
        self.bn2 = nn.BatchNorm2d(hidden)
        self.act2 = HSwish()
        self.squeeze_excite = SqueezeExcite(hidden) if se else nn.Identity()
        self.project = nn.Conv2d(hidden, out_ch, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.act1(self.bn1(self.expand(x)))
        out = self.act2(self.bn2(self.depthwise(out)))
        out = self.bn3(self.project(self.squeeze_excite(out)))
        return x + out if self.use_residual else out

    def extra_repr(self) -> str:
        return (f"in={self.in_ch}, out={self.out_ch}, hidden={self.hidden}, k={self.kernel}, "
                f"stride={self.stride}, se={self.se}, residual={self.use_residual}")


class Stabilizer(nn.Module):
    """Equivariant learnable stabilizer: ``y = A x``, a bias-free 1x1 conv (N, C_in, H, W) -> (N, C_out, H', W').

    No activation, no BN: a purely linear map, so a stabilized path is
    equivalent to the identity path (the next block's linear 1x1 expansion
    absorbs A, W (A x) = (W A) x; SCARLET §3). Used only in the supernet
    for the skip choice; exported models use a plain identity instead.

    Args:
        channels_in, channels_out: C_in / C_out (equal at width-preserving layers).
        stride: 1, or 2 at down-sampling positions (skip rule ``"all"``):
            a strided 1x1 conv, H' = ceil(H / 2).
        init: ``"random"`` (default): N(0, sqrt(2 / C_out)), the
            initialisation SCARLET's released code gives every convolution
            (He-normal, fan-out): the stabilizer starts as a random linear
            map, as in the published implementations (the public
            re-implementation in uninas leaves PyTorch's random default),
            so the stabilized supernet differs from the plain one from the
            first step. ``"identity"``: A = I when C_in == C_out, so at
            initialisation the stabilized skip equals a plain skip exactly;
            for C_in != C_out ``torch.nn.init.eye_`` (the first
            min(C_in, C_out) channels pass through, the rest are 0).
            ``"kaiming"``: He-normal for a linear map, N(0, sqrt(1 / C_out)).
    """

    INITS = ("random", "identity", "kaiming")

    def __init__(self, channels_in: int, channels_out: int, stride: int = 1, init: str = "random"):
        super().__init__()
        if init not in self.INITS:
            raise ConfigError(f"Stabilizer init must be one of {', '.join(self.INITS)}, got {init!r}")
        if stride not in (1, 2):
            raise ConfigError(f"Stabilizer stride must be 1 or 2, got {stride}")
        self.channels_in, self.channels_out, self.stride, self.init = channels_in, channels_out, stride, init
        self.conv = PointwiseConv(channels_in, channels_out, stride=stride)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-initialise A according to ``init``."""
        with torch.no_grad():
            if self.init == "identity":
                nn.init.eye_(self.conv.weight.view(self.channels_out, self.channels_in))
            elif self.init == "random":
                nn.init.normal_(self.conv.weight, 0.0, math.sqrt(2.0 / self.channels_out))
            else:
                nn.init.kaiming_normal_(self.conv.weight, mode="fan_out", nonlinearity="linear")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)

    def extra_repr(self) -> str:
        return f"{self.channels_in} -> {self.channels_out}, stride={self.stride}, init={self.init!r}"


class SkipProjection(nn.Module):
    """A skip where no identity exists (width change or stride 2) in a stand-alone model.

    Bias-free 1x1 conv with the layer's stride, no BN, no activation:
    (N, C_in, H, W) -> (N, C_out, ceil(H / stride), ceil(W / stride)). It is
    exactly the supernet's :class:`Stabilizer` at such a layer (whose weights
    :meth:`ScarletSupernet.export` copies in), kept because it cannot be
    folded away; its parameters and MACs count in the exported model.
    """

    def __init__(self, channels_in: int, channels_out: int, stride: int = 1):
        super().__init__()
        self.channels_in, self.channels_out, self.stride = channels_in, channels_out, stride
        self.conv = PointwiseConv(channels_in, channels_out, stride=stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


def stem(in_ch: int, out_ch: int, stride: int) -> nn.Sequential:
    """3x3 conv (stride) + BN + ReLU6: (N, in_ch, H, W) -> (N, out_ch, H / stride, W / stride)."""
    return nn.Sequential(nn.Conv2d(in_ch, out_ch, 3, stride, 1, bias=False), nn.BatchNorm2d(out_ch),
                         nn.ReLU6(inplace=True))


def separable_conv(in_ch: int, out_ch: int) -> nn.Sequential:
    """Fixed first block: 3x3 depthwise + BN + ReLU6, then 1x1 to ``out_ch`` + BN (no activation)."""
    return nn.Sequential(nn.Conv2d(in_ch, in_ch, 3, 1, 1, groups=in_ch, bias=False), nn.BatchNorm2d(in_ch),
                         nn.ReLU6(inplace=True), nn.Conv2d(in_ch, out_ch, 1, bias=False), nn.BatchNorm2d(out_ch))


def head(in_ch: int, out_ch: int) -> nn.Sequential:
    """1x1 conv + BN + ReLU6 before global pooling (the released ``conv_before_pooling``)."""
    return nn.Sequential(nn.Conv2d(in_ch, out_ch, 1, bias=False), nn.BatchNorm2d(out_ch), nn.ReLU6(inplace=True))


def init_weights(model: nn.Module) -> None:
    """The released SCARLET initialisation, stabilizers excepted.

    Convs: N(0, sqrt(2 / (k_h k_w C_out))), biases 0; BN: weight 1, bias 0.
    Linear: N(0, 0.01), bias 0 (torchvision's MobileNetV2 initialisation).
    The released code draws the classifier from U(+-1/sqrt(out_features)),
    which is +-0.03 for 1,000 classes but +-0.32 for 10, large enough that
    a fresh CIFAR network starts at a loss near 4.5 and single-path training
    stalls; N(0, 0.01) has the released scale at 1,000 classes and trains at
    10. Every :class:`Stabilizer` is then reset to its own ``init``
    (``"random"``, the same normal draw, by default).
    """
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            n = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
            nn.init.normal_(m.weight, 0.0, math.sqrt(2.0 / n))
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, 0.01)
            nn.init.zeros_(m.bias)
    for m in model.modules():
        if isinstance(m, Stabilizer):
            m.reset_parameters()


__all__ = ["HSwish", "HSigmoid", "SE_REDUCTION", "make_divisible", "SqueezeExcite", "InvertedResidual",
           "Stabilizer", "SkipProjection", "stem", "separable_conv", "head", "init_weights"]
