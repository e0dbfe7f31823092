"""SCARLET-NAS at its published size in smoke mode: every phase a step or two, with the projected cost of a full run.

SCARLET has no strategy of its own (the ``scarlet`` space, its supernet and
NSGA-II through pymoo make the search), so its smoke run is this function:
:func:`scarlet_smoke` builds the **ImageNet** supernet at width 1.0 (19
searchable layers, 12 MBConv candidates with their own weights plus the
stabilized skip, 1000 classes) and runs, in order,

1. ``supernet``: training steps (SGD, the sampler's paths per step; FairNAS
   strict fairness runs 13 paths per step), on 224x224 images;
2. ``evolution``: candidates scored as the search scores them (BN
   recalibration on training images, then top-1 on held-out images); NSGA-II's
   own bookkeeping is negligible beside it;
3. ``derive``: the chosen path exported as a stand-alone network (identity skips);
4. ``stand-alone``: a fresh network of that architecture trained a few steps.

Images: the embedded cifar10-mini images go through the released pipeline
(training: random-resized crop to 224, scale 0.2-1, flip; scoring: resize 256,
centre crop 224), with labels drawn uniformly from ImageNet's 1000 classes
(cifar10-mini has 10; the cost does not depend on the labels).

What the sources fix is :data:`SCARLET_PUBLISHED`; the budgets they do not
publish (supernet epochs, batch size and learning rate, the sampler, the
search's population and generations, the stand-alone recipe) are
:data:`SCARLET_ASSUMED`, evonas' stand-ins, each marked as such in the report,
so the projection is "this many hours if the run is that long".
Settings given to :func:`scarlet_smoke` that differ from either table are
named in the report's notes; none is changed silently.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from evonas.errors import ConfigError
from evonas.runtime.phases import PhaseMeter, format_report
from evonas.training.bn import preserved_bn_statistics, recalibrate_bn
from evonas.training.one_shot import SAMPLERS, sample_paths, train_step
from evonas.training.smoke import epoch_steps, standalone_steps

#: what the released models and data pipeline fix (``xiaomi-automl/SCARLET-NAS``: its models and data loader)
SCARLET_PUBLISHED: dict[str, Any] = {"variant": "imagenet", "width_mult": 1.0, "num_classes": 1000,
                                     "resolution": 224, "train_crop_scale": (0.2, 1.0), "eval_resize": 256,
                                     "eval_batch_size": 128, "weight_sharing": "independent", "stabilizer": True}
#: evonas' stand-ins for what the sources (the paper, the released repository) do not publish: the projection
#: scales with them. Sampler: SCARLET v1-v3 build on FairNAS' strict fairness; population / generations: the only public
#: NSGA-II code of the authors' family (a MixPath pull request); the rest: common MobileNet-space values
SCARLET_ASSUMED: dict[str, Any] = {"supernet_epochs": 150, "batch_size": 256, "learning_rate": 0.045,
                                   "momentum": 0.9, "weight_decay": 4e-5, "sampler": "fair", "population": 40,
                                   "generations": 40, "val_images": 50_000, "recalibration_images": 2_560,
                                   "standalone_epochs": 350, "standalone_batch_size": 256,
                                   "standalone_learning_rate": 0.1}
#: ImageNet-1k's training images (the projection)
IMAGENET_TRAIN = 1_281_167


def _images(count: int, train: bool, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``count`` embedded images through the released pipeline at 224 px, ``(N, 3, 224, 224)`` float32, and labels
    drawn uniformly from 1000 classes, ``(N,)`` int64."""
    from torchvision.transforms import v2

    from evonas.data import get_dataset
    from evonas.data.transforms import IMAGENET_MEAN, IMAGENET_STD

    p = SCARLET_PUBLISHED
    size = p["resolution"]
    steps = ([v2.RandomResizedCrop(size, scale=p["train_crop_scale"], antialias=True), v2.RandomHorizontalFlip()]
             if train else [v2.Resize(p["eval_resize"], antialias=True), v2.CenterCrop(size)])
    pipeline = v2.Compose([*steps, v2.ToDtype(torch.float32, scale=True),
                           v2.Normalize(mean=list(IMAGENET_MEAN), std=list(IMAGENET_STD))])
    base = get_dataset("cifar10-mini")
    rng = np.random.default_rng(seed)
    picked = rng.choice(len(base), size=count, replace=count > len(base))
    images = torch.stack([pipeline(base[int(i)][0]) for i in picked])
    return images, torch.as_tensor(rng.integers(p["num_classes"], size=count), dtype=torch.int64)


def full_run_steps(settings: dict, eval_batch: int | None = None) -> dict:
    """``{(phase, kind): steps}`` of a full run of ``settings`` (a :data:`SCARLET_ASSUMED`-shaped dict) on
    ImageNet: supernet steps, scoring batches of ``eval_batch`` images (default: the published 128;
    recalibration and validation per candidate), exports, stand-alone steps."""
    s = settings
    eval_batch = eval_batch or SCARLET_PUBLISHED["eval_batch_size"]
    per_candidate = epoch_steps(s["val_images"], eval_batch) + epoch_steps(s["recalibration_images"], eval_batch)
    return {("supernet", "train"): s["supernet_epochs"] * epoch_steps(IMAGENET_TRAIN, s["batch_size"],
                                                                     drop_last=True),
            ("evolution", "score-batch"): s["population"] * s["generations"] * per_candidate,
            ("derive", "export"): 1,
            ("stand-alone", "train"): s["standalone_epochs"] * epoch_steps(IMAGENET_TRAIN,
                                                                          s["standalone_batch_size"])}


def scarlet_smoke(*, steps: int = 2, micro_batch: int | None = None, eval_batch_size: int | None = None,
                  device: str = "cpu", seed: int = 0, run_dir: str | Path | None = None, verbose: bool = True,
                  **settings: Any) -> dict:
    """Run SCARLET's phases at full size, ``steps`` steps each, and return the report (see
    :mod:`evonas.runtime.phases`); with ``run_dir`` it is also written there as ``smoke.json``.

    ``micro_batch``: run each training batch as chunks of this many images, each with its own BatchNorm
    statistics, gradients accumulated (the batch size stays what it is). ``eval_batch_size``: the scoring batch
    (default: the released evaluation's 128; named in the report when it differs). ``settings``: any key of
    :data:`SCARLET_ASSUMED` (e.g. ``batch_size=2`` for a quick check; named in the report).
    """
    from evonas.registry import spaces
    from evonas.runtime.device import resolve_device

    unknown = sorted(set(settings) - set(SCARLET_ASSUMED))
    if unknown:
        raise ConfigError(f"unknown SCARLET smoke setting(s) {', '.join(unknown)}; valid: "
                          f"{', '.join(SCARLET_ASSUMED)}")
    if steps < 1:
        raise ConfigError(f"steps must be >= 1, got {steps}")
    s = {**SCARLET_ASSUMED, **settings}
    if s["sampler"] not in SAMPLERS:
        raise ConfigError(f"sampler must be one of {', '.join(SAMPLERS)}, got {s['sampler']!r}")
    batch = int(s["batch_size"])
    if micro_batch is not None and (micro_batch < 2 or batch % micro_batch):
        raise ConfigError(f"micro_batch must be >= 2 and divide batch_size ({batch}), got {micro_batch}")
    p = SCARLET_PUBLISHED
    device_ = resolve_device(device)
    meter = PhaseMeter(device_, notes=[
        f"smoke run: {steps} step(s) per phase; embedded cifar10-mini images through the released pipeline at "
        f"{p['resolution']}x{p['resolution']}, labels drawn from {p['num_classes']} classes, stand in for ImageNet",
        "not published, evonas' assumption (SCARLET_ASSUMED): " + ", ".join(
            f"{k}={v}" for k, v in SCARLET_ASSUMED.items())])
    given = {k: v for k, v in settings.items() if v != SCARLET_ASSUMED[k]}
    if given:
        meter.note("settings of this smoke run: " + ", ".join(f"{k}={v!r} (assumed {SCARLET_ASSUMED[k]!r})"
                                                              for k, v in given.items()))
    slices = batch // micro_batch if micro_batch and micro_batch < batch else 1
    if slices > 1:
        meter.note(f"batch {batch} runs as micro-batches of {micro_batch} with gradient accumulation "
                   f"(BatchNorm sees {micro_batch} images at a time)")
    space = spaces.create("scarlet", variant=p["variant"], width_mult=p["width_mult"], num_classes=p["num_classes"])
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    supernet = space.build_supernet(stabilizer=p["stabilizer"], weight_sharing=p["weight_sharing"]).to(device_)
    weights = [q for q in supernet.parameters() if q.requires_grad]
    optimizer = torch.optim.SGD(weights, lr=s["learning_rate"], momentum=s["momentum"],
                                weight_decay=s["weight_decay"])
    supernet.train()
    data = [_images(batch, True, seed + step) for step in range(steps)]  # prepared outside the timing (loaders)
    with meter.steps("supernet", "train", steps):
        for images, targets in data:
            train_step(supernet, images.to(device_), targets.to(device_), sample_paths(space, rng, s["sampler"]),
                       optimizer, 5.0, slices=slices)
    del optimizer, data
    eval_batch = int(eval_batch_size or p["eval_batch_size"])
    if eval_batch != p["eval_batch_size"]:
        meter.note(f"scoring batch {eval_batch} (published {p['eval_batch_size']})")
    candidates = [space.sample(rng) for _ in range(steps)]
    recal = [_images(eval_batch, True, seed + 100)[0].to(device_)]
    val = [tuple(t.to(device_) for t in _images(eval_batch, False, seed + 200))]
    scores = []
    with meter.steps("evolution", "score-batch", len(candidates) * (len(recal) + len(val))):
        with torch.no_grad(), preserved_bn_statistics(supernet):
            for arch in candidates:
                recalibrate_bn(supernet, lambda x, arch=arch, net=supernet: net(x, arch), recal)
                correct = sum(int((supernet(x, arch).argmax(1) == y).sum()) for x, y in val)
                scores.append(correct)
    chosen = candidates[int(np.argmax(scores))]
    with meter.steps("derive", "export", 1):
        exported = supernet.export(chosen)
    del exported, supernet, weights, recal, val
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        network = space.build(chosen)  # the published network: the space's variant, width and classes
        sa_batch = int(s["standalone_batch_size"])
        batches = [_images(sa_batch, True, seed + 300 + i) for i in range(steps)]
        standalone_steps(network, batches, steps=steps, meter=meter, learning_rate=s["standalone_learning_rate"],
                         weight_decay=s["weight_decay"], auxiliary_weight=0.0, grad_clip=0.0,
                         micro_batch=micro_batch)
    del network
    report = meter.report(full_run_steps(s, eval_batch), search_phases=("supernet", "evolution", "derive"))
    report["architecture"] = list(space.to_json(chosen))
    if run_dir is not None:
        meter.write(Path(run_dir) / "smoke.json", report)
    if verbose:
        print(format_report("SCARLET (published network, assumed budgets)", report), flush=True)
    return report


__all__ = ["IMAGENET_TRAIN", "SCARLET_ASSUMED", "SCARLET_PUBLISHED", "full_run_steps", "scarlet_smoke"]
