"""The report page: one HTML file holding Plotly's JavaScript, the report's data and the script that draws it.

The page works offline (no CDN, no server): Plotly's bundle comes from the
``plotly`` Python package and is written into the page. Its script builds
every section from the data (:mod:`evonas.report.data`); clicking a point
shows the architecture's values, key, diagram and its ``evonas train``
line. A live page (``live=True``, served by :mod:`evonas.report.serve`)
fetches ``data.json`` every ``refresh`` seconds and redraws when the run
directories changed.
"""
from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import Any


def _asset(name: str) -> str:
    """A file shipped beside this module (the page's ``page.css`` / ``page.js``)."""
    return (Path(__file__).with_name(name)).read_text(encoding="utf-8")


def plotly_js() -> str:
    """Plotly's JavaScript bundle (from the ``plotly`` package: the page needs no network)."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def finite(data: Any) -> Any:
    """``data`` with every NaN / infinity replaced by None (JSON has neither; Plotly draws a gap)."""
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {k: finite(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [finite(v) for v in data]
    return data


def _json_for_script(data: Any) -> str:
    """JSON that can sit inside a ``<script>`` element (no ``</`` closes it early)."""
    return json.dumps(finite(data), separators=(",", ":"), allow_nan=False).replace("</", "<\\/")


def render_html(data: dict[str, Any], *, live: bool = False, refresh: float = 2.0) -> str:
    """The report page of ``data`` (:func:`evonas.report.data.report_data`); ``live``: refresh from
    ``data.json`` every ``refresh`` seconds."""
    data = {**data, "live": live, "refresh": refresh}
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(data['title'])}</title><style>{_asset('page.css')}</style>"
            f'<script type="text/javascript">{plotly_js()}</script></head>\n<body>'
            f'<header><h1 id="title"></h1><div class="meta" id="generated"></div></header>'
            f'<main id="report"></main>\n'
            f'<script type="application/json" id="report-data">{_json_for_script(data)}</script>\n'
            f"<script>{_asset('page.js')}</script></body></html>\n")


__all__ = ["finite", "plotly_js", "render_html"]
