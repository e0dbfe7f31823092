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

``--cheap-fitness``: searches judged end to end. The strategies above
search on the table itself; here they search on a *cheap fitness* (the
rows of :data:`CHEAP_FITNESSES`: NASWOT, the ``zc-ensemble``, a
weight-sharing supernet trained briefly on the CPU, a few-shot split of it), and the table only
judges what they find. Per seed and fitness, one fitness evaluator is set
up (its CPU time counted once: a supernet's training, the ensemble's
reference sample) and searched with, ``--cheap-budget`` evaluations each:

* **evolution** (regularized evolution on the fitness alone): the found
  cell is the evaluated cell of best fitness; judged by its CIFAR-10 *test*
  accuracy in the table (12 epochs);
* **random search**: as many random cells, scored by the same fitness (so
  the same CPU time, within the strategies' own overhead), the one of best
  fitness found; judged the same way. This is what the fitness is worth
  without a search strategy;
* **most params**: at the same CPU time as evolution's (setup + search),
  random cells whose parameter count is computed (closed form, a few
  microseconds a cell: the whole space fits in any fitness's time), the
  one with the most parameters found. This is the free proxy a fitness has
  to beat;
* **random cell**: the mean test accuracy of all cells of the table (no
  CPU time at all), for scale;
* two objectives, fitness (max) and parameters (min): **nsga2** on them,
  and the random search's cells; the *found front* is the evaluated cells
  that no other evaluated cell dominates by (fitness, parameters), and it
  is judged by the hypervolume of those cells' true (test accuracy,
  parameters), normalised by the whole table's ideal and nadir points (the
  whole table's own front, for scale, is reported too).

CPU time is this process' (``time.process_time``; run with
``OMP_NUM_THREADS=1``). Writes ``cheap.csv`` (one row per seed, fitness
and method) and ``cheap.json`` to ``--out``; prints the tables.

    python benchmarks/bench_search_quality.py --cheap-fitness [--seeds 3] [--cheap-budget 100] [--fitness naswot ...]
"""
from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

import numpy as np
from scipy.stats import mannwhitneyu

from evonas.core import Objective, hypervolume, non_dominated_mask, to_minimization
from evonas.evaluators.base import CompositeEvaluator, SelectObjectives
from evonas.evaluators.cost import CostEvaluator
from evonas.evaluators.tabular import NB201TableEvaluator
from evonas.loop import search
from evonas.registry import evaluators, strategies
from evonas.spaces.nb201 import NB201Space
from evonas.spaces.nb201.cost import nb201_params

SINGLE = ["random", "evolution", "ga", "deap-ga", "nsga2", "relative"]
MULTI = ["random", "nsga2", "nsga2-fast", "deap-nsga2", "agemoea", "nsga3", "smsemoa"]
MO_OBJECTIVES = [Objective("accuracy", "max"), Objective("params", "min")]
#: --cheap-fitness: the fitnesses searched with, by label: (an evaluator's registry name, its options); each is
#: created with ``seed=`` the run's seed too. Its first objective is the fitness. Add a row to judge another one.
CHEAP_FITNESSES = {
    "naswot": ("zero-cost", {"proxies": ["naswot"], "net_kwargs": {"C": 8, "N": 1}}),
    "zc-ensemble": ("zc-ensemble", {"net_kwargs": {"C": 8, "N": 1}}),
    "supernet": ("supernet", {"supernet_kwargs": {"C": 8, "N": 1}, "epochs": 10, "recalibration_images": 128,
                              "val_images": 256, "progress": False}),
    # Zhao et al.'s few-shot split on edge 0 (5 sub-supernets): the supernet above trained 5 epochs, then each
    # sub-supernet 1 epoch on its own cells (10 epochs of training in all, as the supernet row)
    "few-shot": ("few-shot-supernet", {"supernet_kwargs": {"C": 8, "N": 1}, "epochs": 5, "sub_epochs": 1,
                                       "split_edges": [0], "recalibration_images": 128, "val_images": 256,
                                       "progress": False}),
}
PARAMS = Objective("params", "min")


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


class _SetUpOnce(SelectObjectives):
    """Chosen objectives of an evaluator set up beforehand: a search does not set it up again (a supernet is
    trained once per seed and fitness, for every search that uses it)."""

    def _setup(self, space) -> None:
        if not self.inner.is_set_up_for(space):
            self.inner.setup(space)


def most_params_cell(space, seconds: float, rng: np.random.Generator):
    """The cell with the most parameters among random distinct cells counted within ``seconds`` of CPU time
    (closed-form count; stops early once every cell of the space was counted). Returns (cell, cells counted)."""
    cells = space.all_archs()
    best, most, counted, began = None, -1, 0, time.process_time()
    for i in rng.permutation(len(cells)):
        count, counted = nb201_params(cells[i]), counted + 1
        if count > most:
            best, most = cells[i], count
        if time.process_time() - began > seconds:
            break
    return best, counted


def cheap_fitness(args, out: Path) -> int:
    """The ``--cheap-fitness`` mode (see the module's docstring)."""
    space = NB201Space()
    table = NB201TableEvaluator(cost=False)
    table.setup(space)
    every = space.all_archs()
    truth = {space.key(a): (table.table[space.key(a)]["cifar10_test"], nb201_params(a)) for a in every}
    judged = [Objective("test_accuracy", "max"), PARAMS]
    F = to_minimization(np.asarray(list(truth.values())), judged)
    ideal, nadir = F.min(axis=0), F.max(axis=0)
    table_hv = hypervolume(np.asarray(list(truth.values())), judged, ideal=ideal, nadir=nadir)
    random_cell = float(np.mean([t for t, _ in truth.values()]))
    best_test = max(t for t, _ in truth.values())
    unknown = sorted(set(args.fitness) - set(CHEAP_FITNESSES))
    if unknown:
        raise SystemExit(f"unknown fitness {', '.join(unknown)}; valid: {', '.join(CHEAP_FITNESSES)}")

    def test_of(ind) -> float:
        return truth[ind.key][0]

    def front_hv(individuals, fitness: Objective) -> tuple[float, int]:
        values = np.asarray([[ind.values[fitness.name], ind.values["params"]] for ind in individuals])
        front = [ind for ind, keep in zip(individuals, non_dominated_mask(values, [fitness, PARAMS])) if keep]
        return hypervolume(np.asarray([truth[ind.key] for ind in front]), judged, ideal=ideal, nadir=nadir), len(front)

    rows, began = [], time.perf_counter()
    for seed in range(args.seeds):
        for label in args.fitness:
            name, options = CHEAP_FITNESSES[label]
            fitness_evaluator = evaluators.create(name, **options, seed=seed)
            fitness = fitness_evaluator.objectives[0]
            both = CompositeEvaluator([fitness_evaluator, CostEvaluator(metrics=("params",))])
            clock = time.process_time()
            both.setup(space)
            setup_cpu = time.process_time() - clock
            base = {"fitness": label, "seed": seed, "setup_cpu_s": round(setup_cpu, 2)}
            runs = {}
            for method, strategy, objectives in (
                    ("evolution", strategies.create("evolution", pop_size=args.pop_size), [fitness]),
                    ("random search", strategies.create("random", batch_size=args.pop_size), [fitness, PARAMS]),
                    ("nsga2", strategies.create("nsga2", pop_size=args.pop_size), [fitness, PARAMS])):
                clock = time.process_time()
                individuals = search(space, strategy, _SetUpOnce(both, objectives), budget=args.cheap_budget,
                                     seed=seed, progress=False, plots=False).individuals
                runs[method] = (individuals, setup_cpu + time.process_time() - clock)
            for method in ("evolution", "random search"):
                individuals, cpu = runs[method]
                found = min(individuals, key=lambda ind: fitness.to_min(ind.values[fitness.name]))
                rows.append({**base, "objectives": 1, "method": method, "evaluations": len(individuals),
                             "cpu_s": round(cpu, 2), "test_accuracy": test_of(found), "hypervolume": "",
                             "front": ""})
            for method in ("nsga2", "random search"):
                individuals, cpu = runs[method]
                volume, size = front_hv(individuals, fitness)
                rows.append({**base, "objectives": 2, "method": method, "evaluations": len(individuals),
                             "cpu_s": round(cpu, 2), "test_accuracy": "", "hypervolume": volume, "front": size})
            cell, counted = most_params_cell(space, runs["evolution"][1], np.random.default_rng(seed))
            rows.append({**base, "objectives": 1, "method": "most params", "evaluations": counted,
                         "cpu_s": round(runs["evolution"][1], 2), "test_accuracy": truth[space.key(cell)][0],
                         "hypervolume": "", "front": ""})
            print(f"  seed {seed} {label}: " + ", ".join(
                f"{r['method']} {r['test_accuracy'] if r['objectives'] == 1 else r['hypervolume']:.4g}"
                for r in rows if r["seed"] == seed and r["fitness"] == label), flush=True)
    write_csv(out / "cheap.csv", rows)

    def stats(values) -> dict:
        values = np.asarray(values, dtype=float)
        return {"median": float(np.median(values)), "min": float(values.min()), "max": float(values.max()),
                "values": values.tolist()}

    summary = {"seeds": args.seeds, "budget": args.cheap_budget, "pop_size": args.pop_size,
               "fitnesses": {label: list(CHEAP_FITNESSES[label]) for label in args.fitness},
               "random_cell_test_accuracy": random_cell, "best_test_accuracy": best_test,
               "table_hypervolume": table_hv, "results": {}, "seconds": round(time.perf_counter() - began, 1)}
    for label in args.fitness:
        mine = [r for r in rows if r["fitness"] == label]
        summary["results"][label] = {
            "setup_cpu_s": stats([r["setup_cpu_s"] for r in mine if r["method"] == "evolution"]),
            **{f"{m} test_accuracy": stats([r["test_accuracy"] for r in mine
                                            if r["method"] == m and r["objectives"] == 1])
               for m in ("evolution", "random search", "most params")},
            **{f"{m} cpu_s": stats([r["cpu_s"] for r in mine if r["method"] == m and r["objectives"] == 1])
               for m in ("evolution", "random search")},
            **{f"{m} hypervolume": stats([r["hypervolume"] for r in mine if r["method"] == m and r["objectives"] == 2])
               for m in ("nsga2", "random search")},
            "nsga2 cpu_s": stats([r["cpu_s"] for r in mine if r["method"] == "nsga2"])}
    (out / "cheap.json").write_text(json.dumps(summary, indent=1))

    print(f"\nNAS-Bench-201, searches on a cheap fitness judged by the table (CIFAR-10 test accuracy, 12 epochs); "
          f"{args.seeds} seeds, {args.cheap_budget} evaluations a search, population {args.pop_size}")
    print(f"a random cell: {random_cell:.2f} % on average; the table's best: {best_test:.2f} %; "
          f"the table's own front: hypervolume {table_hv:.4f}")
    print("found cell's test accuracy (%), median [min-max] over seeds; CPU minutes of each search incl. the "
          "fitness' setup (median)")
    print(f"{'fitness':<12} {'evolution':<20} {'random search':<20} {'most params':<20} {'CPU min (evo / random)':<24}"
          f" {'setup CPU s':>11}")
    for label, r in summary["results"].items():
        cells = [r[f"{m} test_accuracy"] for m in ("evolution", "random search", "most params")]
        print(f"{label:<12} " + " ".join(f"{c['median']:6.2f} [{c['min']:.2f}-{c['max']:.2f}]".ljust(20)
                                         for c in cells)
              + f" {r['evolution cpu_s']['median'] / 60:5.2f} / {r['random search cpu_s']['median'] / 60:5.2f}"
              + f"{'':11} {r['setup_cpu_s']['median']:8.1f}")
    print("two objectives (fitness, params): true hypervolume of the found front, median [min-max]")
    print(f"{'fitness':<12} {'nsga2':<24} {'random search':<24} {'CPU min (nsga2)':>15}")
    for label, r in summary["results"].items():
        cells = [r[f"{m} hypervolume"] for m in ("nsga2", "random search")]
        print(f"{label:<12} " + " ".join(f"{c['median']:.4f} [{c['min']:.4f}-{c['max']:.4f}]".ljust(24)
                                         for c in cells) + f" {r['nsga2 cpu_s']['median'] / 60:10.2f}")
    print(f"\n{summary['seconds']} s; results in {out} (cheap.csv, cheap.json)")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, help="default 20; with --cheap-fitness 3")
    parser.add_argument("--budgets", type=int, nargs="+", default=[50, 150, 500])
    parser.add_argument("--pop-size", type=int, default=20)
    parser.add_argument("--out", default="runs/bench_search_quality")
    parser.add_argument("--cheap-fitness", action="store_true",
                        help="search on cheap fitnesses, judge what they find by the table (see above)")
    parser.add_argument("--fitness", nargs="+", default=list(CHEAP_FITNESSES), metavar="LABEL",
                        help=f"--cheap-fitness: which of {', '.join(CHEAP_FITNESSES)} (default: all)")
    parser.add_argument("--cheap-budget", type=int, default=100, help="--cheap-fitness: evaluations a search")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.seeds is None:
        args.seeds = 3 if args.cheap_fitness else 20
    if args.cheap_fitness:
        return cheap_fitness(args, out)
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
