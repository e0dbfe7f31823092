"""Does a search's cost per generation stay flat as the run grows? Evaluations/s, time per generation, memory.

Each configuration runs in a fresh subprocess (so peak RSS is its own): a
small warm-up search pays imports and first-call costs, then the timed
``evonas.search`` writes a run directory as every search does (history,
archive log, checkpoints, ``front.json``, plots). Printed per run, next to
the goals of issue 28:

* evaluations (distinct architectures) and generations, wall time,
  evaluations/s end to end, and per second of the process's CPU time (steadier than wall time on a shared,
  busy machine);
* time per generation at the start (median of generations 1-10) and at the
  end (median of the last 10), and their ratio;
* the share of wall time spent writing checkpoints (``checkpoint``) and
  appending each evaluation to ``history.csv`` and ``archive.log`` before
  them (``records``: once per evaluation, however often checkpoints are
  written), the share spent drawing ``progress.png`` and ``pareto.png`` at
  the end (``plots``: once per run), and peak RSS.

``--plots on,off`` (the default) runs each configuration with those two
PNGs and without them (``search(plots=False)``, ``evonas search
--no-plots``: history, archive log, checkpoints and ``front.json`` are
still written): matplotlib's fixed cost of about half a second a run is a
large share of a short one.

Engines (``--engines``, each configuration is run with each): ``pymoo``
(strategy ``nsga2``, pymoo's NSGA-II), ``fast`` (strategy ``nsga2-fast``,
NSGA-II on index arrays, :mod:`evonas.strategies.nsga2_fast`) and
``fast-new`` (``nsga2-fast`` with ``revisit=False``: every child is new to
the run, so no generation is spent on memo hits).

Configurations:

* ``table``: NSGA-II (population ``--pop-size``) over NAS-Bench-201 with the
  table evaluator (accuracy max, params min). The table holds 15,625 cells:
  a budget above that is refused for this configuration, and well before it
  most offspring are cells seen before (memo hits), so evaluations/s falls
  while the time per generation does not.
* ``toy``: the same loop on the 16-gene toy space (4^16 architectures) with
  its near-free ZDT pair, for budgets past NAS-Bench-201's size.
* ``nb301``: NSGA-II over the DARTS space scored by the NB301 evaluator with
  its DEMO model files (accuracy max, params min).

    python benchmarks/bench_scaling.py                      # table 1k, 10k; toy 1k, 10k, 100k; nb301 10k
    python benchmarks/bench_scaling.py --table 1000,3000 --toy 1000,10000 --nb301 2000   # a busy machine
    python benchmarks/bench_scaling.py --engines fast,fast-new --table 10000 --toy '' --nb301 10000
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

GOALS = {"generation_ratio": 1.5, "table_rate": 20_000, "nb301_rate": 5_000, "checkpoint_share": 0.05}
NB201_CELLS = 15_625


#: --engines: the NSGA-II strategy each one runs, and its options
ENGINES = {"pymoo": ("nsga2", {}), "fast": ("nsga2-fast", {}), "fast-new": ("nsga2-fast", {"revisit": False})}


def _components(kind: str, pop_size: int, model_dir: str | None, engine: str = "pymoo"):
    from evonas.core import Objective
    from evonas.evaluators.base import SelectObjectives
    from evonas.registry import strategies

    name, options = ENGINES[engine]
    strategy = strategies.create(name, pop_size=pop_size, **options)
    if kind == "table":
        from evonas.evaluators.tabular import NB201TableEvaluator
        from evonas.spaces.nb201.space import NB201Space

        return NB201Space(), strategy, SelectObjectives(NB201TableEvaluator(), [Objective("accuracy", "max"),
                                                                                Objective("params", "min")])
    if kind == "toy":
        from evonas.testing import ToySpace, ZDTEvaluator

        return ToySpace(length=16, choices=4), strategy, ZDTEvaluator()
    from evonas.evaluators.nb301 import NB301Evaluator
    from evonas.spaces.darts import DartsSpace

    return DartsSpace(), strategy, SelectObjectives(NB301Evaluator(model_dir, cost=True),
                                                    [Objective("nb301_accuracy", "max"), Objective("params", "min")])


def one_run(kind: str, budget: int, pop_size: int, seed: int, every: float, engine: str = "pymoo",
            plots: bool = True) -> dict:
    """The measurements of one timed search (run in this process)."""
    import resource

    import evonas.callbacks as callbacks
    import evonas.loop as loop
    from evonas.history import ArchiveLog, HistoryWriter

    spent = {"checkpoint": 0.0, "records": 0.0, "plots": 0.0}

    def timed(fn, what):
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[what] += time.perf_counter() - start
        return wrapper

    loop.save_object_checkpoint = timed(loop.save_object_checkpoint, "checkpoint")
    HistoryWriter.sync = timed(HistoryWriter.sync, "records")
    ArchiveLog.sync = timed(ArchiveLog.sync, "records")
    callbacks._write_plots = timed(callbacks._write_plots, "plots")
    with tempfile.TemporaryDirectory() as workdir:
        model_dir = None
        if kind == "nb301":
            from evonas.evaluators.nb301 import build_demo_model_dir

            model_dir = str(build_demo_model_dir(os.path.join(workdir, "models")))
        loop.search(*_components(kind, pop_size, model_dir, engine), budget=2 * pop_size, seed=seed + 1,
                    run_dir=os.path.join(workdir, "warm-up"), progress=False, checkpoint_every=every, plots=plots)
        spent.update(checkpoint=0.0, records=0.0, plots=0.0)
        stamps: list[float] = []
        hook = lambda generation, state: stamps.append(time.perf_counter())  # noqa: E731
        start, cpu = time.perf_counter(), time.process_time()
        result = loop.search(*_components(kind, pop_size, model_dir, engine), budget=budget, seed=seed,
                             run_dir=os.path.join(workdir, "run"), progress=False, callbacks=[hook],
                             checkpoint_every=every, plots=plots)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    gaps = [b - a for a, b in zip(stamps, stamps[1:])]

    def median(values):
        values = sorted(values)
        return values[len(values) // 2] if values else float("nan")

    return {"kind": kind, "engine": engine, "pngs": plots, "budget": budget, "evaluations": len(result.individuals),
            "generations": len(stamps),
            "wall": wall, "rate": len(result.individuals) / wall, "cpu_rate": len(result.individuals) / cpu,
            "start": median(gaps[:10]),
            "end": median(gaps[-10:]), "checkpoint": spent["checkpoint"] / wall,
            "records": spent["records"] / wall, "plots": spent["plots"] / wall,
            "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def spawn(kind: str, budget: int, engine: str, plots: str, args) -> dict:
    command = [sys.executable, __file__, "--one", kind, str(budget), "--engines", engine, "--plots", plots,
               "--pop-size", str(args.pop_size), "--seed", str(args.seed),
               "--checkpoint-every", str(args.checkpoint_every)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{kind} ({engine}, plots {plots}) at budget {budget} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def verdict(ok: bool) -> str:
    return "meets" if ok else "MISSES"


def report(rows: list[dict]) -> None:
    print(f"{'run':>6} {'engine':>8} {'PNGs':>4} {'budget':>7} {'evals':>7} {'gens':>5} {'wall s':>7} {'evals/s':>8} "
          f"{'per CPU s':>9} {'ms/gen start':>12} {'ms/gen end':>10} {'end/start':>9} {'checkpoint':>10} "
          f"{'records':>7} {'plots':>6} {'peak RSS':>9}")
    for r in rows:
        print(f"{r['kind']:>6} {r['engine']:>8} {'yes' if r['pngs'] else 'no':>4} {r['budget']:>7} "
              f"{r['evaluations']:>7} {r['generations']:>5} "
              f"{r['wall']:>7.1f} {r['rate']:>8.0f} {r['cpu_rate']:>9.0f} {1e3 * r['start']:>12.2f} "
              f"{1e3 * r['end']:>10.2f} "
              f"{r['end'] / r['start']:>9.2f} "
              f"{100 * r['checkpoint']:>9.1f}% {100 * r['records']:>6.1f}% {100 * r['plots']:>5.1f}% "
              f"{r['rss_mib']:>6.0f} MiB")
    print("\ngoals (issue 28), measured above:")
    for kind, engine, pngs in ((k, e, p) for k in ("table", "toy") for e in ENGINES for p in (True, False)):
        runs = sorted((r for r in rows if r["kind"] == kind and r["engine"] == engine and r["pngs"] == pngs),
                      key=lambda r: r["budget"])
        if len(runs) >= 2:
            ratio = (runs[-1]["end"]) / runs[0]["end"]
            print(f"  {kind} ({engine}{'' if pngs else ', no PNGs'}): time/generation at the end of budget "
                  f"{runs[-1]['budget']} = {ratio:.2f}x "
                  f"that of budget {runs[0]['budget']} (goal <= {GOALS['generation_ratio']}x: "
                  f"{verdict(ratio <= GOALS['generation_ratio'])})")
    for kind, goal in (("table", "table_rate"), ("nb301", "nb301_rate")):
        for r in (r for r in rows if r["kind"] == kind):
            print(f"  {kind} ({r['engine']}{'' if r['pngs'] else ', no PNGs'}) at {r['budget']}: "
                  f"{r['rate']:,.0f} evaluations/s end to end "
                  f"(goal >= {GOALS[goal]:,}: {verdict(r['rate'] >= GOALS[goal])})")
    worst = max(rows, key=lambda r: r["checkpoint"])
    print(f"  checkpointing: at most {100 * worst['checkpoint']:.1f}% of a search's wall time ({worst['kind']} "
          f"({worst['engine']}) at "
          f"{worst['budget']}; goal <= {100 * GOALS['checkpoint_share']:.0f}%: "
          f"{verdict(worst['checkpoint'] <= GOALS['checkpoint_share'])})")
    worst = max(rows, key=lambda r: r["checkpoint"] + r["records"])
    share = worst["checkpoint"] + worst["records"]
    print(f"  checkpointing with the history.csv / archive.log appends before it (each evaluation written once): "
          f"at most {100 * share:.1f}% ({worst['kind']} ({worst['engine']}) at {worst['budget']}; "
          f"{verdict(share <= GOALS['checkpoint_share'])} the same goal)")


def budgets(text: str) -> list[int]:
    return [int(float(b)) for b in text.split(",") if b.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--table", type=budgets, default=budgets("1000,10000"),
                        help=f"NAS-Bench-201 table budgets, comma-separated (at most {NB201_CELLS:,}; '' for none)")
    parser.add_argument("--toy", type=budgets, default=budgets("1000,10000,100000"), help="toy-space budgets")
    parser.add_argument("--nb301", type=budgets, default=budgets("10000"), help="NB301 (DEMO models) budgets")
    parser.add_argument("--engines", default=",".join(ENGINES),
                        help="NSGA-II engines, comma-separated: pymoo (strategy nsga2), fast (strategy nsga2-fast), "
                        "fast-new (nsga2-fast with revisit=False: every child new to the run)")
    parser.add_argument("--plots", default="on,off",
                        help="on, off or on,off: each run with the two end-of-run PNGs, without them, or both")
    parser.add_argument("--pop-size", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--checkpoint-every", type=float, default=2.0, help="search(checkpoint_every=...), seconds")
    parser.add_argument("--one", nargs=2, metavar=("KIND", "BUDGET"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = [e for e in engines if e not in ENGINES]
    if unknown or not engines:
        parser.error(f"--engines: unknown {unknown or 'none given'}; valid: {', '.join(ENGINES)}")
    plots = [p.strip() for p in args.plots.split(",") if p.strip()]
    if not plots or any(p not in ("on", "off") for p in plots):
        parser.error(f"--plots: on, off or on,off, got {args.plots!r}")
    if args.one:
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        print(json.dumps(one_run(args.one[0], int(args.one[1]), args.pop_size, args.seed, args.checkpoint_every,
                                 engines[0], plots[0] == "on")))
        return
    too_big = [b for b in args.table if b > NB201_CELLS]
    if too_big:
        parser.error(f"--table budgets above the table's {NB201_CELLS:,} cells ({too_big}): use --toy for those")
    print(f"NSGA-II ({', '.join(engines)}), population {args.pop_size}, seed {args.seed}, "
          f"checkpoint_every {args.checkpoint_every} s, "
          f"each run in its own process after a warm-up search")
    rows = []
    for kind, sizes in (("table", args.table), ("toy", args.toy), ("nb301", args.nb301)):
        for budget in sizes:
            for engine in engines:
                for drawn in plots:
                    rows.append(spawn(kind, budget, engine, drawn, args))
                    r = rows[-1]
                    print(f"  {kind} {budget} ({engine}, plots {drawn}): {r['evaluations']} evaluations in "
                          f"{r['wall']:.1f} s", flush=True)
    print()
    report(rows)


if __name__ == "__main__":
    main()
