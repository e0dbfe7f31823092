"""Counting a network's size: parameters and multiply-accumulates (the one counting module of evonas).

Counting conventions, as NAS papers report them (DARTS, SCARLET, ...):

* **params**: number of trainable scalars, excluding an auxiliary head
  (parameters under any module whose name contains ``auxiliary``, e.g.
  DARTS' ``auxiliary_head``) and a search network's architecture
  parameters (``model.arch_parameters()`` when it exists).
* **flops** / **macs**: multiply-accumulates of one forward pass of one
  image in eval mode, the number the papers call "FLOPs" or "MAdds"
  (DARTS' 574M-style figures for ImageNet, SCARLET's "FLOPs"). Convolutions
  (grouped and depthwise included), linear layers and matrix products are
  counted; pooling, batch norm, element-wise ops and activations are not.
  Counted with PyTorch's ``torch.utils.flop_counter.FlopCounterMode``,
  whose FLOPs are ``2 x`` multiply-accumulates; biases are not counted.
  ``"flops"`` and ``"macs"`` are the same number under two names.
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import Iterator, Optional, Sequence, Tuple

import torch
from torch import nn

from evonas.errors import ConfigError

Shape = Tuple[int, ...]

log = logging.getLogger(__name__)


def model_device(model: nn.Module) -> torch.device:
    """Device of the model's first parameter or buffer (CPU when it has none)."""
    for tensor in model.parameters():
        return tensor.device
    for tensor in model.buffers():
        return tensor.device
    return torch.device("cpu")


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Put every submodule in eval mode, then restore each one's own ``training`` flag."""
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for module, training in modes:
            module.training = training


def check_input_shape(input_shape: Sequence[int]) -> Shape:
    shape = tuple(int(s) for s in input_shape)
    if not shape or any(s < 1 for s in shape):
        raise ConfigError(f"input_shape must be positive sizes with the batch first, got {tuple(input_shape)}")
    return shape


def count_params(model: nn.Module, *, exclude_auxiliary: bool = True) -> int:
    """Trainable scalars of ``model``; architecture parameters (``arch_parameters()``) never count.

    With ``exclude_auxiliary`` (the papers' convention for reported sizes) a
    parameter is skipped when any component of its dotted name contains
    ``auxiliary`` (DARTS' ``auxiliary_head.*``). Shared parameters are
    counted once.
    """
    arch = getattr(model, "arch_parameters", None)
    skip = {id(p) for p in arch()} if callable(arch) else set()
    total = 0
    for name, param in model.named_parameters():  # named_parameters de-duplicates shared tensors
        if id(param) in skip or exclude_auxiliary and any("auxiliary" in part for part in name.split(".")):
            continue
        total += param.numel()
    return total


def count_macs(model: nn.Module, input_shape: Sequence[int] = (1, 3, 32, 32),
               device: Optional[torch.device | str] = None) -> int:
    """Multiply-accumulates of one eval-mode forward pass, per image.

    ``input_shape`` is ``(N, C, H, W)`` (any shape whose first entry is the
    batch); the count for the batch is divided by ``N``. Convolutions
    (grouped / depthwise too: ``C_out * C_in/groups * kH * kW * H_out *
    W_out``), linear layers (``in * out``) and matmuls are counted; pooling,
    normalisation and activations are not (see the module docstring).
    Models may return a tensor or a tuple (DARTS' ``(logits, aux)``).

    With ``device=None`` the pass runs on PyTorch's ``meta`` device (shapes
    only, no arithmetic: ~20x faster than a counted CPU pass) through
    ``torch.func.functional_call`` with meta copies of the parameters and
    buffers; a model whose forward cannot run on meta tensors (it makes
    tensors without a device, reads values with ``.item()``, ...) is counted
    on its own device instead. An explicit ``device`` runs the real pass
    there (zeros as input; the model is not moved). Always under
    ``torch.no_grad()``; every submodule's training flag is restored.
    """
    shape = check_input_shape(input_shape)
    if device is None:
        try:
            flops = _count_flops_meta(model, shape)
        except Exception as exc:  # noqa: BLE001 - any failure on meta means "count for real"
            log.debug("counting MACs on the meta device failed (%s); counting on %s", exc, model_device(model))
            flops = _count_flops(model, torch.zeros(shape, device=model_device(model)))
    else:
        flops = _count_flops(model, torch.zeros(shape, device=torch.device(device)))
    return int(flops) // 2 // shape[0]


def _count_flops(model: nn.Module, x: torch.Tensor, tensors: Optional[dict] = None) -> int:
    """FLOPs (2 x MACs) of ``model(x)``, optionally with ``tensors`` swapped in for its own."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with eval_mode(model), torch.no_grad(), counter:
        if tensors is None:
            model(x)
        else:
            from torch.func import functional_call

            functional_call(model, tensors, (x,), strict=False, tie_weights=True)
    return counter.get_total_flops()


def _count_flops_meta(model: nn.Module, shape: Shape) -> int:
    """:func:`_count_flops` with meta-device parameters, buffers and input (shape propagation only)."""
    named = list(model.named_parameters(remove_duplicate=False)) + list(model.named_buffers(remove_duplicate=False))
    tensors = {name: torch.empty_like(t, device="meta") for name, t in named}
    return _count_flops(model, torch.zeros(shape, device="meta"), tensors)


__all__ = ["check_input_shape", "count_macs", "count_params", "eval_mode", "model_device"]
