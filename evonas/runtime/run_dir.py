"""A run directory: the config, metrics, checkpoints and results of one job.

Layout::

    RUN_DIR/config.json       settings the run was started with
    RUN_DIR/metrics.csv       one row per epoch / generation
    RUN_DIR/checkpoint.pt     latest checkpoint (checkpoint.prev.pt: the one before)
    RUN_DIR/log.txt           the run's log
    RUN_DIR/*.json, *.png     results

Every file is written atomically; nothing is deleted.
"""
from __future__ import annotations

import csv
import io
import json
import logging
import os
from pathlib import Path
from typing import Any, Iterable, Mapping

from evonas.errors import CheckpointError, ConfigError
from evonas.runtime.atomic import atomic_write_text


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
        rows = list(rows)
        columns: list[str] = []
        for row in rows:
            columns += [key for key in row if key not in columns]
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return atomic_write_text(self.path / name, buffer.getvalue())

    def attach_log(self, logger: logging.Logger | None = None) -> logging.Handler:
        """Append the run's log records (INFO and up) to ``log.txt``; returns the handler."""
        self.path.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(self.path / "log.txt", encoding="utf-8")
        handler.setLevel(logging.INFO)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger = logger or logging.getLogger("evonas")
        if logger.getEffectiveLevel() > logging.INFO:
            logger.setLevel(logging.INFO)  # else INFO records never reach the file
        logger.addHandler(handler)
        return handler
