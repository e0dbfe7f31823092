"""The ``evonas`` command: one module per subcommand, each with ``add_parser(subparsers)`` and ``run(args)``.

``run`` parses nothing itself: it calls one library function and prints.
Errors caused by bad input (:class:`~evonas.errors.EvonasError`) are
printed as one line ``evonas: error: ...`` with exit code 2 and no
traceback (:func:`evonas.cli.common.run_handler`). ``evonas search --help``
lists the registered components, generated from the registries.
"""
from __future__ import annotations

from collections.abc import Sequence

from evonas.cli import (
    data,
    evaluate,
    export,
    op_clusters,
    rank,
    report,
    score,
    search,
    surrogate,
    train,
    train_supernet,
)
from evonas.cli.common import CommandParser, configure_console_logging, one_line, run_handler

__all__ = ["COMMANDS", "build_parser", "main", "one_line"]

#: the subcommand modules, in the order ``evonas --help`` lists them
COMMANDS = (data, train, evaluate, train_supernet, search, report, export, score, surrogate, rank, op_clusters)


def build_parser() -> CommandParser:
    """The full ``evonas`` argument parser."""
    from evonas.version import __version__

    parser = CommandParser(prog="evonas", description="Evolutionary neural architecture search.",
                           epilog="'evonas COMMAND --help' shows a command's options; 'evonas search --help' "
                                  "also lists every registered space, strategy, evaluator, operator and executor.")
    parser.add_argument("--version", action="version", version=f"evonas {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``evonas`` command; return its exit code (2 for a command line argparse refuses; ``--help`` and
    ``--version`` exit as argparse does)."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as stop:
        if stop.code:
            return stop.code
        raise
    configure_console_logging(debug=args.verbose, quiet=getattr(args, "quiet", False))
    return run_handler(args.handler, args)
