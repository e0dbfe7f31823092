"""NASWOT reads activation codes in training mode: BatchNorm normalises with the batch's own statistics, as in
the authors' code (issue 27, item 10: a score computed in eval mode used to pass every test)."""
from __future__ import annotations

import math

import pytest
import torch

from evonas.evaluators.zero_cost import naswot_score


def _log_abs_det_of_codes(model: torch.nn.Module, images: torch.Tensor) -> float:
    codes = (model(images).detach().flatten(1) > 0).double()
    kernel = codes @ codes.t() + (1 - codes) @ (1 - codes).t()
    sign, logdet = torch.linalg.slogdet(kernel)
    return float(logdet) if sign > 0 else -math.inf


def test_naswot_uses_the_batch_statistics_of_batchnorm():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 6, 3, padding=1), torch.nn.BatchNorm2d(6), torch.nn.ReLU())
    with torch.no_grad():  # running statistics far from this batch's: in eval mode every code would be 0
        net[1].running_mean.fill_(100.0)
        net[1].running_var.fill_(1e-2)
    images = torch.randn(6, 3, 4, 4)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    net.eval()
    score = naswot_score(net, images)

    reference = net.train()
    with torch.no_grad():
        expected = _log_abs_det_of_codes(reference, images)
    net.load_state_dict(before)
    with torch.no_grad():
        in_eval_mode = _log_abs_det_of_codes(net.eval(), images)
    assert math.isfinite(expected) and in_eval_mode == -math.inf  # the two modes tell the images apart differently
    assert score == pytest.approx(expected, rel=1e-12)
    assert not net.training
