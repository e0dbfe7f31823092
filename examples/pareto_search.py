"""Multi-objective architecture search on the DARTS space, on a CPU in a few minutes.

Objectives: top-1 accuracy of each cell inside a weight-sharing supernet
(maximised; the supernet is trained on one half of the embedded
cifar10-mini data and candidates are scored on the other half after BN
recalibration) and the parameter count of the stand-alone CIFAR network the
cell builds (C=36, 20 cells; minimised). NSGA-II (pymoo) drives the
population; every evaluated cell, the front and the plots land in the run
directory:

    python examples/pareto_search.py                      # ~3-5 minutes on 2 cores
    python examples/pareto_search.py --budget 400 --supernet-epochs 50 --C 16 --layers 8 --device cuda

Resume a killed run with ``--resume`` (same flags). See README, "Search".
"""
from __future__ import annotations

import argparse
import logging

import evonas
from evonas.evaluators.base import CompositeEvaluator, Objective, SelectObjectives
from evonas.evaluators.cost import CostEvaluator
from evonas.evaluators.supernet import SupernetEvaluator
from evonas.spaces.darts import DartsSpace
from evonas.spaces.darts.drawing import plot_genotype
from evonas.strategies.pymoo_moo import PymooStrategy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", type=int, default=60, help="distinct cells to evaluate")
    parser.add_argument("--pop-size", type=int, default=12)
    parser.add_argument("--supernet-epochs", type=int, default=4)
    parser.add_argument("--C", type=int, default=8, help="supernet initial channels")
    parser.add_argument("--layers", type=int, default=5, help="supernet cells")
    parser.add_argument("--params-limit", type=float, default=None, help="constraint, e.g. 3.5e6")
    parser.add_argument("--dataset", default="cifar10-mini")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--run-dir", default="runs/pareto_search")
    parser.add_argument("--resume", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")

    space = DartsSpace()
    supernet = SupernetEvaluator(dataset=args.dataset, supernet_kwargs=dict(C=args.C, layers=args.layers),
                                 epochs=args.supernet_epochs, recalibration_images=256, val_images=768,
                                 checkpoint=f"{args.run_dir}/supernet.pt", seed=args.seed, device=args.device)
    cost = CostEvaluator(metrics=("params", "flops"), net_kwargs=dict(C=36, layers=20))
    constraints = [f"params <= {args.params_limit}"] if args.params_limit else []
    # cost first: a cell over the parameter limit is never sent to the supernet
    evaluator = SelectObjectives(CompositeEvaluator([cost, supernet], constraints=constraints),
                                 [Objective("accuracy", "max"), Objective("params", "min")])
    result = evonas.search(space, PymooStrategy(algorithm="nsga2", pop_size=args.pop_size), evaluator,
                           budget=args.budget, seed=args.seed, run_dir=args.run_dir, constraints=constraints,
                           resume=args.resume)

    initial = [ind for ind in result.feasible if ind.generation == 0]
    print(f"\n{len(result.individuals)} cells evaluated; front of {len(result.front)}:")
    print(f"{'gen':>4} {'supernet acc %':>15} {'params (M)':>11} {'MAdds (M)':>10}")
    for ind in result.front:
        print(f"{ind.generation:>4} {ind.values['accuracy']:>15.2f} {ind.values['params'] / 1e6:>11.3f} "
              f"{ind.values['flops'] / 1e6:>10.1f}")
    if initial:
        best0 = max(ind.values["accuracy"] for ind in initial)
        best = max(ind.values["accuracy"] for ind in result.feasible)
        print(f"best supernet accuracy: initial population {best0:.2f}%, after search {best:.2f}%")
    top = result.best["accuracy"]
    plot_genotype(top.arch, f"{args.run_dir}/best_accuracy_cell.png", title="highest supernet accuracy")
    print(f"best cell: {top.arch}\nplots and history in {args.run_dir}/")


if __name__ == "__main__":
    main()
