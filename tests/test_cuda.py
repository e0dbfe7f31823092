"""CUDA paths: ``--device auto`` picks the GPU, and what runs there agrees with the CPU.

Skipped where no GPU is visible (CI has none); run on a GPU machine with
``python -m pytest tests/test_cuda.py``.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from evonas.evaluators.cost import CostEvaluator
from evonas.evaluators.supernet import SupernetEvaluator
from evonas.runtime.device import resolve_device
from evonas.spaces.darts import DartsSpace
from evonas.spaces.darts.genotypes import get_genotype
from evonas.spaces.scarlet.space import ScarletSpace
from evonas.training.standalone import StandaloneConfig, evaluate_checkpoint, train_standalone

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")

SCARLET_TINY = dict(supernet_kwargs={"width_mult": 0.25}, epochs=1, batch_size=32, recalibration_images=64,
                    val_images=128, progress=False, split=(0.1, 0.1))


@pytest.fixture(autouse=True)
def exact_cuda_math():
    """No TF32 and deterministic cuDNN, so GPU and CPU results can be compared closely."""
    saved = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32, torch.backends.cudnn.benchmark)
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = False
    yield
    (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32, torch.backends.cudnn.benchmark) = saved


def test_auto_picks_the_gpu():
    assert resolve_device("auto").type == "cuda"
    assert resolve_device("cuda:0") == torch.device("cuda:0")


@pytest.mark.parametrize("space", [DartsSpace(), ScarletSpace(variant="cifar", width_mult=0.25)],
                         ids=["darts", "scarlet"])
def test_supernet_trained_on_gpu_scores_like_on_cpu(tmp_path, space):
    darts = isinstance(space, DartsSpace)
    kwargs = dict(SCARLET_TINY, supernet_kwargs={"C": 4, "layers": 3}) if darts else SCARLET_TINY
    archs = [space.sample(np.random.default_rng(s)) for s in range(3)]
    gpu = SupernetEvaluator(checkpoint=str(tmp_path / "supernet.pt"), device="auto", **kwargs)
    gpu.setup(space)
    assert next(gpu.supernet.parameters()).is_cuda and not gpu.channels_last
    gpu_scores = gpu.evaluate(archs)
    # the checkpoint written on the GPU loads on the CPU and scores the same candidates alike
    cpu = SupernetEvaluator(checkpoint=str(tmp_path / "supernet.pt"), device="cpu", **kwargs)
    cpu.setup(space)
    assert cpu.version == gpu.version
    cpu_scores = cpu.evaluate(archs)
    for g, c in zip(gpu_scores, cpu_scores):
        assert g["val_loss"] == pytest.approx(c["val_loss"], rel=1e-3)
        assert abs(g["accuracy"] - c["accuracy"]) <= 100.0 * 2 / 128  # at most two images flip


def test_standalone_training_on_gpu_resumes_and_evaluates_on_cpu(tmp_path):
    config = StandaloneConfig.from_dict(dict(arch=get_genotype("DARTS_V2").to_dict(), init_channels=4, layers=3,
                                             epochs=2, batch_size=16, max_batches=2, workers=0,
                                             test_fraction=0.05, device="auto", seed=5))
    result = train_standalone(config, tmp_path / "run", progress=False)
    assert json.loads((tmp_path / "run" / "config.json").read_text())["device"] == "auto"
    on_cpu = evaluate_checkpoint(tmp_path / "run" / "checkpoint.pt", device="cpu", workers=0)
    assert on_cpu["top1"] == pytest.approx(result["test_top1"], abs=100.0 * 2 / result["test_images"])


def test_scarlet_stand_alone_model_trains_on_gpu(tmp_path):
    config = StandaloneConfig.from_dict(dict(space="scarlet", space_options={"variant": "cifar", "width_mult": 0.25},
                                             arch="SCARLET_A", epochs=1, batch_size=32, max_batches=3, workers=0,
                                             test_fraction=0.05, device="cuda", seed=0))
    result = train_standalone(config, tmp_path / "run", progress=False)
    assert 0.0 <= result["test_top1"] <= 100.0 and np.isfinite(result["test_loss"])


def test_latency_is_measured_on_the_gpu():
    space = ScarletSpace(variant="cifar", width_mult=0.25)
    cost = CostEvaluator(metrics=("macs", "latency"), input_shape=(8, 3, 32, 32), device="cuda")
    cost.setup(space)
    (values,) = cost.evaluate([space.sample(np.random.default_rng(0))])
    assert values["latency"] > 0 and values["macs"] > 0
