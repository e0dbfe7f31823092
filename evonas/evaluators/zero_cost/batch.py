"""The one mini-batch the data-dependent zero-cost proxies score every network with.

NASWOT, jacov, grad_norm, snip, GraSP and Fisher each pass one batch of
training images (and, for the loss-based ones, their labels) through the
untrained network. :func:`load_batch` picks it once, reproducibly from a
seed, with the dataset's evaluation transform (normalised, no
augmentation), so that every architecture is scored on the same images.
"""
from __future__ import annotations

import numpy as np
import torch

from evonas.errors import ConfigError


def load_batch(dataset: str = "cifar10-mini", *, root: str | None = None, batch_size: int = 64,
               seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``(images, labels)``: ``batch_size`` images of ``dataset`` (N, 3, H, W) float32, normalised, and their
    class labels (N,) int64, chosen by a permutation seeded with ``seed``; grey images are repeated as RGB.

    A dataset smaller than ``batch_size``, or ``batch_size`` below 2, is a :class:`ConfigError`.
    """
    from evonas.data import Subset, dataset_family, default_transforms, get_dataset

    if batch_size < 2:
        raise ConfigError(f"batch_size must be >= 2, got {batch_size}")
    base = get_dataset(dataset, root=root)
    _, eval_tf = default_transforms(dataset_family(base))
    if len(base) < batch_size:
        raise ConfigError(f"{dataset} has {len(base)} images, fewer than batch_size={batch_size}")
    chosen = np.random.default_rng(seed).permutation(len(base))[:batch_size]
    batch = Subset(base, chosen, eval_tf)
    pairs = [batch[i] for i in range(len(batch))]
    images = torch.stack([image for image, _ in pairs])
    labels = torch.as_tensor([int(label) for _, label in pairs], dtype=torch.long)
    return (images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images), labels


__all__ = ["load_batch"]
