"""Shared fixtures: the test components by name, small real images written as files, and the shared data folder."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
#: registers evonas.testing's toy space and synthetic evaluators by name, in this process and in every process a
#: test starts (the CLI in a subprocess, executor workers): they are not components of evonas itself
FIXTURE_PLUGIN = "evonas.testing:register_fixtures"


def pytest_configure(config):
    plugins = [p for p in os.environ.get("EVONAS_PLUGINS", "").split(",") if p.strip()]
    if FIXTURE_PLUGIN not in plugins:
        os.environ["EVONAS_PLUGINS"] = ",".join([*plugins, FIXTURE_PLUGIN])
    from evonas.testing import register_fixtures

    register_fixtures()


@pytest.fixture(scope="session")
def shared_data():
    """The project's shared data folder, or skip when it is not beside the clone."""
    if not SHARED_DATA.is_dir():
        pytest.skip("shared data folder not beside the project")
    return SHARED_DATA


@pytest.fixture(autouse=True)
def _one_thread_seeded():
    """One intra-op thread (tiny convolutions run far slower with two contended threads) and a fixed seed."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def cifar_mini():
    """The embedded cifar10-mini dataset (uint8 images, no transform)."""
    from evonas.data import get_dataset

    return get_dataset("cifar10-mini")


@pytest.fixture(scope="session")
def image_folder(tmp_path_factory, cifar_mini):
    """A PNG image folder of 3 classes x 4 real CIFAR images; returns (root, images, labels)."""
    from evonas.data.datasets import encode_png

    root = tmp_path_factory.mktemp("folder")
    labels = np.asarray(cifar_mini.targets)
    images, kept = [], []
    for cls, name in enumerate(["airplane", "automobile", "bird"]):
        (root / name).mkdir()
        for j, index in enumerate(np.flatnonzero(labels == cls)[:4]):
            image = cifar_mini[int(index)][0]
            (root / name / f"img{j:02d}.png").write_bytes(encode_png(image))
            images.append(image)
            kept.append(cls)
    return root, images, kept
