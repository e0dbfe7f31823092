from __future__ import annotations

import numpy as np
import pytest

from evonas.data import Subset, split_indices


def test_split_is_deterministic_disjoint_and_complete(cifar_mini):
    labels = cifar_mini.targets
    a = split_indices(labels, (0.5, 0.5), seed=3)
    b = split_indices(labels, (0.5, 0.5), seed=3)
    c = split_indices(labels, (0.5, 0.5), seed=4)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[0], c[0])
    assert len(np.intersect1d(a[0], a[1])) == 0
    assert np.array_equal(np.sort(np.concatenate(a)), np.arange(len(labels)))


def test_split_is_stratified(cifar_mini):
    labels = np.asarray(cifar_mini.targets)
    train, val, test = split_indices(labels, (0.45, 0.45, 0.1), seed=0)
    full = np.bincount(labels) / len(labels)
    for part in (train, val, test):
        share = np.bincount(labels[part], minlength=10) / len(part)
        assert np.abs(share - full).max() < 0.01
    assert abs(len(test) - 380) <= 10


def test_partial_split_leaves_rest_unused():
    parts = split_indices(np.zeros(100), (0.2, 0.3), seed=0)
    assert [len(p) for p in parts] == [20, 30]


@pytest.mark.parametrize("fractions", [(0.6, 0.6), (0.0, 0.5), (), (1.5,)])
def test_bad_fractions(fractions):
    with pytest.raises(ValueError):
        split_indices(np.zeros(10), fractions)


def test_subset_applies_its_own_transform(cifar_mini):
    sub = Subset(cifar_mini, [5, 9], transform=lambda img: img.float() / 255)
    image, label = sub[1]
    assert image.dtype.is_floating_point and label == cifar_mini[9][1]
    assert sub.targets.tolist() == [cifar_mini[5][1], cifar_mini[9][1]]
