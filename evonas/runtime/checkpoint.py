"""Checkpoints that survive being killed mid-write, and say what they belong to.

A checkpoint is a dict saved with :func:`torch.save` through an atomic
rename. Before a new one replaces ``NAME.pt``, the current file is kept as
``NAME.prev.pt``; :func:`load_latest_checkpoint` falls back to it (with a
warning) when the latest is unreadable. Checkpoints hold only tensors and
plain Python values, so they load with ``torch.load(weights_only=True)``:
opening a checkpoint never runs code from it.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Mapping

import torch

from evonas.errors import CheckpointError
from evonas.runtime.atomic import atomic_torch_save

log = logging.getLogger(__name__)

FORMAT = "evonas-checkpoint"
VERSION = 1


def previous_path(path: str | os.PathLike) -> Path:
    """Where the checkpoint before ``path`` is kept (``NAME.prev.pt``)."""
    path = Path(path)
    return path.with_name(f"{path.stem}.prev{path.suffix}")


def save_checkpoint(path: str | os.PathLike, state: Mapping[str, Any], *, kind: str) -> Path:
    """Atomically write ``state`` (tagged with ``kind``) to ``path``, keeping the previous one."""
    path = Path(path)
    payload = {"format": FORMAT, "version": VERSION, "kind": kind, **state}
    if path.exists():
        os.replace(path, previous_path(path))
    return atomic_torch_save(payload, path)


def load_checkpoint(path: str | os.PathLike, *, kind: str | None = None,
                    expect: Mapping[str, Any] | None = None, map_location="cpu") -> dict:
    """Load and check a checkpoint.

    Args:
        kind: the ``kind`` it must have been saved with (e.g. ``"standalone"``).
        expect: entries that must equal the checkpoint's (e.g. the genotype
            key); a difference raises naming the entry and both values.

    Raises:
        CheckpointError: missing, truncated, not an evonas checkpoint, of
            another kind, or not matching ``expect``.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch.load raises many types for damaged files (RuntimeError, struct.error, ...)
        raise CheckpointError(f"{path} is truncated or not a checkpoint ({type(exc).__name__}: {exc})") from exc
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not an evonas checkpoint")
    if state.get("version", 0) > VERSION:
        raise CheckpointError(f"{path} was written by a newer evonas (checkpoint v{state['version']})")
    if kind is not None and state.get("kind") != kind:
        raise CheckpointError(f"{path} is a {state.get('kind')!r} checkpoint, not a {kind!r} one")
    for key, value in (expect or {}).items():
        if state.get(key) != value:
            raise CheckpointError(f"{path} belongs to another run: its {key} is {state.get(key)!r}, expected {value!r}")
    return state


def load_latest_checkpoint(path: str | os.PathLike, **kwargs) -> dict:
    """Load ``path``; if it is missing or unreadable, fall back to ``NAME.prev.pt`` with a warning.

    A checkpoint that is readable but belongs to another run is never skipped:
    that error is raised as it is.
    """
    path = Path(path)
    try:
        return load_checkpoint(path, **kwargs)
    except CheckpointError as exc:
        previous = previous_path(path)
        if "belongs to another run" in str(exc) or not previous.is_file():
            raise
        log.warning("%s; falling back to the previous checkpoint %s", exc, previous)
        return load_checkpoint(previous, **kwargs)
