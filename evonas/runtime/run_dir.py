"""A run directory: the config, metrics, checkpoints and results of one job.

Layout::

    RUN_DIR/run.json          identity: a random run id, the kind of run, when it was created
    RUN_DIR/config.json       settings the run was started with
    RUN_DIR/metrics.csv       one row per epoch / generation
    RUN_DIR/checkpoint.pt     latest checkpoint (checkpoint.prev.pt: the one before)
    RUN_DIR/log.txt           the run's log
    RUN_DIR/*.json, *.png     results

Guarantees: every file is written atomically (a reader never sees half of
one); every checkpoint carries the run id of ``run.json`` and is refused by
any other run directory; one process at a time writes a run directory (it
holds ``.lock`` while it runs; a second one is refused with the holder
named); temporary files of interrupted writes are removed when the
directory is next locked. Nothing else is ever deleted.
"""
from __future__ import annotations

import json
import logging
import os
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from evonas.errors import CheckpointError, ConfigError
from evonas.runtime.atomic import atomic_write_csv, atomic_write_text, remove_stale_temporaries, storage_error
from evonas.runtime.lock import RunLock

log = logging.getLogger(__name__)
IDENTITY = "run.json"


class RunDir:
    """Paths and atomic writers for one run's folder (created on first write)."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    @property
    def config_path(self) -> Path:
        return self.path / "config.json"

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.csv"

    @property
    def checkpoint_path(self) -> Path:
        return self.path / "checkpoint.pt"

    def exists(self) -> bool:
        return self.config_path.is_file()

    @contextmanager
    def locked(self) -> Iterator["RunDir"]:
        """Hold the directory's lock (see :mod:`evonas.runtime.lock`) and clear stale temporary files."""
        with RunLock(self.path):
            removed = remove_stale_temporaries(self.path)
            if removed:
                log.info("removed %d temporary file(s) of interrupted writes in %s", len(removed), self.path)
            yield self

    def create_identity(self, kind: str) -> str:
        """Give the directory a new run id (``run.json``) for a run of ``kind``; return the id."""
        run_id = uuid.uuid4().hex
        self.write_json(IDENTITY, {"run_id": run_id, "kind": kind, "created": time.strftime("%Y-%m-%d %H:%M:%S")})
        return run_id

    def run_id(self, kind: str) -> str | None:
        """The run id of ``run.json`` (None for a directory written before run ids existed).

        Raises:
            CheckpointError: ``run.json`` describes a run of another kind.
        """
        if not (self.path / IDENTITY).is_file():
            log.warning("%s has no %s (an older evonas wrote it): its checkpoints cannot be matched to it",
                        self.path, IDENTITY)
            return None
        identity = self.read_json(IDENTITY)
        if not isinstance(identity, dict) or not isinstance(identity.get("run_id"), str):
            raise CheckpointError(f"{self.path / IDENTITY} is not a run identity (no run_id)")
        if identity.get("kind") != kind:
            raise CheckpointError(f"{self.path} holds a {identity.get('kind')!r} run, not a {kind!r} one")
        return identity["run_id"]

    def write_json(self, name: str, obj: Any) -> Path:
        return atomic_write_text(self.path / name, json.dumps(obj, indent=2, sort_keys=False) + "\n")

    def read_json(self, name: str) -> Any:
        path = self.path / name
        if not path.is_file():
            raise CheckpointError(f"{path} does not exist: is {self.path} a run directory?")
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ConfigError(f"{path} is not valid JSON ({exc})") from exc

    def write_config(self, config: Mapping[str, Any]) -> Path:
        return self.write_json("config.json", dict(config))

    def read_config(self) -> dict:
        config = self.read_json("config.json")
        if not isinstance(config, dict):
            raise ConfigError(f"{self.config_path} does not hold a settings object")
        return config

    def write_csv(self, name: str, rows: Iterable[Mapping[str, Any]]) -> Path:
        """Rewrite ``name`` with ``rows`` (columns: the union of keys, in first-seen order)."""
        return atomic_write_csv(self.path / name, rows)

    def attach_log(self, logger: logging.Logger | None = None) -> logging.Handler:
        """Append the run's log records (INFO and up) to ``log.txt``; returns the handler."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            handler = logging.FileHandler(self.path / "log.txt", encoding="utf-8")
        except OSError as exc:
            raise storage_error(exc, self.path / "log.txt") from exc
        handler.setLevel(logging.INFO)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger = logger or logging.getLogger("evonas")
        if logger.getEffectiveLevel() > logging.INFO:
            logger.setLevel(logging.INFO)  # else INFO records never reach the file
        logger.addHandler(handler)
        return handler


__all__ = ["IDENTITY", "RunDir"]
