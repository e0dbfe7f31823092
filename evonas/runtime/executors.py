"""Executors: where the batches of a search are evaluated.

:func:`evonas.search` hands each generation's new architectures to
``executor.evaluate(evaluator, archs)`` in one batch.

* ``"local"`` (:class:`LocalExecutor`, the default): in this process, the
  whole batch in one ``evaluator.evaluate`` call.
* ``"processes"`` (:class:`ProcessExecutor`): a pool of worker processes on
  this machine. Each worker rebuilds the evaluator from its registry name and
  options (the ``_registry_spec`` that :meth:`Registry.create` records), or, for
  one built in code, receives a copy of it as constructed (constructors are
  cheap; heavy work happens in ``setup``); it sets it up once and scores a
  contiguous share of each batch;
  results come back in order, so a run is the same as with ``"local"``.
  For evaluators whose work is CPU-bound Python or single-threaded
  (surrogates, cost counting, tabular look-ups).

* ``"ray"`` (:class:`evonas.runtime.ray_executor.RayExecutor`): Ray actors
  on one machine or a cluster, each with a replica of the evaluator; a
  shared supernet's weights are sent to every actor whenever they change.

``"processes"`` refuses an evaluator whose scores depend on weights that
change during the search (a shared supernet); ``"ray"`` keeps its replicas
up to date through :meth:`~evonas.evaluators.base.Evaluator.replica_state`.
"""
from __future__ import annotations

import logging
import multiprocessing
import os
import pickle
from typing import Any, Sequence

from evonas.errors import ConfigError, EvonasError
from evonas.params import Configurable
from evonas.registry import executors

log = logging.getLogger(__name__)


class Executor(Configurable):
    """Evaluates batches for the search loop. ``start`` is called once before set-up, ``close`` at the end."""

    name = ""

    def start(self, space, evaluator) -> None:
        """Prepare for ``evaluator`` (not yet set up) over ``space``."""

    def evaluate(self, evaluator, archs: Sequence) -> list[dict[str, float]]:
        raise NotImplementedError

    def close(self) -> None:
        """Release workers."""


@executors.register("local")
class LocalExecutor(Executor):
    """The whole batch in one ``evaluator.evaluate`` call, in this process."""

    name = "local"

    def evaluate(self, evaluator, archs: Sequence) -> list[dict[str, float]]:
        return evaluator.evaluate(list(archs))


_WORKER: dict[str, Any] = {}


def pack_evaluator(space, evaluator) -> bytes:
    """``space`` and ``evaluator`` as bytes a worker rebuilds them from (:func:`unpack_evaluator`), taken before
    set-up: an evaluator the registry made travels as its name and options, one built in code as a copy of the
    object (constructors are cheap, so it is as constructed). ConfigError when it cannot be pickled."""
    spec = getattr(evaluator, "_registry_spec", None)
    if spec is None and getattr(evaluator, "_is_set_up", False):
        raise ConfigError(f"{type(evaluator).__name__} was set up already: give the executor an evaluator that is "
                          "built but not set up (or made by the registry), so that each worker sets up its own copy")
    shipped = spec if spec is not None else evaluator
    try:
        return pickle.dumps((space, shipped))
    except Exception as exc:  # pickling fails with many types
        raise ConfigError(f"the evaluator cannot be sent to workers ({type(exc).__name__}: {exc}); "
                          "use the local executor") from exc


def unpack_evaluator(blob: bytes):
    """``(space, evaluator)`` from :func:`pack_evaluator`'s bytes; the evaluator is not set up."""
    space, evaluator = pickle.loads(blob)
    if isinstance(evaluator, tuple):  # (registry name, options): built here from its config
        evaluator = executors_evaluator(*evaluator)
    return space, evaluator


def _init_worker(blob: bytes, threads: int) -> None:
    import torch

    torch.set_num_threads(threads)
    space, evaluator = unpack_evaluator(blob)
    evaluator.setup(space)
    _WORKER["evaluator"] = evaluator


def executors_evaluator(name: str, options: dict):
    """An evaluator built from its registry name and options (what a worker receives when it can)."""
    from evonas.registry import evaluators

    return evaluators.create(name, **options)


def _evaluate_share(archs: list) -> list[dict[str, float]]:
    return _WORKER["evaluator"].evaluate(archs)


@executors.register("processes")
class ProcessExecutor(Executor):
    """A pool of ``workers`` processes (default: the CPU count), each with its own copy of the evaluator.

    ``threads``: torch threads per worker (default 1, so that workers do not
    compete for cores).
    """

    name = "processes"

    def __init__(self, *, workers: int | None = None, threads: int = 1) -> None:
        if workers is not None and workers < 1:
            raise ConfigError(f"workers must be >= 1 (or left out: the CPU count), got {workers}")
        self.workers = workers or os.cpu_count() or 1
        self.threads = threads
        self._pool = None

    def start(self, space, evaluator) -> None:
        if evaluator.shares_weights:
            raise ConfigError("an evaluator with a shared supernet scores with weights that change during the "
                              "search: use the local or the ray executor")
        blob = pack_evaluator(space, evaluator)
        context = multiprocessing.get_context("spawn")  # no forked copies of torch's thread pools
        self._pool = context.Pool(self.workers, initializer=_init_worker, initargs=(blob, self.threads))
        log.info("evaluating with %d worker processes", self.workers)

    def evaluate(self, evaluator, archs: Sequence) -> list[dict[str, float]]:
        if self._pool is None:
            raise EvonasError("ProcessExecutor.start(space, evaluator) must be called before evaluate()")
        archs = list(archs)
        if not archs:
            return []
        size = -(-len(archs) // self.workers)
        shares = [archs[i:i + size] for i in range(0, len(archs), size)]
        results = [row for share in self._pool.map(_evaluate_share, shares) for row in share]
        evaluator.evaluations += len(archs)
        return results

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool.join()
            self._pool = None


def resolve_executor(spec: "str | Executor | None", **options) -> Executor:
    """An executor object from a registry name, an object, or None (local)."""
    if spec is None:
        return LocalExecutor()
    if isinstance(spec, str):
        return executors.create(spec, **options)
    if not isinstance(spec, Executor):
        raise ConfigError(f"executor must be a name ({', '.join(executors.names())}) or an Executor, got {spec!r}")
    return spec


__all__ = ["Executor", "LocalExecutor", "ProcessExecutor", "executors_evaluator", "pack_evaluator", "resolve_executor",
           "unpack_evaluator"]
