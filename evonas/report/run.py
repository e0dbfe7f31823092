"""Everything a report shows about one run directory, read through the run's own readers.

:func:`read_run` gathers, without writing anything: the settings
(``search.json``, ``config.json``), the status (``running`` while a process
holds the directory's lock, ``finished`` once ``front.json`` covers every row
of ``history.csv``, ``stopped`` otherwise), every evaluated architecture
(``history.csv``), the front, the best value per objective and the
hypervolume per generation (computed as :func:`evonas.search` computes them
at the end, so a running search shows what its result would be now), the
wall time and evaluations per second per generation (the loop's INFO lines
in ``log.txt``), the evaluator's version (the latest checkpoint) and the
strategy's own files (:mod:`evonas.report.panels`). A directory written by
``evonas rank`` (``ranking.csv``, no history) is read as a ranking run.
"""
from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from evonas.core import Objective, parse_objective
from evonas.errors import ConfigError, EvonasError
from evonas.history import read_history
from evonas.result import Individual, SearchResult
from evonas.runtime.lock import lock_holder
from evonas.runtime.run_dir import RunDir

log = logging.getLogger(__name__)

#: files every search writes; any other JSON / CSV file is the strategy's own
STANDARD_FILES = frozenset({"config.json", "search.json", "run.json", "front.json", "history.csv", "metrics.csv"})
_GENERATION = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d+) INFO evonas\.loop: generation (\d+): (\d+) "
                         r"evaluations")
_STAMP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d+) ")


@dataclass
class RunData:
    """One run directory as a report shows it (``individuals`` in evaluation order, values in natural units)."""

    path: Path
    name: str
    kind: str  # "search" or "ranking"
    status: str  # "running", "finished", "stopped"
    settings: dict[str, Any]
    objectives: tuple[Objective, ...] = ()
    result: SearchResult | None = None
    rows: list[dict[str, str]] = field(default_factory=list)  # history.csv as read
    best: list[dict[str, Any]] = field(default_factory=list)  # per generation: {"generation", name: best so far}
    timing: list[dict[str, float]] = field(default_factory=list)  # per generation: generation, evaluations, s
    wall_time: float | None = None  # seconds the search ran (all sessions)
    evaluator_version: str | None = None
    holder: dict | None = None

    @property
    def evaluations(self) -> int:
        return len(self.rows)

    @property
    def hypervolume(self) -> list[tuple[int, float]]:
        return self.result.hypervolume if self.result is not None else []


def _objectives(run: RunDir, record: dict, config: dict) -> tuple[Objective, ...]:
    """The run's objectives: ``config.json``'s ``"name (dir)"`` strings, else ``search.json``'s ``name:dir``."""
    texts = (config.get("settings") or {}).get("objectives") or []
    found = []
    for text in texts:
        match = re.fullmatch(r"\s*(.+?)\s*\((min|max)\)\s*", str(text))
        if match:
            found.append(Objective(match.group(1), match.group(2)))
    if not found:
        found = [parse_objective(text) for text in record.get("objectives") or []]
    if not found:
        raise ConfigError(f"{run.path} names no objectives (config.json / search.json): is it a search's run "
                          f"directory?")
    return tuple(found)


def _number(text: Any) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return math.nan


def _individuals(rows: list[dict[str, str]], objectives) -> list[Individual]:
    """History rows as :class:`Individual` objects (``arch``: the row's JSON text, unparsed)."""
    reserved = {"index", "generation", "feasible", "key", "arch"}
    found = []
    for i, row in enumerate(rows):
        values = {name: _number(text) for name, text in row.items() if name not in reserved and name is not None}
        for o in objectives:
            values.setdefault(o.name, math.nan)
        feasible = row.get("feasible", "1") not in ("0", "False", "false")
        found.append(Individual(int(_number(row.get("index", i))) if row.get("index") else i,
                                int(_number(row.get("generation", 0)) or 0), row.get("key", ""),
                                row.get("arch", ""), values, 0.0 if feasible else 1.0))
    return found


def _best_per_generation(result: SearchResult) -> list[dict[str, Any]]:
    """Best feasible value so far per objective after each generation."""
    best: dict[str, float] = {}
    table, by_generation = [], {}
    for ind in result.individuals:
        by_generation.setdefault(ind.generation, []).append(ind)
    for generation in sorted(by_generation):
        for ind in by_generation[generation]:
            if not ind.feasible:
                continue
            for o in result.objectives:
                value = o.to_min(ind.values[o.name])
                if value < best.get(o.name, math.inf):
                    best[o.name] = value
        table.append({"generation": generation, **{o.name: best[o.name] * o.sign
                                                     for o in result.objectives if o.name in best}})
    return table


def _stamp(line: str) -> float | None:
    match = _STAMP.match(line)
    if not match:
        return None
    return datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S").timestamp() + int(match.group(2)) / 1000


def read_timing(run: RunDir) -> tuple[list[dict[str, float]], float | None]:
    """Per generation ``{"generation", "evaluations", "seconds", "per_second"}`` and the total wall time (s), from
    the loop's lines in ``log.txt``; a session starts at its first line (a resumed run adds one)."""
    try:
        lines = (run.path / "log.txt").read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return [], None
    timing, wall, session_start, last, previous = [], 0.0, None, None, None
    for line in lines:
        stamp = _stamp(line)
        if stamp is None:
            continue
        if session_start is None or "resuming " in line or "starting it" in line:
            if session_start is not None and last is not None:
                wall += last - session_start
            session_start, previous = stamp, None
        last = stamp
        match = _GENERATION.match(line)
        if match:
            generation, count = int(match.group(3)), int(match.group(4))
            start_time, start_count = previous if previous is not None else (session_start, None)
            if start_count is None:
                start_count = timing[-1]["evaluations"] if timing else 0
            seconds = max(stamp - start_time, 1e-3)
            timing.append({"generation": generation, "evaluations": count, "seconds": round(seconds, 3),
                           "per_second": round((count - start_count) / seconds, 3)})
            previous = (stamp, count)
    if session_start is not None and last is not None:
        wall += last - session_start
    return timing, (round(wall, 3) if session_start is not None else None)


def _evaluator_version(run: RunDir) -> str | None:
    """The version the latest checkpoint's last evaluation was scored with (None: no readable checkpoint)."""
    from evonas.runtime.checkpoint import has_checkpoint, load_latest_checkpoint

    path = run.path / "checkpoint.pkl"
    if not has_checkpoint(path):
        return None
    try:
        state = load_latest_checkpoint(path, kind="search")
        if "archive_log" in state:  # [version, count] runs of archive.log's records
            versions = [version for version, _ in state["archive_log"]["versions"]]
        else:  # a run directory of an evonas whose checkpoint held the archive
            versions = state["archive"]["versions"]
    except (EvonasError, KeyError, TypeError, OSError, EOFError, ValueError) as exc:
        log.debug("no evaluator version from %s (%s)", path, exc)
        return None
    return str(versions[-1]) if versions else None


def _status(run: RunDir, rows: list, holder: dict | None) -> str:
    if holder is not None:
        return "running"
    try:
        front = run.read_json("front.json")
    except EvonasError:
        return "stopped"
    return "finished" if isinstance(front, dict) and front.get("evaluations") == len(rows) else "stopped"


def read_run(path: str | Path, *, name: str | None = None, version: bool = True,
             status: str | None = None) -> RunData:
    """Read the run directory ``path`` (see the module docstring); ``version=False`` skips the checkpoint;
    ``status`` overrides the status read from the files (the search's own end-of-run report: ``"finished"``).

    Raises:
        ConfigError: ``path`` is not a search's run directory nor a ranking's output folder.
    """
    run = RunDir(path)
    name = name or run.path.name or str(run.path)
    if not run.path.is_dir():
        raise ConfigError(f"{run.path} is not a directory")
    if not (run.path / "history.csv").is_file() and (run.path / "ranking.csv").is_file():
        settings = run.read_json("ranking.json") if (run.path / "ranking.json").is_file() else {}
        return RunData(run.path, name, "ranking", "finished", settings if isinstance(settings, dict) else {})
    if not (run.path / "search.json").is_file() and not run.exists():
        raise ConfigError(f"{run.path} holds no search (no search.json or config.json) and no ranking.csv")
    record = run.read_json("search.json") if (run.path / "search.json").is_file() else {}
    config = run.read_config() if run.exists() else {}
    objectives = _objectives(run, record, config)
    rows = read_history(run.path)
    holder = lock_holder(run.path)
    result = SearchResult(objectives, (), _individuals(rows, objectives))
    from evonas.loop import final_hypervolume_curve

    result.hypervolume = final_hypervolume_curve(result)
    settings = {**record, "budget": config.get("budget", record.get("budget")),
                "settings": config.get("settings", {})}
    timing, wall = read_timing(run)
    return RunData(run.path, name, "search", status or _status(run, rows, holder), settings, objectives, result, rows,
                   _best_per_generation(result), timing, wall, _evaluator_version(run) if version else None,
                   holder)


__all__ = ["RunData", "STANDARD_FILES", "read_run", "read_timing"]
