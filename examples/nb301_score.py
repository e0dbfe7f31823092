"""Score published DARTS cells with NAS-Bench-301, then search accuracy vs size with NSGA-II.

Fitness source, in order of preference:

* ``--nb301 DIR``: the official NAS-Bench-301 v1.0 models (the unzipped
  ``nb_models_1.0`` folder; download instructions in
  ``evonas/evaluators/nb301.py``). Numbers are NB301 predictions of CIFAR-10
  validation accuracy for the benchmark's training pipeline.
* ``--history CSV --objective NAME``: a surrogate fitted here on an evonas
  ``history.csv`` of the DARTS space (its held-out Kendall tau is printed).
* nothing: a DEMO model folder in the official layout, fitted on an
  invented formula. It exercises the whole pipeline on a CPU in well under a
  minute, and its numbers mean nothing; every line says so.

Sizes (``params``, ``flops`` = multiply-adds) are always real: counted by
evonas on the DARTS evaluation network (C=36, 20 cells, CIFAR-10, no
auxiliary head).

    python examples/nb301_score.py                            # demo, < 1 min on 2 cores
    python examples/nb301_score.py --nb301 ~/nb_models_1.0 --budget 1000 --pop-size 50
    python examples/nb301_score.py --history runs/x/history.csv --objective accuracy:max
"""
from __future__ import annotations

import argparse
import logging
import tempfile
import time

from evonas.errors import EvonasError
from evonas.evaluators.base import CompositeEvaluator, Objective, SelectObjectives
from evonas.evaluators.nb301 import NB301Evaluator, build_demo_model_dir, check_nb301_genotype
from evonas.loop import search
from evonas.spaces.darts import DartsSpace, get_genotype
from evonas.strategies.pymoo_moo import PymooStrategy

PUBLISHED = ["DARTS_V1", "DARTS_V2", "PC_DARTS", "PDARTS", "DAP_BEST_EVOLUTIONARY", "DAP_BEST_SUPERNET",
             "DAP_EVAL_BEST_EVOLUTIONARY", "STACNAS_C10", "RELATIVENAS"]
# NB301 v1.0 values a paper reports for its own cells (PertNAS README, normal = reduce cell).
REPORTED = {"DAP_BEST_EVOLUTIONARY": 94.71, "DAP_BEST_SUPERNET": 94.58}


def _fitness(args, workdir: str):
    """(evaluator reporting accuracy-like values + params, accuracy column name, label for every number)."""
    if args.nb301:
        return NB301Evaluator(args.nb301, cost=True), "nb301_accuracy", "NAS-Bench-301 v1.0 prediction"
    if args.history:
        from evonas.evaluators.cost import CostEvaluator
        from evonas.evaluators.surrogate import SurrogateEvaluator, fit_surrogate

        model, report = fit_surrogate(args.history, space=DartsSpace(), objective=args.objective, seed=args.seed)
        surrogate = SurrogateEvaluator(model=model)
        name = surrogate.objectives[0].name
        label = (f"surrogate of {model.objective} fitted on {report['n']} architectures "
                 f"(held-out Kendall tau {report['kendall_tau']:.2f})")
        return CompositeEvaluator([surrogate, CostEvaluator(metrics=("params", "flops"))]), name, label
    build_demo_model_dir(workdir, seed=args.seed)
    return NB301Evaluator(workdir, cost=True), "nb301_accuracy", "DEMO surrogate (made-up formula, NOT NAS-Bench-301)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nb301", metavar="DIR", help="unzipped NAS-Bench-301 model folder (nb_models_1.0)")
    parser.add_argument("--history", metavar="CSV", help="evonas history.csv to fit a surrogate on")
    parser.add_argument("--objective", default="accuracy:max", help="history column to learn (with --history)")
    parser.add_argument("--budget", type=int, default=300, help="distinct cells the search evaluates")
    parser.add_argument("--pop-size", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    with tempfile.TemporaryDirectory(prefix="evonas-nb301-demo-") as workdir:
        start = time.perf_counter()
        evaluator, acc, label = _fitness(args, workdir)
        space = DartsSpace()
        evaluator.setup(space)
        print(f"Accuracy column {acc!r}: {label}.")
        print("params / flops: counted by evonas on the C=36, 20-cell CIFAR-10 network (no auxiliary head).\n")

        print(f"{'genotype':28s} {acc:>16s} {'runtime s':>10s} {'params M':>9s} {'MMAdds':>8s}  note")
        for name in PUBLISHED:
            try:
                genotype = check_nb301_genotype(get_genotype(name))
            except EvonasError as exc:
                print(f"{name:28s} {'-':>16s} {'-':>10s} {'-':>9s} {'-':>8s}  not scorable: {exc}")
                continue
            row = evaluator.evaluate([genotype])[0]
            note = f"paper reports {REPORTED[name]} on NB301 v1.0" if name in REPORTED else ""
            runtime = f"{row['nb301_runtime']:10.0f}" if "nb301_runtime" in row else f"{'-':>10s}"
            print(f"{name:28s} {row[acc]:16.2f} {runtime} {row['params'] / 1e6:9.3f} {row['flops'] / 1e6:8.1f}  {note}")

        objectives = [Objective(acc, "max"), Objective("params", "min")]
        result = search(space, PymooStrategy(algorithm="nsga2", pop_size=args.pop_size),
                        SelectObjectives(evaluator, objectives), budget=args.budget, seed=args.seed,
                        progress=False)
        front = sorted(result.front, key=lambda ind: ind.values["params"])
        shown = front[::max(1, -(-len(front) // 12))]
        print(f"\nNSGA-II, {len(result.individuals)} cells evaluated ({acc} max vs params min); "
              f"Pareto front of {len(front)} cells, {len(shown)} shown ({label}):")
        print(f"{'params M':>9s} {acc:>16s}  genotype key")
        for ind in shown:
            print(f"{ind.values['params'] / 1e6:9.3f} {ind.values[acc]:16.2f}  {ind.key[:90]}")
        print(f"\n{time.perf_counter() - start:.1f} s in total. Reminder: accuracy column = {label}.")


if __name__ == "__main__":
    main()
