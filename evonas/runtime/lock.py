"""An exclusive, process-held lock on a run directory.

Two processes writing one run directory (two searches, or a search and its
own ``--resume``) would each believe they own it and one's results would be
lost. :class:`RunLock` takes an advisory ``flock`` on ``RUN_DIR/.lock`` and
writes who holds it (pid, host, command, start time) into the file, so the
second process is refused with a message naming the holder. The kernel
drops the lock when the holder exits, even on ``kill -9``, so a crashed run
never leaves a stale lock behind. The lock is re-entrant within a process
(the CLI and :func:`evonas.search` may both take it).

A forked child (a DataLoader worker, a process-pool worker) closes its
copies of the held descriptors at once, so the lock is the holder's alone: a
``flock`` belongs to the open file description, which a fork shares, and a
worker still alive after its parent was killed would otherwise keep the run
directory locked for a dead process.

On platforms without ``fcntl`` (Windows) locking is skipped with a debug
message.
"""
from __future__ import annotations

import json
import logging
import os
import socket
import sys
import time
from pathlib import Path

from evonas.errors import RunDirBusyError
from evonas.runtime.atomic import storage_error

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

log = logging.getLogger(__name__)
LOCK_NAME = ".lock"
_held: dict[str, tuple[int, int]] = {}  # resolved run dir -> (file descriptor, depth), this process's locks


def _holder_text(path: Path) -> str:
    try:
        holder = json.loads(path.read_text(encoding="utf-8"))
        return (f"pid {holder['pid']} on {holder['host']} since {holder['since']} "
                f"({' '.join(holder['command'])[:120]})")
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"


class RunLock:
    """Context manager holding the lock of one run directory (created if missing)."""

    def __init__(self, run_dir: str | os.PathLike) -> None:
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / LOCK_NAME

    def acquire(self) -> "RunLock":
        """Take the lock or raise :class:`RunDirBusyError` naming the process that holds it."""
        key = str(self.run_dir.resolve())
        if key in _held:
            fd, depth = _held[key]
            _held[key] = (fd, depth + 1)
            return self
        try:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise storage_error(exc, self.path) from exc
        if fcntl is None:  # pragma: no cover
            log.debug("no fcntl: %s is not locked", self.run_dir)
        else:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise RunDirBusyError(f"{self.run_dir} is in use by {_holder_text(self.path)}; wait for it "
                                      "to finish or stop it, or pick another run directory") from None
        holder = {"pid": os.getpid(), "host": socket.gethostname(), "command": sys.argv,
                  "since": time.strftime("%Y-%m-%d %H:%M:%S")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder).encode(), 0)
        _held[key] = (fd, 1)
        return self

    def release(self) -> None:
        key = str(self.run_dir.resolve())
        fd, depth = _held[key]
        if depth > 1:
            _held[key] = (fd, depth - 1)
            return
        del _held[key]
        try:
            os.ftruncate(fd, 0)  # no holder named any more (lock_holder); still ours until the close
        except OSError:  # a read-only or full file system: the holder's pid still tells (lock_holder)
            pass
        os.close(fd)  # closing the descriptor drops the flock

    def __enter__(self) -> "RunLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def _drop_inherited_locks() -> None:
    """In a freshly forked child: close the inherited lock descriptors (the parent keeps its lock)."""
    for fd, _ in _held.values():
        try:
            os.close(fd)
        except OSError:
            pass
    _held.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_drop_inherited_locks)



def lock_holder(run_dir: str | os.PathLike) -> dict | None:
    """Who holds ``run_dir``'s lock now (``{"pid", "host", "command", "since"}``), or None.

    Read without touching the lock (taking it, even shared and for a moment, could refuse a search starting
    at that instant): the holder written into ``.lock`` (emptied on release) counts while its process is alive
    on this host (a run locked on another host of a shared file system counts too, as it cannot be checked
    from here).
    """
    run_dir = Path(run_dir)
    try:
        holder = json.loads((run_dir / LOCK_NAME).read_text(encoding="utf-8"))
        pid, host = int(holder["pid"]), str(holder["host"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if host != socket.gethostname():
        return holder
    if pid == os.getpid():
        return holder if str(run_dir.resolve()) in _held else None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:  # alive, another user's
        return holder
    return holder


__all__ = ["LOCK_NAME", "RunLock", "lock_holder"]
