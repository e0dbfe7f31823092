"""``evonas report --serve RUN_DIR``: the report page from the standard library's HTTP server, redrawn as the run
grows.

``GET /`` returns the live page (:func:`evonas.report.html.render_html` with ``live=True``); its script asks for
``GET /data.json`` every few seconds, which is rebuilt only when a file of a run directory changed
(:func:`evonas.report.data.signature`). The server listens on ``127.0.0.1`` only.
"""
from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Sequence

from evonas.report.data import report_data, signature
from evonas.report.html import finite, render_html

log = logging.getLogger(__name__)


class ReportSource:
    """The report of ``run_dirs``, rebuilt when their files change (thread-safe)."""

    def __init__(self, run_dirs: Sequence[str | Path], *, title: str | None = None, refresh: float = 2.0) -> None:
        self.run_dirs, self.title, self.refresh = [Path(p) for p in run_dirs], title, refresh
        self._lock = threading.Lock()
        self._data: dict | None = None
        self._drawings: dict = {}  # made once, reused by every rebuild

    def data(self) -> dict:
        with self._lock:
            if self._data is None or self._data["signature"] != signature(self.run_dirs):
                self._data = report_data(self.run_dirs, title=self.title, cache=self._drawings)
            return self._data

    def page(self) -> str:
        return render_html(self.data(), live=True, refresh=self.refresh)


def make_server(source: ReportSource, *, port: int = 8000, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    """A server of ``source`` on ``host:port`` (port 0: any free one; ``server.server_address`` says which)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            route = self.path.split("?", 1)[0]
            try:
                if route in ("/", "/index.html", "/report.html"):
                    body, kind = source.page().encode("utf-8"), "text/html; charset=utf-8"
                elif route == "/data.json":
                    body = json.dumps(finite({**source.data(), "live": True}), allow_nan=False).encode("utf-8")
                    kind = "application/json"
                else:
                    self.send_error(404)
                    return
            except Exception as exc:  # a half-written run: say so, keep serving
                log.warning("report not rebuilt: %s", exc)
                self.send_error(503, str(exc).splitlines()[0][:200])
                return
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args) -> None:  # noqa: A002 (http.server's name)
            log.debug("%s %s", self.address_string(), format % args)

    return ThreadingHTTPServer((host, port), Handler)


def serve(run_dirs: Sequence[str | Path], *, port: int = 8000, title: str | None = None,
          refresh: float = 2.0) -> None:
    """Serve the live report of ``run_dirs`` on ``http://127.0.0.1:PORT/`` until interrupted."""
    source = ReportSource(run_dirs, title=title, refresh=refresh)
    source.data()  # a bad run directory fails here, before the server starts
    server = make_server(source, port=port)
    log.info("serving the report of %s on http://127.0.0.1:%d/", ", ".join(map(str, run_dirs)),
             server.server_address[1])
    try:
        server.serve_forever()
    finally:
        server.server_close()


__all__ = ["ReportSource", "make_server", "serve"]
