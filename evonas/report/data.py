"""The report's content as one JSON-able dict: what the page's script draws (and ``--serve`` sends as
``data.json``).

``{"title", "generated", "signature", "runs": [{"name", "path", "kind", "status", "facts": [[label, text]],
"figures": [{"id", "figure"}], "texts": [panel], "points": [[index, generation, key, values text, train
command]], "drawings": {row: data URI}}], "comparison": {"figure", "header", "rows"} | None}``.
"""
from __future__ import annotations

import stat
import time
import zlib
from pathlib import Path
from typing import Any, Sequence

from evonas.report.diagrams import draw_archs, make_space, train_command
from evonas.report.figures import (
    comparison_rows,
    front_figure,
    front_rows,
    overlay_figure,
    panel_figures,
    progress_figure,
)
from evonas.report.panels import strategy_panels
from evonas.report.run import RunData, read_run
from evonas.runtime.lock import LOCK_NAME


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "unknown (no log.txt)"
    minutes, s = divmod(seconds, 60)
    hours, minutes = divmod(int(minutes), 60)
    return f"{hours}:{minutes:02d}:{s:04.1f} ({seconds:.1f} s)"


def _describe(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "-"
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items()) or "-"
    return "-" if value is None or value == "" else str(value)


def _with_options(name: Any, options: Any) -> str:
    return f"{name} ({_describe(options)})" if options else str(name)


def facts(run: RunData) -> list[list[str]]:
    """The run's settings and status as ``[label, text]`` rows."""
    s = run.settings
    if run.kind == "ranking":
        return [["kind", "ranking (evonas rank)"], ["path", str(run.path)],
                *[[k, _describe(v)] for k, v in s.items() if not isinstance(v, dict)]]
    status = run.status + (f" (pid {run.holder.get('pid')} on {run.holder.get('host')})" if run.holder else "")
    rate = sum(t["per_second"] for t in run.timing) / len(run.timing) if run.timing else None
    evaluator = s.get("settings", {}).get("evaluator", {})
    return [["status", status], ["evaluations", f"{run.evaluations} (budget {s.get('budget', '?')})"],
            ["wall time", _duration(run.wall_time)],
            ["evaluations / s", "-" if rate is None else f"{rate:.3g} (mean over generations)"],
            ["space", _with_options(s.get("space", "?"), s.get("space_options"))],
            ["strategy", _with_options(s.get("strategy", "?"), s.get("strategy_options"))],
            ["evaluator", _with_options(_describe(s.get("evaluator")), s.get("evaluator_options"))],
            ["evaluator settings", _describe(evaluator)],
            ["evaluator version", run.evaluator_version or "-"],
            ["objectives", ", ".join(f"{o.name} ({o.direction})" for o in run.objectives)],
            ["constraints", _describe(s.get("constraints"))], ["seed", _describe(s.get("seed"))],
            ["path", str(run.path)]]


def run_data(run: RunData, index: int, *, drawings: bool = True, cache: dict | None = None) -> dict[str, Any]:
    """One run's part of the report (see the module docstring; ``cache``: see
    :func:`~evonas.report.diagrams.draw_archs`)."""
    figures, texts = [], []
    out: dict[str, Any] = {"name": run.name, "path": str(run.path), "kind": run.kind, "status": run.status,
                           "facts": facts(run), "points": [], "drawings": {}}
    if run.kind == "search":
        figures.append({"id": f"front-{index}", "figure": front_figure(run, index), "role": "front"})
        figures.append({"id": f"progress-{index}", "figure": progress_figure(run), "role": "progress"})
        names = [o.name for o in run.objectives]
        extra = [n for n in run.result.individuals[0].values if n not in names] if run.rows else []
        for ind in run.result.individuals:
            shown = [f"{n} = {ind.values[n]:.6g}" for n in names + extra]
            out["points"].append([ind.index, ind.generation, ind.key, shown, train_command(run.settings, ind.arch)])
        if drawings and run.rows:
            chosen = front_rows(run)
            out["drawings"] = {str(row): uri for row, uri in draw_archs(
                make_space(run.settings), {row: run.result.individuals[row].arch for row in chosen}, cache).items()}
    for k, panel in enumerate(strategy_panels(run.path)):
        figure = panel_figures(panel)
        if figure is None:
            texts.append(panel)
        else:
            figures.append({"id": f"panel-{index}-{k}", "figure": figure, "role": "panel"})
    out["figures"], out["texts"] = figures, texts
    return out


def signature(paths: Sequence[Path]) -> str:
    """Changes whenever a run's files change (size and modification time of every file, and of the lock file,
    which a search empties when it ends); a file removed while it is listed (a checkpoint being replaced) is
    left out."""
    parts = []
    for path in paths:
        for file in sorted(Path(path).glob("*")):
            if file.name.startswith(".") and file.name != LOCK_NAME:  # temporaries of atomic writes
                continue
            try:
                info = file.stat()
            except FileNotFoundError:
                continue
            if stat.S_ISREG(info.st_mode):
                parts.append(f"{file.name}:{info.st_size}:{info.st_mtime_ns}")
    return f"{zlib.crc32('|'.join(parts).encode()):08x}"


def report_data(paths: Sequence[str | Path], *, title: str | None = None, drawings: bool = True,
                status: str | None = None, cache: dict | None = None) -> dict[str, Any]:
    """The report of the run directories ``paths`` (see the module docstring; ``status``: see
    :func:`~evonas.report.run.read_run`; ``cache``: drawings kept between calls, see
    :func:`~evonas.report.diagrams.draw_archs`).

    The signature is taken before the files are read: a file that changes while they are read (a running
    search) changes the next signature, so the change is never hidden behind a signature that already
    matches the files."""
    before = signature([Path(p) for p in paths])
    runs = [read_run(path, name=_name(path, paths), status=status) for path in paths]
    searches = [run for run in runs if run.kind == "search"]
    comparison = None
    if len(searches) >= 2:
        header, rows = comparison_rows(searches)
        comparison = {"figure": overlay_figure(searches), "header": header, "rows": rows,
                      "runs": [runs.index(run) for run in searches]}
    return {"title": title or "evonas report: " + ", ".join(run.name for run in runs),
            "generated": time.strftime("%Y-%m-%d %H:%M:%S"), "signature": before,
            "runs": [run_data(run, k, drawings=drawings, cache=cache) for k, run in enumerate(runs)],
            "comparison": comparison}


def _name(path, paths) -> str:
    """A run's label: its folder name, with its parent's when two runs share a folder name."""
    path = Path(path)
    names = [Path(p).name for p in paths]
    return f"{path.parent.name}/{path.name}" if names.count(path.name) > 1 else path.name


__all__ = ["facts", "report_data", "run_data", "signature"]
