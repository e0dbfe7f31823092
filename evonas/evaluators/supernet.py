"""Weight-sharing fitness: score architectures with the weights of a trained supernet.

:meth:`SupernetEvaluator.setup` builds the space's supernet
(``space.build_supernet(**supernet_kwargs)``) and trains it by single-path
sampling (:mod:`evonas.training.one_shot`) on one part of the data, or
loads it from ``checkpoint`` when that file holds a supernet trained with
the same settings. Each candidate is then scored on the other part: BN
statistics are recalibrated for its path on ``recalibration_images``
training images (no augmentation), then loss and top-1 are measured on
``val_images`` validation images with only its path running.

Reported values: ``accuracy`` (top-1, %) and ``val_loss`` (mean cross
entropy, nats); the objective is ``accuracy`` (max) or, with
``metric="loss"``, ``val_loss`` (min), which ranks better on the DARTS space
(Ning et al., 2021; PERFORMANCE.md).
"""
from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from evonas.data import Subset, dataset_family, default_transforms, get_dataset, split_indices
from evonas.data.splits import seed_worker
from evonas.errors import CheckpointError, ConfigError
from evonas.evaluators.base import Evaluator, Objective
from evonas.registry import evaluators
from evonas.runtime.checkpoint import load_checkpoint, load_latest_checkpoint, previous_path, save_checkpoint
from evonas.runtime.device import resolve_device
from evonas.training.bn import recalibrate_bn
from evonas.training.one_shot import SAMPLERS, train_supernet_epoch, warmup_cosine

log = logging.getLogger(__name__)
#: version of the training procedure, part of the settings digest: a supernet checkpoint written by another
#: procedure (2: per-step warm-up + cosine, per-epoch shuffles seeded by (seed, epoch)) is not reused
RECIPE = 2
#: precisions candidates can be scored in (SupernetEvaluator's ``eval_dtype``)
EVAL_DTYPES = ("float32", "bfloat16")


@evaluators.register("supernet")
class SupernetEvaluator(Evaluator):
    """Fitness from a single-path weight-sharing supernet.

    Args:
        dataset, root: the data (default the embedded ``cifar10-mini``).
        split: (supernet-training share, validation share) of the data,
            stratified, chosen by ``seed`` (DARTS-style halves by default).
        supernet_kwargs: passed to ``space.build_supernet`` (e.g. ``C``, ``layers``).
        epochs, batch_size, learning_rate, momentum, weight_decay, grad_clip:
            supernet training (SGD; learning rate cosine to 0 per step).
        warmup_epochs: linear learning-rate warm-up from ~0 over this many
            epochs before the cosine decay (0: none).
        sampler: ``"uniform"`` (SPOS) or ``"fair"`` (FairNAS strict fairness).
        recalibration_images: training images used to re-estimate BN per candidate.
        val_images: validation images per candidate (None: the whole validation part).
        metric: ``"accuracy"`` (max) or ``"loss"`` (min) as the objective.
        eval_dtype: ``"float32"`` (default) or ``"bfloat16"``: scoring (BN
            recalibration and validation) under bf16 autocast, 1.6-1.9x faster
            on CPUs with AMX / AVX-512 BF16; check that rankings survive it
            (``benchmarks/bench_supernet_eval.py``).
        checkpoint: a file to load the trained supernet from / save it to.
            While training, each epoch is saved beside it (``NAME.training.pt``,
            atomically, previous kept); a killed run continues from there
            exactly, and the file is removed once the supernet is saved.
    """

    name = "supernet"

    def __init__(self, *, dataset: str = "cifar10-mini", root: str | None = None,
                 split: tuple[float, float] = (0.5, 0.5), supernet_kwargs: Mapping[str, Any] | None = None,
                 epochs: int = 10, batch_size: int = 64, learning_rate: float = 0.05, momentum: float = 0.9,
                 weight_decay: float = 3e-4, grad_clip: float = 5.0, warmup_epochs: int = 0, sampler: str = "uniform",
                 recalibration_images: int = 512, val_images: int | None = None, eval_batch_size: int = 256,
                 metric: str = "accuracy", checkpoint: str | None = None, seed: int = 0, device: str = "auto",
                 channels_last: bool | None = None, workers: int = 0, progress: bool = True,
                 eval_dtype: str = "float32") -> None:
        super().__init__()
        if eval_dtype not in EVAL_DTYPES:
            raise ConfigError(f"eval_dtype must be one of {', '.join(EVAL_DTYPES)}, got {eval_dtype!r}")
        self.eval_dtype = eval_dtype
        if metric not in ("accuracy", "loss"):
            raise ConfigError(f"metric must be 'accuracy' or 'loss', got {metric!r}")
        if sampler not in SAMPLERS:
            raise ConfigError(f"unknown sampler {sampler!r}; valid: {', '.join(SAMPLERS)}")
        if epochs < 0 or recalibration_images < 0:
            raise ConfigError("epochs and recalibration_images must be >= 0")
        if isinstance(warmup_epochs, bool) or not isinstance(warmup_epochs, int) or not 0 <= warmup_epochs <= epochs:
            raise ConfigError(f"warmup_epochs must be a whole number in [0, epochs={epochs}], got {warmup_epochs!r}")
        self.settings = dict(dataset=dataset, root=root, split=list(split),
                             supernet_kwargs=dict(supernet_kwargs or {}), epochs=epochs, batch_size=batch_size,
                             learning_rate=learning_rate, momentum=momentum, weight_decay=weight_decay,
                             grad_clip=grad_clip, sampler=sampler, seed=seed, warmup_epochs=warmup_epochs,
                             recipe=RECIPE)
        self.recalibration_images, self.val_images = recalibration_images, val_images
        self.eval_batch_size, self.metric, self.checkpoint = eval_batch_size, metric, checkpoint
        self.device_spec, self.workers, self.progress = device, workers, progress
        self.channels_last_spec = channels_last
        self.supernet = None
        self._version = None

    def __repr__(self) -> str:
        precision = "" if self.eval_dtype == "float32" else f", eval_dtype={self.eval_dtype!r}"
        return (f"SupernetEvaluator({json.dumps(self.settings, sort_keys=True)}, metric={self.metric!r}, "
                f"recalibration_images={self.recalibration_images}, val_images={self.val_images}{precision})")

    @property
    def objectives(self) -> tuple[Objective, ...]:
        return (Objective("accuracy", "max"),) if self.metric == "accuracy" else (Objective("val_loss", "min"),)

    @property
    def version(self) -> Any:
        return self._version

    # ------------------------------------------------------------------ setup
    def _setup(self, space) -> None:
        build = getattr(space, "build_supernet", None)
        if build is None:
            raise ConfigError(f"{type(space).__name__} has no supernet (build_supernet); use another evaluator")
        s = self.settings
        self.device = resolve_device(self.device_spec)
        # NHWC is 1.4-1.8x faster for these networks on CPUs (PERFORMANCE.md); off elsewhere unless asked.
        self.channels_last = self.device.type == "cpu" if self.channels_last_spec is None else self.channels_last_spec
        base = get_dataset(s["dataset"], root=s["root"])
        train_tf, eval_tf = default_transforms(dataset_family(base), cutout=None)
        train_idx, val_idx = split_indices(base.targets, s["split"], seed=s["seed"])
        digest = hashlib.sha256(json.dumps(s, sort_keys=True).encode()).hexdigest()[:16]
        torch.manual_seed(s["seed"])
        self.supernet = build(num_classes=len(base.classes), **s["supernet_kwargs"]).to(self.device)
        if self.channels_last:
            self.supernet = self.supernet.to(memory_format=torch.channels_last)
        if not self._load(digest):
            self._train(space, Subset(base, train_idx, train_tf), digest)
            if self.checkpoint:
                save_checkpoint(self.checkpoint, {"settings_digest": digest, "model": self.supernet.state_dict()},
                                kind="supernet")
                for done in (self._progress_path(), previous_path(self._progress_path())):
                    done.unlink(missing_ok=True)
        self._version = digest
        rng = np.random.default_rng(s["seed"])
        recal_idx = rng.permutation(train_idx)[: self.recalibration_images]
        self._recal = self._stack(Subset(base, recal_idx, eval_tf))
        val_idx = val_idx if self.val_images is None else rng.permutation(val_idx)[: self.val_images]
        self._val = self._stack(Subset(base, np.sort(val_idx), eval_tf))

    def _load(self, digest: str) -> bool:
        if not self.checkpoint or not Path(self.checkpoint).is_file():
            return False
        state = load_checkpoint(self.checkpoint, kind="supernet", expect={"settings_digest": digest})
        try:
            self.supernet.load_state_dict(state["model"])
        except RuntimeError as exc:
            raise CheckpointError(f"{self.checkpoint} does not fit this supernet ({exc})") from exc
        log.info("loaded the trained supernet from %s", self.checkpoint)
        return True

    def _progress_path(self) -> Path | None:
        """Where unfinished supernet training is checkpointed each epoch (``CHECKPOINT.training.pt``)."""
        if not self.checkpoint:
            return None
        path = Path(self.checkpoint)
        return path.with_name(f"{path.stem}.training.pt")

    def _loader(self, train_set, epoch: int) -> DataLoader:
        """Epoch ``epoch``'s shuffled batches (the order depends on the seed and the epoch only)."""
        s = self.settings
        generator = torch.Generator().manual_seed(s["seed"] * 1_000_003 + epoch)
        return DataLoader(train_set, batch_size=s["batch_size"], shuffle=True, drop_last=True,
                          num_workers=self.workers, generator=generator, worker_init_fn=seed_worker)

    def _train(self, space, train_set, digest: str) -> None:
        """Train the supernet; with a ``checkpoint``, each epoch is saved and a killed run continues exactly."""
        s = self.settings
        if s["epochs"] == 0:
            return
        steps = len(self._loader(train_set, 0))
        params = [p for p in self.supernet.parameters() if p.requires_grad]
        arch_params = {id(p) for p in getattr(self.supernet, "arch_parameters", list)()}
        params = [p for p in params if id(p) not in arch_params]
        optimizer = torch.optim.SGD(params, lr=s["learning_rate"], momentum=s["momentum"],
                                    weight_decay=s["weight_decay"])
        scheduler = warmup_cosine(optimizer, total_steps=s["epochs"] * steps,
                                  warmup_steps=s["warmup_epochs"] * steps)
        rng = np.random.default_rng(s["seed"] + 1)  # path sampling
        start, progress_path = 0, self._progress_path()
        if progress_path is not None and (progress_path.is_file() or previous_path(progress_path).is_file()):
            state = load_latest_checkpoint(progress_path, kind="supernet-training", expect={"settings_digest": digest})
            self.supernet.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
            rng.bit_generator.state = state["sampler_rng"]
            torch.set_rng_state(state["torch_rng"])
            if state.get("cuda_rng") is not None and self.device.type == "cuda":
                torch.cuda.set_rng_state_all(state["cuda_rng"])
            start = int(state["epoch"])
            log.info("continuing supernet training after epoch %d/%d from %s", start, s["epochs"], progress_path)
        for epoch in range(start, s["epochs"]):
            stats = train_supernet_epoch(self.supernet, space, self._loader(train_set, epoch), optimizer, rng=rng,
                                         device=self.device, sampler=s["sampler"], grad_clip=s["grad_clip"],
                                         epoch=epoch, progress=self.progress, channels_last=self.channels_last,
                                         scheduler=scheduler)
            log.info("supernet epoch %d/%d: loss %.4f, top1 %.2f%%", epoch + 1, s["epochs"], stats.loss, stats.top1)
            if progress_path is not None and epoch + 1 < s["epochs"]:
                save_checkpoint(progress_path, {
                    "settings_digest": digest, "epoch": epoch + 1, "model": self.supernet.state_dict(),
                    "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                    "sampler_rng": rng.bit_generator.state, "torch_rng": torch.get_rng_state(),
                    "cuda_rng": torch.cuda.get_rng_state_all() if self.device.type == "cuda" else None},
                    kind="supernet-training")

    def _stack(self, subset) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """The subset as preprocessed batches on the device (evaluated many times)."""
        loader = DataLoader(subset, batch_size=self.eval_batch_size, shuffle=False, num_workers=self.workers)
        memory_format = torch.channels_last if self.channels_last else torch.contiguous_format
        return [(x.to(self.device).contiguous(memory_format=memory_format), y.to(self.device)) for x, y in loader]

    # --------------------------------------------------------------- evaluate
    @torch.no_grad()
    def _evaluate(self, archs: list) -> list[dict[str, float]]:
        results = []
        for arch in archs:
            forward = lambda x, arch=arch: self._forward(x, arch)  # noqa: E731
            recalibrate_bn(self.supernet, forward, (x for x, _ in self._recal))
            loss, correct, n = 0.0, 0, 0
            for images, targets in self._val:
                logits = forward(images)
                loss += float(F.cross_entropy(logits, targets, reduction="sum"))
                correct += int((logits.argmax(1) == targets).sum())
                n += len(targets)
            results.append({"accuracy": 100.0 * correct / n, "val_loss": loss / n})
        return results

    def _forward(self, images: torch.Tensor, arch) -> torch.Tensor:
        """Float32 logits (N, classes) of ``arch``'s path, computed in ``eval_dtype``."""
        if self.eval_dtype == "float32":
            return self.supernet.forward_path(images, arch)
        with torch.autocast(self.device.type, dtype=torch.bfloat16):
            return self.supernet.forward_path(images, arch).float()
