"""Entangled (nested) candidate weights for one SCARLET supernet layer.

With ``weight_sharing="entangled"`` the 12 MBConv candidates of a layer do
not own separate convolutions: they are slices of one largest block
(expansion 6, 7x7 depthwise, squeeze-excite), as in Single-Path NAS
(Stamoulis et al. 2019) and Once-for-All (Cai et al. 2020):

* expansion e uses the first ``hidden = round(in * e)`` hidden channels of
  the 1x1 expansion, the depthwise conv and the 1x1 projection;
* kernel k uses the centre k x k of the 7x7 depthwise kernel;
* squeeze-excite, when on, uses the first ``hidden // 4`` squeeze channels
  (and the first ``hidden`` excite outputs) of the largest SE.

Every candidate keeps **private BatchNorms** (statistics and affine
parameters), because the slices' activation statistics differ.

Why: with independent candidates (the default, the paper's FairNAS-style
supernet) each candidate sees 1/12 of the updates, and the candidates of a
non-residual layer encode their outputs in unrelated channel orders, so a
small supernet trained for a few thousand steps scores paths near chance
(measured on cifar10-mini: 19 % after 4,500 uniform steps where one fixed
path reaches 48 % after 1,200). Entangled weights are updated on every step
and keep one channel order per layer. It is not what SCARLET describes;
it is a search-cost option, off by default.
"""
from __future__ import annotations

from typing import Dict

import torch
import torch.nn.functional as F
from torch import nn

from evonas.spaces.scarlet.blocks import SE_REDUCTION, HSigmoid, HSwish
from evonas.spaces.scarlet.models import CHOICES, EXPANSIONS, KERNELS


def _conv_init(weight: torch.Tensor, fan_out: int) -> None:
    """The released SCARLET conv initialisation, N(0, sqrt(2 / fan_out))."""
    nn.init.normal_(weight, 0.0, (2.0 / fan_out) ** 0.5)


class EntangledCandidates(nn.Module):
    """All 12 MBConv candidates of one layer as slices of the largest one.

    ``forward(x, choice)``: (N, in_ch, H, W) -> (N, out_ch, ceil(H / stride), ceil(W / stride))
    for MBConv choice 0..11 (:data:`~evonas.spaces.scarlet.models.CHOICES`);
    ``candidate_state_dict(choice)`` returns the weights of that choice in
    the layout of :class:`~evonas.spaces.scarlet.blocks.InvertedResidual`
    (for export).
    """

    def __init__(self, in_ch: int, out_ch: int, stride: int):
        super().__init__()
        self.in_ch, self.out_ch, self.stride = in_ch, out_ch, stride
        self.use_residual = stride == 1 and in_ch == out_ch
        self.hidden = {e: int(round(in_ch * e)) for e in EXPANSIONS}
        widest, kmax = self.hidden[max(EXPANSIONS)], max(KERNELS)
        squeeze = widest // SE_REDUCTION
        self.expand = nn.Parameter(torch.empty(widest, in_ch, 1, 1))
        self.depthwise = nn.Parameter(torch.empty(widest, 1, kmax, kmax))
        self.se_squeeze = nn.Parameter(torch.empty(squeeze, widest, 1, 1))
        self.se_squeeze_bias = nn.Parameter(torch.zeros(squeeze))
        self.se_excite = nn.Parameter(torch.empty(widest, squeeze, 1, 1))
        self.se_excite_bias = nn.Parameter(torch.zeros(widest))
        self.project = nn.Parameter(torch.empty(out_ch, widest, 1, 1))
        # private BN per candidate: index = CHOICES index (0..11)
        self.bn1 = nn.ModuleList(nn.BatchNorm2d(self.hidden[c.expansion]) for c in CHOICES if not c.is_skip)
        self.bn2 = nn.ModuleList(nn.BatchNorm2d(self.hidden[c.expansion]) for c in CHOICES if not c.is_skip)
        self.bn3 = nn.ModuleList(nn.BatchNorm2d(out_ch) for c in CHOICES if not c.is_skip)
        self.act, self.gate = HSwish(), HSigmoid()
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Convs N(0, sqrt(2 / (k_h k_w C_out))) at the largest shape, SE biases 0."""
        kmax = self.depthwise.shape[-1]
        _conv_init(self.expand, self.expand.shape[0])
        _conv_init(self.depthwise, self.depthwise.shape[0] * kmax * kmax)
        _conv_init(self.se_squeeze, self.se_squeeze.shape[0])
        _conv_init(self.se_excite, self.se_excite.shape[0])
        _conv_init(self.project, self.project.shape[0])
        nn.init.zeros_(self.se_squeeze_bias)
        nn.init.zeros_(self.se_excite_bias)

    def _slices(self, choice: int) -> Dict[str, torch.Tensor]:
        """The tensors of ``choice`` (views of the shared parameters)."""
        spec = CHOICES[choice]
        hidden, kmax = self.hidden[spec.expansion], self.depthwise.shape[-1]
        start = (kmax - spec.kernel) // 2
        stop = start + spec.kernel
        tensors = {"expand": self.expand[:hidden], "depthwise": self.depthwise[:hidden, :, start:stop, start:stop],
                   "project": self.project[:, :hidden]}
        if spec.se:
            squeeze = hidden // SE_REDUCTION
            tensors.update(se_squeeze=self.se_squeeze[:squeeze, :hidden],
                           se_squeeze_bias=self.se_squeeze_bias[:squeeze],
                           se_excite=self.se_excite[:hidden, :squeeze], se_excite_bias=self.se_excite_bias[:hidden])
        return tensors

    def forward(self, x: torch.Tensor, choice: int) -> torch.Tensor:
        spec, w = CHOICES[choice], self._slices(choice)
        hidden = w["expand"].shape[0]
        out = self.act(self.bn1[choice](F.conv2d(x, w["expand"])))
        out = self.act(self.bn2[choice](F.conv2d(out, w["depthwise"], stride=self.stride, padding=spec.kernel // 2,
                                                 groups=hidden)))
        if spec.se:
            scale = F.relu(F.conv2d(out.mean((2, 3), keepdim=True), w["se_squeeze"], w["se_squeeze_bias"]))
            out = out * self.gate(F.conv2d(scale, w["se_excite"], w["se_excite_bias"]))
        out = self.bn3[choice](F.conv2d(out, w["project"]))
        return x + out if self.use_residual else out

    @torch.no_grad()
    def candidate_state_dict(self, choice: int) -> Dict[str, torch.Tensor]:
        """``choice``'s weights and BN state as an ``InvertedResidual`` state dict (copies)."""
        w = self._slices(choice)
        state = {"expand.weight": w["expand"], "depthwise.weight": w["depthwise"], "project.weight": w["project"]}
        if CHOICES[choice].se:
            state.update({"squeeze_excite.squeeze.weight": w["se_squeeze"],
                          "squeeze_excite.squeeze.bias": w["se_squeeze_bias"],
                          "squeeze_excite.excite.weight": w["se_excite"],
                          "squeeze_excite.excite.bias": w["se_excite_bias"]})
        for name, bns in (("bn1", self.bn1), ("bn2", self.bn2), ("bn3", self.bn3)):
            state.update({f"{name}.{key}": value for key, value in bns[choice].state_dict().items()})
        return {key: value.clone() for key, value in state.items()}

    def extra_repr(self) -> str:
        return (f"in={self.in_ch}, out={self.out_ch}, stride={self.stride}, hidden={self.hidden}, "
                f"residual={self.use_residual}")


__all__ = ["EntangledCandidates"]
