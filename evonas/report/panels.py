"""The strategy's own results in a run directory, as report panels.

A strategy declares extra outputs (:meth:`~evonas.strategies.base.Strategy.callbacks` and
:meth:`~evonas.strategies.base.Strategy.result_files`), written by
:class:`~evonas.callbacks.StrategyOutputs`: a table of rows per generation
(RelativeNAS' ``trajectory.csv``; DARTS / StacNAS' and DAP's
``search_curve.csv``: losses, learning rate, alpha entropy, derived cell),
the chosen architecture (``chosen.json`` / ``chosen.txt``) and JSON files
(StacNAS' ``edge_attention.json``, DAP's ``valuations.json``). The ranking
harness (``evonas rank``) writes ``ranking.csv`` / ``ranking.json``. Each
becomes a panel: a table of rows becomes one curve per numeric column, a
JSON file holding matrices becomes heat maps, anything else is shown as text.
Nothing here knows a strategy by name: panels follow the files.
"""
from __future__ import annotations

import base64
import csv
import io
import json
import math
from pathlib import Path
from typing import Any

from evonas.report.run import STANDARD_FILES

#: at most this many curves per table (the rest are listed by name)
MAX_CURVES = 12


def png_uri(data: bytes) -> str:
    """A PNG image as a ``data:`` URI (for an ``<img src>``)."""
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def _number(text: Any) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _read_csv(path: Path) -> list[dict[str, str]]:
    text = path.read_text(encoding="utf-8", errors="replace")
    return list(csv.DictReader(io.StringIO(text[:text.rfind("\n") + 1])))


def table_panel(name: str, rows: list[dict[str, str]]) -> dict | None:
    """``{"kind": "curves", "title", "x", "curves": {column: [values]}, "labels": [hover text], "skipped"}`` for
    a table of rows (x: its ``generation`` column, else the row number); None without a numeric column."""
    if not rows:
        return None
    columns = list(rows[0])
    x_name = "generation" if "generation" in columns else None
    numeric = [c for c in columns if c != x_name and c is not None
               and any(_number(r.get(c)) is not None for r in rows)]
    text_columns = [c for c in columns if c not in numeric and c != x_name and c is not None]
    if not numeric:
        return None
    x = [_number(r.get(x_name)) if x_name else i for i, r in enumerate(rows)]
    labels = ["<br>".join(f"{c}: {str(r.get(c, ''))[:80]}" for c in text_columns) for r in rows]
    return {"kind": "curves", "title": name, "x_title": x_name or "row",
            "x": x, "curves": {c: [_number(r.get(c)) for r in rows] for c in numeric[:MAX_CURVES]},
            "labels": labels, "skipped": numeric[MAX_CURVES:]}


def _matrices(content: Any, prefix: str = "") -> list[tuple[str, list[list[float]], dict]]:
    """``(name, matrix, labels)`` for every rectangular numeric 2-D list inside ``content`` (dicts searched;
    sibling lists of strings become row / column labels)."""
    found = []
    if isinstance(content, dict):
        labels = {k: v for k, v in content.items()
                  if isinstance(v, list) and v and all(isinstance(s, str) for s in v)}
        for key, value in content.items():
            if _is_matrix(value):
                found.append((f"{prefix}{key}", value, labels))
            elif isinstance(value, dict):
                found += _matrices(value, f"{prefix}{key}.")
    elif _is_matrix(content):
        found.append((prefix.rstrip(".") or "matrix", content, {}))
    return found


def _is_matrix(value: Any) -> bool:
    return (isinstance(value, list) and len(value) > 0 and all(isinstance(row, list) and row for row in value)
            and len({len(row) for row in value}) == 1
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for row in value for v in row))


def json_panel(name: str, content: Any) -> dict:
    """Heat maps of the matrices in a JSON file (``{"kind": "matrices", ...}``), else its text."""
    matrices = _matrices(content)
    if matrices:
        return {"kind": "matrices", "title": name,
                "matrices": [{"name": label, "z": z,
                              "x": next((v for v in labels.values() if len(v) == len(z[0])), None),
                              "y": next((v for v in labels.values() if len(v) == len(z)), None)}
                             for label, z, labels in matrices]}
    return {"kind": "text", "title": name, "text": json.dumps(content, indent=1)[:20000]}


def ranking_panel(path: Path) -> dict | None:
    """``ranking.csv`` (columns ``arch, SCORE, truth, params``) as a scatter of score against truth, with the
    statistics of ``ranking.json``."""
    rows = _read_csv(path / "ranking.csv")
    if not rows:
        return None
    score = [c for c in rows[0] if c not in ("arch", "truth", "params")][0]
    stats = {}
    if (path / "ranking.json").is_file():
        try:
            stats = json.loads((path / "ranking.json").read_text(encoding="utf-8"))
        except ValueError:
            stats = {}
    return {"kind": "ranking", "title": "ranking", "score": score,
            "x": [_number(r.get("truth")) for r in rows], "y": [_number(r.get(score)) for r in rows],
            "params": [_number(r.get("params")) for r in rows], "keys": [r.get("arch", "") for r in rows],
            "stats": stats}


def strategy_panels(path: Path) -> list[dict]:
    """Every panel of the run directory ``path``'s own files (see the module docstring), in name order."""
    panels: list[dict] = []
    if (path / "ranking.csv").is_file():
        panel = ranking_panel(path)
        if panel is not None:
            panels.append(panel)
    for file in sorted(path.iterdir()):
        if file.name in STANDARD_FILES or file.name.startswith(".") or file.name.startswith("ranking."):
            continue
        if file.suffix == ".csv":
            panel = table_panel(file.name, _read_csv(file))
        elif file.suffix == ".json" and file.name != "chosen.json":
            try:
                panel = json_panel(file.name, json.loads(file.read_text(encoding="utf-8")))
            except ValueError:
                panel = None
        elif file.name == "chosen.txt":
            panel = {"kind": "text", "title": "the strategy's chosen architecture (chosen.txt)",
                     "text": file.read_text(encoding="utf-8", errors="replace")[:20000]}
            if (path / "chosen.png").is_file():
                panel["image"] = png_uri((path / "chosen.png").read_bytes())
        else:
            panel = None
        if panel is not None:
            panels.append(panel)
    return panels


__all__ = ["MAX_CURVES", "json_panel", "png_uri", "ranking_panel", "strategy_panels", "table_panel"]
