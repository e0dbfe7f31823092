"""Checkpoints that survive being killed mid-write, detect damage, and say what they belong to.

A checkpoint is a zip archive written through an atomic rename (see
:mod:`evonas.runtime.atomic`); every member carries a CRC-32 that is
verified before anything is unpickled, so a flipped byte anywhere is an
error rather than a silently altered state. Two flavours share that
container:

* :func:`save_checkpoint`: a dict of tensors and plain values saved with
  :func:`torch.save` (whose file *is* a zip archive, so ``torch.load`` still
  reads it); loaded with ``weights_only=True``, so opening one never runs
  code from it.
* :func:`save_object_checkpoint`: arbitrary Python objects (a search's
  strategy, random generators) pickled (with the C pickler, ``dill`` for
  what it cannot handle) into the member ``state.dill``, next to
  ``evonas.json`` (format, kind, run id, pickler), which is checked before
  the objects are unpickled.

Before a new checkpoint replaces ``NAME.ext``, the current file is kept as
``NAME.prev.ext``; :func:`load_latest_checkpoint` falls back to it (with a
warning) when the latest is unreadable or damaged, never when it is intact
but belongs to another run.
"""
from __future__ import annotations

import io
import json
import logging
import os
import pickle
import zipfile
from pathlib import Path
from typing import Any, Mapping

import torch

from evonas.errors import CheckpointError
from evonas.runtime.atomic import atomic_write_bytes

log = logging.getLogger(__name__)

FORMAT = "evonas-checkpoint"
VERSION = 2  # 2: zip container verified on load, run identity
_META_MEMBER = "evonas.json"
_OBJECT_MEMBER = "state.dill"
_FOREIGN = "belongs to another run"


def previous_path(path: str | os.PathLike) -> Path:
    """Where the checkpoint before ``path`` is kept (``NAME.prev.ext``)."""
    path = Path(path)
    return path.with_name(f"{path.stem}.prev{path.suffix}")


def _header(kind: str, run_id: str | None) -> dict:
    header = {"format": FORMAT, "version": VERSION, "kind": kind}
    if run_id is not None:
        header["run_id"] = run_id
    return header


def save_checkpoint(path: str | os.PathLike, state: Mapping[str, Any], *, kind: str,
                    run_id: str | None = None) -> Path:
    """Atomically ``torch.save`` ``state`` (tagged with ``kind`` and ``run_id``) to ``path``, keeping the previous
    one."""
    buffer = io.BytesIO()
    torch.save({**_header(kind, run_id), **state}, buffer)
    return atomic_write_bytes(path, buffer.getvalue(), keep_previous=previous_path(path))


def save_object_checkpoint(path: str | os.PathLike, state: Mapping[str, Any], *, kind: str,
                           run_id: str | None = None) -> Path:
    """Atomically pickle ``state`` (any objects) to ``path``, keeping the previous one.

    The C pickler is tried first (ten times faster than ``dill``'s pure-Python one on a strategy's state);
    what it cannot pickle (e.g. a lambda or a decorated function inside a back-end's object) is pickled with
    ``dill``. The header names the pickler, so loading uses the same one.
    """
    header = _header(kind, run_id)
    try:
        blob = pickle.dumps(dict(state), protocol=pickle.HIGHEST_PROTOCOL)
        header["pickler"] = "pickle"
    except (pickle.PicklingError, AttributeError, TypeError):
        import dill  # pickles what plain pickle cannot (e.g. pymoo's decorated comparison functions)

        blob = dill.dumps(dict(state), protocol=pickle.HIGHEST_PROTOCOL)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr(_META_MEMBER, json.dumps(header))
        archive.writestr(_OBJECT_MEMBER, blob)
    return atomic_write_bytes(path, buffer.getvalue(), keep_previous=previous_path(path))


def _open_verified(path: Path) -> zipfile.ZipFile:
    """The checkpoint's zip archive after checking every member's CRC-32."""
    try:
        archive = zipfile.ZipFile(path)
        damaged = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
        with open(path, "rb") as handle:
            head = handle.read(2)
        if len(head) == 2 and head[0] == 0x80 and 2 <= head[1] <= 5 and path.stat().st_size > 64:
            raise CheckpointError(f"{path} was written by an evonas older than 0.2 (a pickle without checksum or "
                                  "run id); this version cannot verify it: start a new run") from exc
        raise CheckpointError(f"{path} is truncated or not a checkpoint ({type(exc).__name__}: {exc})") from exc
    if damaged is not None:
        archive.close()
        raise CheckpointError(f"{path} is damaged: the checksum of its member {damaged!r} does not match "
                              "(the file was altered after it was written)")
    return archive


def _check(state: Mapping[str, Any], path: Path, kind: str | None, expect: Mapping[str, Any]) -> None:
    if state.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not an evonas checkpoint")
    if state.get("version", 0) > VERSION:
        raise CheckpointError(f"{path} was written by a newer evonas (checkpoint v{state['version']})")
    if kind is not None and state.get("kind") != kind:
        raise CheckpointError(f"{path} is a {state.get('kind')!r} checkpoint, not a {kind!r} one")
    for key, value in expect.items():
        if key in state and state[key] != value or key not in state and value is not None:
            raise CheckpointError(f"{path} {_FOREIGN}: its {key} is {state.get(key)!r}, expected {value!r}")


def load_checkpoint(path: str | os.PathLike, *, kind: str | None = None,
                    expect: Mapping[str, Any] | None = None, map_location="cpu") -> dict:
    """Load and check a checkpoint of either flavour.

    Args:
        kind: the ``kind`` it must have been saved with (e.g. ``"standalone"``).
        expect: entries that must equal the checkpoint's (e.g. its ``run_id``
            or genotype key); a difference raises naming the entry and both
            values. For object checkpoints, entries of the header (``run_id``)
            are checked before anything is unpickled.

    Raises:
        CheckpointError: missing, truncated, damaged (checksum), not an evonas
            checkpoint, of another kind, or not matching ``expect``.
    """
    path = Path(path)
    expect = dict(expect or {})
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    with _open_verified(path) as archive:
        if _META_MEMBER in archive.namelist():
            header = json.loads(archive.read(_META_MEMBER))
            _check(header, path, kind, {k: v for k, v in expect.items() if k in ("run_id",)})
            try:
                if header.get("pickler") == "pickle":
                    state = pickle.loads(archive.read(_OBJECT_MEMBER))
                else:  # dill (every checkpoint before the C pickler was tried first)
                    import dill

                    state = dill.loads(archive.read(_OBJECT_MEMBER))
            except Exception as exc:  # an unpicklable state raises almost any type
                raise CheckpointError(f"{path} cannot be unpickled ({type(exc).__name__}: {exc})") from exc
            state = {**header, **state}
            _check(state, path, kind, expect)
            return state
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch.load raises many types for damaged files (RuntimeError, struct.error, ...)
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise CheckpointError(f"{path} is not an evonas checkpoint ({type(exc).__name__}: {reason[:200]})") from exc
    if not isinstance(state, dict):
        raise CheckpointError(f"{path} is not an evonas checkpoint")
    _check(state, path, kind, expect)
    return state


def load_latest_checkpoint(path: str | os.PathLike, **kwargs) -> dict:
    """Load ``path``; if it is missing, unreadable or damaged, fall back to ``NAME.prev.ext`` with a warning.

    A checkpoint that is intact but belongs to another run is never skipped:
    that error is raised as it is.
    """
    path = Path(path)
    try:
        return load_checkpoint(path, **kwargs)
    except CheckpointError as exc:
        previous = previous_path(path)
        if _FOREIGN in str(exc) or not previous.is_file():
            raise
        log.warning("%s; falling back to the previous checkpoint %s", exc, previous)
        return load_checkpoint(previous, **kwargs)


def has_checkpoint(path: str | os.PathLike) -> bool:
    """Whether ``path`` or its previous version exists (readable or not)."""
    return Path(path).is_file() or previous_path(path).is_file()


__all__ = ["FORMAT", "VERSION", "has_checkpoint", "load_checkpoint", "load_latest_checkpoint", "previous_path",
           "save_checkpoint", "save_object_checkpoint"]
