"""The search loop (exported as ``evonas.search``): drives a strategy with an evaluator over a space.

It owns what every strategy shares: the budget, the memo cache (each
architecture is evaluated once per evaluator version), the history, the
hypervolume per generation, progress display, the run directory and
checkpoint / resume. A checkpoint is written atomically after a generation
whenever ``checkpoint_every`` seconds have passed since the search began or
since the last checkpoint, and after the last generation. It holds the
strategy's state (``state_dict``, its random generators included), the
global ``random`` / NumPy / torch RNG states, the evaluator's state and
where the run's append-only ``archive.log`` ends (the evaluations are
appended there, and to ``history.csv``, just before), so its size does not
grow with the run; ``resume=True`` rebuilds the archive from the log and
continues a killed run to exactly the result of an uninterrupted one with
the same seed. Checkpoints are checksummed and carry the run directory's
run id; the log has a checksum per record; the directory is locked while a
search runs.

The budget counts distinct evaluated architectures in whole generations: the
search stops after the generation in which the count reaches ``budget``, so a
run may end up to one generation above it (a population is never cut short).

While a search runs, the objects alive before it (modules, tables, datasets)
sit in the garbage collector's permanent generation
(:func:`~evonas.runtime.heap.frozen_heap`), so collections walk only what the
search made.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import random
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch

from evonas.callbacks import Callback, PlotWriter, ProgressDisplay, SearchState, as_callback
from evonas.context import SearchContext, shared_supernets
from evonas.core import Constraint, hypervolume, non_dominated_mask, parse_constraint, to_minimization
from evonas.errors import ConfigError, EvonasError
from evonas.evaluators.base import Evaluator
from evonas.history import ArchiveLog, HistoryWriter
from evonas.registry import component_config, differences
from evonas.result import Archive, SearchResult
from evonas.runtime.checkpoint import has_checkpoint, load_latest_checkpoint, save_object_checkpoint
from evonas.runtime.executors import Executor, LocalExecutor, resolve_executor
from evonas.runtime.heap import frozen_heap
from evonas.runtime.legacy_settings import SETTINGS_FORMAT, is_legacy, legacy_differences, refusal
from evonas.runtime.run_dir import RunDir
from evonas.search_record import SEARCH_JSON, search_record
from evonas.strategies.base import Strategy

log = logging.getLogger(__name__)
CHECKPOINT = "checkpoint.pkl"
CHECKPOINT_KIND = "search"


class MemoisedEvaluation:
    """``archs -> results`` through the archive: each architecture is evaluated once per evaluator version.

    New architectures of a batch are sent to the evaluator together (one
    ``evaluate`` call, so an executor can spread them); repeats within the
    batch and architectures seen before cost a lookup (their keys are kept by
    architecture value, so a repeat is not validated and keyed again).
    Each new evaluation is recorded in the archive under ``generation``.
    """

    _KEYS = 200_000  # architectures whose keys are kept (the table is emptied when it is full)

    def __init__(self, space, evaluator: Evaluator, archive: Archive, *, generation: int = 0,
                 on_new: Callable[[], None] | None = None, executor: Executor | None = None) -> None:
        self.space, self.evaluator, self.archive = space, evaluator, archive
        self.generation, self.on_new = generation, on_new
        self.executor = executor or LocalExecutor()
        self._keys: dict[Any, str] = {}

    def _key(self, arch) -> str:
        try:
            return self._keys[arch]
        except KeyError:
            key = self.space.key(arch)
        except TypeError:  # not hashable (a space whose values break the contract): no caching
            return self.space.key(arch)
        if len(self._keys) >= self._KEYS:
            self._keys.clear()
        self._keys[arch] = key
        return key

    def __call__(self, archs: list) -> list[dict[str, float]]:
        known, key_of = self._keys, self._key
        try:
            keys = [known.get(arch) or key_of(arch) for arch in archs]  # one dict lookup per repeat
        except TypeError:  # an unhashable architecture
            keys = [key_of(arch) for arch in archs]
        version = self.evaluator.version
        archive = self.archive
        cache = archive.cache
        todo: dict[str, Any] = {}
        hits = 0
        for arch, key in zip(archs, keys):
            if (key, version) in cache:
                hits += 1
            elif key not in todo:
                todo[key] = arch
        archive.hits += hits
        if todo:
            results = self.executor.evaluate(self.evaluator, list(todo.values()))
            constraints = archive.constraints
            for (key, arch), values in zip(todo.items(), results):
                for constraint in constraints:
                    if constraint.name not in values:
                        raise EvonasError(f"constraint {constraint} refers to {constraint.name!r}, which the "
                                          f"evaluator does not report (it reports {', '.join(values)})")
                archive.record(arch, key, version, values, self.generation)
                if self.on_new is not None:
                    self.on_new()
        return [dict(cache[(key, version)]) for key in keys]


def fingerprint(space, strategy: Strategy, evaluator: Evaluator, constraints: Sequence[Constraint],
                seed: int) -> dict:
    """The settings a resumed run must share with the run it continues (JSON-able: each component's
    :meth:`~evonas.params.Configurable.describe`, from its constructor's parameters)."""
    return {"space": component_config(space), "strategy": component_config(strategy),
            "evaluator": component_config(evaluator), "objectives": [str(o) for o in evaluator.objectives],
            "constraints": [str(c) for c in constraints], "seed": int(seed)}


def _digest(config: dict) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]


def _rng_states() -> dict:
    return {"random": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}


def _set_rng_states(states: dict) -> None:
    random.setstate(states["random"])
    np.random.set_state(states["numpy"])
    torch.set_rng_state(states["torch"])


def search(space, strategy: Strategy, evaluator: Evaluator, *, budget: int, seed: int = 0,
           run_dir: str | Path | None = None, constraints: Sequence[str | Constraint] = (),
           resume: bool = False, progress: bool = True, callbacks: Sequence[Callback] = (),
           plots: bool = True, executor: str | Executor | None = None,
           checkpoint_every: float = 2.0) -> SearchResult:
    """Run ``strategy`` over ``space`` with fitness from ``evaluator``.

    Args:
        budget: number of distinct architectures to evaluate; the search stops
            after the generation in which it is reached.
        seed: the run's only source of randomness (strategy RNG, global RNGs).
        run_dir: where the config (``config.json``: the identity a resume must match; ``search.json``: the
            components by registry name and options, as ``evonas search --resume`` and ``evonas export`` read
            them), ``history.csv``, ``front.json``, plots and per-generation checkpoints go (nothing is written
            when None).
        constraints: e.g. ``["flops <= 300e6"]``, on any value the evaluator reports.
        resume: continue the run in ``run_dir`` from its latest readable checkpoint;
            its settings must equal these (the budget may grow).
        callbacks: :class:`~evonas.callbacks.Callback` objects or plain ``fn(generation, state)`` functions
            (after each generation); progress display and plots are callbacks too.
        plots: write ``pareto.png`` / ``progress.png`` at the end.
        executor: where batches are evaluated: ``"local"`` (default), ``"processes"`` (a pool of workers,
            each with its own copy of the evaluator; same results), ``"ray"``, or an
            :class:`~evonas.runtime.executors.Executor` with options
            (``evonas.create("executor", "processes", workers=4)``).
        checkpoint_every: seconds between checkpoints of a run directory, counted from the start of the search
            (the last generation is always checkpointed; 0: after every generation). A killed run resumes from
            its latest checkpoint to the same result either way; a longer interval only loses more work to a
            kill.

    The evaluator is set up on ``space`` unless it already is (a caller that set it up, e.g. to train a
    supernet once for several searches, passes it as it is).
    """
    if not isinstance(budget, (int, np.integer)) or budget < 1:
        raise ConfigError(f"budget must be a positive number of evaluations, got {budget!r}")
    if not isinstance(checkpoint_every, (int, float)) or not checkpoint_every >= 0:
        raise ConfigError(f"checkpoint_every must be a number of seconds >= 0, got {checkpoint_every!r}")
    constraints = tuple(parse_constraint(c) for c in constraints)
    ungated = [str(c) for c in evaluator.gate_constraints if str(c) not in {str(k) for k in constraints}]
    if ungated:
        raise ConfigError(f"the evaluator stops evaluating at {', '.join(ungated)}, which the search does not "
                          f"have as a constraint: pass the same constraints to search()")
    config = fingerprint(space, strategy, evaluator, constraints, seed)
    run = RunDir(run_dir) if run_dir is not None else None
    if resume and run is None:
        raise ConfigError("resume needs the run directory of the run to continue")
    executor = resolve_executor(executor)
    with run.locked() if run is not None else contextlib.nullcontext(), frozen_heap():
        try:
            executor.start(space, evaluator)  # before set-up: workers receive the evaluator as constructed
            return _search(space, strategy, evaluator, budget, seed, run, constraints, resume, progress,
                           callbacks, plots, config, executor, float(checkpoint_every))
        finally:
            executor.close()


def _start(space, strategy: Strategy, objectives, constraints, seed: int) -> tuple[Strategy, Archive, int]:
    """Seed the global RNGs and the strategy from ``seed``: the state of a run before generation 0."""
    rng = np.random.default_rng(seed)
    random.seed(int(rng.integers(2**63 - 1)))
    np.random.seed(int(rng.integers(2**32 - 1)))
    torch.manual_seed(int(rng.integers(2**63 - 1)))
    strategy.setup(space, objectives, rng, constraints)
    return strategy, Archive(objectives, constraints), -1


def _search(space, strategy: Strategy, evaluator: Evaluator, budget: int, seed: int, run: RunDir | None,
            constraints: tuple, resume: bool, progress: bool, callbacks: Sequence[Callback], plots: bool,
            config: dict, executor: Executor, checkpoint_every: float = 0.0) -> SearchResult:
    objectives = evaluator.objectives
    hv_history: list[tuple[int, float]] = []
    stalled = 0  # generations in a row without a new architecture
    checkpoint = run.path / CHECKPOINT if run is not None else None
    evaluation_log = ArchiveLog(run, space) if run is not None else None
    if resume and not run.exists() and not has_checkpoint(checkpoint):
        log.warning("%s holds no search yet (it stopped before its settings were saved): starting it", run.path)
        resume = False
    digest = _digest(config)  # what the run's config.json and checkpoints carry
    if resume:
        saved = run.read_json("config.json")
        if saved.get("fingerprint") != digest and is_legacy(saved):  # its settings held repr strings
            differing = legacy_differences(saved.get("settings", {}), {"space": space, "strategy": strategy,
                                                                       "evaluator": evaluator}, config)
            if differing:
                raise ConfigError(refusal(run.path, differing))
            log.info("%s was written by an older evonas; its settings match these", run.path)
            digest = saved["fingerprint"]
        if saved.get("fingerprint") != digest:
            differing = differences(saved.get("settings", {}), json.loads(json.dumps(config)))
            raise ConfigError(f"{run.path} was started with other settings ({', '.join(differing[:6]) or 'unknown'} "
                              f"differ); resume it with the same space, strategy, evaluator, constraints and seed")
        if not (run.path / SEARCH_JSON).is_file():  # a run an older evonas started from Python
            run.write_json(SEARCH_JSON, search_record(space, strategy, evaluator, constraints=constraints,
                                                      budget=budget, seed=seed, run_dir=run.path))
        run_id = run.run_id(CHECKPOINT_KIND)
        if not evaluator.is_set_up_for(space):
            evaluator.setup(space)
        if has_checkpoint(checkpoint):
            state = load_latest_checkpoint(checkpoint, kind=CHECKPOINT_KIND,
                                           expect={"run_id": run_id, "fingerprint": digest})
            strategy, archive, _ = _start(space, strategy, objectives, constraints, seed)
            if "archive" in state:  # written before archive.log: the archive inside the checkpoint
                archive.load_state_dict(state["archive"], space)
            else:
                evaluation_log.load(state["archive_log"], archive)
                archive.hits = int(state["hits"])
            strategy.load_state_dict(state["strategy"])
            generation, hv_history = state["generation"], state["hypervolume"]
            stalled = int(state.get("stalled", 0))
            evaluator.load_state_dict(state["evaluator"])
            _set_rng_states(state["rng"])
            log.info("resuming %s after generation %d (%d evaluations)", run.path, generation, len(archive))
        else:
            log.warning("%s has no checkpoint yet (the run stopped before its first one was due): starting over",
                        run.path)
            strategy, archive, generation = _start(space, strategy, objectives, constraints, seed)
        if saved.get("budget") != int(budget):  # the budget may change on resume: the run's files say so
            log.info("%s: budget %s -> %d", run.path, saved.get("budget"), int(budget))
            run.write_json("config.json", {**saved, "budget": int(budget)})
            record = run.read_json(SEARCH_JSON)
            if isinstance(record, dict) and "budget" in record:
                run.write_json(SEARCH_JSON, {**record, "budget": int(budget)})
    else:
        if checkpoint is not None and has_checkpoint(checkpoint):
            raise ConfigError(f"{run.path} already holds a search; continue it with resume or pick another run dir")
        if run is not None:  # first: `evonas search --resume` restarts a run killed while its evaluator set up
            run.write_json(SEARCH_JSON, search_record(space, strategy, evaluator, constraints=constraints,
                                                      budget=budget, seed=seed, run_dir=run.path))
        if not evaluator.is_set_up_for(space):
            evaluator.setup(space)
        strategy, archive, generation = _start(space, strategy, objectives, constraints, seed)
        if run is not None:
            run_id = run.create_identity(CHECKPOINT_KIND)
            run.write_json("config.json", {"fingerprint": digest, "settings": config, "budget": int(budget),
                                           "settings_format": SETTINGS_FORMAT})
    handler = run.attach_log() if run is not None else None
    history = HistoryWriter(run, space) if run is not None else None

    hooks = [as_callback(c) for c in callbacks]
    display = None
    if progress or hooks or run is not None or log.isEnabledFor(logging.INFO):  # else nobody sees the figures
        display = ProgressDisplay(budget, len(archive), objectives, bar=progress, hypervolume=hv_history,
                                  strategy=strategy)
        hv_history = display.hypervolume
        hooks.insert(0, display)
    if plots:
        hooks.append(PlotWriter())
    if run is not None:
        hooks.extend(strategy.callbacks(run.path))
    counters = [hook for hook in hooks if type(hook).on_evaluation is not Callback.on_evaluation]

    def counted() -> None:
        count = len(archive)
        for hook in counters:
            hook.on_evaluation(count)

    evaluate = MemoisedEvaluation(space, evaluator, archive, executor=executor,
                                  on_new=counted if counters else None)
    supernets = shared_supernets(evaluator)

    last_save = time.monotonic()  # of the last checkpoint, or of the start: a kill loses < checkpoint_every s
    saved_generation = None  # generations done at the last checkpoint

    def save(completed: int, *, force: bool = True) -> None:
        """Checkpoint the search as it is, ``completed`` generations done (plus any progress the strategy's
        state records within the next one); unless ``force``, only when ``checkpoint_every`` seconds have
        passed since the last one. The evaluations are appended to the history and the log first, so a
        checkpoint never refers to records that are not on disk."""
        nonlocal last_save, saved_generation
        if not force and time.monotonic() - last_save < checkpoint_every:
            return
        history.sync(archive, evaluation_log.sync(archive))
        save_object_checkpoint(checkpoint, {
            "fingerprint": digest, "generation": completed, "strategy": strategy.state_dict(),
            "archive_log": evaluation_log.state(), "hits": archive.hits, "hypervolume": hv_history,
            "evaluator": evaluator.state_dict(), "rng": _rng_states(), "stalled": stalled},
            kind=CHECKPOINT_KIND, run_id=run_id)
        last_save, saved_generation = time.monotonic(), completed

    def stopping() -> bool:
        if len(archive) >= budget or strategy.finished:
            return True
        if stalled >= 5 and strategy.stop_when_stalled:
            log.warning("no new architecture in 5 generations (the population converged or the space is "
                        "exhausted): stopping")
            return True
        return False

    try:
        while not stopping():
            generation += 1
            evaluate.generation = generation
            before = len(archive)
            within = (lambda done=generation - 1: save(done)) if run is not None else None
            strategy.step(SearchContext(evaluate=evaluate, supernets=supernets, rng=strategy.rng, budget=budget,
                                        evaluations=before, generation=generation,
                                        run_dir=run.path if run is not None else None, checkpoint=within))
            stalled = stalled + 1 if len(archive) == before else 0
            state = SearchState(space, strategy, evaluator, archive, generation, hv_history)
            for hook in hooks:
                hook.on_generation(generation, state)
            if run is not None:
                save(generation, force=False)
        if run is not None and saved_generation != generation and generation >= 0:
            save(generation)  # the last generation, whenever the interval would have put it
        if len(archive) > budget:
            log.info("budget of %d reached within generation %d: %d evaluations (whole generations are evaluated)",
                     budget, generation, len(archive))
        result = SearchResult(objectives, constraints, list(archive.individuals), [],
                              str(run.path) if run is not None else None)
        result.hypervolume = final_hypervolume_curve(result)
        if run is not None:
            run.write_json("front.json", result.summary(space))
        for hook in hooks:
            hook.on_end(result, run)
    finally:
        for hook in hooks:
            hook.close()
        if handler is not None:
            logging.getLogger("evonas").removeHandler(handler)
            handler.close()
    return result


def final_hypervolume_curve(result: SearchResult) -> list[tuple[int, float]]:
    """Hypervolume per generation, every generation normalised by the final ideal / nadir."""
    feasible = result.feasible
    if len(result.objectives) < 2 or not feasible:
        return []
    values = result.values(feasible)
    F = to_minimization(values, result.objectives)
    ideal, nadir = F.min(axis=0), F.max(axis=0)
    generations = np.asarray([ind.generation for ind in feasible])
    order = np.argsort(generations, kind="stable")
    values, generations = values[order], generations[order]
    ends = np.searchsorted(generations, np.arange(int(generations.max()) + 1), side="right")
    curve, front, start = [], values[:0], 0
    for g, end in enumerate(ends):  # the front so far, one generation at a time: O(front + generation) each
        if end > start:
            pool = np.concatenate([front, values[start:end]])
            front, start = pool[non_dominated_mask(pool, result.objectives)], end
        curve.append((g, hypervolume(front, result.objectives, ideal=ideal, nadir=nadir)))
    return curve


__all__ = ["CHECKPOINT", "CHECKPOINT_KIND", "MemoisedEvaluation", "final_hypervolume_curve", "fingerprint", "search"]
