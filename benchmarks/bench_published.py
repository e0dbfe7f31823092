"""The published configurations in smoke mode: per phase, seconds per step, peak memory and the projected cost of
the full published run on this machine, for each algorithm that has a smoke mode.

Each algorithm runs its published setting in smoke mode (every phase once, at the published widths, depths and
batch sizes, a few steps each, on the embedded cifar10-mini images in place of CIFAR-10; for SCARLET, the same
images through the released pipeline at 224x224 with labels drawn from ImageNet's 1000 classes), in its own
process (so peak memory is the algorithm's own), then the tables and a summary are printed and written as JSON
(``--out``). ``--micro-batch`` runs the published batches of DAP (StacNAS: a quarter of it; RelativeNAS: its
stand-alone batch; SCARLET: as given) as chunks with gradient accumulation where they do not fit (the reports say
so).

    python benchmarks/bench_published.py                       # all four, 1 step per phase
    python benchmarks/bench_published.py --only dap --steps 2 --micro-batch 64 --device auto
    python benchmarks/bench_published.py --only scarlet --scarlet-batch 32   # a smaller SCARLET batch (noted)

SCARLET's supernet and search budgets are not published: its projection uses evonas' stand-ins
(``evonas.training.scarlet_smoke.SCARLET_ASSUMED``), which its report lists.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import tempfile
from pathlib import Path

#: what the papers / READMEs report for the search, in GPU-hours (None: not reported in the sources at hand)
PAPER_GPU_HOURS = {"dap": (None, "4 GPUs (README); hours not reported"),
                   "stacnas": (0.8 * 24, "0.8 GPU-days (README)"),
                   "relativenas": (9.0, "9 hours on one GTX 1080 Ti (README)"),
                   "scarlet": (None, "not reported in the sources at hand")}
ALGORITHMS = ("dap", "stacnas", "relativenas", "scarlet")


def _run(name: str, steps: int, micro_batch: int | None, device: str, out: str, scarlet_batch: int | None) -> None:
    import torch

    import evonas
    from evonas.evaluators.cost import CostEvaluator
    from evonas.spaces.darts import DartsSpace

    torch.set_num_threads(1)
    if name == "scarlet":
        from evonas.training.scarlet_smoke import scarlet_smoke

        batch = {"batch_size": scarlet_batch, "standalone_batch_size": scarlet_batch} if scarlet_batch else {}
        report = scarlet_smoke(steps=steps, micro_batch=micro_batch if micro_batch and not scarlet_batch else None,
                               device=device, verbose=False, **batch)
        Path(out).write_text(json.dumps(report))
        return
    if name == "relativenas":
        from evonas.evaluators.supernet import SupernetEvaluator
        from evonas.strategies.relative import RelativeNAS, published_weight_set

        strategy = RelativeNAS(published=True, smoke_steps=steps, micro_batch=micro_batch)
        evaluator = SupernetEvaluator(**published_weight_set(smoke_steps=steps, device=device, progress=False))
        with tempfile.TemporaryDirectory() as run_dir:
            evonas.search(DartsSpace(encoding="relativenas"), strategy, evaluator, budget=100, seed=0,
                          progress=False, run_dir=run_dir)
        Path(out).write_text(json.dumps(strategy.smoke_report))
        return
    if name == "dap":
        from evonas.strategies.dap import DAP, OP_LISTS

        strategy = DAP(published=True, smoke_steps=steps, micro_batch=micro_batch, device=device)
        ops = getattr(DartsSpace().cell_tools, OP_LISTS["published"])
        space = DartsSpace(primitives=tuple(dict.fromkeys(ops)))
    else:
        from evonas.strategies.gradient import StacNASSearch

        strategy = StacNASSearch(published=True, smoke_steps=steps, micro_batch=micro_batch and micro_batch // 4,
                                 device=device)
        space = DartsSpace()
    with tempfile.TemporaryDirectory() as run_dir:
        evonas.search(space, strategy, CostEvaluator(metrics=("params",)), budget=100, seed=0, progress=False,
                      run_dir=run_dir)
    Path(out).write_text(json.dumps(strategy.smoke_report))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=ALGORITHMS, action="append", help="run only these")
    parser.add_argument("--steps", type=int, default=1, help="smoke steps per phase")
    parser.add_argument("--micro-batch", type=int, default=64,
                        help="DAP's micro-batch (StacNAS: a quarter of it); 0: whole batches")
    parser.add_argument("--scarlet-batch", type=int,
                        help="SCARLET's supernet and stand-alone batch (default: the assumed 256; the report notes it)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", default="bench_published.json")
    args = parser.parse_args()
    from evonas.runtime.phases import format_report

    reports = {}
    context = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.only or ALGORITHMS:
            out = f"{tmp}/{name}.json"
            proc = context.Process(target=_run, args=(name, args.steps, args.micro_batch or None, args.device, out,
                                                      args.scarlet_batch))
            proc.start()
            proc.join()
            if proc.exitcode != 0:
                raise SystemExit(f"{name}: the smoke run failed (exit code {proc.exitcode})")
            reports[name] = json.loads(Path(out).read_text())
            print(format_report(name, reports[name]), flush=True)
    print("\nsummary: projected full published search on this machine vs the paper's GPU cost")
    for name, (_, text) in PAPER_GPU_HOURS.items():
        report = reports.get(name)
        ours = f"{report['search_hours']:10.1f} h" if report else "    not run"
        print(f"  {name:<12} {ours}   paper: {text}")
    Path(args.out).write_text(json.dumps({"reports": reports, "paper_gpu_hours": PAPER_GPU_HOURS}, indent=2))
    print(f"written: {args.out}")


if __name__ == "__main__":
    main()
