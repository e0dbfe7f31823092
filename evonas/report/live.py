"""A search that writes its report as it goes: ``evonas search --report-every N``."""
from __future__ import annotations

import logging
from pathlib import Path

from evonas.callbacks import Callback, SearchState
from evonas.errors import EvonasError

log = logging.getLogger(__name__)


class ReportCallback(Callback):
    """Writes the HTML report of ``run_dir`` (:func:`evonas.report.write_report`) to ``out`` (default
    ``RUN_DIR/report.html``) after every ``every``-th generation and once at the end.

    The report is read from the run directory's files, which the loop writes after the callbacks of a
    generation: so a generation's report shows the run up to the generation before (the end's report is
    complete). A report that cannot be written costs a warning; the search goes on.
    """

    def __init__(self, run_dir: str | Path, *, every: int = 1, out: str | Path | None = None) -> None:
        if not isinstance(every, int) or every < 1:
            raise EvonasError(f"--report-every takes a positive number of generations, got {every!r}")
        self.run_dir, self.every = Path(run_dir), every
        self.out = Path(out) if out is not None else None
        self.written: Path | None = None
        self.drawings: dict = {}  # cell diagrams already drawn, reused by the next report

    def _write(self, status: str | None = None) -> None:
        from evonas.report import write_report

        try:
            self.written = write_report([self.run_dir], self.out, status=status, cache=self.drawings)
        except (EvonasError, OSError, ValueError) as exc:
            log.warning("report not written: %s", exc)

    def on_generation(self, generation: int, state: SearchState) -> None:
        if generation % self.every == 0 and (self.run_dir / "config.json").is_file():
            self._write()

    def on_end(self, result, run) -> None:
        self._write("finished")


__all__ = ["ReportCallback"]
