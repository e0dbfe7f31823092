"""Augmentation and normalisation pipelines.

Every evonas dataset yields images as ``uint8`` tensors of shape
``(C, H, W)``; the pipelines here turn them into normalised ``float32``
tensors of the same layout. They use ``torchvision.transforms.v2``, which
works on tensors directly, plus :class:`Cutout` (DeVries & Taylor, 2017), the
one piece torchvision lacks in the form DARTS-style training uses.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torchvision.transforms import v2

CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)
CIFAR100_MEAN = (0.5071, 0.4865, 0.4409)
CIFAR100_STD = (0.2673, 0.2564, 0.2762)
MNIST_MEAN = (0.1307,)
MNIST_STD = (0.3081,)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

#: Normalisation statistics per dataset family.
STATS = {
    "cifar10": (CIFAR10_MEAN, CIFAR10_STD),
    "cifar100": (CIFAR100_MEAN, CIFAR100_STD),
    "mnist": (MNIST_MEAN, MNIST_STD),
    "imagenet": (IMAGENET_MEAN, IMAGENET_STD),
}


class Cutout(torch.nn.Module):
    """Zero one ``length x length`` square at a uniformly random centre.

    The square is clipped at the image border, so near the edges fewer pixels
    are masked (the DARTS / DeVries & Taylor behaviour; torchvision's
    ``RandomErasing`` samples areas and aspect ratios instead). Input and
    output: float tensor ``(C, H, W)``. Uses torch's RNG, which DataLoader
    seeds per worker.
    """

    def __init__(self, length: int = 16) -> None:
        super().__init__()
        if length <= 0:
            raise ValueError(f"cutout length must be positive, got {length}")
        self.length = int(length)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        height, width = image.shape[-2:]
        cy = int(torch.randint(height, (1,)))
        cx = int(torch.randint(width, (1,)))
        half = self.length // 2
        y0, y1 = max(cy - half, 0), min(cy + half, height)
        x0, x1 = max(cx - half, 0), min(cx + half, width)
        image = image.clone()
        image[..., y0:y1, x0:x1] = 0.0
        return image

    def extra_repr(self) -> str:
        return f"length={self.length}"


def _to_float(mean: Sequence[float], std: Sequence[float]) -> list:
    return [v2.ToDtype(torch.float32, scale=True), v2.Normalize(mean=list(mean), std=list(std))]


def cifar_train_transform(
    *,
    mean: Sequence[float] = CIFAR10_MEAN,
    std: Sequence[float] = CIFAR10_STD,
    size: int = 32,
    padding: int = 4,
    cutout: int | None = 16,
) -> v2.Compose:
    """Random crop with zero padding, horizontal flip, normalise, then Cutout.

    ``cutout=None`` or ``0`` disables Cutout. Input ``uint8 (C, H, W)``,
    output ``float32 (C, size, size)``.
    """
    steps = [v2.RandomCrop(size, padding=padding), v2.RandomHorizontalFlip(), *_to_float(mean, std)]
    if cutout:
        steps.append(Cutout(cutout))
    return v2.Compose(steps)


def eval_transform(
    *, mean: Sequence[float] = CIFAR10_MEAN, std: Sequence[float] = CIFAR10_STD
) -> v2.Compose:
    """Normalise only (small images, validation and test)."""
    return v2.Compose(_to_float(mean, std))


def imagenet_train_transform(*, size: int = 224, mean=IMAGENET_MEAN, std=IMAGENET_STD) -> v2.Compose:
    """DARTS ImageNet training pipeline: random-resized crop, flip, colour jitter."""
    return v2.Compose(
        [
            v2.RandomResizedCrop(size, antialias=True),
            v2.RandomHorizontalFlip(),
            v2.ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4, hue=0.2),
            *_to_float(mean, std),
        ]
    )


def imagenet_eval_transform(*, size: int = 224, mean=IMAGENET_MEAN, std=IMAGENET_STD) -> v2.Compose:
    """Resize the short side to ``size / 0.875`` (256 for 224), centre-crop ``size``."""
    return v2.Compose(
        [v2.Resize(int(round(size / 0.875)), antialias=True), v2.CenterCrop(size), *_to_float(mean, std)]
    )


def default_transforms(family: str, *, cutout: int | None = 16, image_size: int | None = None):
    """Return ``(train_transform, eval_transform)`` for a dataset family.

    ``family`` is one of :data:`STATS` (``cifar10``, ``cifar100``, ``mnist``,
    ``imagenet``). Small-image families use crop + flip (+ Cutout); ImageNet
    uses the random-resized-crop pipeline at ``image_size`` (default 224).
    """
    if family not in STATS:
        raise ValueError(f"unknown dataset family {family!r}; known: {', '.join(sorted(STATS))}")
    mean, std = STATS[family]
    if family == "imagenet":
        size = image_size or 224
        return (
            imagenet_train_transform(size=size, mean=mean, std=std),
            imagenet_eval_transform(size=size, mean=mean, std=std),
        )
    size = image_size or (28 if family == "mnist" else 32)
    padding = 2 if family == "mnist" else 4
    train = cifar_train_transform(mean=mean, std=std, size=size, padding=padding, cutout=cutout)
    return train, eval_transform(mean=mean, std=std)


__all__ = ["CIFAR100_MEAN", "CIFAR100_STD", "CIFAR10_MEAN", "CIFAR10_STD", "Cutout", "IMAGENET_MEAN", "IMAGENET_STD",
           "MNIST_MEAN", "MNIST_STD", "STATS", "cifar_train_transform", "default_transforms", "eval_transform",
           "imagenet_eval_transform", "imagenet_train_transform"]
