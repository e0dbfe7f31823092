"""Deterministic, disjoint splits of a labelled dataset.

DARTS-style search trains weights on one half of the training set and scores
architectures on the other; a final held-out part gives the test figure.
Splits are stratified by label (each part keeps the class proportions, which
matters on small data) and reproducible from a seed.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset


def split_indices(labels: Sequence[int] | np.ndarray, fractions: Sequence[float], *, seed: int = 0,
                  stratify: bool = True) -> list[np.ndarray]:
    """Split ``range(len(labels))`` into disjoint index arrays.

    Args:
        labels: class label per sample, shape ``(N,)``.
        fractions: share of the samples in each part, e.g. ``(0.5, 0.5)`` or
            ``(0.45, 0.45, 0.1)``; each in ``(0, 1]``, summing to at most 1
            (when the sum is 1, every sample lands in exactly one part).
        seed: the same seed and labels always give the same split.
        stratify: split each class separately so every part keeps the class
            proportions.

    Returns:
        One sorted ``int64`` array of indices per fraction.
    """
    labels = np.asarray(labels)
    fractions = [float(f) for f in fractions]
    if not fractions or any(f <= 0 or f > 1 for f in fractions):
        raise ValueError(f"split fractions must each be in (0, 1], got {fractions}")
    total = sum(fractions)
    if total > 1 + 1e-9:
        raise ValueError(f"split fractions sum to {total:.4f} > 1")
    rng = np.random.default_rng(seed)
    groups = [np.flatnonzero(labels == c) for c in np.unique(labels)] if stratify else [np.arange(len(labels))]
    parts: list[list[np.ndarray]] = [[] for _ in fractions]
    cumulative = np.cumsum([0.0, *fractions])
    for members in groups:
        members = rng.permutation(members)
        bounds = np.rint(cumulative * len(members)).astype(int)
        for k in range(len(fractions)):
            parts[k].append(members[bounds[k]:bounds[k + 1]])
    return [np.sort(np.concatenate(p)).astype(np.int64) for p in parts]


class Subset(Dataset):
    """A view of ``base`` restricted to ``indices``, with its own transform.

    The base dataset yields raw ``uint8 (C, H, W)`` tensors; each subset
    applies its own transform, so the training part can augment while the
    validation part of the same data only normalises.
    """

    def __init__(self, base: Dataset, indices: Sequence[int] | np.ndarray, transform=None) -> None:
        self.base = base
        self.indices = np.asarray(indices, dtype=np.int64)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int):
        image, label = self.base[int(self.indices[i])]
        if self.transform is not None:
            image = self.transform(image)
        return image, label

    @property
    def targets(self) -> np.ndarray:
        """Labels of the samples in this subset, shape ``(len(self),)``."""
        return np.asarray(labels_of(self.base))[self.indices]


def labels_of(dataset: Dataset) -> np.ndarray:
    """Labels of every sample, without decoding images where the dataset allows."""
    targets = getattr(dataset, "targets", None)
    if targets is not None:
        return np.asarray(targets, dtype=np.int64)
    return np.asarray([int(dataset[i][1]) for i in range(len(dataset))], dtype=np.int64)


class SeededSamples:
    """``dataset`` whose item ``i`` of epoch ``epoch`` is drawn with its own seed, ``(seed, epoch, i)``.

    Random augmentations (crops, flips, Cutout) then depend on which image
    is loaded in which epoch, not on which process loads it: the same seed
    gives the same batches with ``workers=0`` (in the training process) and
    any number of DataLoader workers. torch's global generator is forked
    around each item, so the training process' own random stream (dropout,
    drop-path) is left as it was.
    """

    def __init__(self, dataset, seed: int, epoch: int = 0) -> None:
        self.dataset, self.seed, self.epoch = dataset, int(seed), int(epoch)

    def __len__(self) -> int:
        return len(self.dataset)

    def __getattr__(self, name: str):
        if name == "dataset":  # not set yet (unpickling)
            raise AttributeError(name)
        return getattr(self.dataset, name)

    def __getitem__(self, index: int):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed((self.seed * 1_000_003 + self.epoch) * 10_000_019 + int(index))
            state = np.random.get_state()
            np.random.seed((self.seed * 7_919 + self.epoch * 104_729 + int(index)) % 2**32)
            try:
                return self.dataset[index]
            finally:
                np.random.set_state(state)


def seed_worker(worker_id: int) -> None:  # pragma: no cover - runs inside DataLoader workers
    """DataLoader ``worker_init_fn``: derive numpy's seed from torch's per-worker seed."""
    np.random.seed(torch.initial_seed() % 2**32)


__all__ = ["SeededSamples", "Subset", "labels_of", "seed_worker", "split_indices"]
