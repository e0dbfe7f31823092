from __future__ import annotations

import pytest
import torch

from evonas.data import Cutout, default_transforms


def test_cutout_zeroes_a_clipped_square():
    torch.manual_seed(0)
    image = torch.ones(3, 32, 32)
    zeros = []
    for _ in range(50):
        out = Cutout(16)(image)
        masked = (out == 0).all(dim=0)
        zeros.append(int(masked.sum()))
        assert 0 < zeros[-1] <= 256
    assert max(zeros) == 256 and min(zeros) < 256  # full square inside, clipped at borders
    assert torch.equal(image, torch.ones(3, 32, 32))  # input untouched


def test_train_pipeline_shapes_and_randomness():
    train, evaluate = default_transforms("cifar10", cutout=16)
    image = torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8)
    torch.manual_seed(0)
    a = train(image)
    torch.manual_seed(1)
    b = train(image)
    assert a.shape == (3, 32, 32) and a.dtype == torch.float32 and not torch.equal(a, b)
    assert torch.equal(evaluate(image), evaluate(image))


def test_imagenet_pipeline_crops_to_size():
    train, evaluate = default_transforms("imagenet", image_size=64)
    image = torch.randint(0, 256, (3, 90, 120), dtype=torch.uint8)
    assert train(image).shape == (3, 64, 64) and evaluate(image).shape == (3, 64, 64)


def test_unknown_family():
    with pytest.raises(ValueError, match="cifar10"):
        default_transforms("svhn")
