"""Surrogate scoring speed: batches vs one genotype at a time, and a whole surrogate-driven search.

1. Genotypes scored per second by :class:`NB301Evaluator` (accuracy +
   runtime ensembles; sizes off, then on with the per-op cost table warm),
   one ``evaluate`` call per batch of N vs N calls of one genotype. The
   model folder is ``--nb301 DIR`` (the official v1.0 models) or, by
   default, the DEMO folder of :func:`build_demo_model_dir` (3 xgboost + 3
   LightGBM members, 150 / 100 trees: far smaller than the official
   ensembles, so absolute rates there will be lower; the ratio is the point).
2. The same for :class:`SurrogateEvaluator` (xgboost, 400 rounds, fitted on
   400 random genotypes of a synthetic objective).
3. End to end: NSGA-II through ``evonas.search`` (accuracy max vs params
   min), evaluations per second including the evolution loop, the memo
   cache and the archive; and the share of time spent inside the evaluator.

    python benchmarks/bench_surrogate.py [--nb301 DIR] [--n 512] [--budget 2000] [--pop-size 50]
"""
from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np

from evonas.evaluators.base import Objective, SelectObjectives
from evonas.evaluators.nb301 import NB301_OPS, NB301Evaluator, build_demo_model_dir
from evonas.evaluators.surrogate import SurrogateEvaluator, fit_surrogate
from evonas.loop import search
from evonas.spaces.darts import DartsSpace, sample_genotype
from evonas.strategies.pymoo_moo import PymooStrategy


def rate(evaluator, archs) -> tuple[float, float]:
    """(genotypes / s in one batch, genotypes / s one at a time)."""
    evaluator.evaluate(archs[:8])  # warm caches / lazy imports
    start = time.perf_counter()
    batch = evaluator.evaluate(archs)
    t_batch = time.perf_counter() - start
    start = time.perf_counter()
    single = [evaluator.evaluate([a])[0] for a in archs]
    t_single = time.perf_counter() - start
    assert single == batch, "batch and one-at-a-time results differ"
    return len(archs) / t_batch, len(archs) / t_single


class Timed:
    """Wraps an evaluator's ``_evaluate`` to measure the time spent inside it."""

    def __init__(self, evaluator) -> None:
        self.evaluator, self.seconds = evaluator, 0.0
        inner = evaluator._evaluate

        def timed(archs):
            start = time.perf_counter()
            try:
                return inner(archs)
            finally:
                self.seconds += time.perf_counter() - start

        evaluator._evaluate = timed


def run_search(evaluator, objectives, budget: int, pop_size: int) -> tuple[float, float, int]:
    timer = Timed(evaluator)
    select = SelectObjectives(evaluator, objectives)
    start = time.perf_counter()
    result = search(DartsSpace(), PymooStrategy(algorithm="nsga2", pop_size=pop_size), select, budget=budget,
                    seed=0, progress=False, plots=False)
    seconds = time.perf_counter() - start
    return len(result.individuals) / seconds, timer.seconds / seconds, len(result.individuals)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nb301", metavar="DIR", help="official model folder (default: a DEMO folder)")
    parser.add_argument("--n", type=int, default=512, help="genotypes per batch")
    parser.add_argument("--budget", type=int, default=2000)
    parser.add_argument("--pop-size", type=int, default=50)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    archs = [sample_genotype(rng, primitives=NB301_OPS) for _ in range(args.n)]
    space = DartsSpace()

    with tempfile.TemporaryDirectory() as workdir:
        model_dir = args.nb301 or build_demo_model_dir(workdir)
        what = "official models" if args.nb301 else "DEMO models (3+3 small members)"
        print(f"NB301Evaluator, {what}, batch of {args.n} vs {args.n} single calls (genotypes/s):")
        for cost in (False, True):
            evaluator = NB301Evaluator(model_dir, cost=cost)
            evaluator.setup(space)
            if cost:
                evaluator.evaluate(archs)  # sizes are cached per genotype: time the model part with a warm cache
            batch, single = rate(evaluator, archs)
            print(f"  cost={cost!s:5s}  batch {batch:9.0f}   one at a time {single:8.0f}   "
                  f"ratio {batch / single:5.1f}x")

        weights = rng.normal(0, 1, len(NB301_OPS))
        pairs = [(a, float(sum(weights[NB301_OPS.index(op)] for op, _ in a.normal + a.reduce)))
                 for a in (sample_genotype(rng, primitives=NB301_OPS) for _ in range(400))]
        start = time.perf_counter()
        model, report = fit_surrogate(pairs, space=space, objective="synthetic:max", seed=0)
        fit_seconds = time.perf_counter() - start
        surrogate = SurrogateEvaluator(model=model)
        surrogate.setup(space)
        batch, single = rate(surrogate, archs)
        print(f"SurrogateEvaluator (xgboost, fitted on 400 in {fit_seconds:.1f} s, held-out tau "
              f"{report['kendall_tau']:.2f}):\n  batch {batch:9.0f}   one at a time {single:8.0f}   "
              f"ratio {batch / single:5.1f}x")

        print(f"End-to-end NSGA-II (pop {args.pop_size}, budget {args.budget}) via evonas.search:")
        nb = NB301Evaluator(model_dir, cost=True)
        per_s, share, n = run_search(nb, [Objective("nb301_accuracy", "max"), Objective("params", "min")],
                                     args.budget, args.pop_size)
        print(f"  nb301 (accuracy max, params min)   {per_s:7.0f} evaluations/s over {n}; "
              f"{100 * share:4.1f}% of the time inside the evaluator")
        per_s, share, n = run_search(SurrogateEvaluator(model=model), [Objective("predicted_synthetic", "max")],
                                     args.budget, args.pop_size)
        print(f"  surrogate (single objective)       {per_s:7.0f} evaluations/s over {n}; "
              f"{100 * share:4.1f}% of the time inside the evaluator")


if __name__ == "__main__":
    main()
