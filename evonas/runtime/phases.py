"""What each phase of a run costs: seconds per step, peak memory, and the projected cost of the full run.

A smoke run (``smoke_steps`` on the published strategies) runs every phase
of a published configuration for a few steps; :class:`PhaseMeter` times
those steps by kind (``with meter.steps("expand", "train", 2): ...``),
follows the process's resident memory (host, sampled every 20 ms) and the
device's peak allocation (CUDA) per phase, and, given how many steps of each
kind the full run takes, projects its cost on this machine
(``full steps x seconds per step``). :meth:`PhaseMeter.report` returns the
rows, :func:`format_report` prints them as a table, and
:meth:`PhaseMeter.write` saves them as JSON (``smoke.json``).
"""
from __future__ import annotations

import contextlib
import json
import os
import resource
import threading
import time
from pathlib import Path

import torch

from evonas.runtime.atomic import atomic_write_text


def rss_bytes() -> int:
    """The process's resident memory now (bytes); its peak so far where /proc is missing."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class _Sampler:
    """The largest resident memory seen while it runs (a thread sampling every ``interval`` seconds)."""

    def __init__(self, interval: float = 0.02) -> None:
        self.interval, self.peak = interval, rss_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, rss_bytes())

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())
        return self.peak


class PhaseMeter:
    """Per ``(phase, kind)``: steps run and seconds spent; per phase: peak host memory (bytes, resident),
    the resident memory when it last ended, and peak device memory (CUDA, bytes).

    ``device``: the ``torch.device`` the run uses (its peak allocation is read on CUDA);
    ``notes``: lines the report carries (what the smoke run changed, e.g. micro-batches or its data).
    """

    def __init__(self, device: torch.device | str = "cpu", notes: list[str] | None = None) -> None:
        self.device = torch.device(device)
        self.notes: list[str] = list(notes or [])
        self.rows: dict[tuple[str, str], dict] = {}
        self.memory: dict[str, dict] = {}
        self._active: str | None = None

    def note(self, line: str) -> None:
        """Add ``line`` to the report's notes (once)."""
        if line not in self.notes:
            self.notes.append(line)

    @contextlib.contextmanager
    def steps(self, phase: str, kind: str, count: int = 1):
        """Time the block as ``count`` steps of ``kind`` in ``phase`` (and follow its memory)."""
        outer = self._active is None
        sampler = None
        if outer:
            self._active = phase
            sampler = _Sampler()
            if self.device.type == "cuda":
                torch.cuda.synchronize(self.device)
                torch.cuda.reset_peak_memory_stats(self.device)
        start = time.perf_counter()
        try:
            yield
        finally:
            if self.device.type == "cuda":
                torch.cuda.synchronize(self.device)
            seconds = time.perf_counter() - start
            row = self.rows.setdefault((phase, kind), {"steps": 0, "seconds": 0.0})
            row["steps"] += int(count)
            row["seconds"] += seconds
            if outer:
                self._active = None
                memory = self.memory.setdefault(phase, {"host_peak": 0, "host_end": 0, "device_peak": None})
                memory["host_peak"] = max(memory["host_peak"], sampler.stop())
                memory["host_end"] = rss_bytes()
                if self.device.type == "cuda":
                    peak = int(torch.cuda.max_memory_allocated(self.device))
                    memory["device_peak"] = max(memory["device_peak"] or 0, peak)

    def report(self, full_steps: dict[tuple[str, str], int], search_phases: tuple[str, ...] | None = None) -> dict:
        """``{"device", "rows": [...], "total_hours", "search_hours", "notes"}``: a row per ``(phase, kind)``
        measured, with seconds per step, the full run's step count (``full_steps``), its projected hours, and the
        phase's memory (GiB). A kind of the full run that was not measured is listed with ``seconds_per_step``
        None. ``search_hours`` sums the rows of ``search_phases`` (default: all), e.g. without the stand-alone
        training of the result."""
        rows = []
        for key in list(dict.fromkeys([*self.rows, *full_steps])):
            phase, kind = key
            measured = self.rows.get(key)
            per_step = measured["seconds"] / measured["steps"] if measured and measured["steps"] else None
            full = int(full_steps.get(key, 0))
            memory = self.memory.get(phase, {})
            rows.append({
                "phase": phase, "kind": kind, "smoke_steps": measured["steps"] if measured else 0,
                "seconds_per_step": per_step, "full_steps": full,
                "projected_hours": None if per_step is None else per_step * full / 3600,
                "host_peak_gib": _gib(memory.get("host_peak")), "host_end_gib": _gib(memory.get("host_end")),
                "device_peak_gib": _gib(memory.get("device_peak")),
            })
        total = sum(r["projected_hours"] or 0.0 for r in rows)
        search = sum(r["projected_hours"] or 0.0 for r in rows
                     if search_phases is None or r["phase"] in search_phases)
        return {"device": str(self.device), "rows": rows, "total_hours": total, "search_hours": search,
                "notes": list(self.notes)}

    def write(self, path: str | os.PathLike, report: dict) -> Path:
        """Save ``report`` as JSON at ``path``."""
        path = Path(path)
        atomic_write_text(path, json.dumps(report, indent=2) + "\n")
        return path


def _gib(value: int | None) -> float | None:
    return None if value is None else value / 2**30


def format_report(title: str, report: dict) -> str:
    """The report as a fixed-width table (one row per phase and kind) with the projected total."""
    lines = [f"{title} (smoke run on {report['device']}):",
             f"  {'phase':<15} {'kind':<10} {'s/step':>8} {'full steps':>11} {'hours':>9} "
             f"{'host peak GiB':>13} {'device GiB':>10}"]
    for r in report["rows"]:
        per_step = "-" if r["seconds_per_step"] is None else f"{r['seconds_per_step']:.3f}"
        hours = "-" if r["projected_hours"] is None else f"{r['projected_hours']:.1f}"
        host = "-" if r["host_peak_gib"] is None else f"{r['host_peak_gib']:.2f}"
        device = "-" if r["device_peak_gib"] is None else f"{r['device_peak_gib']:.2f}"
        lines.append(f"  {r['phase']:<15} {r['kind']:<10} {per_step:>8} {r['full_steps']:>11} {hours:>9} "
                     f"{host:>13} {device:>10}")
    lines.append(f"  projected full run on this machine: search {report['search_hours']:.1f} hours, "
                 f"everything above {report['total_hours']:.1f} hours")
    lines += [f"  note: {n}" for n in report["notes"]]
    return "\n".join(lines)


__all__ = ["PhaseMeter", "format_report", "rss_bytes"]
