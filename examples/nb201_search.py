"""Multi-objective search on NAS-Bench-201 in seconds: NSGA-II against random search, judged by the truth.

Every NAS-Bench-201 cell's CIFAR-10 accuracy after 12 training epochs ships
with evonas (the benchmark's table), so a search costs milliseconds per
evaluation and its result can be checked against the whole space. NSGA-II
(pymoo) and random search each evaluate the same budget of cells,
maximising validation accuracy and minimising parameters; the script
prints how far each front's hypervolume falls short of the true front's
(normalised by the whole table), the most accurate cell each found with its
*test* accuracy, and writes ``fronts.png`` (both fronts over all 15,625 cells and
the true front) and ``report.html`` (``evonas report`` of both runs: interactive fronts, progress, the two
runs side by side) beside each run's history, front and plots:

    python examples/nb201_search.py                    # ~10 s on 2 CPU cores
    python examples/nb201_search.py --budget 500 --seed 3
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import evonas
from evonas.core import Objective, hypervolume, non_dominated_mask, to_minimization
from evonas.evaluators.base import SelectObjectives
from evonas.evaluators.tabular import NB201TableEvaluator
from evonas.registry import strategies
from evonas.report import write_report
from evonas.spaces.nb201 import NB201Space
from evonas.spaces.nb201.cost import nb201_params
from evonas.viz.pareto import plot_fronts

OBJECTIVES = [Objective("accuracy", "max"), Objective("params", "min")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", type=int, default=300, help="distinct cells each search evaluates")
    parser.add_argument("--pop-size", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--run-dir", default="runs/nb201_search")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args()
    space, run_dir = NB201Space(), Path(args.run_dir)

    def fitness():
        return SelectObjectives(NB201TableEvaluator(dataset="cifar10"), OBJECTIVES)

    results = {
        "NSGA-II": evonas.search(space, strategies.create("nsga2", pop_size=args.pop_size), fitness(),
                                 budget=args.budget, seed=args.seed, run_dir=run_dir / "nsga2",
                                 progress=not args.quiet),
        "random search": evonas.search(space, strategies.create("random", batch_size=args.pop_size), fitness(),
                                       budget=args.budget, seed=args.seed, run_dir=run_dir / "random",
                                       progress=not args.quiet),
    }

    table = NB201TableEvaluator()
    table.setup(space)
    every = np.asarray([[table.table[space.key(a)]["cifar10_valid_val"], nb201_params(a)] for a in space.all_archs()])
    F = to_minimization(every, OBJECTIVES)
    bounds = dict(ideal=F.min(axis=0), nadir=F.max(axis=0))
    true_hv = hypervolume(every[non_dominated_mask(every, OBJECTIVES)], OBJECTIVES, **bounds)
    best = table.optimum()
    print(f"\nNAS-Bench-201, CIFAR-10 (12-epoch table): {len(every):,} cells; the most accurate reaches "
          f"{best['accuracy']:.2f} % validation / {best['test_accuracy']:.2f} % test accuracy")
    for label, result in results.items():
        values = result.values(result.individuals)
        top = max(result.individuals, key=lambda ind: ind.values["accuracy"])
        gap = 1 - hypervolume(values, OBJECTIVES, **bounds) / true_hv
        print(f"{label:>14}: {len(result.individuals)} cells, front of {len(result.front)}, hypervolume "
              f"{100 * gap:.2f} % short of the true front's; most accurate {top.values['accuracy']:.2f} % val / "
              f"{top.values['test_accuracy']:.2f} % test, {top.values['params'] / 1e6:.2f}M parameters "
              f"({top.key})")
    path = plot_fronts({label: r.values(r.individuals) for label, r in results.items()}, OBJECTIVES,
                       run_dir / "fronts.png", background=every,
                       title=f"NAS-Bench-201, {args.budget} evaluations each")
    print(f"plots: {path}; histories, fronts and progress plots in {run_dir}/nsga2 and {run_dir}/random")
    report = write_report([run_dir / "nsga2", run_dir / "random"], run_dir / "report.html",
                          title=f"NAS-Bench-201: NSGA-II and random search, {args.budget} evaluations each")
    print(f"report: {report} (interactive, offline: open it in a browser)")


if __name__ == "__main__":
    main()
