"""``evonas report``: one self-contained HTML report of one or several run directories, or the live page
(``--serve``); :mod:`evonas.report` builds it."""
from __future__ import annotations

import argparse

from evonas.cli.common import PORT, POSITIVE

__all__ = ["add_parser", "run"]


def add_parser(subparsers) -> None:
    report = subparsers.add_parser(
        "report", help="an interactive HTML report of run directories (offline file, or --serve live)",
        description="Write one self-contained HTML file (works offline: Plotly's JavaScript is inside) with each "
                    "run's settings and status, its Pareto front (hover a point: its values; click: its cell "
                    "diagram and the 'evonas train' line), progress per generation, the strategy's own results "
                    "and, for several runs, their fronts overlaid with a table of hypervolume and best values. "
                    "--serve serves the same page on localhost, redrawn while the runs grow.")
    report.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="search run directories (or evonas rank "
                        "outputs)")
    report.add_argument("--out", help="the HTML file to write (default RUN_DIR/report.html of the first run)")
    report.add_argument("--title", help="the page's title")
    report.add_argument("--no-drawings", action="store_true", help="no cell diagrams (faster for large fronts)")
    report.add_argument("--serve", action="store_true", help="serve the live page on http://127.0.0.1:PORT/ "
                        "instead of writing a file (Ctrl-C stops it)")
    report.add_argument("--port", type=PORT, default=8000, help="--serve: the port (default 8000; 0: any free one)")
    report.add_argument("--refresh", type=POSITIVE, default=2.0, help="--serve: seconds between the page's checks "
                        "for new results (default 2)")
    report.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from evonas.errors import ConfigError

    if not 0 <= args.port <= 65535:
        raise ConfigError(f"--port must be from 0 to 65535, got {args.port}")
    if args.refresh <= 0:
        raise ConfigError(f"--refresh must be a positive number of seconds, got {args.refresh}")
    if args.serve:
        from evonas.report.serve import ReportSource, make_server

        if args.out:
            raise ConfigError("--out writes a file; --serve serves the page instead (give one of them)")
        source = ReportSource(args.run_dirs, title=args.title, refresh=args.refresh)
        source.data()  # a bad run directory: one line, before the server starts
        server = make_server(source, port=args.port)
        print(f"serving the report on http://127.0.0.1:{server.server_address[1]}/ (Ctrl-C stops)", flush=True)
        try:
            server.serve_forever()
        finally:
            server.server_close()
        return 0
    from evonas.report import write_report

    path = write_report(args.run_dirs, args.out, title=args.title, drawings=not args.no_drawings)
    print(f"report: {path}")
    return 0
