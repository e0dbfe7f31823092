"""Architectures as a report shows them: the text to train one and, where the space can draw, its diagram.

The space is rebuilt from ``search.json`` (registry name and options). A
space that declares :class:`~evonas.spaces.base.HasDrawing` draws each
architecture asked for into an SVG image, embedded as a ``data:`` URI so the
report stays one file; drawing costs a matplotlib figure each (0.3 s for a
NAS-Bench-201 cell, 1.4 s for a DARTS genotype on a busy CPU), so a report
draws the front's architectures (at most :data:`MAX_DRAWINGS` per run, best
first), and the other points show their text only.
"""
from __future__ import annotations

import base64
import json
import logging
import shlex
import tempfile
from pathlib import Path
from typing import Any

from evonas.errors import EvonasError
from evonas.spaces.base import HasDrawing

log = logging.getLogger(__name__)

#: the most architectures one run's report draws
MAX_DRAWINGS = 24


def make_space(settings: dict[str, Any]):
    """The run's space from its ``search.json`` record (None when it cannot be rebuilt here)."""
    from evonas.registry import spaces

    name = settings.get("space")
    if not isinstance(name, str):
        return None
    try:
        return spaces.create(name, **(settings.get("space_options") or {}))
    except (EvonasError, TypeError, ImportError) as exc:
        log.warning("no drawings: the space %r cannot be built here (%s)", name, exc)
        return None


def train_command(settings: dict[str, Any], arch_json: str) -> str:
    """The ``evonas train`` line that trains the architecture ``arch_json`` (its JSON text in ``history.csv``)
    from scratch."""
    parts = ["evonas", "train"]
    if isinstance(settings.get("space"), str):
        parts += ["--space", settings["space"]]
    for key, value in (settings.get("space_options") or {}).items():
        parts += ["--space-opt", f"{key}={json.dumps(value)}"]
    return shlex.join(parts + ["--genotype", arch_json])


def draw_archs(space, archs: dict[int, str], cache: dict | None = None) -> dict[int, str]:
    """``{row: data URI}`` of ``archs`` (``{row: JSON text}``) when ``space`` can draw; {} otherwise.

    ``cache`` (a dict the caller keeps, e.g. a live page's server) holds the drawings already made, keyed by
    the space's description and the architecture's JSON, so a redraw draws only the new ones.
    """
    if space is None or not isinstance(space, HasDrawing):
        return {}
    cache = {} if cache is None else cache
    identity = json.dumps([type(space).__qualname__, getattr(space, "get_params", dict)()], sort_keys=True, default=str)
    drawn = {}
    with tempfile.TemporaryDirectory(prefix="evonas-report-") as folder:
        for row, text in list(archs.items())[:MAX_DRAWINGS]:
            key = (identity, text)
            if key not in cache:
                path = Path(folder) / f"{row}.svg"
                try:
                    space.draw(space.from_json(json.loads(text)), path)
                except (EvonasError, ValueError, TypeError, KeyError, OSError) as exc:
                    log.warning("architecture %d not drawn (%s)", row, exc)
                    continue
                cache[key] = "data:image/svg+xml;base64," + base64.b64encode(path.read_bytes()).decode("ascii")
            drawn[row] = cache[key]
    return drawn


__all__ = ["MAX_DRAWINGS", "draw_archs", "make_space", "train_command"]
