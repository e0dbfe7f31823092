"""A weight-sharing supernet that evaluators score with and strategies / operators train during a search.

:class:`SharedSupernet` owns everything single-path training and scoring
need: the module (``space.build_supernet(...)``), the data split (a
training part for weights and BN recalibration, a validation part for
fitness), the SGD optimiser and its per-step schedule, the path sampler and
its random generator, the epoch / step counters and the current position in
the epoch's shuffled batches. :meth:`train` runs epochs or steps (on sampled
paths or on given ones); :meth:`score` measures architectures with BN
recalibration; :meth:`state_dict` / :meth:`load_state_dict` resume it
exactly.

:attr:`version` names the weights: it changes whenever they do (a
:meth:`train` call, :meth:`mark_changed` after an outside edit such as a
RelativeNAS merge or a DAP perturbation, :meth:`load_state_dict`), so a
memo cache keyed on ``(architecture, version)`` never serves a score of
other weights.

Every evonas supernet follows one forward protocol, ``module(x, arch) ->
logits (N, classes)``; training and scoring call the module itself, so a
wrapper such as ``DistributedDataParallel`` sees every pass.

Under ``torchrun --nproc_per_node=N`` (a process group of N > 1), training
is data-parallel: every rank reads the same batches and samples the same
paths (same seed), takes its own 1/N of each batch and trains it through
``DistributedDataParallel``, which averages the gradients. Batch-norm
statistics are each rank's own (``SyncBatchNorm`` runs on GPUs only, and
scoring re-estimates them per path anyway), so N ranks compute exactly
what one process computes with ``micro_batches=N`` (each batch cut into N
slices, each normalised on its own, gradients accumulated): the default
``micro_batches`` is the number of ranks, and it is part of the settings
digest when it is not 1, so weights trained on N ranks load in one
process given ``micro_batches=N``.
"""
from __future__ import annotations

import hashlib
import json
import logging
from typing import Any, Iterator, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from evonas.data import Subset, dataset_family, default_transforms, get_dataset, split_indices
from evonas.data.splits import seed_worker
from evonas.errors import CheckpointError, ConfigError
from evonas.runtime import distributed
from evonas.runtime.device import resolve_device
from evonas.spaces.base import HasEdgeSplit, HasSupernet, require
from evonas.training.bn import preserved_bn_statistics, recalibrate_bn
from evonas.training.one_shot import SAMPLERS, OneShotStats, sample_paths, train_step, warmup_cosine

log = logging.getLogger(__name__)
#: version of the training procedure, part of the settings digest: weights trained by another procedure
#: (2: per-step warm-up + cosine, per-epoch shuffles seeded by (seed, epoch)) are not reused
RECIPE = 2
#: precisions candidates can be scored in
EVAL_DTYPES = ("float32", "bfloat16")
#: precisions the supernet can be trained in (forward passes under autocast; weights and optimiser fp32)
TRAIN_DTYPES = ("float32", "bfloat16")
METRICS = ("accuracy", "loss")


class SharedSupernet:
    """Single-path weight-sharing supernet with its data, optimiser, schedule and sampler.

    Args:
        space: a space with ``build_supernet(**supernet_kwargs)`` (and
            ``sample`` / ``fair_paths`` for path sampling).
        dataset, root: the data (default the embedded ``cifar10-mini``).
        split: (weight-training share, validation share), stratified, chosen by ``seed``.
        supernet_kwargs: passed to ``space.build_supernet``.
        epochs: length of the learning-rate schedule in epochs (per-step
            cosine to 0 over ``epochs`` epochs after ``warmup_epochs`` of
            linear warm-up). Training may run past it (at learning rate 0):
            a strategy that trains during the search sets it to cover the
            whole search.
        batch_size, learning_rate, momentum, weight_decay, grad_clip: SGD.
        sampler: ``"uniform"`` (SPOS) or ``"fair"`` (FairNAS strict fairness).
        recalibration_images: training images used to re-estimate BN per candidate (0: no recalibration,
            the running statistics of training are used, as an ablation).
        val_images: validation images per candidate (None: the whole validation part).
        eval_batch_size: batch size of scoring.
        eval_dtype: ``"float32"`` or ``"bfloat16"`` (scoring under bf16 autocast).
        device: ``"auto"`` picks a GPU when there is one.
        channels_last: NHWC memory format (None: on for the CPU, 1.4-1.8x faster there).
        workers: DataLoader worker processes for training batches.
        cutout: Cutout length (pixels) of the training augmentation (None: none; RelativeNAS' code uses 16).
        micro_batches: slices each training batch is cut into, each passed on its own (own batch-norm
            statistics), gradients accumulated (None: the number of torchrun ranks, 1 for one process); a
            multiple of the ranks that divides ``batch_size``.
        data_parallel: train with ``DistributedDataParallel`` over the torchrun process group (None: when
            there is a group of more than one process; True: refuse to run without one).
        train_dtype: ``"float32"`` or ``"bfloat16"``: training forward passes under bf16 autocast (faster on
            CPUs with AMX / AVX-512 BF16 and on GPUs; ``benchmarks/bench_supernet_speed.py``).
        fixed_edges: ``{edge: op}``: a few-shot sub-supernet (:mod:`evonas.evaluators.few_shot`) that samples
            only the architectures carrying these ops (needs a space with ``HasEdgeSplit``); None: all.
        data_of: another shared supernet of the same data settings whose data (training part,
            recalibration and validation batches) this one uses instead of loading its own (sub-supernets
            share one copy).
    """

    def __init__(self, space, *, dataset: str = "cifar10-mini", root: str | None = None,
                 split: Sequence[float] = (0.5, 0.5), supernet_kwargs: Mapping[str, Any] | None = None,
                 epochs: int = 10, batch_size: int = 64, learning_rate: float = 0.05, momentum: float = 0.9,
                 weight_decay: float = 3e-4, grad_clip: float = 5.0, warmup_epochs: int = 0,
                 sampler: str = "uniform", seed: int = 0, recalibration_images: int = 512,
                 val_images: int | None = None, eval_batch_size: int = 256, eval_dtype: str = "float32",
                 device: str = "auto", channels_last: bool | None = None, workers: int = 0,
                 progress: bool = True, cutout: int | None = None, micro_batches: int | None = None,
                 data_parallel: bool | None = None, train_dtype: str = "float32",
                 fixed_edges: Mapping[int, str] | None = None, data_of: "SharedSupernet | None" = None) -> None:
        require(space, HasSupernet, "a weight-sharing supernet")
        if data_parallel and not distributed.is_distributed():
            raise ConfigError("data_parallel=True needs a process group of several processes: run under "
                              "torchrun --nproc_per_node=N")
        self.world = distributed.world_size() if data_parallel is not False else 1
        self.rank = distributed.rank() if self.world > 1 else 0
        micro_batches = self.world if micro_batches is None else int(micro_batches)
        if micro_batches < 1 or micro_batches % self.world or batch_size % micro_batches:
            raise ConfigError(f"micro_batches ({micro_batches}) must be a multiple of the {self.world} process(es) "
                              f"that divides batch_size ({batch_size})")
        self.micro_batches = micro_batches
        if eval_dtype not in EVAL_DTYPES:
            raise ConfigError(f"eval_dtype must be one of {', '.join(EVAL_DTYPES)}, got {eval_dtype!r}")
        if sampler not in SAMPLERS:
            raise ConfigError(f"unknown sampler {sampler!r}; valid: {', '.join(SAMPLERS)}")
        self.space = space
        #: what the weights depend on (their digest tells trained weights apart)
        self.settings = dict(dataset=dataset, root=root, split=list(split),
                             supernet_kwargs=dict(supernet_kwargs or {}), epochs=epochs, batch_size=batch_size,
                             learning_rate=learning_rate, momentum=momentum, weight_decay=weight_decay,
                             grad_clip=grad_clip, sampler=sampler, seed=seed, warmup_epochs=warmup_epochs,
                             recipe=RECIPE)
        if cutout:  # only when used, so that weights trained without it keep their digest
            self.settings["cutout"] = int(cutout)
        if micro_batches != 1:  # likewise
            self.settings["micro_batches"] = micro_batches
        if train_dtype not in TRAIN_DTYPES:
            raise ConfigError(f"train_dtype must be one of {', '.join(TRAIN_DTYPES)}, got {train_dtype!r}")
        if train_dtype != "float32":  # likewise
            self.settings["train_dtype"] = train_dtype
        self.fixed_edges = {int(edge): op for edge, op in (fixed_edges or {}).items()}
        if self.fixed_edges:  # likewise; JSON keys are strings, so the pairs are listed
            split = require(space, HasEdgeSplit, "a sub-supernet (fixed_edges)")
            choices = split.edge_choices()
            for edge, op in self.fixed_edges.items():
                if not 0 <= edge < len(choices) or op not in choices[edge]:
                    raise ConfigError(f"fixed_edges: edge {edge} cannot carry {op!r} (edges 0..{len(choices) - 1})")
            self.settings["fixed_edges"] = sorted([edge, op] for edge, op in self.fixed_edges.items())
        self._train_dtype = None if train_dtype == "float32" else getattr(torch, train_dtype)
        self.digest = hashlib.sha256(json.dumps(self.settings, sort_keys=True).encode()).hexdigest()[:16]
        self.recalibration_images, self.val_images = recalibration_images, val_images
        self.eval_batch_size, self.eval_dtype, self.workers = eval_batch_size, eval_dtype, workers
        self.progress = progress and self.rank == 0
        self.device = resolve_device(device)
        self.channels_last = self.device.type == "cpu" if channels_last is None else channels_last
        s = self.settings
        if data_of is None:
            base = get_dataset(dataset, root=root)
            train_tf, eval_tf = default_transforms(dataset_family(base), cutout=cutout or None)
            train_idx, val_idx = split_indices(base.targets, s["split"], seed=seed)
            self.num_classes = len(base.classes)
            self.train_set = Subset(base, train_idx, train_tf)
        else:
            data_settings = ("dataset", "root", "split", "seed", "cutout")
            if ([data_of.settings.get(k) for k in data_settings] != [s.get(k) for k in data_settings]
                    or (data_of.recalibration_images, data_of.val_images, data_of.eval_batch_size, data_of.device,
                        data_of.channels_last) != (recalibration_images, val_images, eval_batch_size, self.device,
                                                   self.channels_last)):
                raise ConfigError("data_of: that supernet reads other data (dataset, split, seed, cutout, "
                                  "scoring images or device differ)")
            self.num_classes, self.train_set = data_of.num_classes, data_of.train_set
        torch.manual_seed(seed)
        self.module = space.build_supernet(num_classes=self.num_classes, **s["supernet_kwargs"]).to(self.device)
        if self.channels_last:
            self.module = self.module.to(memory_format=torch.channels_last)
        arch_params = {id(p) for p in getattr(self.module, "arch_parameters", list)()}
        self.weights = [p for p in self.module.parameters() if p.requires_grad and id(p) not in arch_params]
        self.optimizer = torch.optim.SGD(self.weights, lr=learning_rate, momentum=momentum, weight_decay=weight_decay)
        self.steps_per_epoch = len(self._loader(0))
        if self.steps_per_epoch == 0:
            raise ConfigError(f"the supernet's training part ({len(self.train_set)} images) is smaller than one "
                              f"batch of {batch_size}")
        self.scheduler = warmup_cosine(self.optimizer, total_steps=epochs * self.steps_per_epoch,
                                       warmup_steps=warmup_epochs * self.steps_per_epoch)
        self.rng = np.random.default_rng(seed + 1)  # path sampling
        self.step = 0  # optimiser steps taken; the epoch and the position in it follow from it
        self.updates = 0  # weight changes since construction (training calls, outside edits, loads)
        self.training_log: list[dict] = []  # one row per train() call (step, loss, top1, lr); not in state_dict
        if data_of is None:
            rng = np.random.default_rng(seed)
            recal_idx = rng.permutation(train_idx)[:recalibration_images]
            self._recal = self._stack(Subset(base, recal_idx, eval_tf))
            val_idx = val_idx if val_images is None else rng.permutation(val_idx)[:val_images]
            self._val = self._stack(Subset(base, np.sort(val_idx), eval_tf))
            self._augmented_val = Subset(base, np.sort(val_idx), train_tf)  # RelativeNAS' published validation
        else:
            self._recal, self._val, self._augmented_val = data_of._recal, data_of._val, data_of._augmented_val
        self._batches: Iterator | None = None
        self._parallel: torch.nn.Module | None = None  # the DistributedDataParallel wrapper, made on first use

    # ------------------------------------------------------------------ identity
    @property
    def version(self) -> str:
        """Names the current weights: changes whenever they change."""
        return f"{self.digest}+{self.updates}"

    @property
    def epoch(self) -> int:
        """Epochs completed (whole or not: the index of the epoch the next step belongs to)."""
        return self.step // self.steps_per_epoch

    def mark_changed(self) -> None:
        """Record that the weights were changed outside :meth:`train` (a merge, a perturbation)."""
        self.updates += 1

    def __call__(self, x: torch.Tensor, arch) -> torch.Tensor:
        """Logits (N, classes) of ``arch``'s path: ``module(x, arch)``."""
        return self.module(x, arch)

    # ------------------------------------------------------------------ training
    def _loader(self, epoch: int) -> DataLoader:
        """Epoch ``epoch``'s shuffled batches (their order depends on the seed and the epoch only)."""
        s = self.settings
        generator = torch.Generator().manual_seed(s["seed"] * 1_000_003 + epoch)
        return DataLoader(self.train_set, batch_size=s["batch_size"], shuffle=True, drop_last=True,
                          num_workers=self.workers, generator=generator, worker_init_fn=seed_worker)

    def _next_batch(self):
        """The batch of optimiser step ``self.step`` (resumes mid-epoch by skipping the batches done)."""
        if self._batches is None:
            epoch, position = divmod(self.step, self.steps_per_epoch)
            iterator = iter(self._loader(epoch))
            rng_state = torch.get_rng_state()  # augmenting the skipped batches must not move the global RNG
            for _ in range(position):
                next(iterator)
            torch.set_rng_state(rng_state)
            self._batches = iterator
        try:
            return next(self._batches)
        except StopIteration:
            self._batches = None
            return self._next_batch()

    def _trained_module(self) -> torch.nn.Module:
        """What a training step calls: the module, or its ``DistributedDataParallel`` wrapper over the ranks."""
        if self.world == 1:
            return self.module
        if self._parallel is None:
            import inspect

            from torch.nn.parallel import DistributedDataParallel

            # each rank keeps its own batch-norm statistics (newer torch names the switch differently)
            own_buffers = ({"forward_sync_buffers": False}
                           if "forward_sync_buffers" in inspect.signature(DistributedDataParallel).parameters
                           else {"broadcast_buffers": False})
            # a single path leaves most weights unused in a step; every rank trains the same paths
            self._parallel = DistributedDataParallel(
                self.module, device_ids=[self.device.index] if self.device.type == "cuda" else None,
                find_unused_parameters=True, **own_buffers)
        return self._parallel

    def _my_share(self, images: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """This rank's 1/world of a batch (contiguous, in rank order)."""
        if self.world == 1:
            return images, targets
        share = len(targets) // self.world
        part = slice(self.rank * share, (self.rank + 1) * share)
        return images[part], targets[part]

    def sample_paths(self) -> list:
        """The paths of the next training step, drawn by the sampler (among the architectures carrying
        :attr:`fixed_edges`, when set)."""
        return sample_paths(self.space, self.rng, self.settings["sampler"], self.fixed_edges)

    def new_optimizer(self, learning_rate: float) -> torch.optim.SGD:
        """A fresh SGD over the weights with this supernet's momentum and weight decay (no momentum history),
        for :meth:`train` ``optimizer=`` (RelativeNAS trains every member with a fresh one)."""
        s = self.settings
        return torch.optim.SGD(self.weights, lr=learning_rate, momentum=s["momentum"], weight_decay=s["weight_decay"])

    def train(self, *, epochs: int | None = None, steps: int | None = None, paths: Sequence | None = None,
              optimizer: torch.optim.Optimizer | None = None, description: str = "supernet") -> OneShotStats:
        """Take ``steps`` optimiser steps, or run to the end of ``epochs`` more epochs.

        Each step trains the paths ``paths`` (all of them, gradients
        accumulated) when given, else paths drawn by the sampler. With
        ``optimizer`` (e.g. :meth:`new_optimizer`) the steps use it instead
        of the supernet's own optimiser, and the supernet's schedule does not
        move; the batches still come from the shared stream. Returns the
        mean loss / top-1 of the steps taken. The version changes.
        """
        if (epochs is None) == (steps is None):
            raise ConfigError("train() takes epochs or steps")
        if steps is None:
            steps = (self.epoch + epochs) * self.steps_per_epoch - self.step
        from tqdm.auto import tqdm

        self.module.train()
        total_loss, correct, samples = 0.0, 0, 0
        label = description if optimizer is not None else f"{description} epoch {self.epoch + 1}"
        bar = tqdm(range(steps), desc=label, leave=False,
                   disable=not self.progress, unit="step")
        module = self._trained_module()
        for _ in bar:
            images, targets = self._my_share(*self._next_batch())
            images, targets = images.to(self.device), targets.to(self.device)
            if self.channels_last:
                images = images.contiguous(memory_format=torch.channels_last)
            chosen = list(paths) if paths is not None else self.sample_paths()
            loss_sum, hits, n = train_step(module, images, targets, chosen, optimizer or self.optimizer,
                                           self.settings["grad_clip"], slices=self.micro_batches // self.world,
                                           dtype=self._train_dtype)
            if optimizer is None:
                self.scheduler.step()
            self.step += 1
            total_loss, correct, samples = total_loss + loss_sum, correct + hits, samples + n
        if steps:
            self.updates += 1
        if self.world > 1:  # the statistics of the whole batches, as one process reports them
            totals = distributed.all_reduce_sum(torch.tensor([total_loss, correct, samples], dtype=torch.float64,
                                                              device=self.device))
            total_loss, correct, samples = float(totals[0]), int(totals[1]), int(totals[2])
        stats = OneShotStats(self.epoch, total_loss / max(samples, 1), 100.0 * correct / max(samples, 1), steps)
        if steps:  # for TensorBoard (evonas.report.tensorboard): what this call trained, at which step
            self.training_log.append({"step": self.step, "loss": stats.loss, "top1": stats.top1,
                                      "lr": float((optimizer or self.optimizer).param_groups[0]["lr"])})
        return stats

    # ------------------------------------------------------------------- scoring
    def _stack(self, subset) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """The subset as preprocessed batches on the device (scored many times)."""
        loader = DataLoader(subset, batch_size=self.eval_batch_size, shuffle=False, num_workers=self.workers)
        memory_format = torch.channels_last if self.channels_last else torch.contiguous_format
        return [(x.to(self.device).contiguous(memory_format=memory_format), y.to(self.device)) for x, y in loader]

    @property
    def validation_batches(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """The validation part as ``(images, targets)`` device batches (no augmentation), as scoring uses it."""
        return self._val

    @property
    def recalibration_batches(self) -> list[torch.Tensor]:
        """The images BN statistics are re-estimated on, as device batches."""
        return [x for x, _ in self._recal]

    def _forward(self, images: torch.Tensor, arch) -> torch.Tensor:
        """Float32 logits of ``arch``'s path, computed in ``eval_dtype``."""
        if self.eval_dtype == "float32":
            return self.module(images, arch)
        with torch.autocast(self.device.type, dtype=torch.bfloat16):
            return self.module(images, arch).float()

    @torch.no_grad()
    def score(self, archs: Sequence) -> list[dict[str, float]]:
        """Top-1 (``accuracy``, %) and mean cross entropy (``val_loss``, nats) of each path on the validation
        part, each after BN recalibration on ``recalibration_images`` training images. Nothing of the supernet
        changes: the BN running statistics are re-estimated per path and put back afterwards (a RelativeNAS
        member inherits the statistics training left, not the last scored path's)."""
        results = []
        with preserved_bn_statistics(self.module):
            for arch in archs:
                if self.recalibration_images:  # 0: keep the running statistics of training (the ablation)
                    recalibrate_bn(self.module, lambda x, arch=arch: self._forward(x, arch),
                                   self.recalibration_batches)
                else:
                    self.module.eval()
                results.append(self._measure(arch, self._val))
        return results

    def _measure(self, arch, batches) -> dict[str, float]:
        """Top-1 (%) and mean cross entropy (nats) of ``arch``'s path over ``(images, targets)`` batches."""
        loss, correct, n = 0.0, 0, 0
        for images, targets in batches:
            logits = self._forward(images, arch)
            loss += float(F.cross_entropy(logits, targets, reduction="sum"))
            correct += int((logits.argmax(1) == targets).sum())
            n += len(targets)
        return {"accuracy": 100.0 * correct / n, "val_loss": loss / n}

    @torch.no_grad()
    def validate(self, arch, *, augmented: bool = False) -> dict[str, float]:
        """Top-1 (``accuracy``, %) and mean cross entropy (``val_loss``, nats) of ``arch``'s path on the
        validation part in eval mode with the BN running statistics as they are (no recalibration: the
        statistics its own training left, as RelativeNAS measures a member right after training it).
        ``augmented=True`` reads the images with the training augmentation (crop, flip, and Cutout when the
        supernet trains with it), as RelativeNAS' published code does; its randomness comes from torch's global
        generator."""
        self.module.eval()
        if augmented:
            memory_format = torch.channels_last if self.channels_last else torch.contiguous_format
            batches = ((x.to(self.device).contiguous(memory_format=memory_format), y.to(self.device))
                       for x, y in DataLoader(self._augmented_val, batch_size=self.eval_batch_size, shuffle=False))
        else:
            batches = self._val
        return self._measure(arch, batches)

    # -------------------------------------------------------------------- resume
    def state_dict(self) -> dict:
        """Everything an exact resume needs: weights, optimiser, schedule, sampler RNG, counters, torch RNG."""
        return {"settings_digest": self.digest, "step": self.step, "updates": self.updates,
                "model": self.module.state_dict(), "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(), "sampler_rng": self.rng.bit_generator.state,
                "torch_rng": torch.get_rng_state(),
                "cuda_rng": torch.cuda.get_rng_state_all() if self.device.type == "cuda" else None}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Inverse of :meth:`state_dict`; refuses the state of a supernet with other settings."""
        if state.get("settings_digest") != self.digest:
            raise CheckpointError(f"supernet state of other settings (digest {state.get('settings_digest')!r}, "
                                  f"this supernet's {self.digest!r})")
        try:
            self.module.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
            self.scheduler.load_state_dict(state["scheduler"])
        except (RuntimeError, KeyError, ValueError) as exc:
            raise CheckpointError(f"supernet state does not fit this supernet ({exc})") from exc
        self.rng.bit_generator.state = state["sampler_rng"]
        torch.set_rng_state(state["torch_rng"])
        if state.get("cuda_rng") is not None and self.device.type == "cuda":
            torch.cuda.set_rng_state_all(state["cuda_rng"])
        self.step, self.updates = int(state["step"]), int(state["updates"])
        self._batches = None


__all__ = ["EVAL_DTYPES", "METRICS", "RECIPE", "SharedSupernet", "TRAIN_DTYPES"]
