"""The ``"ray"`` executor: a search's batches scored by Ray actors on one machine or a cluster.

Each actor holds one replica of the evaluator, rebuilt from what
:func:`~evonas.runtime.executors.pack_evaluator` ships (registry name and
options, or the object as constructed) and set up once: an evaluator
with heavy state (a trained supernet) is set up from
:meth:`~evonas.evaluators.base.Evaluator.replica_state` instead, so that
actors load the weights the search scores with and never train.

A batch is cut into chunks handed to idle actors as they finish (a slow
actor takes fewer); the results come back in the batch's order, so a
search gives the same result as with the local executor. When the
evaluator's ``version`` changed since the weights were last sent (a
strategy trained the shared supernet), the new weights go to every actor,
through Ray's object store once, before it scores again.

An actor that dies (its process or node is lost) is replaced by a new one,
set up with the current weights, and its unfinished chunk is queued again;
a replacement that cannot start within ``start_timeout`` (a full cluster)
is given up and the other actors go on; a chunk lost ``max_retries`` times
in a row stops the search with an error. An exception raised by the
evaluator itself (in scoring or in its set-up on an actor) is not retried:
it reaches the caller. The actors' nodes need evonas, and the data the
evaluator reads at the same path.

Ray is an optional dependency (``pip install "evonas[ray]"``); nothing here
imports it before :meth:`RayExecutor.start`.
"""
from __future__ import annotations

import logging
import math
import os
from collections import deque
from typing import Any, Sequence

from evonas.errors import ConfigError, EvonasError
from evonas.registry import executors
from evonas.runtime.executors import Executor, pack_evaluator, unpack_evaluator

log = logging.getLogger(__name__)


class EvaluatorActor:
    """What runs inside one Ray actor: a replica of the evaluator (the class is made remote in ``start``).

    Args:
        blob: :func:`~evonas.runtime.executors.pack_evaluator`'s bytes.
        threads: torch threads of this actor (its share of the CPUs).
        replica: the evaluator's :meth:`replica_state` when it has one (else None: a plain set-up).
        version: the evaluator version ``replica`` belongs to.
    """

    def __init__(self, blob: bytes, threads: int, replica: Any, version: Any) -> None:
        import torch

        torch.set_num_threads(max(int(threads), 1))
        space, self.evaluator = unpack_evaluator(blob)
        self.evaluator.setup_replica(space, replica)
        self.version = version

    def load_replica_state(self, replica: Any, version: Any) -> None:
        self.evaluator.load_replica_state(replica)
        self.version = version  # only once the weights loaded: a failed load leaves the old version

    def evaluate(self, archs: list, version: Any) -> list[dict[str, float]]:
        if version != self.version:
            raise EvonasError(f"this Ray actor holds the evaluator's version {self.version!r}, the batch was sent "
                              f"for {version!r} (its weights did not load)")
        return self.evaluator.evaluate(archs)

    def pid(self) -> int:
        """The actor's process id (tests kill it); answering it means the actor is set up."""
        return os.getpid()


def _check_reachable(address: str, timeout: float) -> None:
    """Raise a one-line :class:`ConfigError` unless ``address`` (``[ray://]host:port``) accepts a TCP
    connection within ``timeout`` seconds."""
    import socket

    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ConfigError(f"Ray address {address!r} must look like host:port, ray://host:port, 'auto' or 'local'")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(f"no Ray cluster answers at {address} ({reason}, waited up to {timeout:g} s): start "
                          "one there with 'ray start --head', or check --address") from None


@executors.register("ray")
class RayExecutor(Executor):
    """Scores batches on Ray actors, each with a replica of the evaluator.

    Args:
        address: the Ray cluster to join (``"auto"``: the one started on this
            node with ``ray start``; ``"ray://host:10001"``: a remote one).
            None starts a private local cluster for this search (or uses the
            one this process already joined).
        workers: actors to start (None: one per GPU of the cluster when it
            has GPUs, else one per ``cpus_per_worker`` CPUs).
        cpus_per_worker: CPUs each actor reserves (and its torch threads).
        gpus_per_worker: GPUs each actor reserves (None: 1 when the cluster
            has GPUs, else 0). The evaluator's ``device="auto"`` then picks
            the GPU Ray assigned to the actor.
        chunk_size: candidates per call to an actor (None: a batch is cut into
            about four chunks per actor, so that fast actors take more).
        max_retries: how many times one chunk may be lost with a dead actor
            before the search stops with an error.
        init_options: more keyword arguments for ``ray.init`` (e.g.
            ``{"runtime_env": {...}}``).
        start_timeout: seconds an actor may take to start and set up its
            replica (loading data and weights) before it is given up.
        connect_timeout: seconds to wait for the cluster at ``address``
            (``host:port`` or ``ray://host:port``) to answer before the
            search stops with one line (Ray itself retries for minutes).
    """

    name = "ray"

    def __init__(self, *, address: str | None = None, workers: int | None = None, cpus_per_worker: float = 1,
                 gpus_per_worker: float | None = None, chunk_size: int | None = None, max_retries: int = 3,
                 init_options: dict | None = None, start_timeout: float = 600.0,
                 connect_timeout: float = 10.0) -> None:
        if workers is not None and workers < 1:
            raise ConfigError(f"workers must be >= 1, got {workers}")
        if cpus_per_worker <= 0:
            raise ConfigError(f"cpus_per_worker must be > 0, got {cpus_per_worker}")
        if chunk_size is not None and chunk_size < 1:
            raise ConfigError(f"chunk_size must be >= 1, got {chunk_size}")
        if max_retries < 0:
            raise ConfigError(f"max_retries must be >= 0, got {max_retries}")
        if gpus_per_worker is not None and gpus_per_worker < 0:
            raise ConfigError(f"gpus_per_worker must be >= 0, got {gpus_per_worker}")
        if start_timeout <= 0:
            raise ConfigError(f"start_timeout must be > 0, got {start_timeout}")
        if connect_timeout <= 0:
            raise ConfigError(f"connect_timeout must be > 0, got {connect_timeout}")
        self.start_timeout, self.connect_timeout = float(start_timeout), float(connect_timeout)
        self.address, self.workers, self.cpus_per_worker = address, workers, cpus_per_worker
        self.gpus_per_worker, self.chunk_size, self.max_retries = gpus_per_worker, chunk_size, max_retries
        self.init_options = dict(init_options or {})
        self._ray = None
        self._owns_cluster = False
        self._blob: bytes | None = None
        self._actors: list = []
        self._remote = None
        self._replica_ref = None
        self._version: Any = None
        #: actors replaced after they died (for the log and tests)
        self.replaced = 0

    # ------------------------------------------------------------------ set-up
    def start(self, space, evaluator) -> None:
        try:
            import ray
        except ImportError as exc:
            raise ConfigError('the ray executor needs Ray: pip install "evonas[ray]"') from exc
        self._ray = ray
        self._blob = pack_evaluator(space, evaluator)  # before set-up: as constructed
        if not ray.is_initialized():
            options = {"include_dashboard": False, "log_to_driver": True, **self.init_options}
            if self.address is None:  # a private instance, even where RAY_ADDRESS or `ray start` point elsewhere
                options.setdefault("num_cpus", len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                                   else os.cpu_count() or 1)
            if self.address not in (None, "auto", "local"):
                _check_reachable(self.address, self.connect_timeout)
            try:
                ray.init(address=self.address or "local", **options)
            except (ImportError, ValueError) as exc:
                if str(self.address).startswith("ray://"):
                    raise ConfigError(f"cannot connect to {self.address} ({type(exc).__name__}: {exc}); a ray:// "
                                      'address needs the Ray client: pip install "ray[client]"') from None
                raise ConfigError(f"cannot start or join a Ray cluster at {self.address or 'this machine'} "
                                  f"({type(exc).__name__}: {exc})") from None
            except ConnectionError as exc:
                raise ConfigError(f"cannot connect to the Ray cluster at {self.address} ({exc})") from None
            self._owns_cluster = True
        try:
            self._plan(evaluator)
        except BaseException:
            self.close()
            raise

    def _plan(self, evaluator) -> None:
        """Actors and their resources from the cluster's size (ConfigError when they cannot all fit)."""
        resources = self._ray.cluster_resources()
        cpus, gpus = resources.get("CPU", 0), resources.get("GPU", 0)
        if self.gpus_per_worker is None:
            self.gpus_per_worker = 1 if gpus and evaluator.wants_gpu else 0
        if self.workers is None:
            by_cpu = int(cpus // self.cpus_per_worker)
            by_gpu = int(gpus // self.gpus_per_worker) if self.gpus_per_worker else by_cpu
            self.workers = max(min(by_cpu, by_gpu), 1)
        need_cpu, need_gpu = self.workers * self.cpus_per_worker, self.workers * self.gpus_per_worker
        if need_cpu > cpus or need_gpu > gpus:
            raise ConfigError(f"{self.workers} Ray actors need {need_cpu:g} CPUs and {need_gpu:g} GPUs; the cluster "
                              f"has {cpus:g} and {gpus:g} (lower workers, cpus_per_worker or gpus_per_worker)")
        self._remote = self._ray.remote(num_cpus=self.cpus_per_worker, num_gpus=self.gpus_per_worker,
                                        max_restarts=0)(EvaluatorActor)
        log.info("ray executor: %d actors (%s CPUs, %s GPUs each) on %s", self.workers, self.cpus_per_worker,
                 self.gpus_per_worker, resources)

    def _start_actors(self, count: int) -> list:
        """``count`` new actors with the current weights; those that do not start within ``start_timeout`` are
        given up (a full cluster after a node died). ConfigError when the evaluator's set-up fails on one."""
        ray = self._ray
        actors = [self._remote.remote(self._blob, math.ceil(self.cpus_per_worker), self._replica_ref, self._version)
                  for _ in range(count)]
        pings = {actor.pid.remote(): actor for actor in actors}
        ready, late = ray.wait(list(pings), num_returns=len(pings), timeout=self.start_timeout)
        started = []
        for ref in ready:
            try:
                ray.get(ref)
            except ray.exceptions.RayActorError as exc:
                if getattr(exc, "actor_init_failed", False):
                    raise ConfigError(f"the evaluator's set-up failed on a Ray actor: {exc}") from exc
                log.warning("a new Ray actor died while starting (%s)", type(exc).__name__)
            else:
                started.append(pings[ref])
        for ref in late:
            log.warning("a Ray actor did not start within %.0f s (the cluster may be full): going on without it",
                        self.start_timeout)
            ray.kill(pings[ref], no_restart=True)
        return started

    def _sync(self, evaluator) -> None:
        """Start the actors on the first batch (the evaluator is set up by then) and send new weights to them
        whenever the evaluator's version changed."""
        version = evaluator.version
        if self._actors and version == self._version:
            return
        replica = evaluator.replica_state()
        self._replica_ref = None if replica is None else self._ray.put(replica)
        self._version = version
        if not self._actors:
            self._actors = self._start_actors(self.workers)
            if not self._actors:
                raise EvonasError(f"none of the {self.workers} Ray actors started within {self.start_timeout:.0f} s")
        else:  # ordered before each actor's next call, which checks that the version arrived
            for actor in self._actors:
                actor.load_replica_state.remote(self._replica_ref, version)

    # -------------------------------------------------------------- evaluation
    def evaluate(self, evaluator, archs: Sequence) -> list[dict[str, float]]:
        if self._remote is None:
            raise EvonasError("RayExecutor.start(space, evaluator) must be called before evaluate()")
        archs = list(archs)
        if not archs:
            return []
        self._sync(evaluator)
        ray = self._ray
        size = self.chunk_size or max(-(-len(archs) // (4 * len(self._actors))), 1)
        queue = deque((start, archs[start:start + size]) for start in range(0, len(archs), size))
        results: list = [None] * len(archs)
        lost = {start: 0 for start, _ in queue}
        idle, running = list(self._actors), {}
        while queue or running:
            while queue and idle:
                actor = idle.pop()
                start, chunk = queue.popleft()
                running[actor.evaluate.remote(chunk, self._version)] = (actor, start, chunk)
            if not running:
                raise EvonasError("every Ray actor was lost and none could be started again")
            done, _ = ray.wait(list(running), num_returns=1)
            actor, start, chunk = running.pop(done[0])
            try:
                rows = ray.get(done[0])
            except ray.exceptions.RayActorError as exc:
                lost[start] += 1
                if lost[start] > self.max_retries:
                    raise EvonasError(f"candidates {start}..{start + len(chunk) - 1} of the batch were lost with "
                                      f"{lost[start]} actors in a row; last error: {exc}") from exc
                log.warning("a Ray actor died (%s); its %d candidates are queued again", type(exc).__name__,
                            len(chunk))
                queue.appendleft((start, chunk))
                ray.kill(actor, no_restart=True)  # also one that is only unreachable: free what it holds
                self._actors.remove(actor)
                self.replaced += 1
                new = self._start_actors(1)
                self._actors.extend(new)
                idle.extend(new)
            else:
                results[start:start + len(chunk)] = rows
                idle.append(actor)
        evaluator.evaluations += len(archs)
        return results

    def actor_pids(self) -> list[int]:
        """The process ids of the current actors (started on the first batch)."""
        return self._ray.get([actor.pid.remote() for actor in self._actors])

    def close(self) -> None:
        if self._ray is None:
            return
        for actor in self._actors:
            self._ray.kill(actor, no_restart=True)
        self._actors = []
        if self._owns_cluster:
            self._ray.shutdown()
            self._owns_cluster = False


__all__ = ["EvaluatorActor", "RayExecutor"]
