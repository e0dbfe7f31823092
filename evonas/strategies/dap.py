"""DAP: a population of discrete cells, expand an edge, value its ops by perturbation, select (the released code
of github.com/afzalxo/PertNAS, "Discrete Architectural Perturbations").

Every edge of DAP's search network (5 cells, C=16, one cell type: reduction
cells reuse it with stride 2 on input edges) is the unweighted sum of the
ops it holds plus ``none``; ops are valued by perturb-val
(:mod:`evonas.operators.perturbation`). The search, as one unit of work per
generation of the search loop:

1. **Population** (``population`` members, each a cell with one random op
   per edge): for every member and every edge e in order, expand e to all
   ops (the other edges keep the member's ops), train a network
   (``train_epochs`` / ``train_steps``, SGD at ``learning_rate / 2.5``, cosine
   to ``learning_rate_min``), value e's ops with ``expand_steps`` fine-tune
   steps, store the values as row e of the member's valuation matrix.
2. **Coarse selection** on the matrices averaged over members: every edge
   keeps its 2 most-needed ops (+ ``none``); train at ``learning_rate / 3``.
3. **Fine selection**, edge by edge in the released order (13, 12, 8, 11, 7,
   4, 9, 10, 5, 6, 2, 3, 0, 1): value the edge's ops (``select_steps``), keep
   the most needed, rebuild and train; ``none`` is dropped at the end.
4. **Topology selection**, nodes 1, 2, 3 in random order: with a fresh SGD,
   value the node's edges as wholes (``topology_steps``), keep its 2 most
   needed inputs, rebuild and train (not after the last node).

The final cell is the genotype (normal = reduce). After every unit the loop
evaluates the current estimate: per edge the held op valued most needed, per
node the two most-needed edges (``search_curve.csv`` / ``.png`` follow it).

**evonas mode** (the defaults) against **faithful mode** (``published=True``
applies :data:`PUBLISHED` at once):

* validation: a held-out part of the *training* data (``val_images``).
  The released code decides on the CIFAR-10 **test set**
  (``validation="test"``); evonas never does by default;
* ``restore="copy"`` (every op valued from the same trained network) vs
  ``"published"`` (weights not restored between ops, see
  :mod:`evonas.operators.perturbation`); ``extra_step`` (``steps + 1``
  updates per fine-tune); ``masked_ops="skip"`` (a masked op does not
  run) vs ``"zero"`` (it runs as ``0 * op(x)``, so with the published
  restore its weight decay, momentum and BN statistics drift into the next
  valuations, as in the released code);
* the op list: the space's (DARTS' seven by default), ``ops="dap"``
  (DAP's eight, with sep_conv_7x7: give the space those ops) or
  ``ops="published"`` (its nine, dil_conv_5x5 twice);
* ``inherit_weights=True`` keeps the trained weights across the
  selections' rebuilds (every network holds every op, so the weights carry
  over as they are; members still train independently); the released code
  trains a fresh network each time.

**Several processes** (``torchrun --nproc_per_node=N``, see
:mod:`evonas.runtime.distributed`): member m runs on rank m mod N, the
valuation matrices are summed across ranks (all-reduce) and rank 0 makes the
selections; ranks above 0 end after the gather (give them no run directory
or one each). Work is seeded by what it is (member, edge), not by where it
runs, so N processes select what one process selects.

Published budgets (``PUBLISHED``): 4 members, batch 256, learning rate
0.2176, 5 epochs per rebuild, fine-tunes of 70 / 130 / 180 steps; the CPU
defaults are far smaller. Inside a unit the search is saved after its
training and after valued ops, at most every ``checkpoint_seconds``
(30), and after every unit, so a killed search resumes where it was,
exactly.
"""
from __future__ import annotations

import contextlib
import copy
import io
import itertools
import json
import logging
import math
import time
from typing import Any, Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader

from evonas.errors import ConfigError
from evonas.operators.perturbation import (
    MASKED_OPS,
    PerturbationValuer,
    average_valuations,
    coarse_select,
    fine_select,
    masked_forward,
)
from evonas.registry import spaces, strategies
from evonas.runtime import distributed
from evonas.spaces.base import HasCellTools
from evonas.strategies.base import Strategy
from evonas.strategies.gradient import cosine_rate
from evonas.training.precision import PRECISIONS, MixedPrecision

log = logging.getLogger(__name__)

#: marks a setting the caller left out (it then takes CPU_DEFAULTS' or PUBLISHED's value)
DEFAULT: Any = type("Default", (), {"__repr__": lambda self: "DEFAULT"})()
#: the defaults: a toy scale for the CPU
CPU_DEFAULTS: dict[str, Any] = {
    "population": 2, "C": 8, "layers": 5, "batch_size": 64, "learning_rate": 0.2176, "learning_rate_min": 0.001,
    "train_epochs": None, "train_steps": 20, "expand_steps": 3, "select_steps": 5, "topology_steps": 8,
    "ops": None, "restore": "copy", "extra_step": False, "masked_ops": "skip", "validation": "split",
    "val_images": 512, "dataset": "cifar10-mini", "schedule_step": "batch", "augment": "crop-flip",
    "precision": "float32",
}
#: the released code's settings (``search_evolutionary.py``); ``published=True`` applies them
PUBLISHED: dict[str, Any] = {
    "population": 4, "C": 16, "layers": 5, "batch_size": 256, "learning_rate": 0.2176, "learning_rate_min": 0.001,
    "train_epochs": 5, "train_steps": None, "expand_steps": 70, "select_steps": 130, "topology_steps": 180,
    "ops": "published", "restore": "published", "extra_step": True, "masked_ops": "zero", "validation": "test",
    "val_images": None, "dataset": "cifar10", "schedule_step": "epoch", "augment": "released", "precision": "amp",
}
#: ``schedule_step``: the cosine moves after every batch (evonas) or once per epoch (the released code)
SCHEDULE_STEPS = ("batch", "epoch")
#: ``augment``: pad-4 crop + flip (evonas' CIFAR default, no Cutout) or the released code's FFCV pipeline, flip +
#: translate by up to 2 pixels (a pad-2 crop) + Cutout 8
AUGMENTS = {"crop-flip": {"padding": 4, "cutout": None}, "released": {"padding": 2, "cutout": 8}}
#: the released code's stand-alone CIFAR-10 recipe (``eval-evolutionary/log.txt``): a smoke run builds and trains it
STANDALONE: dict[str, Any] = {"C": 36, "layers": 20, "auxiliary_weight": 0.4, "drop_path_prob": 0.3, "epochs": 600,
                              "batch_size": 128, "learning_rate": 0.025, "weight_decay": 3e-4, "grad_clip": 5.0}
#: the images of a full published run (CIFAR-10: 50,000 training, 10,000 test), for a smoke run's projection
CIFAR10_SIZES = (50_000, 10_000)
#: the op lists ``ops`` names: the DARTS cell tools' ``DAP_OPS`` (each op once) and ``DAP_OPS_PUBLISHED``
OP_LISTS = {"dap": "DAP_OPS", "published": "DAP_OPS_PUBLISHED"}


@strategies.register("dap")
class DAP(Strategy):
    """DAP (see the module docstring)."""

    name = "dap"
    stop_when_stalled = False  # the estimate repeats while values accumulate; the plan ends the search
    space_needs = (HasCellTools,)  # it trains networks of DARTS-style cells of the space's ops

    def __init__(self, *, population: int = DEFAULT, C: int = DEFAULT, layers: int = DEFAULT,
                 batch_size: int = DEFAULT, learning_rate: float = DEFAULT, learning_rate_min: float = DEFAULT,
                 momentum: float = 0.9, weight_decay: float = 3e-4, train_epochs: float | None = DEFAULT,
                 train_steps: int | None = DEFAULT, expand_steps: int = DEFAULT, select_steps: int = DEFAULT,
                 topology_steps: int = DEFAULT, ops: str | None = DEFAULT, restore: str = DEFAULT,
                 extra_step: bool = DEFAULT, masked_ops: str = DEFAULT, inherit_weights: bool = False,
                 validation: str = DEFAULT,
                 val_images: int | None = DEFAULT, dataset: str = DEFAULT, root: str | None = None,
                 schedule_step: str = DEFAULT, augment: str = DEFAULT, precision: str = DEFAULT,
                 device: str = "auto", workers: int = 0, published: bool = False,
                 smoke_steps: int | None = None, micro_batch: int | None = None,
                 checkpoint_seconds: float = 30.0) -> None:
        """Settings left out take :data:`CPU_DEFAULTS`, or :data:`PUBLISHED` with ``published=True``.

        ``smoke_steps``: a smoke run (see :mod:`evonas.runtime.phases`): every phase once, at full size, for this
        many steps (training steps, fine-tune steps, validation batches and valued ops per phase), on the
        embedded ``cifar10-mini`` images (32x32, CIFAR-10's resolution) standing in for CIFAR-10 and its test
        set; it prints and writes (``smoke.json``) each phase's seconds per step, peak memory and the projected
        cost of the full run. ``micro_batch``: run every training batch as chunks of this many images with
        gradient accumulation (for a published batch that does not fit in memory; said in the smoke report).
        """
        given = dict(population=population, C=C, layers=layers, batch_size=batch_size,
                     learning_rate=learning_rate, learning_rate_min=learning_rate_min, train_epochs=train_epochs,
                     train_steps=train_steps, expand_steps=expand_steps, select_steps=select_steps,
                     topology_steps=topology_steps, ops=ops, restore=restore, extra_step=extra_step,
                     masked_ops=masked_ops, validation=validation, val_images=val_images, dataset=dataset,
                     schedule_step=schedule_step, augment=augment, precision=precision)
        base = PUBLISHED if published else CPU_DEFAULTS
        settings = {k: base[k] if v is DEFAULT else v for k, v in given.items()}
        settings.update(momentum=momentum, weight_decay=weight_decay, inherit_weights=inherit_weights,
                        root=root, device=device, workers=workers, published=published, smoke_steps=smoke_steps,
                        micro_batch=micro_batch, checkpoint_seconds=checkpoint_seconds)
        if settings["schedule_step"] not in SCHEDULE_STEPS:
            raise ConfigError(f"schedule_step must be one of {', '.join(SCHEDULE_STEPS)}, "
                              f"got {settings['schedule_step']!r}")
        if settings["augment"] not in AUGMENTS:
            raise ConfigError(f"augment must be one of {', '.join(AUGMENTS)}, got {settings['augment']!r}")
        if settings["precision"] not in PRECISIONS:
            raise ConfigError(f"precision must be one of {', '.join(PRECISIONS)}, got {settings['precision']!r}")
        if micro_batch is not None and micro_batch < 2:
            raise ConfigError(f"micro_batch must be >= 2 (BatchNorm needs two images), got {micro_batch}")
        if smoke_steps is not None and smoke_steps < 1:
            raise ConfigError(f"smoke_steps must be >= 1 (or None: a real run), got {smoke_steps}")
        if settings["validation"] not in ("split", "test"):
            raise ConfigError(f"validation must be 'split' or 'test', got {settings['validation']!r}")
        if settings["restore"] not in ("copy", "published"):
            raise ConfigError(f"restore must be 'copy' or 'published', got {settings['restore']!r}")
        if settings["masked_ops"] not in MASKED_OPS:
            raise ConfigError(f"masked_ops must be one of {', '.join(MASKED_OPS)}, got {settings['masked_ops']!r}")
        if settings["ops"] not in (None, *OP_LISTS):
            raise ConfigError(f"ops must be None (the space's), 'dap' or 'published', got {settings['ops']!r}")
        if settings["train_epochs"] is None and not settings["train_steps"]:
            raise ConfigError("give train_epochs or train_steps (the training after every rebuild)")
        if settings["population"] < 1:
            raise ConfigError(f"population must be >= 1, got {settings['population']}")
        super().__init__(**settings)
        self.unit = 0  # index into the plan of the next unit of work
        self.members: list = []  # phase 1: each member's cell (its random ops)
        self.matrices: list = []  # phase 1: each member's (14, ops) valuation matrix
        self.cell: Any = None  # the cell the current network holds
        self.values: np.ndarray | None = None  # latest value of every (edge, op), for the estimate
        self.edge_values: dict = {}  # topology: latest value of each edge as a whole
        self.node_order: list = []
        self.selecting = False  # the coarse selection is done: the estimate follows the selected cell
        self.work: dict | None = None  # the unit in progress (for a mid-unit resume)
        self.net_state: dict | None = None  # the current network and optimizer
        self._trained: tuple | None = None  # (network, optimizer) as net_state was taken from them, if unchanged
        self.curve: list = []

    def published_components(self) -> dict:
        """With ``published=True``: the DARTS space with the published op list (``sep_conv_7x7`` included),
        which ``evonas search`` fills in where its user set no space; nothing otherwise."""
        if not self.config["published"]:
            return {}
        ops = getattr(spaces.create("darts").cell_tools, OP_LISTS["published"])
        return {"space": "darts", "space_options": {"primitives": list(dict.fromkeys(ops))}}

    # ----------------------------------------------------------------- set-up
    def _setup(self) -> None:
        from evonas.data import Subset, dataset_family, get_dataset, split_indices
        from evonas.data.transforms import STATS, cifar_train_transform, eval_transform
        from evonas.runtime.device import resolve_device
        c = self.config
        tools = self.space.cell_tools
        space_ops = tuple(self.space.candidate_ops)
        self.ops = tuple(getattr(tools, OP_LISTS[c["ops"]])) if c["ops"] else space_ops
        smoke = c["smoke_steps"]
        base = self._check_requirements(space_ops)
        self.device = resolve_device(c["device"])
        self.precision = MixedPrecision(c["precision"], self.device)
        self.rank, self.world = distributed.rank(), distributed.world_size()
        mean, std = STATS[dataset_family(base)]
        train_tf = cifar_train_transform(mean=mean, std=std, **AUGMENTS[c["augment"]])
        eval_tf = eval_transform(mean=mean, std=std)
        self.num_classes = len(base.classes)
        self.data_seed = int(self.rng.integers(2**31 - 1))
        val_batch = max(c["batch_size"], 256)
        if c["validation"] == "test" and not smoke:
            log.warning("DAP decides on the %s TEST set (validation='test', as the released code does): the "
                        "test accuracy of its result is then no longer an unbiased estimate", c["dataset"])
            train_idx = np.arange(len(base.targets))
            val_set = get_dataset(c["dataset"], root=c["root"], train=False)
            val_set = Subset(val_set, np.arange(len(val_set.targets)), eval_tf)
        else:  # a held-out part of the training images (a smoke run: standing in for the test set)
            n_val = smoke * val_batch if smoke else c["val_images"] or len(base.targets) // 5
            fraction = min(max(n_val / len(base.targets), 1e-6), 0.9)
            train_idx, val_idx = split_indices(base.targets, (1 - fraction, fraction), seed=self.data_seed)
            val_set = Subset(base, val_idx, eval_tf)
        self.train_set = Subset(base, train_idx, train_tf)
        if len(self.train_set) < c["batch_size"]:
            raise ConfigError(f"the training part holds {len(self.train_set)} images, fewer than one batch "
                              f"({c['batch_size']}): lower batch_size or val_images")
        self.val_batches = [(x.to(self.device), y.to(self.device))
                            for x, y in DataLoader(val_set, batch_size=val_batch)][:smoke or None]
        self.meter = None
        if smoke:
            from evonas.runtime.phases import PhaseMeter

            self.meter = PhaseMeter(self.device, notes=[
                f"smoke run: {smoke} step(s) per phase; the embedded cifar10-mini images (32x32, CIFAR-10's "
                f"resolution) stand in for CIFAR-10"
                + (" and a held-out part of them for its test set" if c["validation"] == "test" else "")])
            if c["micro_batch"] and c["micro_batch"] < c["batch_size"]:
                self.meter.note(f"batch {c['batch_size']} runs as micro-batches of {c['micro_batch']} with "
                                f"gradient accumulation (BatchNorm sees {c['micro_batch']} images at a time)")
            if c["precision"] == "amp" and not self.precision.enabled:
                self.meter.note(f"precision 'amp' (fp16 autocast + GradScaler) runs fp32 on {self.device.type}")
        if not self.members:  # a fresh search (a resumed one loads them)
            self.members = [self._cells.DapCell.random(self.ops, self.rng) for _ in range(c["population"])]
            self.matrices = [np.zeros((14, len(self.ops))) for _ in range(c["population"])]
            self.node_order = [int(n) for n in self.rng.permutation([1, 2, 3])]

    def _check_requirements(self, space_ops: tuple):
        """The training dataset, once everything the settings need is there; otherwise ONE ConfigError listing
        every missing piece (the space's ops, the dataset, its folder)."""
        from evonas.data import get_dataset
        from evonas.errors import EvonasError
        c = self.config
        problems = []
        missing = sorted(set(self.ops) - set(space_ops))
        if missing:
            problems.append(f"DAP's ops {missing} are not in the search space; give the space them, e.g. "
                            f"--space-opt primitives='{json.dumps(list(dict.fromkeys(self.ops)))}'")
        dataset = "cifar10-mini" if c["smoke_steps"] else c["dataset"]
        if c["validation"] == "test" and not c["smoke_steps"] and dataset not in ("cifar10", "cifar100"):
            problems.append(f"validation='test' needs a dataset with a test split (cifar10, cifar100), "
                            f"not {dataset!r}")
        base = None
        try:
            base = get_dataset(dataset, root=c["root"])
            if c["validation"] == "test" and not c["smoke_steps"] and not problems:
                get_dataset(dataset, root=c["root"], train=False)
        except EvonasError as exc:
            problems.append(str(exc))
        if problems:
            what = "published=True" if c["published"] else "these settings"
            raise ConfigError(f"DAP with {what} needs: " + "; ".join(
                f"({i}) {p}" for i, p in enumerate(problems, 1)) + (
                " (or smoke_steps=2: a smoke run on the embedded images)" if c["published"] else ""))
        return base

    def _plan(self) -> list[tuple]:
        """The units of work of this process: its members' expansions (member m runs on rank m mod world size),
        with several processes a gather of the valuation matrices, then (rank 0 only) the selections. A smoke run
        keeps the first unit of each phase: its first member's first edge, the first fine edge and topology node."""
        first = 1 if self.config["smoke_steps"] else None
        mine = [m for m in range(self.config["population"]) if m % self.world == self.rank][:first]
        units: list[tuple] = [("expand", m, e) for m in mine for e in range(14)[:first]]
        if self.world > 1:
            units.append(("gather",))
            if self.rank > 0:
                return units
        units.append(("coarse",))
        units += [("fine", e) for e in self._cells.FINE_SELECTION_ORDER[:first]]
        units += [("topology", n) for n in self.node_order[:first]]
        return units

    @property
    def _cells(self):
        """The space's DARTS cell tools (DapCell, edge_index, node_inputs, the op lists, ...)."""
        return self.space.cell_tools

    def progress_units(self) -> tuple[int, int, str]:
        """Units of work done of this process's plan (expansions, selections)."""
        return self.unit, len(self._plan()) if self.members else 0, "units"

    @property
    def finished(self) -> bool:
        return bool(self.members) and self.unit >= len(self._plan())

    # ------------------------------------------------------------------- loop
    def ask(self) -> list:
        return [self.estimate()] if self.members else []

    def tell(self, archs: list, results: list[dict[str, float]]) -> None:
        if self.curve:
            self.curve[-1].update(results[0])

    def step(self, ctx) -> None:
        self.ctx = ctx
        try:
            unit = self._plan()[self.unit]
            row = {"generation": ctx.generation, "unit": self.unit + 1, "phase": unit[0],
                   "target": "" if len(unit) == 1 else f"member {unit[1]} edge {unit[2]}" if unit[0] == "expand"
                   else f"edge {unit[1]}" if unit[0] == "fine" else f"node {unit[1]}"}
            if self.world > 1:
                row["rank"] = self.rank
            self._phase = unit[0]
            row.update(getattr(self, f"_{unit[0]}")(*unit[1:]))
            self.unit += 1
            self.work = None
            arch = self.estimate()
            row["arch"] = self.space.key(arch)
            self.curve.append(row)
            self.tell([arch], ctx.evaluate([arch]))
            if self.meter is not None and self.finished:
                self._smoke_end()
        finally:
            self.ctx = None

    # ------------------------------------------------------------------ units
    def _expand(self, member: int, edge: int) -> dict:
        c = self.config
        work = self._begin(self.members[member].expanded(edge), c["learning_rate"] / 2.5)
        deltas = self._value(work, [[(edge, 1 + p)] for p in range(len(self.ops))], c["expand_steps"])
        self.matrices[member][edge] = deltas
        self.values = average_valuations(self.matrices)
        return {"accuracy_before": work["before"], "best_delta": float(min(deltas))}

    def _gather(self) -> dict:
        """Every process's members' matrices to every process (each holds zeros for the others' members)."""
        total = torch.as_tensor(np.stack(self.matrices), dtype=torch.float64)
        if distributed.backend() == "nccl":
            total = total.cuda()
        total = distributed.all_reduce_sum(total).cpu().numpy()
        self.matrices = [m.copy() for m in total]
        self.values = average_valuations(self.matrices)
        return {}

    def _coarse(self) -> dict:
        average = average_valuations(self.matrices)
        cell = self._cells.DapCell(self.ops, tuple(coarse_select(average, 2)))
        work = self._begin(cell, self.config["learning_rate"] / 3)
        self.selecting = True
        return {"accuracy_before": work["before"]}

    def _fine(self, edge: int) -> dict:
        c = self.config
        work = self._resume_or_current()
        held = list(self.cell.edges[edge])
        deltas = self._value(work, [[(edge, 1 + p)] for p in held], c["select_steps"])
        for p, d in zip(held, deltas):
            self.values[edge, p] = d
        keep = fine_select(dict(zip(held, deltas)))
        cell = self.cell.with_edge(edge, [keep])
        if self._plan()[self.unit + 1][0] == "topology":  # op selection ends: drop 'none'
            cell = self._cells.DapCell(cell.ops, cell.edges, with_zero=False)
        self._rebuild_and_train(cell, c["learning_rate"] / 2.5)
        return {"accuracy_before": work["before"], "kept": self.ops[keep]}

    def _topology(self, node: int) -> dict:
        c = self.config
        work = self._resume_or_current(fresh_optimizer=c["learning_rate"] / 2.5)
        edges = (list(range(14)) if c["restore"] == "published"
                 else [self._cells.edge_index(node, j) for j in range(node + 2)])
        targets = [[(e, 1 + p) for p in self.cell.edges[e]] for e in edges]
        for e, d in zip(edges, self._value(work, targets, c["topology_steps"])):
            self.edge_values[e] = d
        kept = self._cells.node_inputs([self.edge_values.get(e, 0.0) for e in range(14)], node)
        cell = self.cell
        for j in range(node + 2):
            e = self._cells.edge_index(node, j)
            if e not in kept:
                cell = cell.with_edge(e, [])
        if self.unit < len(self._plan()) - 1:
            self._rebuild_and_train(cell, c["learning_rate"] / 2.5)
        else:
            self.cell = cell
        return {"accuracy_before": work["before"], "kept": f"{kept[0]},{kept[1]}"}

    # -------------------------------------------------------------- smoke run
    def _timer(self, kind: str, count: int):
        """Times ``count`` steps of ``kind`` in the current phase (a smoke run; nothing otherwise)."""
        if self.meter is None:
            return contextlib.nullcontext()
        return self.meter.steps(getattr(self, "_phase", "setup"), kind, count)

    def _full_sizes(self) -> dict:
        """Steps of one epoch and validation batches of one pass, on CIFAR-10 (a full published run)."""
        c = self.config
        train, test = CIFAR10_SIZES
        val = c["val_images"] or train // 5 if c["validation"] != "test" else test
        return {"per_epoch": train // c["batch_size"], "val_batches": math.ceil(val / max(c["batch_size"], 256)),
                "train_images": train}

    def full_run_steps(self) -> dict:
        """``{(phase, kind): steps}`` of the full run these settings describe (one process, CIFAR-10 sizes):
        training steps, fine-tune steps and validation batches per phase, and the stand-alone training."""
        from evonas.training.smoke import epoch_steps
        c = self.config
        sizes = self._full_sizes()
        train = int(round(c["train_epochs"] * sizes["per_epoch"])) if c["train_epochs"] else int(c["train_steps"])
        extra, val, ops = int(bool(c["extra_step"])), sizes["val_batches"], len(self.ops)
        members = c["population"] * 14
        topology_edges = [14 if c["restore"] == "published" else node + 2 for node in (1, 2, 3)]
        return {
            ("expand", "train"): members * train, ("expand", "fine-tune"): members * ops * (c["expand_steps"] + extra),
            ("expand", "validate"): members * (1 + ops) * val,
            ("coarse", "train"): train, ("coarse", "validate"): val,
            ("fine", "train"): 14 * train, ("fine", "fine-tune"): 14 * 2 * (c["select_steps"] + extra),
            ("fine", "validate"): 14 * 3 * val,
            ("topology", "train"): 2 * train,
            ("topology", "fine-tune"): sum(topology_edges) * (c["topology_steps"] + extra),
            ("topology", "validate"): sum(1 + e for e in topology_edges) * val,
            ("stand-alone", "train"): STANDALONE["epochs"] * epoch_steps(sizes["train_images"],
                                                                         STANDALONE["batch_size"]),
        }

    def _smoke_end(self) -> None:
        """A smoke run's last phases (rank 0): the final cell's stand-alone network built and trained a few
        steps; then the report, printed and kept for ``smoke.json``."""
        from evonas.runtime.phases import format_report
        from evonas.training.smoke import standalone_steps
        c = self.config
        if self._plan()[-1][0] == "topology":
            with self._timer_phase("derive"):
                genotype = self.chosen()
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(self.data_seed)
                network = self.space.build(genotype, C=STANDALONE["C"], layers=STANDALONE["layers"],
                                           auxiliary=True, num_classes=self.num_classes)
                loader = DataLoader(self.train_set, batch_size=STANDALONE["batch_size"], shuffle=True,
                                    drop_last=True)
                standalone_steps(network, loader, steps=c["smoke_steps"], meter=self.meter,
                                 learning_rate=STANDALONE["learning_rate"],
                                 weight_decay=STANDALONE["weight_decay"],
                                 auxiliary_weight=STANDALONE["auxiliary_weight"], grad_clip=STANDALONE["grad_clip"],
                                 drop_path_prob=STANDALONE["drop_path_prob"], micro_batch=c["micro_batch"])
            del network
        self.smoke_report = self.meter.report(self.full_run_steps(), search_phases=(
            "expand", "gather", "coarse", "fine", "topology", "derive"))
        if self.rank == 0:
            print(format_report(f"DAP (published={c['published']})", self.smoke_report), flush=True)

    def _timer_phase(self, phase: str):
        return self.meter.steps(phase, "run", 1)

    def _smoke_files(self) -> dict:
        """``smoke.json`` after a smoke run (see :mod:`evonas.runtime.phases`)."""
        report = getattr(self, "smoke_report", None)
        return {"smoke.json": report} if report is not None else {}

    # -------------------------------------------------------------- machinery
    def _network(self, cell: Any):
        """The network for ``cell``: fresh weights (seeded by the unit) or, with ``inherit_weights``, the current
        network's."""
        c = self.config
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.data_seed + 7919 * self._unit_seed())
            network = cell.build_network(C=c["C"], layers=c["layers"], num_classes=self.num_classes)
        if c["inherit_weights"] and self.selecting and self.net_state is not None:  # members train independently
            network.load_state_dict(self.net_state["module"])
        return network.to(self.device)

    def _unit_seed(self) -> int:
        """A number naming the current unit (not its position in this process's plan, so that a member's work is
        seeded alike in one process and under torchrun)."""
        unit = self._plan()[self.unit]
        kind = ("expand", "gather", "coarse", "fine", "topology").index(unit[0])
        return 100000 * kind + sum(1000 ** i * (int(v) + 1) for i, v in enumerate(unit[1:]))

    def _optimizer(self, network, learning_rate: float, momentum: float | None = None):
        c = self.config
        return torch.optim.SGD(network.parameters(), lr=learning_rate,
                               momentum=c["momentum"] if momentum is None else momentum,
                               weight_decay=c["weight_decay"])

    def _batches(self, salt: int) -> Iterator:
        """An endless, seeded stream of training batches (reshuffled each pass)."""
        c = self.config
        for epoch in itertools.count():
            seed = self.data_seed * 1009 + 7919 * self._unit_seed() + 104729 * salt + epoch
            generator = torch.Generator().manual_seed(seed)
            # the augmentation draws from torch's global generator: seed it per stream, so a member's work is
            # the same whichever process runs it and whatever ran before
            torch.manual_seed(seed)
            for x, y in DataLoader(self.train_set, batch_size=c["batch_size"], shuffle=True, drop_last=True,
                                   num_workers=c["workers"], generator=generator):
                yield x.to(self.device), y.to(self.device)

    def _train(self, network, optimizer, cell: Any, learning_rate: float) -> None:
        """Train for ``train_epochs`` (or ``train_steps``) with a cosine from ``learning_rate`` to the minimum."""
        c = self.config
        per_epoch = max(len(self.train_set) // c["batch_size"], 1)
        total = int(round(c["train_epochs"] * per_epoch)) if c["train_epochs"] else int(c["train_steps"])
        if c["smoke_steps"]:
            total, per_epoch = c["smoke_steps"], max(1, self._full_sizes()["per_epoch"])
        weights = cell.weights().to(self.device)
        batches = self._batches(salt=0)
        scaler = self.precision.scaler()  # the released code starts one per training
        network.train()
        with self._timer("train", total):
            for step in range(total):
                rate = (cosine_rate(step // per_epoch, total / per_epoch, learning_rate, c["learning_rate_min"])
                        if c["schedule_step"] == "epoch" else
                        cosine_rate(step, total, learning_rate, c["learning_rate_min"]))
                for group in optimizer.param_groups:
                    group["lr"] = rate
                images, targets = next(batches)
                self.precision.train_step(lambda x, y: torch.nn.functional.cross_entropy(
                    masked_forward(network, weights, x), y), images, targets, optimizer, scaler, c["micro_batch"])
        for group in optimizer.param_groups:  # what the fine-tunes then run at (the cosine's end)
            group["lr"] = c["learning_rate_min"]

    def _rebuild_and_train(self, cell: Any, learning_rate: float) -> tuple:
        network = self._network(cell)
        optimizer = self._optimizer(network, learning_rate)
        self._train(network, optimizer, cell, learning_rate)
        self.cell = cell
        self.net_state = {"module": copy.deepcopy(network.state_dict()),
                          "optimizer": copy.deepcopy(optimizer.state_dict())}
        self._trained = (network, optimizer)  # what net_state copies, live: the next unit starts from it
        return network, optimizer

    def _begin(self, cell: Any, learning_rate: float) -> dict:
        """Rebuild and train for ``cell`` (unless a resumed unit already did), checkpoint, and set up the
        unit's valuation."""
        if self.work is None:
            self._rebuild_and_train(cell, learning_rate)
            self.work = {"deltas": [], "live": None}
            self._checkpoint()
        return self._resume_or_current()

    def _resume_or_current(self, fresh_optimizer: float | None = None) -> dict:
        """The unit's working state on the current network: its accuracy before any mask, the values so far."""
        if self.work is None:
            self.work = {"deltas": [], "live": None}
        trained, self._trained = self._trained, None
        if trained is not None:  # the network and optimizer just trained, equal to what net_state holds
            network, optimizer = trained
        else:  # a resumed run, or a unit whose network a valuation changed: rebuilt from net_state
            network, optimizer = self._network(self.cell), None
            network.load_state_dict(self.net_state["module"])
        if fresh_optimizer is not None:  # topology selection: a new SGD (no momentum history)
            optimizer = self._optimizer(network, fresh_optimizer)
        elif optimizer is None:
            optimizer = self._optimizer(network, self.config["learning_rate_min"])
            optimizer.load_state_dict(copy.deepcopy(self.net_state["optimizer"]))
        self.work["network"], self.work["optimizer"] = network, optimizer
        self.work["valuer"] = PerturbationValuer(network, self.cell.weights().to(self.device), optimizer,
                                                 iter(()), self.val_batches, restore=self.config["restore"],
                                                 extra_step=self.config["extra_step"],
                                                 masked_ops=self.config["masked_ops"], precision=self.precision,
                                                 micro_batch=self.config["micro_batch"], timer=self._timer)
        if "before" not in self.work:
            self.work["before"] = self.work["valuer"].accuracy()
        return self.work

    def _value(self, work: dict, targets: list, steps: int) -> list[float]:
        """Value ``targets`` one by one, checkpointing after each (a resumed unit continues after the last)."""
        valuer, network = work["valuer"], work["network"]
        smoke = self.config["smoke_steps"]
        if smoke:  # a smoke run values its first targets for a few steps (the others keep the value 0)
            valued, steps = min(smoke, len(targets)), smoke
        else:
            valued = len(targets)
        if work["live"] is not None:  # published restore: the weights the previous op's fine-tune left
            network.load_state_dict(work["live"])
        for i in range(len(work["deltas"]), valued):
            valuer.train_batches = self._batches(salt=1 + i)
            work["deltas"].append(valuer.value([targets[i]], steps, before=work["before"])[0])
            if self.config["restore"] == "published":
                work["live"] = copy.deepcopy(network.state_dict())
            self._checkpoint()
        return list(work["deltas"]) + [0.0] * (len(targets) - valued)

    def _checkpoint(self) -> None:
        """Save the search inside a unit, at most every ``checkpoint_seconds`` (a save costs about 0.4 s at toy
        scale, more than a toy fine-tune; the loop saves after every unit anyway)."""
        now = time.monotonic()
        if self.ctx is not None and self.ctx.checkpoint is not None and \
                now - getattr(self, "_saved_at", -math.inf) >= self.config["checkpoint_seconds"]:
            self.ctx.checkpoint()
            self._saved_at = time.monotonic()

    # ---------------------------------------------------------------- results
    def estimate(self):
        """The genotype the values point to now: per edge the held op valued most needed, per node the two
        most-needed edges (edges already pruned excluded)."""
        every_op = tuple(tuple(range(len(self.ops))) for _ in range(14))
        cell = self.cell if self.selecting else self._cells.DapCell(self.ops, every_op)
        values = self.values if self.values is not None else np.zeros((14, len(self.ops)))
        pairs = []
        for node in range(4):
            candidates = []
            for j in range(node + 2):
                e = self._cells.edge_index(node, j)
                if cell.edges[e]:
                    op = fine_select({p: float(values[e, p]) for p in cell.edges[e]})
                    candidates.append((self.edge_values.get(e, float(values[e, op])), e, j, op))
            edge_vals = np.full(14, np.inf)
            for value, e, _, _ in candidates:
                edge_vals[e] = value
            kept = self._cells.node_inputs(edge_vals, node)
            pairs += [(self.ops[op], j) for _, e, j, op in candidates if e in kept]
        return self.space.validate(self._cells.Genotype.from_cell(pairs))

    def chosen(self):
        """The final cell once the search has ended (before: the current estimate)."""
        if not self.members:
            return None
        if self.finished and self._plan()[-1][0] == "topology" and not self.config["smoke_steps"]:
            # this process made the selections (a smoke run's cell is not fully selected: its estimate)
            return self.space.validate(self.cell.genotype())
        return self.estimate()

    def population(self) -> list:
        return self.ask()

    def result_files(self) -> dict:
        """``valuations.json``: the population's valuation of every (edge, op) so far (``{"valuation": (14, ops)
        rows, "ops": names}``; perturb-val's accuracy drop, higher: more needed), for the report's heat map; and
        ``smoke.json`` after a smoke run."""
        if self.values is None:
            return self._smoke_files()
        return {**self._smoke_files(),
                "valuations.json": {"valuation": np.asarray(self.values, dtype=float).tolist(),
                                    "ops": list(self.ops), "unit": self.unit}}

    def callbacks(self, run_dir) -> list:
        """``search_curve.csv`` / ``.png`` (a row per unit) and ``chosen.*``."""
        from evonas.callbacks import StrategyOutputs

        return [StrategyOutputs(run_dir, "search_curve", "curve", strategy=self)]

    # ------------------------------------------------------------------ resume
    _STATE = ("unit", "members", "matrices", "cell", "values", "edge_values", "node_order", "net_state", "curve",
              "selecting")

    def _state_dict(self) -> dict:
        """Tensors packed by ``torch.save`` (7x faster than pickling thousands of them one by one)."""
        state = {k: getattr(self, k) for k in self._STATE if k != "net_state"}
        state["net_state"] = _pack(self.net_state)
        state["processes"] = (self.rank, self.world)
        if self.work is not None:  # a unit in progress resumes from net_state, its values so far and 'live'
            state["work"] = {"deltas": list(self.work["deltas"]), "before": self.work.get("before"),
                             "live": _pack(self.work.get("live"))}
        return state

    def _load_state_dict(self, state: dict) -> None:
        if tuple(state.get("processes", (0, 1))) != (self.rank, self.world):
            rank, world = state.get("processes", (0, 1))
            raise ConfigError(f"this DAP run was saved by process {rank} of {world}; resume it as process "
                              f"{rank} of {world} (now {self.rank} of {self.world})")
        for key in self._STATE:
            setattr(self, key, copy.deepcopy(state[key]) if key != "net_state" else _unpack(state[key]))
        self._trained = None  # the loaded net_state is the truth: rebuild from it
        work = state.get("work")
        self.work = None if work is None else {"deltas": list(work["deltas"]), "live": _unpack(work["live"]),
                                               **({"before": work["before"]} if work["before"] is not None else {})}


def _pack(obj) -> bytes | None:
    if obj is None:
        return None
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def _unpack(data: bytes | None):
    return None if data is None else torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)


__all__ = ["CPU_DEFAULTS", "DAP", "PUBLISHED"]
