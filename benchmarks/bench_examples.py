"""Do the examples keep their word? Each example runs as its docstring shows, timed against the time it states.

Every example's docstring has a usage line for its plain run with the time it claims, e.g.
``python examples/stacnas.py   # about 2 minutes on 2 CPU cores``. This benchmark reads that claim, runs the
example exactly so (in a fresh process, its run directory in a temporary folder), and prints the measured wall
time beside it. A claim holds when the time measured is at most its upper bound (``~3-5 minutes``: 5 minutes;
``< 1 min``: 1 minute) times ``--slack`` (1.25: "about" allows a quarter more) for approximate claims; ``<``
claims get no slack. An example without a claim, or one that fails, is reported as such. Exit code 1 when a
claim does not hold (or an example fails), so the benchmark can gate a release.

Run it alone on the machine (other processes skew the times; the claims are for a free 2-core machine):

    python benchmarks/bench_examples.py                          # every example (about 45 minutes)
    python benchmarks/bench_examples.py --only nb201_search nb301_score

Writes ``bench_examples.json`` (``--out``): per example the claim, its limit in seconds, the measured seconds
and whether it held.
"""
from __future__ import annotations

import argparse
import ast
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
#: tools in examples/ that are not examples of a search (the report screenshot needs a finished run and Chromium)
NOT_TIMED = ("report_screenshot",)
UNITS = {"s": 1, "sec": 1, "second": 1, "seconds": 1, "min": 60, "minute": 60, "minutes": 60, "h": 3600,
         "hour": 3600, "hours": 3600}
_NUMBER = r"(a|an|one|\d+(?:\.\d+)?)"
CLAIM = re.compile(rf"(?P<kind>about|~|<|under|within)\s*{_NUMBER}(?:\s*-\s*(?P<upper>\d+(?:\.\d+)?))?\s*"
                   rf"(?P<unit>seconds|second|sec|s|minutes|minute|min|hours|hour|h)\b")


@dataclass
class Claim:
    """What an example's docstring promises: ``text`` as written, ``limit_s`` its upper bound in seconds and
    whether it is a hard bound (``<``) or approximate (``about``, ``~``)."""

    text: str
    limit_s: float
    hard: bool


def parse_claim(comment: str) -> Claim | None:
    """The time claim in a usage line's comment (``"~3-5 minutes on 2 cores"`` -> 300 s, approximate), or None."""
    match = CLAIM.search(comment)
    if match is None:
        return None
    words = {"a": 1.0, "an": 1.0, "one": 1.0}
    low = match.group(2)
    value = float(match.group("upper") or words.get(low, low))
    return Claim(match.group(0), value * UNITS[match.group("unit")], match.group("kind") in ("<", "under", "within"))


def plain_usage(path: Path) -> tuple[list[str], Claim | None]:
    """The example's plain run (its first ``python examples/NAME.py`` usage line with no arguments) and the claim
    in that line's comment; ``([], None)`` when the docstring has no such line."""
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    pattern = re.compile(rf"^\s*python examples/{re.escape(path.name)}\s*(?:#\s*(?P<comment>.*))?$")
    for line in doc.splitlines():
        match = pattern.match(line)
        if match:
            return [sys.executable, str(path)], parse_claim(match.group("comment") or "")
    return [], None


@dataclass
class Timing:
    example: str
    claim: str | None
    limit_s: float | None
    seconds: float | None
    held: bool
    note: str = ""


def time_example(path: Path, slack: float, timeout: float) -> Timing:
    command, claim = plain_usage(path)
    name = path.stem
    if not command:
        return Timing(name, None, None, None, False, "no plain usage line in the docstring")
    if claim is None:
        return Timing(name, None, None, None, False, "the usage line states no time")
    limit = claim.limit_s * (1.0 if claim.hard else slack)
    with tempfile.TemporaryDirectory() as tmp:
        if '"--run-dir"' in path.read_text(encoding="utf-8"):  # outputs away from the checkout's runs/
            command = command + ["--run-dir", f"{tmp}/run"]
        began = time.perf_counter()
        try:
            proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True,
                                  timeout=max(timeout, 2 * limit), env={**os.environ, "PYTHONPATH": str(ROOT)})
        except subprocess.TimeoutExpired:
            return Timing(name, claim.text, limit, None, False, f"stopped after {2 * limit:.0f} s")
        seconds = time.perf_counter() - began
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["?"])[-1]
        return Timing(name, claim.text, limit, seconds, False, f"exit code {proc.returncode}: {last[:120]}")
    return Timing(name, claim.text, limit, round(seconds, 1), seconds <= limit)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    names = sorted(p.stem for p in EXAMPLES.glob("*.py") if p.stem not in NOT_TIMED)
    parser.add_argument("--only", nargs="+", choices=names, help="time only these examples")
    parser.add_argument("--slack", type=float, default=1.25, help="allowance on approximate claims (x)")
    parser.add_argument("--timeout", type=float, default=60.0, help="minimum seconds before an example is stopped "
                        "(an example runs at most twice its claim)")
    parser.add_argument("--out", default="bench_examples.json")
    args = parser.parse_args()
    rows = []
    print(f"{'example':<16} {'claim':<22} {'limit s':>8} {'measured s':>11}  held")
    for name in args.only or names:
        row = time_example(EXAMPLES / f"{name}.py", args.slack, args.timeout)
        rows.append(row)
        limit = f"{row.limit_s:.0f}" if row.limit_s is not None else "-"
        seconds = f"{row.seconds:.1f}" if row.seconds is not None else "-"
        print(f"{row.example:<16} {row.claim or '-':<22} {limit:>8} {seconds:>11}  {'yes' if row.held else 'NO'}"
              f"{'  (' + row.note + ')' if row.note else ''}", flush=True)
    Path(args.out).write_text(json.dumps([asdict(row) for row in rows], indent=2))
    print(f"written: {args.out}")
    if not all(row.held for row in rows):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
