"""Few-shot supernets: the one-shot supernet split on chosen edges' ops, each part trained on its own cells.

A one-shot supernet makes every architecture share every weight, and the
co-adaptation of ops that never meet in one architecture blurs its ranking.
Few-shot NAS (Zhao et al., ICML 2021, "Few-shot Neural Architecture Search")
splits it: for the edges ``split_edges``, each combination of their ops
gets a sub-supernet of its own (five for one NAS-Bench-201 edge, 25 for
two, seven for one of DARTS' node-0 edges) that holds only the
architectures carrying those ops. Each
sub-supernet starts from the trained one-shot supernet's weights (the
paper's transfer, which makes them cheap) and trains ``sub_epochs`` more
epochs sampling only its own architectures; an architecture is then scored
(BN recalibration, validation top-1 / loss, as
:class:`~evonas.evaluators.supernet.SupernetEvaluator` does) by the
sub-supernet that holds it.

What the space must offer is the ``HasEdgeSplit`` capability
(:mod:`evonas.spaces.base`): the ops each edge can carry, the ops an
architecture carries on given edges, and a way to fix them in a sample.

``split_edges=()`` makes a single "sub-supernet" holding every
architecture: the one-shot supernet trained ``sub_epochs`` more epochs,
the baseline of equal training cost.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import logging
from pathlib import Path
from typing import Any, Mapping

import torch

from evonas.errors import CheckpointError, ConfigError
from evonas.evaluators.base import Evaluator, Objective
from evonas.evaluators.supernet import SupernetEvaluator
from evonas.registry import evaluators
from evonas.runtime.checkpoint import (
    has_checkpoint,
    load_checkpoint,
    load_latest_checkpoint,
    previous_path,
    save_checkpoint,
)
from evonas.spaces.base import HasEdgeSplit, require
from evonas.training.shared_supernet import SharedSupernet

log = logging.getLogger(__name__)
#: version of the few-shot procedure, part of the settings digest
FEW_SHOT_RECIPE = 1


@evaluators.register("few-shot-supernet")
class FewShotSupernetEvaluator(Evaluator):
    """Fitness from few-shot supernets: one sub-supernet per op combination of ``split_edges``.

    Args:
        split_edges: the edges (indices of the space's ``edge_choices()``) whose ops split the supernet;
            ``()``: no split (the one-shot supernet trained ``sub_epochs`` more, for comparisons).
        epochs: epochs of the one-shot supernet (trained as the ``supernet`` evaluator trains it, and
            shared with it through ``one_shot_checkpoint``).
        sub_epochs: epochs each sub-supernet trains after starting from the one-shot weights (its own
            cosine schedule from ``sub_learning_rate``, a fresh SGD momentum).
        sub_learning_rate: the sub-supernets' initial learning rate (None: ``learning_rate``).
        dataset, root, split, supernet_kwargs, batch_size, learning_rate, momentum, weight_decay, grad_clip,
        warmup_epochs, sampler, recalibration_images, val_images, eval_batch_size, metric, eval_dtype,
        train_dtype, seed, device, channels_last, progress: as for
            :class:`~evonas.evaluators.supernet.SupernetEvaluator` (the sub-supernets use the same data
            split, sampler, scoring and precision).
        checkpoint: a file for the trained sub-supernets (loaded when it holds these settings, else written
            after training; while training, ``NAME.training.pt`` after every sub-supernet epoch, from which
            a killed run continues exactly).
        one_shot_checkpoint: the one-shot supernet's file (None: ``NAME.one-shot.pt`` beside
            ``checkpoint``); pass the file a ``supernet`` evaluator of the same settings uses to share it.

    Values: ``accuracy`` / ``val_loss`` as the supernet evaluator reports them, plus ``sub_supernet``,
    the index of the sub-supernet that scored the architecture (in :attr:`groups`).
    """

    name = "few-shot-supernet"
    #: where and how it runs, not what it scores: left out of the identity a resumed search must match
    operational_params = frozenset({"eval_batch_size", "checkpoint", "one_shot_checkpoint", "device",
                                    "channels_last", "progress"})

    def __init__(self, *, split_edges: tuple[int, ...] = (0,), epochs: int = 10, sub_epochs: int = 2,
                 sub_learning_rate: float | None = None, dataset: str = "cifar10-mini", root: str | None = None,
                 split: tuple[float, float] = (0.5, 0.5), supernet_kwargs: Mapping[str, Any] | None = None,
                 batch_size: int = 64, learning_rate: float = 0.05, momentum: float = 0.9,
                 weight_decay: float = 3e-4, grad_clip: float = 5.0, warmup_epochs: int = 0,
                 sampler: str = "uniform", recalibration_images: int = 512, val_images: int | None = None,
                 eval_batch_size: int = 256, metric: str = "accuracy", eval_dtype: str = "float32",
                 train_dtype: str = "float32", checkpoint: str | None = None,
                 one_shot_checkpoint: str | None = None, seed: int = 0, device: str = "auto",
                 channels_last: bool | None = None, progress: bool = True) -> None:
        super().__init__()
        edges = list(split_edges)
        if any(isinstance(e, bool) or not isinstance(e, int) or e < 0 for e in edges) or len(set(edges)) < len(edges):
            raise ConfigError(f"split_edges must be distinct edge indices (whole numbers >= 0), got {split_edges!r}")
        if isinstance(sub_epochs, bool) or not isinstance(sub_epochs, int) or sub_epochs < 0:
            raise ConfigError(f"sub_epochs must be a whole number >= 0, got {sub_epochs!r}")
        if sub_learning_rate is not None and not sub_learning_rate > 0:
            raise ConfigError(f"sub_learning_rate must be > 0, got {sub_learning_rate!r}")
        self.split_edges = tuple(edges)
        if checkpoint and one_shot_checkpoint is None:
            path = Path(checkpoint)
            one_shot_checkpoint = str(path.with_name(f"{path.stem}.one-shot.pt"))
        # the one-shot supernet: the supernet evaluator of the same settings (checks them, trains, resumes)
        self.one_shot = SupernetEvaluator(
            dataset=dataset, root=root, split=split, supernet_kwargs=supernet_kwargs, epochs=epochs,
            batch_size=batch_size, learning_rate=learning_rate, momentum=momentum, weight_decay=weight_decay,
            grad_clip=grad_clip, warmup_epochs=warmup_epochs, sampler=sampler,
            recalibration_images=recalibration_images, val_images=val_images, eval_batch_size=eval_batch_size,
            metric=metric, checkpoint=one_shot_checkpoint, seed=seed, device=device, channels_last=channels_last,
            progress=progress, eval_dtype=eval_dtype, data_parallel=False, train_dtype=train_dtype)
        self.settings = dict(one_shot=self.one_shot.settings, split_edges=list(self.split_edges),
                             sub_epochs=sub_epochs,
                             sub_learning_rate=learning_rate if sub_learning_rate is None else sub_learning_rate,
                             recipe=FEW_SHOT_RECIPE)
        self.metric, self.checkpoint = metric, checkpoint
        self.sub_supernets: list[SharedSupernet] = []
        #: the ops on ``split_edges`` of each sub-supernet's architectures, in sub-supernet order
        self.groups: list[tuple[str, ...]] = []

    @property
    def objectives(self) -> tuple[Objective, ...]:
        return self.one_shot.objectives

    @property
    def digest(self) -> str:
        """Names the trained sub-supernets' settings (checkpoint files of other settings are refused)."""
        return hashlib.sha256(json.dumps(self.settings, sort_keys=True).encode()).hexdigest()[:16]

    @property
    def version(self) -> Any:
        """Changes whenever a sub-supernet's weights do (None before setup)."""
        if not self.sub_supernets:
            return None
        return f"{self.digest}+" + ".".join(str(sub.updates) for sub in self.sub_supernets)

    def sub_supernet_of(self, arch) -> int:
        """Index (in :attr:`groups` / :attr:`sub_supernets`) of the sub-supernet holding ``arch``."""
        return self._index[tuple(self.space.edge_ops(arch, self.split_edges))]

    # ------------------------------------------------------------------ setup
    def _setup(self, space) -> None:
        self._build(space)
        if not self._load():
            self._train(space)
            if self.checkpoint:
                save_checkpoint(self.checkpoint, {"settings_digest": self.digest, "settings": self.settings,
                                                  "models": [sub.module.state_dict() for sub in self.sub_supernets]},
                                kind="few-shot-supernet")
                for done in (self._progress_path(), previous_path(self._progress_path())):
                    done.unlink(missing_ok=True)
        for sub in self.sub_supernets:  # the trained (or loaded) weights are version 0 of this search
            sub.updates = 0

    def _build(self, space) -> None:
        """The untrained sub-supernets, one per op combination of the split edges."""
        splitter = require(space, HasEdgeSplit, "a few-shot supernet (split_edges)")
        choices = splitter.edge_choices()
        bad = [e for e in self.split_edges if e >= len(choices)]
        if bad:
            raise ConfigError(f"split_edges {bad} do not exist: the space's splittable edges are "
                              f"0..{len(choices) - 1}")
        self.groups = list(itertools.product(*(tuple(choices[e]) for e in self.split_edges)))
        self._index = {ops: i for i, ops in enumerate(self.groups)}
        one_shot, s = self.one_shot, self.one_shot.settings
        common = dict(dataset=s["dataset"], root=s["root"], split=s["split"], supernet_kwargs=s["supernet_kwargs"],
                      epochs=self.settings["sub_epochs"], batch_size=s["batch_size"],
                      learning_rate=self.settings["sub_learning_rate"], momentum=s["momentum"],
                      weight_decay=s["weight_decay"], grad_clip=s["grad_clip"], sampler=s["sampler"], seed=s["seed"],
                      recalibration_images=one_shot.recalibration_images, val_images=one_shot.val_images,
                      eval_batch_size=one_shot.eval_batch_size, eval_dtype=one_shot.eval_dtype,
                      device=one_shot.device_spec, channels_last=one_shot.channels_last_spec,
                      progress=one_shot.progress, data_parallel=False, train_dtype=s.get("train_dtype", "float32"))
        self.sub_supernets = []
        for ops in self.groups:  # the first reads the data, the others share it
            self.sub_supernets.append(SharedSupernet(space, fixed_edges=dict(zip(self.split_edges, ops)),
                                                     data_of=self.sub_supernets[0] if self.sub_supernets else None,
                                                     **common))

    def _load(self) -> bool:
        if not self.checkpoint or not Path(self.checkpoint).is_file():
            return False
        state = load_checkpoint(self.checkpoint, kind="few-shot-supernet")
        if state.get("settings_digest") != self.digest:
            raise CheckpointError(f"{self.checkpoint} holds few-shot supernets of other settings (delete the file "
                                  "or pass the same options)")
        self._load_models(state["models"], self.checkpoint)
        log.info("loaded %d trained sub-supernets from %s", len(self.sub_supernets), self.checkpoint)
        return True

    def _load_models(self, models: list, where: str) -> None:
        if len(models) != len(self.sub_supernets):
            raise CheckpointError(f"{where} holds {len(models)} sub-supernets, these settings make "
                                  f"{len(self.sub_supernets)}")
        try:
            for sub, model in zip(self.sub_supernets, models):
                sub.module.load_state_dict(model)
        except RuntimeError as exc:
            raise CheckpointError(f"{where} does not fit these sub-supernets ({exc})") from exc

    def _progress_path(self) -> Path | None:
        """Where unfinished sub-supernet training is checkpointed each epoch (``CHECKPOINT.training.pt``)."""
        if not self.checkpoint:
            return None
        path = Path(self.checkpoint)
        return path.with_name(f"{path.stem}.training.pt")

    def _train(self, space) -> None:
        """Each sub-supernet from the one-shot weights, ``sub_epochs`` epochs on its own architectures."""
        progress_path, epochs = self._progress_path(), self.settings["sub_epochs"]
        if progress_path is not None and has_checkpoint(progress_path):
            state = load_latest_checkpoint(progress_path, kind="few-shot-training",
                                           expect={"settings_digest": self.digest})
            for sub, sub_state in zip(self.sub_supernets, state["subs"]):  # in order: the last one's torch RNG
                sub.load_state_dict(sub_state)
            log.info("continuing few-shot training from %s (%d sub-supernets started)", progress_path,
                     len(state["subs"]))
        one_shot_weights = None
        for i, sub in enumerate(self.sub_supernets):
            if sub.step == 0:  # not started: from the one-shot supernet's weights
                if one_shot_weights is None:
                    self.one_shot.setup(space)  # trains it, or loads it from one_shot_checkpoint
                    one_shot_weights = self.one_shot.supernet.state_dict()
                sub.module.load_state_dict(one_shot_weights)
                sub.mark_changed()
                # the augmentation's global RNG, as it is whether the one-shot supernet was trained or loaded
                torch.manual_seed(self.one_shot.settings["seed"] + 1 + i)
            while sub.epoch < epochs:
                stats = sub.train(epochs=1, description=f"sub-supernet {i + 1}/{len(self.sub_supernets)}")
                log.info("sub-supernet %d/%d %s: epoch %d/%d, loss %.4f, top1 %.2f%%", i + 1,
                         len(self.sub_supernets), "/".join(self.groups[i]) or "(all)", sub.epoch, epochs,
                         stats.loss, stats.top1)
                last = i == len(self.sub_supernets) - 1 and sub.epoch >= epochs
                if progress_path is not None and not last:
                    save_checkpoint(progress_path, {"settings_digest": self.digest,
                                                    "subs": [s.state_dict() for s in self.sub_supernets[:i + 1]]},
                                    kind="few-shot-training")

    # --------------------------------------------------------------- evaluate
    def _evaluate(self, archs: list) -> list[dict[str, float]]:
        """Each architecture scored by its own sub-supernet (one batch per sub-supernet)."""
        by_sub: dict[int, list[int]] = {}
        for position, arch in enumerate(archs):
            by_sub.setdefault(self.sub_supernet_of(arch), []).append(position)
        results: list[dict[str, float]] = [{} for _ in archs]
        for index, positions in sorted(by_sub.items()):
            scores = self.sub_supernets[index].score([archs[p] for p in positions])
            for position, score in zip(positions, scores):
                results[position] = {**score, "sub_supernet": float(index)}
        return results

    # --------------------------------------------------------------- replicas
    @property
    def shares_weights(self) -> bool:
        return True

    @property
    def wants_gpu(self) -> bool:
        return self.one_shot.wants_gpu

    def replica_state(self) -> dict:
        """The sub-supernets' weights (on the CPU) and their version: a replica loads them instead of training."""
        return {"settings_digest": self.digest, "version": self.version,
                "models": [{k: v.detach().cpu() for k, v in sub.module.state_dict().items()}
                           for sub in self.sub_supernets]}

    def setup_replica(self, space, state: Any) -> None:
        if state is None:
            raise ConfigError("a few-shot supernet evaluator's replica needs the weights (replica_state())")
        self.space = space
        self._build(space)
        self._is_set_up = True
        self.load_replica_state(state)

    def load_replica_state(self, state: Any) -> None:
        if state.get("settings_digest") != self.digest:
            raise CheckpointError(f"sub-supernet weights of other settings (digest {state.get('settings_digest')!r}, "
                                  f"this evaluator's {self.digest!r})")
        self._load_models(state["models"], "the replica state")

    # ----------------------------------------------------------------- resume
    def state_dict(self) -> dict:
        """The sub-supernets' states once one was trained during the search (else nothing: setup rebuilds them)."""
        if any(sub.updates for sub in self.sub_supernets):
            return {"subs": [sub.state_dict() for sub in self.sub_supernets]}
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        subs = state.get("subs")
        if subs is not None:
            if len(subs) != len(self.sub_supernets):
                raise CheckpointError(f"the state holds {len(subs)} sub-supernets, these settings make "
                                      f"{len(self.sub_supernets)}")
            for sub, sub_state in zip(self.sub_supernets, subs):
                sub.load_state_dict(sub_state)


__all__ = ["FEW_SHOT_RECIPE", "FewShotSupernetEvaluator"]
