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
(Ning et al., 2021).

The weights live in a :class:`~evonas.training.shared_supernet.SharedSupernet`
(:attr:`SupernetEvaluator.shared`): strategies and operators may train it
during a search, and the evaluator's ``version`` is the supernet's, so the
memo cache re-scores an architecture once the weights have changed.
"""
from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any, Mapping

from evonas.errors import CheckpointError, ConfigError
from evonas.evaluators.base import Evaluator, Objective
from evonas.registry import evaluators
from evonas.runtime import distributed
from evonas.runtime.checkpoint import (
    has_checkpoint,
    load_checkpoint,
    load_latest_checkpoint,
    previous_path,
    save_checkpoint,
)
from evonas.training.one_shot import SAMPLERS
from evonas.training.shared_supernet import EVAL_DTYPES, METRICS, RECIPE, TRAIN_DTYPES, SharedSupernet

log = logging.getLogger(__name__)


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
        schedule_epochs: length of the cosine schedule in epochs when it
            should outlast the ``epochs`` trained in :meth:`setup` (a strategy
            that trains the supernet during the search); None: ``epochs``.
        sampler: ``"uniform"`` (SPOS) or ``"fair"`` (FairNAS strict fairness).
        recalibration_images: training images used to re-estimate BN per candidate (0: none, the running
            statistics of training are used: an ablation).
        val_images: validation images per candidate (None: the whole validation part).
        metric: ``"accuracy"`` (max) or ``"loss"`` (min) as the objective.
        eval_dtype: ``"float32"`` (default) or ``"bfloat16"``: scoring (BN
            recalibration and validation) under bf16 autocast, 1.6-1.9x faster
            on CPUs with AMX / AVX-512 BF16; check that rankings survive it
            (``benchmarks/bench_supernet_eval.py``).
        cutout: Cutout length (pixels) in the training augmentation (None: none).
        train_dtype: ``"float32"`` (default) or ``"bfloat16"``: supernet training under bf16 autocast (weights
            and optimiser stay fp32), faster on CPUs with AMX / AVX-512 BF16
            (``benchmarks/bench_supernet_speed.py``); part of the trained weights' settings.
        micro_batches: slices each training batch is cut into, each with its own batch-norm statistics
            (None: the number of torchrun ranks, 1 for one process). Under ``torchrun --nproc_per_node=N``
            the supernet trains data-parallel (``DistributedDataParallel``, 1/N of each batch per rank),
            which equals one process with ``micro_batches=N``; weights trained that way load in one process
            given the same ``micro_batches``.
        data_parallel: None: data-parallel when run under torchrun with several processes; False: never.
        checkpoint: a file to load the trained supernet from / save it to (by rank 0 under torchrun).
            While training, each epoch is saved beside it (``NAME.training.pt``,
            atomically, previous kept); a killed run continues from there
            exactly, and the file is removed once the supernet is saved.

    ``epochs`` of training happen in :meth:`setup`; a strategy or operator
    may train :attr:`shared` further during a search (the schedule then
    continues at learning rate 0 unless the supernet was built with a longer
    one), and a resumed search restores the weights it had.
    """

    name = "supernet"
    #: where and how it runs, not what it scores: left out of the identity a resumed search must match
    operational_params = frozenset({"eval_batch_size", "checkpoint", "device", "channels_last", "workers", "progress",
                                    "micro_batches", "data_parallel"})

    def __init__(self, *, dataset: str = "cifar10-mini", root: str | None = None,
                 split: tuple[float, float] = (0.5, 0.5), supernet_kwargs: Mapping[str, Any] | None = None,
                 epochs: int = 10, batch_size: int = 64, learning_rate: float = 0.05, momentum: float = 0.9,
                 weight_decay: float = 3e-4, grad_clip: float = 5.0, warmup_epochs: int = 0, sampler: str = "uniform",
                 schedule_epochs: int | None = None,
                 recalibration_images: int = 512, val_images: int | None = None, eval_batch_size: int = 256,
                 metric: str = "accuracy", checkpoint: str | None = None, seed: int = 0, device: str = "auto",
                 channels_last: bool | None = None, workers: int = 0, progress: bool = True,
                 eval_dtype: str = "float32", cutout: int | None = None, micro_batches: int | None = None,
                 data_parallel: bool | None = None, train_dtype: str = "float32") -> None:
        super().__init__()
        if eval_dtype not in EVAL_DTYPES:
            raise ConfigError(f"eval_dtype must be one of {', '.join(EVAL_DTYPES)}, got {eval_dtype!r}")
        self.eval_dtype = eval_dtype
        if metric not in METRICS:
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
        if train_dtype not in TRAIN_DTYPES:
            raise ConfigError(f"train_dtype must be one of {', '.join(TRAIN_DTYPES)}, got {train_dtype!r}")
        if train_dtype != "float32":  # only when used, so that existing supernet checkpoints keep their digest
            self.settings["train_dtype"] = train_dtype
        if cutout:  # only when used, so that existing supernet checkpoints keep their digest
            self.settings["cutout"] = int(cutout)
        if schedule_epochs is not None:  # only when given, so that existing supernet checkpoints keep their digest
            if schedule_epochs < epochs:
                raise ConfigError(f"schedule_epochs ({schedule_epochs}) must be at least epochs ({epochs})")
            self.settings["schedule_epochs"] = schedule_epochs
        self.recalibration_images, self.val_images = recalibration_images, val_images
        self.eval_batch_size, self.metric, self.checkpoint = eval_batch_size, metric, checkpoint
        self.device_spec, self.workers, self.progress = device, workers, progress
        self.channels_last_spec = channels_last
        self.micro_batches, self.data_parallel = micro_batches, data_parallel
        self.shared: SharedSupernet | None = None

    @property
    def objectives(self) -> tuple[Objective, ...]:
        return (Objective("accuracy", "max"),) if self.metric == "accuracy" else (Objective("val_loss", "min"),)

    @property
    def version(self) -> Any:
        """The shared supernet's version (None before setup): it changes whenever the weights do."""
        return None if self.shared is None else self.shared.version

    @property
    def digest(self) -> str:
        """Names the trained weights' settings (checkpoint files of other settings are refused)."""
        return hashlib.sha256(json.dumps(self.settings, sort_keys=True).encode()).hexdigest()[:16]

    @property
    def supernet(self):
        """The supernet module (``nn.Module``; None before setup)."""
        return None if self.shared is None else self.shared.module

    @property
    def channels_last(self) -> bool:
        return self.shared.channels_last

    # ------------------------------------------------------------------ setup
    def _setup(self, space) -> None:
        self.shared = self._build_shared(space)
        if not self._load():
            self._train()
            if self.checkpoint and distributed.rank() == 0:  # one writer, also when every rank trains alone
                save_checkpoint(self.checkpoint, {"settings_digest": self.digest, "settings": self.settings,
                                                  "model": self.shared.module.state_dict()}, kind="supernet")
                for done in (self._progress_path(), previous_path(self._progress_path())):
                    done.unlink(missing_ok=True)
            if self.shared.world > 1:  # the other ranks wait until the file is complete
                distributed.barrier()
        self.shared.updates = 0  # the trained (or loaded) weights are version 0 of this search

    def _build_shared(self, space) -> SharedSupernet:
        """The untrained shared supernet with this evaluator's settings and data."""
        s = self.settings
        shared = SharedSupernet(
            space, dataset=s["dataset"], root=s["root"], split=s["split"], supernet_kwargs=s["supernet_kwargs"],
            epochs=s.get("schedule_epochs", s["epochs"]), batch_size=s["batch_size"],
            learning_rate=s["learning_rate"],
            momentum=s["momentum"], weight_decay=s["weight_decay"], grad_clip=s["grad_clip"],
            warmup_epochs=s["warmup_epochs"], sampler=s["sampler"], seed=s["seed"],
            recalibration_images=self.recalibration_images, val_images=self.val_images,
            eval_batch_size=self.eval_batch_size, eval_dtype=self.eval_dtype, device=self.device_spec,
            channels_last=self.channels_last_spec, workers=self.workers, progress=self.progress,
            cutout=s.get("cutout"), micro_batches=self.micro_batches, data_parallel=self.data_parallel,
            train_dtype=s.get("train_dtype", "float32"))
        if shared.micro_batches != 1:  # part of what the weights depend on (not written when 1: older digests hold)
            self.settings["micro_batches"] = shared.micro_batches
        return shared

    def _load(self) -> bool:
        if not self.checkpoint or not Path(self.checkpoint).is_file():
            return False
        state = load_checkpoint(self.checkpoint, kind="supernet")
        if state.get("settings_digest") != self.digest:
            saved = state.get("settings")
            differ = ("" if not isinstance(saved, dict) else ": " + ", ".join(
                f"{key} {saved.get(key, '(default)')!r} there, {self.settings.get(key, '(default)')!r} here"
                for key in sorted(set(saved) | set(self.settings)) if saved.get(key) != self.settings.get(key)))
            raise CheckpointError(f"{self.checkpoint} holds a supernet trained with other settings{differ} "
                                  "(delete the file or pass the same options)")
        try:
            self.shared.module.load_state_dict(state["model"])
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

    def _train(self) -> None:
        """Train ``epochs`` epochs; with a ``checkpoint``, each epoch is saved and a killed run continues exactly."""
        epochs, progress_path = self.settings["epochs"], self._progress_path()
        if progress_path is not None and has_checkpoint(progress_path):
            state = load_latest_checkpoint(progress_path, kind="supernet-training",
                                           expect={"settings_digest": self.digest})
            if "supernet" not in state:
                raise CheckpointError(f"{progress_path} was written by an older evonas; delete it to train again")
            self.shared.load_state_dict(state["supernet"])
            log.info("continuing supernet training after epoch %d/%d from %s", self.shared.epoch, epochs,
                     progress_path)
        while self.shared.epoch < epochs:
            stats = self.shared.train(epochs=1)
            log.info("supernet epoch %d/%d: loss %.4f, top1 %.2f%%", self.shared.epoch, epochs, stats.loss,
                     stats.top1)
            if progress_path is not None and self.shared.epoch < epochs and distributed.rank() == 0:
                save_checkpoint(progress_path, {"settings_digest": self.digest,
                                                "supernet": self.shared.state_dict()}, kind="supernet-training")

    # --------------------------------------------------------------- evaluate
    def _evaluate(self, archs: list) -> list[dict[str, float]]:
        return self.shared.score(archs)

    # --------------------------------------------------------------- replicas
    @property
    def shares_weights(self) -> bool:
        return True

    @property
    def wants_gpu(self) -> bool:
        return self.device_spec != "cpu"

    def replica_state(self) -> dict:
        """The weights scores depend on (module state on the CPU) and their version: a replica loads them
        instead of training."""
        return {"settings_digest": self.digest, "version": self.version,
                "model": {k: v.detach().cpu() for k, v in self.shared.module.state_dict().items()}}

    def setup_replica(self, space, state: Any) -> None:
        if state is None:
            raise ConfigError("a supernet evaluator's replica needs the weights (replica_state())")
        self.space = space
        self.shared = self._build_shared(space)
        self._is_set_up = True
        self.load_replica_state(state)

    def load_replica_state(self, state: Any) -> None:
        if state.get("settings_digest") != self.digest:
            raise CheckpointError(f"supernet weights of other settings (digest {state.get('settings_digest')!r}, "
                                  f"this evaluator's {self.digest!r})")
        self.shared.module.load_state_dict(state["model"])

    # ----------------------------------------------------------------- resume
    def state_dict(self) -> dict:
        """The shared supernet's state once it was trained during the search (else nothing: setup rebuilds it)."""
        return {"supernet": self.shared.state_dict()} if self.shared is not None and self.shared.updates else {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if state.get("supernet") is not None:
            self.shared.load_state_dict(state["supernet"])


__all__ = ["SupernetEvaluator"]
