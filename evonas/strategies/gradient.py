"""Differentiable search as strategies: DARTS (bi-level) and StacNAS (two stages, one-level).

The strategy owns a search network in continuous mode and a
:class:`~evonas.operators.gradient.GradientSearch`. Each generation of the
search loop is one epoch of gradient search (``steps_per_epoch`` caps it for
quick runs); after it the architecture the alphas currently encode is
evaluated by the search's evaluator (parameters, NAS-Bench-301, a table...),
so ``history.csv`` and the plots follow the search. The search ends when the
epochs of its stages are done (the budget counts distinct derived
architectures and rarely binds); a resumed search continues after the last
finished epoch, exactly.

* ``darts``: Liu et al., ICLR 2019. The DARTS search network (8 cells,
  C=16, the space's ops, by default DARTS' seven, and ``none``), weights on one half of the data,
  alphas on the other (``mode="first-order"`` or ``"second-order"``);
  derived by DARTS' rule (per node the two strongest edges by softmax
  weight, ``none`` excluded). Also on the NAS-Bench-201 space (its
  supernet's alphas, strongest op per edge).
* ``stacnas``: Li et al. 2019. Stage 1 mixes one representative per op
  group on every edge (14 cells), stage 2 a new, deeper network (20 cells)
  with each edge's winning group (see :mod:`evonas.spaces.darts.stacnas`);
  one-level updates on the whole training set (``train_portion=1``); the
  genotype of stage 2 ranks raw logits.

The network runs in channels-last memory format on the CPU
(``channels_last=None``; 1.5-2x faster there), contiguous elsewhere.

``lr_schedule="published"`` reproduces the released codes' schedule, which
steps the cosine before each epoch (so epoch e trains at the rate of e + 1
and never at the full initial rate); the default is the plain cosine.

Guard rails: a non-finite loss rolls the network and both optimisers back to
the start of the epoch, halves the learning rates and ends the epoch (logged
as a warning); a derived normal cell with at least ``skip_collapse_share`` of
skip connections is reported (DARTS' known failure mode).
"""
from __future__ import annotations

import contextlib
import copy
import difflib
import inspect
import logging
import math
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from evonas.errors import ConfigError
from evonas.registry import strategies
from evonas.spaces.base import HasCellTools, HasRelaxation
from evonas.strategies.base import Strategy

log = logging.getLogger(__name__)


def cosine_rate(epoch: int, epochs: int, high: float, low: float) -> float:
    """Per-epoch cosine from ``high`` (epoch 0) towards ``low`` (reached at ``epochs``)."""
    return low + (high - low) * (1 + math.cos(math.pi * epoch / max(epochs, 1))) / 2


class _GradientStrategy(Strategy):
    """Shared machinery: data, stages of (network, mode, epochs), one epoch per generation, derivation."""

    stop_when_stalled = False  # the derived architecture often repeats for many epochs: the stages end the search
    space_needs = (HasRelaxation,)  # it searches the continuous relaxation of the space's supernet

    def __init__(self, *, dataset: str = "cifar10-mini", root: str | None = None, batch_size: int = 64,
                 train_portion: float = 0.5, learning_rate: float = 0.025, learning_rate_min: float = 0.001,
                 momentum: float = 0.9, weight_decay: float = 3e-4, grad_clip: float = 5.0,
                 arch_learning_rate: float = 3e-4, arch_weight_decay: float = 1e-3, steps_per_epoch: int | None = None,
                 skip_collapse_share: float = 0.5, lr_schedule: str = "cosine", device: str = "auto",
                 channels_last: bool | None = None, workers: int = 0, smoke_steps: int | None = None,
                 micro_batch: int | None = None, **stage_config: Any) -> None:
        if lr_schedule not in ("cosine", "published"):
            raise ConfigError(f"lr_schedule must be 'cosine' or 'published', got {lr_schedule!r}")
        if not 0 < train_portion <= 1:
            raise ConfigError(f"train_portion must be in (0, 1], got {train_portion}")
        if smoke_steps is not None and smoke_steps < 1:
            raise ConfigError(f"smoke_steps must be >= 1 (or None: a real run), got {smoke_steps}")
        if steps_per_epoch is not None and steps_per_epoch < 1:
            raise ConfigError(f"steps_per_epoch must be >= 1 (or None: whole epochs), got {steps_per_epoch}")
        own = {name for name, p in inspect.signature(type(self).__init__).parameters.items()
               if p.kind is p.KEYWORD_ONLY}  # the subclass's stage settings (epochs, C, layers, ...)
        unknown = sorted(set(stage_config) - own)
        if unknown:
            valid = sorted(own | set(inspect.signature(_GradientStrategy.__init__).parameters) - {"self",
                                                                                                   "stage_config"})
            close = difflib.get_close_matches(unknown[0], valid, 1)
            hint = f"did you mean {close[0]!r}?" if close else f"valid: {', '.join(valid)}"
            raise ConfigError(f"unknown option {unknown[0]!r} of strategy {self.name!r}; {hint}")
        epochs = stage_config.get("epochs", 1)
        if not isinstance(epochs, (int, np.integer)) or isinstance(epochs, bool) or epochs < 1:
            raise ConfigError(f"epochs must be a whole number >= 1, got {epochs!r}")
        super().__init__(dataset=dataset, root=root, batch_size=batch_size, train_portion=train_portion,
                         learning_rate=learning_rate, learning_rate_min=learning_rate_min, momentum=momentum,
                         weight_decay=weight_decay, grad_clip=grad_clip, arch_learning_rate=arch_learning_rate,
                         arch_weight_decay=arch_weight_decay, steps_per_epoch=steps_per_epoch,
                         skip_collapse_share=skip_collapse_share, lr_schedule=lr_schedule, device=device,
                         channels_last=channels_last, workers=workers, smoke_steps=smoke_steps,
                         micro_batch=micro_batch, **stage_config)
        self.stage = 0  # index into the stages
        self.epoch = 0  # epochs done in the current stage
        self.rate_scale = 1.0  # halved after each non-finite loss
        self.stage_results: list[Any] = []  # what each finished stage handed on (StacNAS: the groups)
        self.curve: list[dict] = []  # one row per epoch: stage, epoch, losses, derived architecture key
        self.derived = None  # the architecture derived after the latest epoch

    # ---------------------------------------------------------------- stages
    def _stages(self) -> list[dict]:
        """``[{"name", "epochs", "mode"}]``, in order."""
        raise NotImplementedError

    def _build(self, stage: int) -> torch.nn.Module:
        """The search network of ``stage`` (fresh weights, from torch's global generator)."""
        raise NotImplementedError

    def _derive(self, stage: int, module: torch.nn.Module):
        """The architecture the alphas of ``stage`` encode now."""
        raise NotImplementedError

    def _hand_on(self, stage: int, module: torch.nn.Module) -> Any:
        """What a finished stage passes to the next (None by default)."""
        return None

    # ------------------------------------------------------------------ set-up
    def _setup(self) -> None:
        from evonas.data import Subset, dataset_family, default_transforms, get_dataset, split_indices
        from evonas.runtime.device import resolve_device

        c = self.config
        if not c.get("alpha_share", True) and getattr(self.space, "shared_cell", False):
            raise ConfigError("alpha_share=False derives a cell per layer; this space shares one cell")
        self.device = resolve_device(c["device"])
        self.memory_format = (torch.channels_last if (self.device.type == "cpu" if c["channels_last"] is None
                                                       else c["channels_last"]) else torch.contiguous_format)
        base = get_dataset("cifar10-mini" if c["smoke_steps"] else c["dataset"], root=c["root"])
        train_tf, _ = default_transforms(dataset_family(base), cutout=None)
        self.meter = None
        if c["smoke_steps"]:
            from evonas.runtime.phases import PhaseMeter

            self.meter = PhaseMeter(self.device, notes=[
                f"smoke run: {c['smoke_steps']} step(s) per stage; the embedded cifar10-mini images (32x32, "
                f"CIFAR-10's resolution) stand in for {c['dataset']}"])
            if c["micro_batch"] and c["micro_batch"] < c["batch_size"]:
                self.meter.note(f"batch {c['batch_size']} runs as micro-batches of {c['micro_batch']} with "
                                f"gradient accumulation (BatchNorm sees {c['micro_batch']} images at a time)")
        self.num_classes = len(base.classes)
        self.data_seed = int(self.rng.integers(2**31 - 1))
        if c["train_portion"] >= 1:
            train_idx, val_idx = np.arange(len(base.targets)), None
        else:
            train_idx, val_idx = split_indices(base.targets, (c["train_portion"], 1 - c["train_portion"]),
                                               seed=self.data_seed)
        self.train_set = Subset(base, train_idx, train_tf)
        self.val_set = None if val_idx is None else Subset(base, val_idx, train_tf)  # DARTS: augmented both
        if any(s["mode"] != "one-level" for s in self._stages()) and self.val_set is None:
            raise ConfigError("bi-level DARTS needs a validation part: train_portion < 1")
        self._start_stage()

    def _start_stage(self, state: dict | None = None) -> None:
        from evonas.operators.gradient import GradientSearch

        c = self.config
        self.module = self._build(self.stage).to(self.device, memory_format=self.memory_format)
        self.search = GradientSearch(self.module, mode=self._stages()[self.stage]["mode"],
                                     learning_rate=c["learning_rate"], momentum=c["momentum"],
                                     weight_decay=c["weight_decay"], grad_clip=c["grad_clip"],
                                     arch_learning_rate=c["arch_learning_rate"],
                                     arch_weight_decay=c["arch_weight_decay"], micro_batch=c["micro_batch"])
        if state is not None:
            self.module.load_state_dict(state["module"])
            self.search.w_optimizer.load_state_dict(state["w_optimizer"])
            self.search.a_optimizer.load_state_dict(state["a_optimizer"])

    def _loader(self, subset, salt: int) -> DataLoader:
        generator = torch.Generator().manual_seed(self.data_seed * 1009 + 97 * self.stage + 7919 * self.epoch + salt)
        return DataLoader(subset, batch_size=self.config["batch_size"], shuffle=True, drop_last=True,
                          num_workers=self.config["workers"], generator=generator)

    # -------------------------------------------------------------------- loop
    @property
    def finished(self) -> bool:
        return self.stage >= len(self._stages())

    def progress_units(self) -> tuple[int, int, str]:
        """Epochs done of all stages (a smoke run: one short epoch per stage)."""
        per_stage = [1 if self.config["smoke_steps"] else s["epochs"] for s in self._stages()]
        return sum(per_stage[:self.stage]) + (self.epoch if not self.finished else 0), sum(per_stage), "epochs"

    def ask(self) -> list:
        return [self._derive(self.stage, self.module)] if not self.finished else []

    def tell(self, archs: list, results: list[dict[str, float]]) -> None:
        if self.curve:
            self.curve[-1].update({f"{k}": v for k, v in results[0].items()})

    def step(self, ctx) -> None:
        self.ctx = ctx
        try:
            stage = self._stages()[self.stage]
            losses = self._epoch(stage)
            arch = self._derive(self.stage, self.module)
            if self.epoch + 1 >= stage["epochs"]:  # the stage's result (early epochs' cells are noise)
                self._check_collapse(arch)
            entropy = {f"{name}_entropy": alpha_entropy(w) for name, w in alpha_weights(self.module).items()}
            self.curve.append({"generation": ctx.generation, "stage": stage["name"], "epoch": self.epoch + 1,
                               **losses, **entropy, "arch": self.space.key(arch)})
            self.derived = arch
            self.tell([arch], ctx.evaluate([arch]))
            self.epoch += 1
            if self.epoch >= (1 if self.config["smoke_steps"] else stage["epochs"]):  # smoke: one short epoch
                self.stage_results.append(self._hand_on(self.stage, self.module))
                self.stage, self.epoch, self.rate_scale = self.stage + 1, 0, 1.0
                if not self.finished:
                    self._start_stage()
                elif self.meter is not None:
                    self._smoke_end()
        finally:
            self.ctx = None

    # -------------------------------------------------------------- smoke run
    #: the stand-alone CIFAR-10 recipe of the paper's evaluation (the DARTS recipe: C=36, 20 cells, batch 96, 600
    #: epochs, auxiliary 0.4, drop-path 0.2, grad clip 5); a smoke run builds and trains it a few steps
    STANDALONE: dict = {"C": 36, "layers": 20, "auxiliary_weight": 0.4, "drop_path_prob": 0.2, "epochs": 600,
                        "batch_size": 96, "learning_rate": 0.025, "weight_decay": 3e-4, "grad_clip": 5.0}

    def full_run_steps(self) -> dict:
        """``{(phase, kind): steps}`` of the full run these settings describe on CIFAR-10 (50,000 training
        images): each stage's optimizer steps, and the stand-alone training."""
        from evonas.training.smoke import epoch_steps
        c = self.config
        per_epoch = epoch_steps(int(50_000 * min(c["train_portion"], 1.0)), c["batch_size"], drop_last=True)
        if c["steps_per_epoch"]:
            per_epoch = min(per_epoch, c["steps_per_epoch"])
        steps = {(s["name"], "train"): s["epochs"] * per_epoch for s in self._stages()}
        steps[("stand-alone", "train")] = self.STANDALONE["epochs"] * epoch_steps(50_000,
                                                                                   self.STANDALONE["batch_size"])
        return steps

    def _smoke_end(self) -> None:
        """The derived cell's stand-alone network built and trained a few steps; then the report."""
        from evonas.runtime.phases import format_report
        from evonas.training.smoke import standalone_steps
        c, recipe = self.config, self.STANDALONE
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.data_seed)
            with self.meter.steps("derive", "run", 1):
                network = self.space.build(self.derived, C=recipe["C"], layers=recipe["layers"], auxiliary=True,
                                           num_classes=self.num_classes)
            loader = DataLoader(self.train_set, batch_size=recipe["batch_size"], shuffle=True, drop_last=True)
            standalone_steps(network, loader, steps=c["smoke_steps"], meter=self.meter,
                             learning_rate=recipe["learning_rate"], weight_decay=recipe["weight_decay"],
                             auxiliary_weight=recipe["auxiliary_weight"], grad_clip=recipe["grad_clip"],
                             drop_path_prob=recipe["drop_path_prob"], micro_batch=c["micro_batch"])
        del network
        self.smoke_report = self.meter.report(self.full_run_steps(), search_phases=(
            *(s["name"] for s in self._stages()), "derive"))
        print(format_report(f"{self.name} (published={c.get('published', False)})", self.smoke_report), flush=True)

    def _smoke_files(self) -> dict:
        """``smoke.json`` after a smoke run (see :mod:`evonas.runtime.phases`)."""
        report = getattr(self, "smoke_report", None)
        return {"smoke.json": report} if report is not None else {}

    def _epoch(self, stage: dict) -> dict[str, float]:
        c = self.config
        shift = 1 if c["lr_schedule"] == "published" else 0  # the released code steps its scheduler first
        rate = cosine_rate(self.epoch + shift, stage["epochs"], c["learning_rate"], c["learning_rate_min"])
        rate *= self.rate_scale
        self.search.set_learning_rate(rate)
        snapshot = copy.deepcopy((self.module.state_dict(), self.search.w_optimizer.state_dict(),
                                  self.search.a_optimizer.state_dict()))
        bilevel = stage["mode"] != "one-level"
        limit = c["smoke_steps"] or c["steps_per_epoch"]
        timer = (self.meter.steps(stage["name"], "train", limit) if self.meter is not None
                 else contextlib.nullcontext())
        with timer:
            return self._epoch_steps(stage, rate, snapshot, bilevel, limit)

    def _epoch_steps(self, stage: dict, rate: float, snapshot, bilevel: bool, limit: int | None) -> dict:
        val_batches, val_round = None, 0
        totals, steps = {}, 0
        for step, (images, targets) in enumerate(self._loader(self.train_set, 0)):
            if limit is not None and step >= limit:
                break
            val = None
            if bilevel:  # the validation part is walked alongside, reshuffled whenever it runs out
                val = next(val_batches, None) if val_batches is not None else None
                if val is None:
                    val_round += 1
                    val_batches = iter(self._loader(self.val_set, val_round))
                    val = next(val_batches)
                val = self._on_device(val)
            result = self.search.step(self._on_device((images, targets)), val)
            if not all(math.isfinite(v) for v in result.values()):
                self.module.load_state_dict(snapshot[0])
                self.search.w_optimizer.load_state_dict(snapshot[1])
                self.search.a_optimizer.load_state_dict(snapshot[2])
                self.rate_scale *= 0.5
                log.warning("%s epoch %d: non-finite loss at step %d; rolled back to the start of the epoch and "
                            "halved the learning rates (now x%g)", stage["name"], self.epoch + 1, step,
                            self.rate_scale)
                break
            for key, value in result.items():
                totals[key] = totals.get(key, 0.0) + value
            steps += 1
        return {key: value / max(steps, 1) for key, value in totals.items()} | {"lr": rate}

    def _on_device(self, batch) -> tuple:
        images, targets = batch
        return images.to(self.device, memory_format=self.memory_format), targets.to(self.device)

    def _check_collapse(self, arch) -> None:
        normal = getattr(arch, "normal", None)
        if hasattr(arch, "cells"):  # per-cell: every normal cell's pairs
            normal = [pair for i, cell in enumerate(arch.cells) if not arch.is_reduction(i) for pair in cell]
        if normal is None:
            return
        share = sum(op == "skip_connect" for op, _ in normal) / len(normal)
        if share >= self.config["skip_collapse_share"]:
            log.warning("skip-connection collapse: %d of %d ops of the derived normal cell are skip_connect "
                        "(a known DARTS failure: consider fewer epochs, StacNAS or an earlier epoch's cell)",
                        round(share * len(normal)), len(normal))

    # ------------------------------------------------------------------ resume
    def _state_dict(self) -> dict:
        state = {k: getattr(self, k) for k in ("stage", "epoch", "rate_scale", "stage_results", "curve", "derived")}
        if not self.finished:
            state["search_state"] = {"module": self.module.state_dict(),
                                     "w_optimizer": self.search.w_optimizer.state_dict(),
                                     "a_optimizer": self.search.a_optimizer.state_dict()}
        return state

    def _load_state_dict(self, state: dict) -> None:
        for key in ("stage", "epoch", "rate_scale", "stage_results", "curve", "derived"):
            setattr(self, key, state[key])
        if not self.finished:
            self._start_stage(state["search_state"])

    def population(self) -> list:
        return self.ask()

    def chosen(self):
        """The architecture derived after the latest epoch (after the last one: the search's result)."""
        return self.derived

    def result_files(self) -> dict:
        """``alphas.json``: the softmax of the search network's architecture parameters after the latest epoch
        (``{name: (E, P) rows, "ops": the op names}``), for the report's heat maps; ``smoke.json`` after a
        smoke run."""
        module = getattr(self, "module", None)
        weights = alpha_weights(module) if module is not None and self.curve else {}
        if not weights:
            return self._smoke_files()
        ops = list(getattr(module, "primitives", ()) or ())
        alphas = {"stage": self.curve[-1]["stage"], "epoch": self.curve[-1]["epoch"], **weights,
                  **({"ops": ops} if ops else {})}
        return {**self._smoke_files(), "alphas.json": alphas}

    def callbacks(self, run_dir) -> list:
        """``search_curve.csv`` / ``.png`` (losses, learning rate, alpha entropies, derived cell per epoch) and
        ``chosen.*``."""
        from evonas.callbacks import StrategyOutputs

        return [StrategyOutputs(run_dir, "search_curve", "curve", strategy=self)]


def alpha_weights(module: torch.nn.Module) -> dict[str, list]:
    """``{name: (E, P) rows}``: the softmax over ops of each 2-D architecture parameter of a search network
    (``arch_parameters()`` named ``alpha*``: DARTS' ``alphas_normal`` / ``alphas_reduce``, NAS-Bench-201's
    ``alphas``)."""
    arch = getattr(module, "arch_parameters", None)
    if arch is None:
        return {}
    ids = {id(p) for p in arch()}
    return {name: torch.softmax(p.detach().float().cpu(), dim=-1).tolist() for name, p in module.named_parameters()
            if id(p) in ids and p.dim() == 2 and name.startswith("alpha")}


def alpha_entropy(weights: list) -> float:
    """Mean entropy (nats) of the rows of a softmax matrix: log(P) while undecided, 0 once every edge chose."""
    w = torch.tensor(weights).clamp_min(1e-12)
    return float(-(w * w.log()).sum(-1).mean())


@strategies.register("darts")
class DartsSearch(_GradientStrategy):
    """DARTS (see the module docstring). ``epochs`` (50 in the paper), ``mode`` (``"first-order"`` /
    ``"second-order"``), ``C`` (16) and ``layers`` (8) of the search network; NAS-Bench-201: ``C`` and ``N``
    (cells per stage) of its supernet. ``alpha_share=False``: one set of alphas per cell (DARTS space), the
    result a per-cell genotype."""

    name = "darts"

    def __init__(self, *, epochs: int = 50, mode: str = "first-order", C: int = 16, layers: int = 8, N: int = 5,
                 alpha_share: bool = True, **config: Any) -> None:
        if mode not in ("first-order", "second-order"):
            raise ConfigError(f"darts mode must be 'first-order' or 'second-order', got {mode!r} "
                              "(one-level search: strategy 'stacnas')")
        super().__init__(epochs=epochs, mode=mode, C=C, layers=layers, N=N, alpha_share=alpha_share, **config)

    def _stages(self) -> list[dict]:
        return [{"name": "darts", "epochs": self.config["epochs"], "mode": self.config["mode"]}]

    def _build(self, stage: int) -> torch.nn.Module:
        return self.space.relaxed_supernet(self.config, num_classes=self.num_classes)

    def _derive(self, stage: int, module: torch.nn.Module):
        return self.space.derive(module)


#: the released StacNAS code's search settings (``search.py`` and the README's commands; see
#: docs/algorithms/stacnas.md); ``StacNASSearch(published=True)`` applies them
STACNAS_PUBLISHED: dict[str, Any] = {
    "epochs": 80, "C": 16, "layers": 14, "layers_stage2": 20, "train_portion": 1.0, "grad_clip": 3.0,
    "alpha_share": True, "batch_size": 64, "learning_rate": 0.025, "learning_rate_min": 0.001, "momentum": 0.9,
    "weight_decay": 3e-4, "arch_learning_rate": 3e-4, "arch_weight_decay": 1e-3, "lr_schedule": "published",
    "steps_per_epoch": None, "dataset": "cifar10",
}


@strategies.register("stacnas")
class StacNASSearch(_GradientStrategy):
    """StacNAS (see the module docstring): ``epochs`` per stage (80 in the paper), ``C`` (16) and the depth of
    each stage's network, ``layers`` (14) and ``layers_stage2`` (20). Weights and alphas learn from the same
    training batches on the whole training set (``train_portion=1``), weight gradients clipped at 3.
    ``alpha_share=False``: every cell has its own alphas, stage 2's cells take the groups of stage 1's cell
    of their kind at the nearest relative depth, and the result is a per-cell genotype
    (:class:`~evonas.spaces.darts.cellwise.CellwiseGenotype`).
    ``keep_zero_attention``: also derive per-pair scales for the final network from stage 2's ``none``
    weights (:func:`~evonas.spaces.darts.stacnas.zero_attention`; written as ``edge_attention.json``)."""

    name = "stacnas"
    space_needs = (HasCellTools,)  # its stage networks are DARTS-style cell search networks

    def __init__(self, *, epochs: int = 80, C: int = 16, layers: int = 14, layers_stage2: int = 20,
                 train_portion: float = 1.0, grad_clip: float = 3.0, keep_zero_attention: bool = False,
                 alpha_share: bool = True, published: bool = False, **config: Any) -> None:
        """``published=True``: every setting the released code fixes (:data:`STACNAS_PUBLISHED`) where the
        caller gives none, CIFAR-10 included (give ``root``, or ``smoke_steps`` for a smoke run)."""
        if published:
            given = dict(epochs=epochs, C=C, layers=layers, layers_stage2=layers_stage2, train_portion=train_portion,
                         grad_clip=grad_clip, alpha_share=alpha_share)
            mismatched = {k: v for k, v in given.items() if v != STACNAS_PUBLISHED[k]}
            if mismatched:
                log.info("published=True with settings of your own: %s", mismatched)
            config = {**{k: v for k, v in STACNAS_PUBLISHED.items() if k not in given}, **config}
        if keep_zero_attention and not alpha_share:
            raise ConfigError("keep_zero_attention gives one scale per pair of each cell kind; it needs "
                              "alpha_share=True")
        super().__init__(epochs=epochs, C=C, layers=layers, layers_stage2=layers_stage2,
                         train_portion=train_portion, grad_clip=grad_clip,
                         keep_zero_attention=keep_zero_attention, alpha_share=alpha_share, published=published,
                         **config)

    def _setup(self) -> None:
        super()._setup()

    def _stages(self) -> list[dict]:
        return [{"name": "stacnas-groups", "epochs": self.config["epochs"], "mode": "one-level"},
                {"name": "stacnas-ops", "epochs": self.config["epochs"], "mode": "one-level"}]

    def _build(self, stage: int) -> torch.nn.Module:
        tools = self.space.cell_tools
        rules, SearchNetwork = tools.stacnas, tools.SearchNetwork
        c = self.config
        if stage == 0:
            return SearchNetwork(C=c["C"], layers=c["layers"], num_classes=self.num_classes,
                                 primitives=rules.STAGE1_PRIMITIVES, alpha_share=c["alpha_share"])
        groups = self.stage_results[0]
        edge_primitives = (rules.stage2_edge_primitives(groups) if c["alpha_share"]
                           else rules.stage2_cell_primitives(groups["cells"], c["layers_stage2"]))
        return SearchNetwork(C=c["C"], layers=c["layers_stage2"], num_classes=self.num_classes,
                             edge_primitives=edge_primitives, alpha_share=c["alpha_share"])

    def _hand_on(self, stage: int, module: torch.nn.Module) -> Any:
        rules = self.space.cell_tools.stacnas
        winning_groups = rules.winning_groups
        if stage == 0 and not self.config["alpha_share"]:
            return {"cells": [winning_groups(module.cell_alphas(i)) for i in range(module.layers)]}
        if stage == 0:
            return {"normal": winning_groups(module.alphas_normal), "reduce": winning_groups(module.alphas_reduce)}
        if self.config["keep_zero_attention"]:
            return rules.zero_attention(module.alphas_normal, module.alphas_reduce, module.edge_primitives,
                                  self._derive(stage, module))
        return None

    def edge_attention(self) -> dict | None:
        """With ``keep_zero_attention``, once stage 2 has ended: the final network's ``edge_attention``
        (:func:`~evonas.spaces.darts.stacnas.zero_attention`), else None."""
        return self.stage_results[1] if len(self.stage_results) > 1 else None

    def result_files(self) -> dict:
        """``alphas.json`` (see :meth:`_GradientStrategy.result_files`), with ``keep_zero_attention``
        ``edge_attention.json`` (for ``evonas train --net-opt``), and ``smoke.json`` after a smoke run."""
        attention = self.edge_attention()
        return super().result_files() | ({} if attention is None else {"edge_attention.json": attention})

    def _derive(self, stage: int, module: torch.nn.Module):
        """Either stage's cell by raw logits (stage 1's names each edge's winning group representative); without
        ``alpha_share`` one cell per layer."""
        rules = self.space.cell_tools.stacnas
        if not self.config["alpha_share"]:
            return self.space.validate(rules.stacnas_cellwise_genotype(module))
        return self.space.validate(rules.stacnas_genotype(module.alphas_normal, module.alphas_reduce,
                                                    module.edge_primitives, module.steps))


__all__ = ["STACNAS_PUBLISHED", "DartsSearch", "StacNASSearch", "alpha_entropy", "alpha_weights", "cosine_rate"]
