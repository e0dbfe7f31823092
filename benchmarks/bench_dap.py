"""DAP on the CPU: wall time of one edge's work per member (train the expanded network, value the edge's ops)
and the speed-up of 2 gloo processes (one member each) over one process running both members.

Both arms run the first ``--edges`` expansion units of each of 2 members with the strategy's CPU defaults
(C=8, 5 cells, batch 64, 20 training steps, fine-tunes of 3 steps, 512 validation images on cifar10-mini):
one process with 2 threads does member 0 then member 1; two gloo processes with 1 thread each do one member
each, at the same time (the machine's 2 cores either way). The work is seeded by member and edge; the arms'
values still differ slightly here because 2 threads and 1 thread round float sums differently (the test in
tests/strategies/test_dap.py runs both at 1 thread and gets equal values).

Measured on 2 cores (``--edges 2``): 27.2 s per edge per member; 109.7 s one process, 107.1 s two gloo
processes: 1.02x. On the CPU torch already spreads one process over both cores, so processes only pay
off with one device each (torchrun on GPUs).

    python benchmarks/bench_dap.py [--edges 3]
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import tempfile
import time

import numpy as np
import torch


def run_units(member_ranks: list[int], edges: int, rank: int = 0, world: int = 1) -> dict:
    """Set up DAP (2 members) and run the first ``edges`` expansion units of this process's members."""
    from evonas.context import SearchContext
    from evonas.evaluators.cost import CostEvaluator
    from evonas.spaces.darts import DartsSpace
    from evonas.strategies.dap import DAP

    strategy = DAP(population=2)
    evaluator = CostEvaluator(metrics=("params",))
    space = DartsSpace()
    evaluator.setup(space)
    strategy.setup(space, evaluator.objectives, np.random.default_rng(0))
    ctx = SearchContext(evaluate=evaluator.evaluate)
    plan = strategy._plan()
    times = []
    for index, unit in enumerate(plan):
        if unit[0] == "expand" and unit[2] < edges:
            strategy.unit = index
            start = time.perf_counter()
            strategy.step(ctx)
            times.append(time.perf_counter() - start)
    return {"times": times, "matrices": [m.tolist() for m in strategy.matrices], "rank": rank}


def _worker(rank: int, world: int, port: int, edges: int, out: str) -> None:
    from evonas.runtime import distributed

    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    distributed.init_from_env("gloo")
    result = run_units([rank], edges, rank, world)
    with open(f"{out}/rank{rank}.json", "w") as handle:
        json.dump(result, handle)
    torch.distributed.destroy_process_group()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edges", type=int, default=3, help="expansion units per member (of 14)")
    args = parser.parse_args()
    torch.set_num_threads(2)
    start = time.perf_counter()
    single = run_units([0, 1], args.edges)
    single_wall = time.perf_counter() - start
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    import torch.multiprocessing as mp

    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        mp.spawn(_worker, args=(2, port, args.edges, out), nprocs=2, join=True)
        gloo_wall = time.perf_counter() - start
        ranks = [json.load(open(f"{out}/rank{r}.json")) for r in range(2)]
    same = all(np.allclose(ranks[r]["matrices"][r], single["matrices"][r]) for r in range(2))
    per_unit = np.median(single["times"])
    print(f"DAP CPU defaults, {args.edges} edges x 2 members, torch {torch.__version__}, "
          f"load average {os.getloadavg()[0]:.2f}")
    print(f"one edge's work per member (train + value its ops), one process, 2 threads: median {per_unit:.1f} s "
          f"(min {min(single['times']):.1f}, max {max(single['times']):.1f})")
    print(f"2 members: one process {single_wall:.1f} s; 2 gloo processes x 1 thread {gloo_wall:.1f} s "
          f"(start-up included): speed-up {single_wall / gloo_wall:.2f}x; values equal: {same} (threads differ)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
