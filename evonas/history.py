"""``history.csv``: one row per evaluation, appended as the search goes.

Columns: ``index, generation, <every value the evaluator reported>,
feasible, key, arch`` (``arch`` as compact JSON). Before each checkpoint the
new rows are appended (flushed and fsynced), so the cost per generation does
not grow with the run. The file is rewritten whole (atomically) the first
time a writer syncs, e.g. when a killed run resumes (this drops a row cut
short by the kill and rows of a generation whose checkpoint was never
written), and when a row brings a column the header lacks.

``archive.log``: the same evaluations as exact data, what a resumed search
rebuilds its archive from (so that a checkpoint does not grow with the run).
One line per evaluation, ``CRC32 JSON``: eight hex digits, the CRC-32 of the
UTF-8 JSON text, a space, then ``[generation, key, architecture (the space's
JSON form), values]`` (floats written by ``repr``, so they read back
bit-identical). :class:`ArchiveLog` appends the new lines before each
checkpoint (flushed and fsynced) and hands the checkpoint the number of
records, the byte length they span and the evaluator versions as runs
``[version, count]``; lines past that length (written before a kill cut the
checkpoint short) are dropped on resume.
"""
from __future__ import annotations

import csv
import io
import json
import os
import zlib
from typing import Any, Mapping

from evonas.errors import CheckpointError
from evonas.runtime.atomic import atomic_write_bytes, storage_error
from evonas.runtime.run_dir import RunDir

NAME = "history.csv"
LOG = "archive.log"


#: compact JSON text, the same as ``json.dumps(value, separators=(",", ":"))`` (which builds an encoder per call)
_COMPACT = json.JSONEncoder(separators=(",", ":")).encode


def arch_text(space, arch) -> str:
    """``arch`` in the space's JSON form, as compact JSON text."""
    return _COMPACT(space.to_json(arch))


class HistoryWriter:
    """Keeps ``RUN_DIR/history.csv`` equal to an archive's individuals."""

    def __init__(self, run: RunDir, space) -> None:
        self.run, self.space = run, space
        self.columns: list[str] | None = None
        self.written = 0

    def _row(self, ind, texts: Mapping[int, str] | None = None) -> dict[str, Any]:
        text = texts.get(ind.index) if texts else None
        return {"index": ind.index, "generation": ind.generation, **ind.values, "feasible": int(ind.feasible),
                "key": ind.key, "arch": text if text is not None else arch_text(self.space, ind.arch)}

    def sync(self, archive, texts: Mapping[int, str] | None = None) -> None:
        """Write the individuals not written yet (the whole file on the first call). ``texts``: the
        architectures' JSON texts by individual index where known (:meth:`ArchiveLog.sync` returns them)."""
        rows = [self._row(ind, texts) for ind in archive.individuals[self.written:]]
        if self.columns is None or any(key not in self.columns for row in rows for key in row):
            done = archive.individuals[:self.written]  # (none on the first call: the rows are built once)
            self._rewrite([self._row(ind, texts) for ind in done] + rows)
            return
        if not rows:
            return
        buffer = io.StringIO()
        columns = self.columns
        csv.writer(buffer, lineterminator="\n").writerows([row.get(c, "") for c in columns] for row in rows)
        path = self.run.path / NAME
        try:
            with open(path, "a", encoding="utf-8") as handle:
                handle.write(buffer.getvalue())
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as exc:
            raise storage_error(exc, path) from exc
        self.written = len(archive.individuals)

    def _rewrite(self, rows: list[dict[str, Any]]) -> None:
        """The whole file from ``rows`` (one per individual of the archive, in order)."""
        self.run.write_csv(NAME, rows)
        columns: list[str] = []
        for row in rows:
            columns += [key for key in row if key not in columns]
        self.columns = columns if rows else None
        self.written = len(rows)


class ArchiveLog:
    """Keeps ``RUN_DIR/archive.log`` equal to an archive's individuals; reads an archive back from it.

    :meth:`sync` costs O(new evaluations); :meth:`state` is O(1) in the
    length of the run (plus one entry per evaluator version).
    """

    def __init__(self, run: RunDir, space) -> None:
        self.run, self.space = run, space
        self.path = run.path / LOG
        self.records: int | None = None  # records of the file that are ours (None: rewrite it on the next sync)
        self.size = 0  # their length in bytes
        self.runs: list[list] = []  # [version, count] of the records written, in order

    def _line(self, ind, arch: str) -> bytes:
        text = f"[{ind.generation},{_COMPACT(ind.key)},{arch},{_COMPACT(ind.values)}]".encode("utf-8")
        return b"%08x %s\n" % (zlib.crc32(text), text)

    def _lines(self, individuals: list, texts: dict[int, str]) -> bytes:
        lines = []
        for ind in individuals:
            texts[ind.index] = arch = arch_text(self.space, ind.arch)
            lines.append(self._line(ind, arch))
        return b"".join(lines)

    def _count(self, archive, start: int) -> None:
        for version in archive.versions[start:]:
            if self.runs and self.runs[-1][0] == version:
                self.runs[-1][1] += 1
            else:
                self.runs.append([version, 1])

    def sync(self, archive) -> dict[int, str]:
        """Append the individuals not written yet (the whole file on the first call of a fresh writer).

        Returns:
            ``{individual index: architecture as JSON text}`` of the records written, for
            :meth:`HistoryWriter.sync`.
        """
        texts: dict[int, str] = {}
        if self.records is None:
            data = self._lines(archive.individuals, texts)
            atomic_write_bytes(self.path, data)
            self.runs = []
            self._count(archive, 0)
            self.records, self.size = len(archive.individuals), len(data)
            return texts
        new = archive.individuals[self.records:]
        if not new:
            return texts
        data = self._lines(new, texts)
        try:
            with open(self.path, "r+b") as handle:
                handle.truncate(self.size)  # lines past the checkpoint a resumed run continues from
                handle.seek(self.size)
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as exc:
            raise storage_error(exc, self.path) from exc
        self._count(archive, self.records)
        self.records, self.size = len(archive.individuals), self.size + len(data)
        return texts

    def state(self) -> dict:
        """What a checkpoint records about the log (after :meth:`sync`)."""
        return {"records": self.records, "bytes": self.size, "versions": [list(run) for run in self.runs]}

    def load(self, state: dict, archive) -> None:
        """Fill the empty ``archive`` with the first ``state["records"]`` records, checking every checksum.

        Raises:
            CheckpointError: the log is missing, shorter than the checkpoint says, or a record is damaged.
        """
        try:
            with open(self.path, "rb") as handle:
                data = handle.read(state["bytes"])
        except FileNotFoundError:
            raise CheckpointError(f"{self.path} is missing: the checkpoint rebuilds the search's evaluations "
                                  "from it") from None
        lines = data.split(b"\n")
        if len(data) != state["bytes"] or lines[-1] != b"" or len(lines) - 1 != state["records"]:
            raise CheckpointError(f"{self.path} is shorter than its checkpoint says ({len(data)} of "
                                  f"{state['bytes']} bytes): it was altered after it was written")
        versions = (version for version, count in state["versions"] for _ in range(count))
        for number, line in enumerate(lines[:-1], start=1):
            crc, _, text = line.partition(b" ")
            if crc != b"%08x" % zlib.crc32(text):
                raise CheckpointError(f"{self.path} is damaged: the checksum of line {number} does not match "
                                      "(the file was altered after it was written)")
            generation, key, arch, values = json.loads(text)
            archive.record(self.space.from_json(arch), key, next(versions), values, generation)
        self.records, self.size = state["records"], state["bytes"]
        self.runs = [list(run) for run in state["versions"]]



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


__all__ = ["LOG", "ArchiveLog", "HistoryWriter", "NAME", "arch_text", "read_history"]
