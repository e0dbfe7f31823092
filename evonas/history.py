"""``history.csv``: one row per evaluation, appended as the search goes.

Columns: ``index, generation, <every value the evaluator reported>,
feasible, key, arch`` (``arch`` as compact JSON). After each generation the
new rows are appended (flushed and fsynced), so the cost per generation does
not grow with the run. The file is rewritten whole (atomically) the first
time a writer syncs, e.g. when a killed run resumes (this drops a row cut
short by the kill and rows of a generation whose checkpoint was never
written), and when a row brings a column the header lacks.
"""
from __future__ import annotations

import csv
import io
import json
import os
from typing import Any

from evonas.runtime.atomic import storage_error
from evonas.runtime.run_dir import RunDir

NAME = "history.csv"


class HistoryWriter:
    """Keeps ``RUN_DIR/history.csv`` equal to an archive's individuals."""

    def __init__(self, run: RunDir, space) -> None:
        self.run, self.space = run, space
        self.columns: list[str] | None = None
        self.written = 0

    def _row(self, ind) -> dict[str, Any]:
        return {"index": ind.index, "generation": ind.generation, **ind.values, "feasible": int(ind.feasible),
                "key": ind.key, "arch": json.dumps(self.space.to_json(ind.arch), separators=(",", ":"))}

    def sync(self, archive) -> None:
        """Write the individuals not written yet (the whole file on the first call)."""
        rows = [self._row(ind) for ind in archive.individuals[self.written:]]
        if self.columns is None or any(key not in self.columns for row in rows for key in row):
            self._rewrite(archive)
            return
        if not rows:
            return
        buffer = io.StringIO()
        csv.DictWriter(buffer, fieldnames=self.columns, lineterminator="\n").writerows(rows)
        path = self.run.path / NAME
        try:
            with open(path, "a", encoding="utf-8") as handle:
                handle.write(buffer.getvalue())
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as exc:
            raise storage_error(exc, path) from exc
        self.written = len(archive.individuals)

    def _rewrite(self, archive) -> None:
        rows = [self._row(ind) for ind in archive.individuals]
        self.run.write_csv(NAME, rows)
        columns: list[str] = []
        for row in rows:
            columns += [key for key in row if key not in columns]
        self.columns = columns if rows else None
        self.written = len(rows)


def read_history(run_dir) -> list[dict[str, str]]:
    """The rows of ``RUN_DIR/history.csv`` as ``csv.DictReader`` gives them (text cells; [] when there is no file).

    Safe while a search appends: only whole lines (ending in a newline) are read, so a row being written is
    left for the next read.
    """
    path = RunDir(run_dir).path / NAME
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise storage_error(exc, path) from exc
    return list(csv.DictReader(io.StringIO(text[:text.rfind("\n") + 1])))


__all__ = ["HistoryWriter", "NAME", "read_history"]
