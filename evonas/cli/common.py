"""What every ``evonas`` command shares: the parser class, help generated from the registries, console
logging, aligned tables and the one-line error.

Bad input (:class:`~evonas.errors.EvonasError`, an ``OSError``) ends a command
with one line ``evonas: error: ...`` on stderr and exit code 2, never a
traceback; Ctrl-C with ``evonas: interrupted`` and 130.
"""
from __future__ import annotations

import argparse
import logging
import shutil
import sys
import textwrap
from collections.abc import Callable, Sequence

from evonas.errors import EvonasError

__all__ = ["COUNT", "CommandParser", "FRACTION", "Handler", "NON_NEGATIVE", "PORT", "POSITIVE", "POSITIVE_INT",
           "PROBABILITY", "configure_console_logging", "format_table", "number", "one_line", "registry_help",
           "run_handler"]

Handler = Callable[[argparse.Namespace], int]


class CommandParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose ``epilog`` may be a callable, called only when the help is shown, and whose
    errors are one line (argparse's own print the usage first).

    The epilog's text is appended as it is (not re-wrapped), so it can be a
    table; computing it lazily keeps ``evonas search ...`` from importing
    every registered component just to parse its flags.
    """

    def error(self, message: str):
        """A bad flag or value: one line naming it and where the options are listed (exit code 2)."""
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")

    def format_help(self) -> str:
        if not callable(self.epilog):
            return super().format_help()
        epilog, self.epilog = self.epilog, None
        try:
            text = super().format_help()
        finally:
            self.epilog = epilog
        return f"{text}\n{epilog()}"



def number(kind: type, *, minimum: float | None = None, above: float | None = None, below: float | None = None):
    """An argparse ``type``: ``kind`` (int or float) within the bounds, else one line naming the bound.

    ``minimum``: the smallest value allowed; ``above`` / ``below``: exclusive bounds. The returned
    function's ``kind`` attribute is ``kind`` (how tests find the numeric options).
    """
    import math

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {'an integer' if kind is int else 'a number'}, got "
                                             f"{text!r}") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
        if minimum is not None and value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {text}")
        if above is not None and value <= above:
            raise argparse.ArgumentTypeError(f"must be > {above}, got {text}")
        if below is not None and value >= below:
            raise argparse.ArgumentTypeError(f"must be < {below}, got {text}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    parse.kind = kind
    return parse


#: the argparse types of the commands' numeric options
POSITIVE_INT = number(int, minimum=1)
COUNT = number(int, minimum=0)  # seeds, worker processes, pixels that may be 0 (disabled)
POSITIVE = number(float, above=0)
NON_NEGATIVE = number(float, minimum=0)
FRACTION = number(float, above=0, below=1)  # a share strictly between 0 and 1
PROBABILITY = number(float, minimum=0, below=1)
PORT = number(int, minimum=0, below=65536)  # 0: any free port

def registry_help(*sections: tuple[str, object]) -> Callable[[], str]:
    """An epilog listing registered components: ``sections`` are ``(heading, registry)`` pairs.

    Each component is one line, its name and :meth:`Registry.describe
    <evonas.registry.Registry.describe>`'s description, wrapped to the
    terminal; so a component a plugin registers is listed with the built-in ones.
    """

    def text() -> str:
        width = max(shutil.get_terminal_size().columns - 2, 60)
        blocks = []
        for heading, registry in sections:
            described = registry.describe()
            column = min(max((len(name) for name in described), default=0) + 4, 24)
            lines = [f"{heading}:"]
            for name, line in described.items():
                lead = f"  {name}".ljust(column)
                if len(lead) > column:  # a long name: its description on the next line
                    lines.append(lead.rstrip())
                    lead = " " * column
                lines += textwrap.wrap(line or "-", width, initial_indent=lead, subsequent_indent=" " * column)
            blocks.append("\n".join(lines))
        return "\n\n".join(blocks) + "\n"

    return text


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """``header`` and ``rows`` (cells as text) as left-aligned columns separated by two spaces."""
    table = [list(header), *map(list, rows)]
    widths = [max(len(row[c]) for row in table) for c in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) for row in table)


def configure_console_logging(*, debug: bool, quiet: bool) -> None:
    """Log to stderr at INFO (DEBUG with -v, WARNING with --quiet).

    The level sits on the console handler, not on the loggers, so a run's
    ``log.txt`` (attached by the run directory) still gets every INFO line.
    """
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "evonas-console"]:
        root.removeHandler(old)
    handler = logging.StreamHandler()
    handler.set_name("evonas-console")
    handler.setLevel(logging.DEBUG if debug else logging.WARNING if quiet else logging.INFO)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if debug else logging.INFO)


def one_line(exc: BaseException) -> str:
    """The message of ``exc`` as one line.

    An error raised in a DataLoader worker reaches the main process as
    "Caught X in DataLoader worker process N. Original Traceback ...": only
    the original message (the traceback's last line, without the type) is kept.
    """
    text = str(exc).strip()
    if "Original Traceback" in text:
        last = text.splitlines()[-1]
        text = last.split(": ", 1)[1] if ": " in last else last
    return " ".join(text.split())


def run_handler(handler: Handler, args: argparse.Namespace) -> int:
    """Call a command's ``run(args)``; bad input becomes one line on stderr and exit code 2."""
    try:
        return int(handler(args) or 0)
    except EvonasError as exc:
        print(f"evonas: error: {one_line(exc)}", file=sys.stderr)
        return 2
    except OSError as exc:  # a full disk, a read-only folder, a vanished file: the system's reason, one line
        where = f": {exc.filename}" if exc.filename else ""
        print(f"evonas: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("evonas: interrupted", file=sys.stderr)
        return 130
