"""Do evonas' searches beat random search? Every strategy on the NAS-Bench-201 table, many seeds.

Single objective (CIFAR-10 validation accuracy after 12 epochs, from the
table shipped with evonas): each strategy runs ``--seeds`` searches of
``max(--budgets)`` evaluations; at every budget the best validation accuracy
found so far, the test accuracy of that cell and the regret to the table's
best test accuracy are recorded, and each strategy is compared with random
search by a one-sided Mann-Whitney U test (is it better?). Multi-objective
(accuracy vs parameters): the hypervolume of the feasible front at each
budget, normalised by the whole table's ideal and nadir points, against
random search the same way.

A strategy may stop before the budget (RelativeNAS once its population has
converged: no new architecture in five generations); its rows then hold
the best of the evaluations it made (column ``evaluations``).

Writes ``single.csv``, ``multi.csv`` (one row per strategy, seed, budget),
``summary.json`` and ``curves.png`` (median best-so-far and hypervolume per
evaluation, quartile bands) to ``--out``, and prints the tables.

    python benchmarks/bench_search_quality.py [--seeds 20] [--budgets 50 150 500] [--out runs/bench_search_quality]
"""
from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

import numpy as np
from scipy.stats import mannwhitneyu

from evonas.core import Objective, hypervolume, to_minimization
from evonas.evaluators.base import SelectObjectives
from evonas.evaluators.tabular import NB201TableEvaluator
from evonas.loop import search
from evonas.registry import strategies
from evonas.spaces.nb201 import NB201Space
from evonas.spaces.nb201.cost import nb201_params

SINGLE = ["random", "evolution", "ga", "deap-ga", "nsga2", "relative"]
MULTI = ["random", "nsga2", "deap-nsga2", "agemoea", "nsga3", "smsemoa"]
MO_OBJECTIVES = [Objective("accuracy", "max"), Objective("params", "min")]


def make_strategy(name: str, pop_size: int):
    if name == "random":
        return strategies.create("random", batch_size=pop_size)
    if name == "relative":  # RelativeNAS' slow-fast learning on the table's accuracy (no weight set): the budget
        return strategies.create(name, pop_size=pop_size, generations=10**6)  # ends it, or its convergence
    return strategies.create(name, pop_size=pop_size)


def run(name: str, seed: int, budget: int, pop_size: int, multi: bool):
    evaluator = NB201TableEvaluator(cost=multi)
    if multi:
        evaluator = SelectObjectives(evaluator, MO_OBJECTIVES)
    return search(NB201Space(), make_strategy(name, pop_size), evaluator, budget=budget, seed=seed,
                  progress=False).individuals


def single_rows(name, seed, individuals, budgets, best_test):
    rows, curve = [], np.maximum.accumulate([ind.values["accuracy"] for ind in individuals])
    for budget in budgets:
        first = individuals[:budget]
        top = max(first, key=lambda ind: ind.values["accuracy"])
        rows.append({"strategy": name, "seed": seed, "budget": budget, "evaluations": len(first),
                     "best_val": top.values["accuracy"],
                     "test_of_best": top.values["test_accuracy"],
                     "regret": best_test - top.values["test_accuracy"]})
    return rows, curve


def multi_rows(name, seed, individuals, budgets, ideal, nadir):
    values = np.asarray([[ind.values["accuracy"], ind.values["params"]] for ind in individuals])
    rows = [{"strategy": name, "seed": seed, "budget": budget,
             "hypervolume": hypervolume(values[:budget], MO_OBJECTIVES, ideal=ideal, nadir=nadir)}
            for budget in budgets]
    steps = np.unique(np.linspace(10, len(values), 25).astype(int))
    curve = [(int(n), hypervolume(values[:n], MO_OBJECTIVES, ideal=ideal, nadir=nadir)) for n in steps]
    return rows, curve


def compare(rows, metric: str, budgets, names) -> list[dict]:
    """Median (quartiles) per strategy and budget, and the one-sided Mann-Whitney p against random search."""
    table = []
    for budget in budgets:
        baseline = [r[metric] for r in rows if r["strategy"] == "random" and r["budget"] == budget]
        for name in names:
            mine = [r[metric] for r in rows if r["strategy"] == name and r["budget"] == budget]
            better = "less" if metric == "regret" else "greater"
            p = float("nan") if name == "random" else float(mannwhitneyu(mine, baseline, alternative=better).pvalue)
            q1, med, q3 = np.percentile(mine, [25, 50, 75])
            table.append({"budget": budget, "strategy": name, "metric": metric, "median": float(med),
                          "q1": float(q1), "q3": float(q3), "p_vs_random": p})
    return table


def write_csv(path: Path, rows: list[dict]) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def plot(out: Path, single_curves: dict, multi_curves: dict, optimum: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    for name, curves in single_curves.items():
        length = min(len(c) for c in curves)
        data = np.asarray([c[:length] for c in curves])
        x = np.arange(1, length + 1)
        left.plot(x, np.median(data, axis=0), label=name)
        left.fill_between(x, *np.percentile(data, [25, 75], axis=0), alpha=0.15)
    left.axhline(optimum, color="black", linestyle=":", label="table's best")
    left.set(xscale="log", xlabel="evaluations", ylabel="best CIFAR-10 validation accuracy (%)",
             title="NAS-Bench-201 (12 epochs): best found, median and quartiles")
    left.set_ylim(optimum - 4, optimum + 0.5)
    left.legend()
    for name, curves in multi_curves.items():
        xs = [n for n, _ in curves[0]]
        data = np.asarray([[v for _, v in c] for c in curves])
        right.plot(xs, np.median(data, axis=0), label=name)
        right.fill_between(xs, *np.percentile(data, [25, 75], axis=0), alpha=0.15)
    right.set(xlabel="evaluations", ylabel="hypervolume (normalised by the whole table)",
              title="accuracy vs parameters")
    right.legend()
    fig.tight_layout()
    fig.savefig(out / "curves.png", dpi=120)
    plt.close(fig)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--budgets", type=int, nargs="+", default=[50, 150, 500])
    parser.add_argument("--pop-size", type=int, default=20)
    parser.add_argument("--out", default="runs/bench_search_quality")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    budgets, top = sorted(args.budgets), max(args.budgets)

    table = NB201TableEvaluator()
    table.setup(NB201Space())
    optimum = table.optimum()
    space = NB201Space()
    every = space.all_archs()
    every_values = np.asarray([[table.table[space.key(a)]["cifar10_valid_val"], nb201_params(a)] for a in every])
    F = to_minimization(every_values, MO_OBJECTIVES)  # the whole table's ideal / nadir fix the hypervolume's scale
    ideal, nadir = F.min(axis=0), F.max(axis=0)

    began = time.perf_counter()
    single, single_curves = [], {}
    for name in SINGLE:
        for seed in range(args.seeds):
            rows, curve = single_rows(name, seed, run(name, seed, top, args.pop_size, False), budgets,
                                      optimum["best_test_accuracy"])
            single += rows
            single_curves.setdefault(name, []).append(curve)
    multi, multi_curves = [], {}
    for name in MULTI:
        for seed in range(args.seeds):
            rows, curve = multi_rows(name, seed, run(name, seed, top, args.pop_size, True), budgets, ideal, nadir)
            multi += rows
            multi_curves.setdefault(name, []).append(curve)
    write_csv(out / "single.csv", single)
    write_csv(out / "multi.csv", multi)
    summary = {"optimum": optimum, "seeds": args.seeds, "budgets": budgets, "pop_size": args.pop_size,
               "single": compare(single, "best_val", budgets, SINGLE) + compare(single, "regret", budgets, SINGLE),
               "multi": compare(multi, "hypervolume", budgets, MULTI),
               "seconds": round(time.perf_counter() - began, 1)}
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    plot(out, single_curves, multi_curves, optimum["accuracy"])

    print(f"NAS-Bench-201, CIFAR-10, 12-epoch table; {args.seeds} seeds; table's best validation "
          f"{optimum['accuracy']:.2f} %, best test {optimum['best_test_accuracy']:.2f} %")
    print(f"{'budget':>6}  {'strategy':<11} {'best val (median, IQR)':<26} {'regret (test)':<14} {'p vs random':>11}")
    for row in summary["single"]:
        if row["metric"] != "best_val":
            continue
        regret = next(r for r in summary["single"] if r["metric"] == "regret" and r["budget"] == row["budget"]
                      and r["strategy"] == row["strategy"])
        p = "" if np.isnan(row["p_vs_random"]) else f"{row['p_vs_random']:.2g}"
        print(f"{row['budget']:>6}  {row['strategy']:<11} {row['median']:6.2f} ({row['q1']:.2f}-{row['q3']:.2f})"
              f"{'':5} {regret['median']:6.2f}{'':8} {p:>11}")
    print("\naccuracy vs parameters: hypervolume (median, IQR), p vs random")
    for row in summary["multi"]:
        p = "" if np.isnan(row["p_vs_random"]) else f"{row['p_vs_random']:.2g}"
        print(f"{row['budget']:>6}  {row['strategy']:<11} {row['median']:.4f} ({row['q1']:.4f}-{row['q3']:.4f})"
              f"   {p:>11}")
    print(f"\n{summary['seconds']} s; results in {out} (single.csv, multi.csv, summary.json, curves.png)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
