"""Saliency proxies from the cross-entropy loss of one labelled batch: grad_norm, SNIP, GraSP, Fisher.

All four come from pruning at initialisation and were turned into NAS
proxies by Abdelfattah, Mehrotra, Dudziak and Lane ("Zero-Cost Proxies for
Lightweight NAS", ICLR 2021): a per-weight (or per-channel) saliency of the
untrained network, summed over the weights ``theta_l`` of its convolutions
and linear layers (:mod:`~evonas.evaluators.zero_cost.layers`), with
``g_l = dL/dtheta_l`` the gradient of the mean cross-entropy ``L`` of the
batch (network in training mode). Higher is better for each.

* ``grad_norm``: ``sum_l ||g_l||_2``, the Euclidean norms of the layers'
  gradients added up (a layer-wise sum, as the authors' code reports it).
* ``snip``: ``sum |theta * g|`` (Lee, Ajanthan and Torr, "SNIP: Single-shot
  Network Pruning based on Connection Sensitivity", ICLR 2019): the
  gradient with respect to a multiplicative mask of ones on each weight.
* ``grasp``: ``-sum theta * (H g)`` with ``H`` the Hessian of ``L`` (Wang,
  Zhang and Grosse, "Picking Winning Tickets Before Training by Preserving
  Gradient Flow", ICLR 2020), with the sign Abdelfattah et al. use so that
  higher is better; ``H g`` by a second backward pass through the gradient.
* ``fisher``: per output channel ``k`` of a layer with output ``a`` (the
  activation right after the convolution or linear map), ``Delta_k =
  1/2 mean_n (sum_{h,w} a * dL/da)_{n,k}^2`` (Theis et al., 2018; Turner et
  al., "BlockSwap", ICLR 2020); as in the authors' released code each
  channel's value counts once per weight of that channel (``C_in * kH *
  kW`` times for a convolution) in the sum.
"""
from __future__ import annotations

from typing import Sequence

import torch


def grad_norm(grads: Sequence[torch.Tensor | None]) -> float:
    """``sum_l ||g_l||_2`` over the layers' weight gradients (a layer the loss does not reach: 0)."""
    return float(sum(float(g.detach().norm()) for g in grads if g is not None))


def snip(weights: Sequence[torch.Tensor], grads: Sequence[torch.Tensor | None]) -> float:
    """``sum |theta * g|`` over the layers' weights and their gradients."""
    return float(sum(float((w.detach() * g.detach()).abs().sum()) for w, g in zip(weights, grads) if g is not None))


def grasp(weights: Sequence[torch.Tensor], hessian_grads: Sequence[torch.Tensor | None]) -> float:
    """``-sum theta * (H g)`` over the layers' weights and the Hessian-gradient products ``H g``."""
    return float(-sum(float((w.detach() * hg.detach()).sum())
                      for w, hg in zip(weights, hessian_grads) if hg is not None))


def channel_fisher(activation: torch.Tensor, activation_grad: torch.Tensor) -> torch.Tensor:
    """``Delta_k = 1/2 mean_n (sum over positions of a * dL/da)_{n,k}^2`` (C,) of one layer's output ``a``
    (N, C, ...) and its gradient."""
    product = (activation.detach() * activation_grad.detach()).double()
    per_image = product.flatten(2).sum(2) if product.dim() > 2 else product
    return 0.5 * per_image.pow(2).mean(0)


def fisher(deltas: Sequence[torch.Tensor], weights: Sequence[torch.Tensor]) -> float:
    """``sum_l sum_k Delta_{l,k} * (weights per output channel of layer l)``: the layers' channel saliencies
    :func:`channel_fisher` (C_out,), each counted once per weight of its channel."""
    return float(sum(float(d.sum()) * (w.numel() // w.shape[0]) for d, w in zip(deltas, weights)))


__all__ = ["channel_fisher", "fisher", "grad_norm", "grasp", "snip"]
