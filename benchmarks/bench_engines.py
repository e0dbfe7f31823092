"""Overhead of the evonas engine next to a plain pymoo loop, and the memoised path.

1. NSGA-II on the DARTS space's discrete encoding (32 integer genes) with a
   near-free evaluator (Hamming similarity to a hidden genotype, and the
   number of parameter-free ops), run (a) through ``evonas.search`` with the
   space's own operators, (b) through ``evonas.search`` with pymoo's SBX and
   polynomial mutation (``mutation="pm", crossover="sbx"``), both with
   key-based duplicate elimination, the memo cache and the archive, (c)
   as a plain ``pymoo.optimize.minimize`` loop with the same SBX / PM on the
   same vectors, and (d) through ``evonas.search`` with evonas' own NSGA-II
   on the integer rows (strategy ``nsga2-fast``: uniform crossover and
   random-reset mutation, no pymoo objects). Prints milliseconds per generation, the ratio (b) / (c) (the
   engine's own overhead) and end-to-end evaluations per second: medians of
   ``--repeats`` runs each. Imports are paid in a warm-up run first.
2. Evaluations per second of the memoised path (architectures already in the
   archive), and the same per-evaluation overhead next to one real supernet
   evaluation of a small DARTS candidate.

    python benchmarks/bench_engines.py [--pop-size 40] [--generations 25]
"""
from __future__ import annotations

import argparse
import gc
import time

import numpy as np

from evonas.evaluators.base import Evaluator, Objective
from evonas.loop import MemoisedEvaluation, search
from evonas.result import Archive
from evonas.spaces.darts import DartsSpace
from evonas.strategies.nsga2_fast import FastNSGA2
from evonas.strategies.pymoo_moo import PymooStrategy

FREE_OPS = {"max_pool_3x3", "avg_pool_3x3", "skip_connect"}


class CheapEvaluator(Evaluator):
    """Two near-free objectives on a genotype's encoding."""

    def __init__(self, target) -> None:
        super().__init__()
        self.target = target

    def __repr__(self) -> str:
        return "CheapEvaluator()"

    @property
    def objectives(self):
        return (Objective("similarity", "max"), Objective("free_ops", "min"))

    def _setup(self, space) -> None:
        self.vector = space.encode(self.target)

    def _evaluate(self, archs):
        out = []
        for arch in archs:
            free = sum(op in FREE_OPS for op, _ in arch.normal + arch.reduce)
            out.append({"similarity": float(np.mean(self.space.encode(arch) == self.vector)), "free_ops": free})
        return out


def plain_pymoo(space: DartsSpace, target_vector: np.ndarray, pop_size: int, generations: int, seed: int) -> float:
    from pymoo.algorithms.moo.nsga2 import NSGA2
    from pymoo.core.problem import Problem
    from pymoo.operators.crossover.sbx import SBX
    from pymoo.operators.mutation.pm import PM
    from pymoo.operators.repair.rounding import RoundingRepair
    from pymoo.operators.sampling.rnd import IntegerRandomSampling
    from pymoo.optimize import minimize

    lower, upper = space.bounds()
    # op genes are every second entry of each (input, op) pair in the discrete encoding
    free_ids = [i for i, name in enumerate(space._primitives) if name in FREE_OPS]

    class Plain(Problem):
        def __init__(self):
            super().__init__(n_var=len(lower), n_obj=2, xl=lower, xu=upper, vtype=int)

        def _evaluate(self, X, out, *args, **kwargs):
            X = np.rint(X).astype(int)
            similarity = (X == target_vector).mean(axis=1)
            free = np.isin(X[:, 1::2], free_ids).sum(axis=1)
            out["F"] = np.column_stack([-similarity, free])

    algorithm = NSGA2(pop_size=pop_size, sampling=IntegerRandomSampling(),
                      crossover=SBX(prob=0.9, eta=15, vtype=float, repair=RoundingRepair()),
                      mutation=PM(eta=20, vtype=float, repair=RoundingRepair()), eliminate_duplicates=True)
    start = time.perf_counter()
    minimize(Plain(), algorithm, ("n_gen", generations), seed=seed, verbose=False)
    return (time.perf_counter() - start) / generations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pop-size", type=int, default=40)
    parser.add_argument("--generations", type=int, default=25)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per configuration (the median is shown)")
    parser.add_argument("--memo-lookups", type=int, default=20000)
    parser.add_argument("--skip-supernet", action="store_true", help="do not time a real supernet evaluation")
    args = parser.parse_args()

    space = DartsSpace()
    target = space.sample(np.random.default_rng(123))
    budget = args.pop_size * args.generations

    def run_evonas(fast: bool = False, **operators):
        strategy = (FastNSGA2(pop_size=args.pop_size) if fast else
                    PymooStrategy(algorithm="nsga2", pop_size=args.pop_size, **operators))
        start = time.perf_counter()
        result = search(space, strategy, CheapEvaluator(target), budget=budget, seed=args.seed, progress=False)
        generations = 1 + max(ind.generation for ind in result.individuals)
        return result, (time.perf_counter() - start) / generations, generations

    # warm-up: imports and first-call costs are paid here, not in the timed runs
    search(space, PymooStrategy(algorithm="nsga2", pop_size=8, mutation="pm", crossover="sbx"),
           CheapEvaluator(target), budget=16, seed=1, progress=False)
    plain_pymoo(space, space.encode(target), 8, 2, args.seed)
    def median_of(runs, measure):
        times = []
        for _ in range(runs):
            gc.collect()  # each run starts from a collected heap (garbage-collection pauses vary with it)
            times.append(measure())
        return sorted(times)[len(times) // 2]

    result, _, generations = run_evonas()
    own_gen = median_of(args.repeats, lambda: run_evonas()[1])
    vector_gen = median_of(args.repeats, lambda: run_evonas(mutation="pm", crossover="sbx")[1])
    fast_gen = median_of(args.repeats, lambda: run_evonas(fast=True)[1])
    pymoo_gen = median_of(args.repeats, lambda: plain_pymoo(space, space.encode(target), args.pop_size,
                                                             args.generations, args.seed))
    evonas_gen = vector_gen
    print(f"NSGA-II, DARTS encoding, pop {args.pop_size}, near-free evaluator, {generations} generations")
    print(f"  evonas, space operators     {own_gen * 1e3:8.1f} ms/generation (genotype-level mutation / crossover)")
    print(f"  evonas, SBX + PM operators  {vector_gen * 1e3:8.1f} ms/generation")
    print(f"  plain pymoo, SBX + PM       {pymoo_gen * 1e3:8.1f} ms/generation")
    print(f"  evonas nsga2-fast           {fast_gen * 1e3:8.1f} ms/generation (its own operators on index rows; "
          f"{fast_gen / pymoo_gen:.2f}x plain pymoo)")
    print(f"  ratio evonas/pymoo (same operators) {vector_gen / pymoo_gen:6.2f}x  "
          f"({(vector_gen - pymoo_gen) / args.pop_size * 1e3:.3f} ms extra per evaluation); "
          f"end to end {args.pop_size / vector_gen:,.0f} evaluations/s")

    archive = Archive(result.objectives)
    memo = MemoisedEvaluation(space, CheapEvaluator(target), archive)
    memo.evaluator.setup(space)
    archs = [ind.arch for ind in result.individuals]
    memo(archs)  # fill the cache
    queries = [archs[i % len(archs)] for i in range(args.memo_lookups)]
    start = time.perf_counter()
    memo(queries)
    memo_rate = len(queries) / (time.perf_counter() - start)
    print(f"memoised path: {memo_rate:,.0f} cached evaluations/s ({1e6 / memo_rate:.1f} us each)")

    if not args.skip_supernet:
        import torch

        from evonas.evaluators.supernet import SupernetEvaluator

        torch.set_num_threads(2)
        supernet = SupernetEvaluator(supernet_kwargs=dict(C=8, layers=5), epochs=0, recalibration_images=256,
                                     val_images=512, progress=False)
        supernet.setup(space)
        sample = archs[:5]
        start = time.perf_counter()
        supernet.evaluate(sample)
        real = (time.perf_counter() - start) / len(sample)
        overhead = max(evonas_gen - pymoo_gen, 0) / args.pop_size
        print(f"one supernet evaluation (C=8, 5 cells, 256 BN + 512 val images): {real * 1e3:.0f} ms; "
              f"engine overhead per evaluation = {100 * overhead / real:.2f}% of it")


if __name__ == "__main__":
    main()
