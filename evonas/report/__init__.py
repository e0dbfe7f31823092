"""See a search: one self-contained HTML report of one or several run directories, live while they run.

* :func:`write_report`: ``evonas report RUN_DIR [RUN_DIR ...] --out report.html``: settings and status,
  interactive Pareto fronts (hover: values and key; click: cell diagram and the ``evonas train`` line),
  progress, the strategy's own panels and, for several runs, their fronts overlaid and a comparison table;
* :func:`~evonas.report.serve.serve`: ``evonas report --serve RUN_DIR``, the same page from the standard
  library's HTTP server, redrawn as ``history.csv`` grows;
* :class:`~evonas.report.live.ReportCallback` (``evonas search --report-every N``) and
  :class:`~evonas.report.tensorboard.TensorBoardCallback` (``evonas search --tensorboard DIR``).

Reading goes through :mod:`evonas.report.run`, figures through :mod:`evonas.report.figures`, the page
through :mod:`evonas.report.html`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from evonas.report.data import report_data
from evonas.report.html import render_html

#: where a report goes by default, inside the (first) run directory
DEFAULT_NAME = "report.html"


def write_report(run_dirs: Sequence[str | Path], out: str | Path | None = None, *, title: str | None = None,
                 drawings: bool = True, status: str | None = None, cache: dict | None = None) -> Path:
    """Write the report of ``run_dirs`` to ``out`` (default ``RUN_DIR/report.html`` of the first run) atomically;
    return its path (``cache``: drawings kept between calls, see :func:`~evonas.report.diagrams.draw_archs`)."""
    from evonas.runtime.atomic import atomic_write_text

    if not run_dirs:
        from evonas.errors import ConfigError

        raise ConfigError("a report needs at least one run directory")
    path = Path(out) if out is not None else Path(run_dirs[0]) / DEFAULT_NAME
    page = render_html(report_data(run_dirs, title=title, drawings=drawings, status=status, cache=cache))
    atomic_write_text(path, page)
    return path


__all__ = ["DEFAULT_NAME", "report_data", "render_html", "write_report"]
