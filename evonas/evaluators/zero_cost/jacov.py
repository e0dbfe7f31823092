"""jacov: how correlated an untrained network's input gradients are across the images of one batch.

Mellor, Turner, Storkey and Crowley, "Neural Architecture Search without
Training" (arXiv v1, 2020), as evaluated by Abdelfattah et al., ICLR 2021
(their ``jacob_cov``). Each image's row of the batch Jacobian is the gradient
of the sum of the network's outputs with respect to that image (one
backward pass of all-ones from the logits, the network in training mode);
``Sigma`` is the correlation matrix (N, N) of these rows, ``lambda`` its
eigenvalues, and the score is ``-sum(log(lambda + k) + 1 / (lambda + k))``
with ``k = 1e-5`` (``jacov``, higher is better): a network whose local
linear maps differ from image to image scores high.
"""
from __future__ import annotations

import math

import numpy as np
import torch

#: the authors' regulariser of the eigenvalues
JACOV_K = 1e-5


def jacov_score(jacobian: torch.Tensor | np.ndarray, *, k: float = JACOV_K) -> float:
    """``-sum(log(lambda + k) + 1 / (lambda + k))`` over the eigenvalues ``lambda`` of the correlation matrix
    of the rows of ``jacobian`` (N, D), N >= 2; eigenvalues below 0 (round-off) count as 0.

    ``-inf`` when a row is constant (a correlation is undefined: an image the network's output ignores).
    """
    rows = np.asarray(jacobian.detach().cpu() if isinstance(jacobian, torch.Tensor) else jacobian,
                      dtype=np.float64).reshape(len(jacobian), -1)
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = np.corrcoef(rows)
    if not np.all(np.isfinite(corr)):
        return -math.inf
    eig = np.clip(np.linalg.eigvalsh(corr), 0.0, None)
    return float(-np.sum(np.log(eig + k) + 1.0 / (eig + k)))


__all__ = ["JACOV_K", "jacov_score"]
