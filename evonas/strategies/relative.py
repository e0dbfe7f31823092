"""RelativeNAS: slow-fast learning over continuous architecture vectors (Tan, Cheng, Huang, He, Qiu, Yang and
Luo, "RelativeNAS: Relative Neural Architecture Search via Slow-Fast Learning", IEEE TNNLS 2021).

A population of real vectors lives in the space's box (the DARTS space with
``encoding="relativenas"``: 32 numbers, per node ``[in1, op1, in2, op2]``,
inputs of node j in [0, 2 + j], ops in [0, 7], decoded by ``d(v) = floor(v)``,
or ``v - 1`` for an integer v, so every point of the box is an architecture).
Each generation:

1. the population is paired at random;
2. **weight-set mode** (the evaluator has a shared supernet: the paper's
   method): pair by pair, in turn, both members load the whole weight set
   (the shared supernet), each trains its own path for one pass over the
   supernet's training part with a fresh SGD (learning rate and drop path
   on the generation's schedule), each is measured on the validation part;
   the one with the lower validation loss is the *fast* learner, and the
   set is written back by the merge rule of
   :mod:`evonas.training.weight_set`. Later pairs start from what earlier
   pairs wrote. **Evaluator mode** (any other evaluator, e.g. a
   NAS-Bench-201 table): the fast learner is the member with the better
   objective;
3. only slow learners move: ``v <- r1 * v + r2 * (x_fast - x_slow)``,
   ``x <- clip(x + v)`` with ``r1, r2 ~ U(0, 1)`` per coordinate, drawn per
   pair after all pairs have trained; velocities start at 0 and persist per
   member;
4. the population is evaluated by the search's evaluator (in weight-set mode
   with the weights just written: the memo cache sees their new version).

Schedules span the whole search: the weight learning rate follows a cosine
over ``generations`` from ``learning_rate`` to ``learning_rate_min``, drop
path grows as ``drop_path_prob * g / generations`` (g from 0). The search
ends after ``generations`` generations (or earlier at the budget).

**Final architecture** (the paper's code only logs the population): the
member of the last generation with the best objective on the final weights
(ties: the lower index), :meth:`RelativeNAS.chosen`. The run directory gets
``chosen.json`` / ``chosen.txt`` (and ``chosen.png``, the cell diagram, for
DARTS genotypes), ``trajectory.csv`` and ``trajectory.png``.

Published-code behaviours behind flags (the defaults follow the paper):
``lr_schedule="published"`` reproduces the learning rates the code actually
used (``scheduler.get_lr()`` on PyTorch 1.8 applies the cosine factor twice:
0.1, 0.0998, ..., 0.0507 at generation 24, ..., 0.00102 at 49);
``augmented_validation=True`` measures members on validation images with
the training augmentation, as the code does. The code draws its 50/50 split
unseeded; evonas' split follows the evaluator's seed.

Integer spaces (NAS-Bench-201, the discrete DARTS encoding) work too: an
integer coordinate with inclusive bounds [l, u] becomes the real interval
[l, u + 1], decoded by the same ``d(v)`` (and repaired by the space where it
has rules such as distinct inputs).
"""
from __future__ import annotations

import contextlib
import logging
import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from evonas.callbacks import Callback, StrategyOutputs
from evonas.errors import ConfigError
from evonas.registry import strategies
from evonas.spaces.base import HasBounds, HasCellTools, HasRepair, require
from evonas.strategies.base import Strategy

log = logging.getLogger(__name__)
LR_SCHEDULES = ("cosine", "published")
MODES = ("auto", "weight-set", "evaluator")
FAST_BY = ("val_loss", "accuracy")
#: the released RelativeNAS code's search settings (``train_search.py``, ``slow_fast_learning.py``; see
#: docs/algorithms/relativenas.md): the strategy's part ...
RELATIVENAS_PUBLISHED: dict = {"pop_size": 20, "generations": 50, "learning_rate": 0.1, "learning_rate_min": 0.001,
                               "drop_path_prob": 0.3, "member_steps": None, "fast_by": "val_loss",
                               "lr_schedule": "published", "augmented_validation": True}
#: ... and its weight set's, as :class:`~evonas.evaluators.supernet.SupernetEvaluator` settings (an 8-cell, C=16
#: network on CIFAR-10 split 25k / 25k, batch 256, SGD momentum 0.9, weight decay 3e-4, grad clip 5, Cutout 16)
RELATIVENAS_PUBLISHED_SUPERNET: dict = {"dataset": "cifar10", "split": (0.5, 0.5), "batch_size": 256,
                                        "supernet_kwargs": {"C": 16, "layers": 8}, "momentum": 0.9,
                                        "weight_decay": 3e-4, "grad_clip": 5.0, "cutout": 16, "epochs": 0,
                                        "val_images": None}
#: the released code's stand-alone CIFAR-10 recipe (``train.py``): a smoke run builds and trains
#: it a few steps
STANDALONE: dict = {"C": 36, "layers": 20, "auxiliary_weight": 0.4, "drop_path_prob": 0.3, "epochs": 600,
                    "batch_size": 128, "learning_rate": 0.025, "weight_decay": 3e-4, "grad_clip": 5.0}
#: CIFAR-10's training images (a full published run's projection)
CIFAR10_TRAIN = 50_000


def published_weight_set(*, root: str | None = None, smoke_steps: int | None = None, **overrides: Any) -> dict:
    """The :class:`~evonas.evaluators.supernet.SupernetEvaluator` options of the published weight set
    (:data:`RELATIVENAS_PUBLISHED_SUPERNET`, CIFAR-10 from ``root``): ``SupernetEvaluator(**published_weight_set(
    root=...))``. ``smoke_steps``: the embedded cifar10-mini images instead, validation and BN recalibration on
    ``smoke_steps`` batches (the smoke run's projection still counts CIFAR-10's). ``overrides``: options of your
    own (a published run says which differ)."""
    options = {k: v for k, v in RELATIVENAS_PUBLISHED_SUPERNET.items()}
    options.update(root=root, supernet_kwargs=dict(options["supernet_kwargs"]), split=tuple(options["split"]))
    if smoke_steps:
        batch = overrides.get("eval_batch_size", 256)
        options.update(dataset="cifar10-mini", root=None, val_images=smoke_steps * batch,
                       recalibration_images=batch)
    options.update(overrides)
    return options


def generation_learning_rate(generation: int, generations: int, learning_rate: float, learning_rate_min: float,
                             schedule: str = "cosine") -> float:
    """The weight learning rate of ``generation`` (0-based) of ``generations``.

    ``"cosine"``: ``lr_min + (lr - lr_min) * (1 + cos(pi * g / G)) / 2``.
    ``"published"``: what RelativeNAS' code used (``CosineAnnealingLR.get_lr()`` read after ``g`` steps on
    PyTorch 1.8 multiplies the cosine value once more by its recursive factor
    ``(1 + cos(pi g / G)) / (1 + cos(pi (g - 1) / G))``).
    """
    if schedule not in LR_SCHEDULES:
        raise ConfigError(f"unknown lr_schedule {schedule!r}; valid: {', '.join(LR_SCHEDULES)}")

    def cosine(g: int) -> float:
        return learning_rate_min + (learning_rate - learning_rate_min) * (1 + math.cos(math.pi * g / generations)) / 2

    if schedule == "cosine" or generation == 0:
        return cosine(generation)
    angle = math.pi / generations
    factor = (1 + math.cos(angle * generation)) / (1 + math.cos(angle * (generation - 1)))
    return learning_rate_min + (cosine(generation) - learning_rate_min) * factor


def slow_learner_update(x_slow: np.ndarray, v_slow: np.ndarray, x_fast: np.ndarray, r1: np.ndarray, r2: np.ndarray,
                        lower: np.ndarray, upper: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """RelativeNAS' pseudo-gradient step of slow learners (rows = pairs, columns = coordinates):
    ``v' = r1 * v + r2 * (x_fast - x_slow)``, ``x' = clip(x_slow + v', lower, upper)``. Returns ``(x', v')``."""
    v_new = r1 * v_slow + r2 * (x_fast - x_slow)
    return np.clip(x_slow + v_new, lower, upper), v_new


def diversity(X: np.ndarray) -> float:
    """Mean Euclidean distance of the rows of ``X`` to their centroid (RelativeNAS' logged diversity)."""
    return float(np.linalg.norm(X - X.mean(axis=0), axis=1).mean())


class ContinuousBox:
    """The real box RelativeNAS moves in, and its decoding to architectures.

    Real encodings (DARTS ``"relativenas"``) are used as they are. For an integer
    encoding with inclusive bounds [l, u] a coordinate lives in [l, u + 1] and decodes by ``d(v)``
    (``floor(v)``; an integer v > l decodes to v - 1), then through ``space.repair`` where the space has it.
    """

    def __init__(self, space) -> None:
        require(space, HasBounds, "strategy 'relative' (a space with a numeric encoding)")
        self.space = space
        lower, upper = (np.asarray(b, dtype=float) for b in space.bounds())
        probe = np.asarray(space.encode(space.sample(np.random.default_rng(0))))
        self.integer = probe.dtype.kind in "iub"
        self.lower, self.upper = lower, upper + 1.0 if self.integer else upper

    @property
    def dimensions(self) -> int:
        return len(self.lower)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` points drawn uniformly in the box, shape (n, dimensions)."""
        return rng.uniform(self.lower, self.upper, size=(n, self.dimensions))

    def indices(self, x: np.ndarray) -> np.ndarray:
        """``d(x)`` per coordinate as integers (integer encodings)."""
        floor = np.floor(x)
        return np.where(floor == x, np.maximum(x - 1, self.lower), floor).astype(np.int64)

    def decode(self, x: np.ndarray):
        """The architecture of one point of the box."""
        if not self.integer:
            return self.space.decode(x)
        ints = self.indices(x)
        if isinstance(self.space, HasRepair):
            ints = np.asarray(self.space.repair(ints), dtype=np.int64)
        return self.space.decode(ints)


@strategies.register("relative")
class RelativeNAS(Strategy):
    """Slow-fast learning (see the module docstring).

    Args:
        pop_size: members (even), 20 in the paper.
        generations: length of the search and of its schedules, 50 in the paper.
        learning_rate, learning_rate_min: the weight learning rate's cosine across generations (0.1 -> 0.001).
        lr_schedule: ``"cosine"`` (the paper) or ``"published"`` (the values the released code used).
        drop_path_prob: final drop-path probability of member training (0.3 * g / generations).
        member_steps: optimiser steps per member and generation (None: one pass over the supernet's training
            part, as in the paper; fewer for a quick run).
        fast_by: what makes the fast learner in weight-set mode: ``"val_loss"`` (lower, the paper) or
            ``"accuracy"`` (higher).
        augmented_validation: measure members on augmented validation images (the released code).
        mode: ``"weight-set"``, ``"evaluator"`` or ``"auto"`` (weight-set when the evaluator has one shared
            supernet).
        checkpoint_pairs: with a run directory, save the search after every pair (a killed run resumes in the
            middle of a generation; a generation at the paper's scale takes about 11 GPU-minutes).
        published: the released code's strategy settings (:data:`RELATIVENAS_PUBLISHED`) where none is given;
            the first generation refuses, in one message, a search missing a piece of the published setting (a
            weight set, real-valued vectors, CIFAR-10) and names every weight-set setting that differs from
            :data:`RELATIVENAS_PUBLISHED_SUPERNET` (see :func:`published_weight_set`).
        smoke_steps: a smoke run (:mod:`evonas.runtime.phases`): one generation whose first pair trains this many
            steps per member, two members scored, the chosen cell's stand-alone network (:data:`STANDALONE`)
            trained this many steps; per phase seconds per step, peak memory and the projected cost of the full
            run are printed and written (``smoke.json``).
        micro_batch: a smoke run's stand-alone batch as chunks of this many images (gradients accumulated).
    """

    name = "relative"
    bound_attributes = ("codec", "meter")  # built by setup() from the space
    max_objectives = 1

    def __init__(self, *, pop_size: int = 20, generations: int = 50, learning_rate: float = 0.1,
                 learning_rate_min: float = 0.001, lr_schedule: str | None = None, drop_path_prob: float = 0.3,
                 member_steps: int | None = None, fast_by: str = "val_loss", augmented_validation: bool | None = None,
                 mode: str = "auto", checkpoint_pairs: bool = True, published: bool = False,
                 smoke_steps: int | None = None, micro_batch: int | None = None) -> None:
        if lr_schedule is None:  # the paper's cosine; the released code's values with published=True
            lr_schedule = RELATIVENAS_PUBLISHED["lr_schedule"] if published else "cosine"
        if augmented_validation is None:
            augmented_validation = RELATIVENAS_PUBLISHED["augmented_validation"] if published else False
        if smoke_steps is not None and smoke_steps < 1:
            raise ConfigError(f"smoke_steps must be >= 1 (or None: a real run), got {smoke_steps}")
        if micro_batch is not None and micro_batch < 2:
            raise ConfigError(f"micro_batch must be >= 2 (BatchNorm needs two images), got {micro_batch}")
        if pop_size < 2 or pop_size % 2:
            raise ConfigError(f"pop_size must be an even number >= 2 (members are paired), got {pop_size}")
        if generations < 1:
            raise ConfigError(f"generations must be >= 1, got {generations}")
        if lr_schedule not in LR_SCHEDULES:
            raise ConfigError(f"unknown lr_schedule {lr_schedule!r}; valid: {', '.join(LR_SCHEDULES)}")
        if mode not in MODES:
            raise ConfigError(f"unknown mode {mode!r}; valid: {', '.join(MODES)}")
        if fast_by not in FAST_BY:
            raise ConfigError(f"fast_by must be one of {', '.join(FAST_BY)}, got {fast_by!r}")
        if member_steps is not None and member_steps < 1:
            raise ConfigError(f"member_steps must be >= 1 (or None: one pass), got {member_steps}")
        if not 0.0 <= drop_path_prob < 1.0:
            raise ConfigError(f"drop_path_prob must be in [0, 1), got {drop_path_prob}")
        super().__init__(pop_size=pop_size, generations=generations, learning_rate=learning_rate,
                         learning_rate_min=learning_rate_min, lr_schedule=lr_schedule, drop_path_prob=drop_path_prob,
                         member_steps=member_steps, fast_by=fast_by, augmented_validation=augmented_validation,
                         mode=mode, checkpoint_pairs=checkpoint_pairs, published=published,
                         smoke_steps=smoke_steps, micro_batch=micro_batch)
        if published:
            mismatched = {k: (self.config[k], v) for k, v in RELATIVENAS_PUBLISHED.items() if self.config[k] != v}
            if mismatched:
                log.info("published=True with settings of your own: %s", ", ".join(
                    f"{k}={ours!r} (published {theirs!r})" for k, (ours, theirs) in mismatched.items()))
        self.X: np.ndarray | None = None  # positions (pop_size, dimensions)
        self.V: np.ndarray | None = None  # velocities
        self.completed = 0  # generations done
        self.pending: dict | None = None  # the generation in progress (weight-set mode): pairs, next pair, outcomes
        self.trajectory: list[dict] = []  # one row per generation
        self.last_results: list[dict] | None = None  # the evaluator's results of the current positions

    def published_components(self) -> dict:
        """With ``published=True`` or a smoke run: the DARTS space with real-valued vectors and the published
        weight set (:func:`published_weight_set`; a smoke run's on the embedded images), which ``evonas search``
        fills in where its user set none; nothing otherwise."""
        c = self.config
        if not (c["published"] or c["smoke_steps"]):
            return {}
        options = published_weight_set(smoke_steps=c["smoke_steps"])
        options.update(supernet_kwargs=dict(options["supernet_kwargs"]), split=list(options["split"]))
        return {"space": "darts", "space_options": {"encoding": "relativenas"}, "evaluator": "supernet",
                "evaluator_options": options}

    def _setup(self) -> None:
        self.codec = ContinuousBox(self.space)
        self.meter = None
        if self.config["smoke_steps"]:
            from evonas.runtime.phases import PhaseMeter

            self.meter = PhaseMeter("cpu")  # the device and data are the weight set's: noted at the first step

    # ------------------------------------------------------------------ loop
    @property
    def _generations(self) -> int:
        """Generations this run takes (a smoke run: one)."""
        return 1 if self.config["smoke_steps"] else self.config["generations"]

    @property
    def finished(self) -> bool:
        return self.completed >= self._generations

    def progress_units(self) -> tuple[int, int, str]:
        """Generations done (a smoke run: one short generation)."""
        return self.completed, self._generations, "generations"

    def ask(self) -> list:
        """The current population's architectures (the search moves it in :meth:`step`)."""
        if self.X is None:
            self._initialise()
        return [self.codec.decode(x) for x in self.X]

    def tell(self, archs: list, results: list[dict[str, float]]) -> None:
        self.last_results = [dict(r) for r in results]

    def _initialise(self) -> None:
        self.X = self.codec.sample(self.rng, self.config["pop_size"])
        self.V = np.zeros_like(self.X)

    def _fitness(self, results: Sequence[dict[str, float]]) -> np.ndarray:
        """Objective values to minimise, constraint violations ranked after every feasible value."""
        F = self.F(results)[:, 0]
        if self.constraints:
            violation = self.G(results).clip(min=0).sum(axis=1)
            F = F + (violation > 0) * (1e12 + violation)
        return F

    def _mode(self, ctx) -> str:
        mode = self.config["mode"]
        if mode == "auto":
            return "weight-set" if len(ctx.supernets) == 1 else "evaluator"
        return mode

    def step(self, ctx) -> None:
        self.ctx = ctx
        try:
            if self.X is None:
                self._initialise()
            g, G = self.completed, self.config["generations"]
            row: dict[str, Any] = {"generation": ctx.generation}
            if (self.config["published"] or self.config["smoke_steps"]) and g == 0 and self.pending is None:
                self._check_published(ctx)  # once, before any work
            if self._mode(ctx) == "weight-set":
                lr = generation_learning_rate(g, G, self.config["learning_rate"], self.config["learning_rate_min"],
                                              self.config["lr_schedule"])
                drop = self.config["drop_path_prob"] * g / G
                fast, slow, losses = self._train_pairs(ctx, lr, drop)
                row.update(lr=lr, pair_fast_val_loss=float(np.mean(losses[:, 0])),
                           pair_slow_val_loss=float(np.mean(losses[:, 1])))
                if hasattr(ctx.supernet.module, "drop_path_prob"):  # the NAS-Bench-201 supernet has no drop path
                    row["drop_path_prob"] = drop
            else:
                fitness = self._fitness(ctx.evaluate(self.ask()))
                pairs = self.rng.permutation(self.config["pop_size"]).reshape(-1, 2)
                first_fast = fitness[pairs[:, 0]] <= fitness[pairs[:, 1]]  # a tie: the first leads (released code)
                fast = np.where(first_fast, pairs[:, 0], pairs[:, 1])
                slow = np.where(first_fast, pairs[:, 1], pairs[:, 0])
            before = [self.space.key(a) for a in self.ask()]
            with self._timer("pairs", "move", len(slow)):
                self._move(fast, slow)
            archs = self.ask()
            if self.meter is not None:  # a smoke run scores the first pair's members (the full run: all)
                archs = archs[:2]
                shared = ctx.supernet
                batches = len(archs) * (len(shared.validation_batches) + len(shared.recalibration_batches))
                with self.meter.steps("evaluate", "score-batch", batches):
                    results = ctx.evaluate(archs)
            else:
                results = ctx.evaluate(archs)
            self.tell(archs, results)
            self.completed += 1
            self.pending = None
            F = self._fitness(self.last_results)
            objective = self.objectives[0]
            values = np.asarray([r[objective.name] for r in self.last_results], dtype=float)
            row.update({"diversity": diversity(self.X), f"best_{objective.name}": float(values[int(np.argmin(F))]),
                        f"mean_{objective.name}": float(np.nanmean(values)),
                        "distinct": len({self.space.key(a) for a in archs}),
                        "moved": sum(k != self.space.key(a) for k, a in zip(before, archs))})
            self.trajectory.append(row)
            if self.meter is not None and self.finished:
                self._smoke_end(ctx)
        finally:
            self.ctx = None

    def _move(self, fast: np.ndarray, slow: np.ndarray) -> None:
        """The slow learners' pseudo-gradient step (r1, r2 drawn per pair and coordinate)."""
        shape = (len(slow), self.codec.dimensions)
        r1, r2 = self.rng.random(shape), self.rng.random(shape)
        self.X[slow], self.V[slow] = slow_learner_update(self.X[slow], self.V[slow], self.X[fast], r1, r2,
                                                         self.codec.lower, self.codec.upper)

    def _train_pairs(self, ctx, lr: float, drop: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Weight-set mode's pair phase; returns fast indices, slow indices and their (fast, slow) val losses."""
        from evonas.training.weight_set import merge_weight_set, op_owners, snapshot, train_member

        shared = ctx.supernet
        module = shared.module
        owners = op_owners(module)
        steps = self.config["smoke_steps"] or self.config["member_steps"] or shared.steps_per_epoch
        if self.pending is None:
            self.pending = {"pairs": self.rng.permutation(self.config["pop_size"]).reshape(-1, 2),
                            "next": 0, "fast": [], "slow": [], "losses": []}
        pending = self.pending
        archs = self.ask()
        total = 1 if self.config["smoke_steps"] else len(pending["pairs"])  # a smoke run: the first pair
        while pending["next"] < total:
            k = pending["next"]
            a, b = (int(i) for i in pending["pairs"][k])
            base = snapshot(module)
            where = f"generation {ctx.generation} pair {k + 1}/{total}"
            ra = train_member(shared, archs[a], base, steps=steps, learning_rate=lr, drop_path_prob=drop,
                              augmented_validation=self.config["augmented_validation"], description=f"{where} a",
                              timer=self._pair_timer)
            rb = train_member(shared, archs[b], base, steps=steps, learning_rate=lr, drop_path_prob=drop,
                              augmented_validation=self.config["augmented_validation"], description=f"{where} b",
                              timer=self._pair_timer)
            if not (math.isfinite(ra.val_loss) and math.isfinite(rb.val_loss)):
                log.warning("%s: a member's validation loss is not finite (%g, %g); the comparison is arbitrary "
                            "(lower the learning rate)", where, ra.val_loss, rb.val_loss)
            # the released code's tie rules: a writes the set first only when strictly better, but leads the move
            # on a tie (mask = loss_a > loss_b)
            if self.config["fast_by"] == "val_loss":
                a_fast, a_leads = ra.val_loss < rb.val_loss, ra.val_loss <= rb.val_loss
            else:
                a_fast, a_leads = ra.accuracy > rb.accuracy, ra.accuracy >= rb.accuracy
            (f, rf), (s, rs) = ((a, ra), (b, rb)) if a_fast else ((b, rb), (a, ra))
            with self._timer("pairs", "merge", 1):
                module.load_state_dict(merge_weight_set(base, rf.state, rs.state,
                                                        fast_modules=module.path_modules(archs[f]),
                                                        slow_modules=module.path_modules(archs[s]), owners=owners))
            shared.mark_changed()
            pending["fast"].append(a if a_leads else b)
            pending["slow"].append(b if a_leads else a)
            pending["losses"].append((rf.val_loss, rs.val_loss))
            pending["next"] = k + 1
            log.info("%s: fast %d (val loss %.4f, top1 %.2f%%), slow %d (val loss %.4f, top1 %.2f%%)", where, f,
                     rf.val_loss, rf.accuracy, s, rs.val_loss, rs.accuracy)
            if self.config["checkpoint_pairs"] and ctx.checkpoint is not None and pending["next"] < total:
                ctx.checkpoint()
        return np.asarray(pending["fast"]), np.asarray(pending["slow"]), np.asarray(pending["losses"])

    # -------------------------------------------------------------- smoke run
    def _timer(self, phase: str, kind: str, count: int):
        """Times ``count`` steps of ``kind`` in ``phase`` (a smoke run; nothing otherwise)."""
        if self.meter is None:
            return contextlib.nullcontext()
        return self.meter.steps(phase, kind, count)

    def _pair_timer(self, kind: str, count: int):
        """:func:`~evonas.training.weight_set.train_member`'s timer: its training steps and validation batches."""
        return self._timer("pairs", kind, count)

    def _check_published(self, ctx) -> None:
        """With ``published=True`` (or a smoke run): refuse with ONE message listing every missing piece (the
        weight-set mode, a real-valued encoding, CIFAR-10); the weight set's settings that differ from the
        published ones are logged (and noted in a smoke report), not refused: they are the caller's."""
        c, problems = self.config, []
        if self._mode(ctx) != "weight-set":
            problems.append("a weight set: an evaluator with one shared supernet (SupernetEvaluator, epochs=0, "
                            "the settings RELATIVENAS_PUBLISHED_SUPERNET)")
        if self.codec.integer:
            problems.append("real-valued architecture vectors (the DARTS space with encoding='relativenas')")
        shared = ctx.supernet if len(ctx.supernets) == 1 else None
        settings = {} if shared is None else shared.settings
        if shared is not None and settings["dataset"] != "cifar10" and not c["smoke_steps"]:
            problems.append(f"CIFAR-10 as the weight set's dataset, not {settings['dataset']!r} (dataset='cifar10', "
                            "root=its folder)")
        if problems:
            what = "published=True" if c["published"] else "smoke_steps"
            raise ConfigError(f"RelativeNAS with {what} needs: " + "; ".join(
                f"({i}) {p}" for i, p in enumerate(problems, 1)) + (
                " (or smoke_steps=2: a smoke run on the embedded images)" if c["published"] and not c["smoke_steps"]
                else ""))
        ours = {**settings, "split": tuple(settings.get("split", ())), "cutout": settings.get("cutout")}
        own = {k: (ours.get(k), v) for k, v in RELATIVENAS_PUBLISHED_SUPERNET.items()
               if k not in ("dataset", "val_images") and shared is not None and ours.get(k) != v}
        if own and c["published"]:
            line = "weight set with settings of your own: " + ", ".join(
                f"{k}={ours!r} (published {theirs!r})" for k, (ours, theirs) in own.items())
            log.warning("RelativeNAS published=True: %s", line)
            if self.meter is not None:
                self.meter.note(line)
        if self.meter is not None and not self.meter.rows:
            self.meter.device = shared.device
            self.meter.note(f"smoke run: {c['smoke_steps']} training step(s) per member, one pair, 2 of "
                            f"{c['pop_size']} members scored; the weight set's {settings['dataset']} images "
                            f"({len(shared.train_set)} for training, {len(shared.validation_batches)} validation "
                            f"batch(es)) stand in for CIFAR-10's 25k / 25k")

    def full_run_steps(self, shared) -> dict:
        """``{(phase, kind): steps}`` of the full run these settings describe on CIFAR-10 (25k / 25k images at the
        weight set's batch sizes, every validation image: ``val_images=None``): member training steps, validation
        batches, merges and moves, the population's scoring batches (evonas' own: the released code only logs the
        population), and the stand-alone training."""
        from evonas.training.smoke import epoch_steps
        c, s = self.config, shared.settings
        G, members = c["generations"], c["pop_size"]
        train_images = int(CIFAR10_TRAIN * s["split"][0])
        val_images = int(CIFAR10_TRAIN * s["split"][1])  # the published run measures on the whole validation half
        per_member = c["member_steps"] or epoch_steps(train_images, s["batch_size"], drop_last=True)
        val = epoch_steps(val_images, shared.eval_batch_size)
        recal = epoch_steps(shared.recalibration_images, shared.eval_batch_size) if shared.recalibration_images else 0
        return {("pairs", "train"): G * members * per_member, ("pairs", "validate"): G * members * val,
                ("pairs", "merge"): G * members // 2, ("pairs", "move"): G * members // 2,
                ("evaluate", "score-batch"): G * members * (val + recal),
                ("stand-alone", "train"): STANDALONE["epochs"] * epoch_steps(CIFAR10_TRAIN, STANDALONE["batch_size"])}

    def _smoke_end(self, ctx) -> None:
        """The chosen cell's stand-alone network (the released recipe) built and trained a few steps; then the
        report, printed and kept for ``smoke.json``."""
        import torch
        from torch.utils.data import DataLoader

        from evonas.runtime.phases import format_report
        from evonas.training.smoke import standalone_steps
        c, shared = self.config, ctx.supernet
        with self.meter.steps("derive", "run", 1):
            genotype = self.chosen()
        if isinstance(self.space, HasCellTools):  # a DARTS cell: the released stand-alone network
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(int(self.rng.integers(2**31 - 1)))
                network = self.space.build(genotype, C=STANDALONE["C"], layers=STANDALONE["layers"],
                                           auxiliary=True, num_classes=shared.num_classes)
                loader = DataLoader(shared.train_set, batch_size=STANDALONE["batch_size"], shuffle=True,
                                    drop_last=True)
                standalone_steps(network, loader, steps=c["smoke_steps"], meter=self.meter,
                                 learning_rate=STANDALONE["learning_rate"], weight_decay=STANDALONE["weight_decay"],
                                 auxiliary_weight=STANDALONE["auxiliary_weight"], grad_clip=STANDALONE["grad_clip"],
                                 drop_path_prob=STANDALONE["drop_path_prob"], micro_batch=c["micro_batch"])
            del network
            if c["micro_batch"] and c["micro_batch"] < STANDALONE["batch_size"]:
                self.meter.note(f"stand-alone batch {STANDALONE['batch_size']} runs as micro-batches of "
                                f"{c['micro_batch']} with gradient accumulation")
        self.smoke_report = self.meter.report(self.full_run_steps(shared),
                                              search_phases=("pairs", "evaluate", "derive"))
        print(format_report(f"RelativeNAS (published={c['published']})", self.smoke_report), flush=True)

    def result_files(self) -> dict:
        """``smoke.json`` after a smoke run (see :mod:`evonas.runtime.phases`)."""
        report = getattr(self, "smoke_report", None)
        return {"smoke.json": report} if report is not None else {}

    # ------------------------------------------------------------- reporting
    def population(self) -> list:
        return [] if self.X is None else self.ask()

    def chosen(self):
        """The final architecture: the member of the last evaluated population with the best objective
        (ties: the lower index); None before the first generation."""
        if self.last_results is None:
            return None
        return self.ask()[int(np.argmin(self._fitness(self.last_results)))]

    def callbacks(self, run_dir: Path) -> list[Callback]:
        """The run directory's extra outputs: trajectory and chosen architecture (see the module docstring)."""
        return [StrategyOutputs(run_dir, "trajectory", "trajectory", strategy=self)]


__all__ = ["ContinuousBox", "FAST_BY", "LR_SCHEDULES", "MODES", "RELATIVENAS_PUBLISHED",
           "RELATIVENAS_PUBLISHED_SUPERNET", "RelativeNAS", "STANDALONE", "diversity", "generation_learning_rate",
           "published_weight_set", "slow_learner_update"]
