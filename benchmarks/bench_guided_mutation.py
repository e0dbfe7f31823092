"""Do the learned / guided mutations help evolution? The space's random mutation against 'gradient' (its
default 'taylor' method: the best of 8 random children by the first-order estimate of the loss change at the
parent's path), 'gradient-adam' (a few Adam steps on softmax architecture weights) and 'perturbation' (DAP's
valuation: the op whose removal hurts most), at equal evaluations.

A supernet (``--space darts``: C=8, 5 cells; ``nb201``: C=16, N=2) is
trained once on cifar10-mini (cached in ``--out``); then ``--strategy``
(regularized ``evolution`` or pymoo's ``ga``) searches the space with the
supernet's top-1 as fitness, ``--seeds`` times per mutation. Prints, per
mutation, the median best fitness at the end and the evaluations each run
needed to reach the plain runs' median final best (the target), one-sided
Mann-Whitney tests against the plain runs, the share of children the guided
operator made itself (the rest fell back to the space's mutation), wall
time and, on nb201, the table's CIFAR-10 test accuracy of each run's best
cell. Writes ``runs.csv``, ``summary.json`` and ``curves.png``.

Measured on 2 cores (median best supernet top-1; runs reaching the plain runs' median):

    darts, evolution, 30-epoch supernet, 10 seeds, budget 60: random 31.74 % (5/10), gradient 32.71 % (8/10;
        final best p=0.022), 28 s vs 176 s a run
    darts, evolution, 8-epoch supernet, 3 seeds, budget 40:  random 25.00 % (2/3), gradient-adam 24.41 % (1/3),
                                                             perturbation 25.39 % (2/3)
    darts, evolution, 30-epoch supernet, 5 seeds, budget 60: random 31.84 % (3/5), gradient-adam 30.27 % (1/5),
                                                             perturbation 30.86 % (1/5)
    darts, ga, 8-epoch supernet, 3 seeds, budget 40:         random 25.59 % (2/3), perturbation 24.41 % (1/3)

    python benchmarks/bench_guided_mutation.py [--space darts|nb201] [--strategy evolution|ga] [--seeds 3]
        [--budget 40] [--supernet-epochs 8] [--mutations space-mutation,gradient,gradient-adam,perturbation]
        [--out runs/bench_guided_mutation]
"""
from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np
from scipy.stats import mannwhitneyu

import evonas
from evonas.evaluators.supernet import SupernetEvaluator
from evonas.evaluators.tabular import NB201TableEvaluator
from evonas.registry import operators, strategies
from evonas.runtime.atomic import atomic_write_csv
from evonas.spaces.darts import DartsSpace
from evonas.spaces.nb201 import NB201Space

MUTATIONS = ("space-mutation", "gradient", "gradient-adam", "perturbation")


def make_mutation(name: str, args):
    if name == "gradient":
        return operators.create("gradient", candidates=args.candidates, images=args.images)
    if name == "gradient-adam":
        return operators.create("gradient", method="adam", steps=args.steps, learning_rate=args.learning_rate)
    if name == "perturbation":
        return operators.create("perturbation", batches=args.batches)
    return name


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strategy", choices=("evolution", "ga"), default="evolution")
    parser.add_argument("--space", choices=("darts", "nb201"), default="darts",
                        help="nb201: the NAS-Bench-201 supernet (C=16, N=2); each run's best cell is also looked "
                             "up in the table (CIFAR-10 test accuracy after 12 epochs)")
    parser.add_argument("--mutations", default=",".join(MUTATIONS))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=0, help="seeds first-seed .. first-seed + seeds - 1")
    parser.add_argument("--budget", type=int, default=40)
    parser.add_argument("--supernet-epochs", type=int, default=8)
    parser.add_argument("--candidates", type=int, default=8, help="gradient (taylor): candidate children per parent")
    parser.add_argument("--images", type=int, default=256, help="gradient (taylor): validation images per gradient")
    parser.add_argument("--steps", type=int, default=3, help="gradient-adam: Adam steps per child")
    parser.add_argument("--learning-rate", type=float, default=0.3,
                        help="gradient-adam: Adam's, on architecture weights")
    parser.add_argument("--batches", type=int, default=2, help="perturbation: validation batches per valuation")
    parser.add_argument("--out", default="runs/bench_guided_mutation")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    space = DartsSpace() if args.space == "darts" else NB201Space()
    supernet_kwargs = {"C": 8, "layers": 5} if args.space == "darts" else {"C": 16, "N": 2}
    evaluator = SupernetEvaluator(epochs=args.supernet_epochs, supernet_kwargs=supernet_kwargs,
                                  recalibration_images=256, val_images=512, checkpoint=str(out / "supernet.pt"),
                                  progress=False)
    table = NB201TableEvaluator(cost=False) if args.space == "nb201" else None
    if table is not None:
        table.setup(space)
    began = time.perf_counter()
    evaluator.setup(space)
    print(f"supernet: {args.supernet_epochs} epochs ({time.perf_counter() - began:.0f} s, cached in {out}); "
          f"{args.strategy}, budget {args.budget}, {args.seeds} seeds")
    rows, curves, seconds, own_share, tested = [], {}, {}, {}, {}
    for name in args.mutations.split(","):
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            mutation = make_mutation(name, args)
            options = {"pop_size": 10, "mutation": mutation}
            if args.strategy == "evolution":
                options["sample_size"] = 3
            strategy = strategies.create(args.strategy, **options)
            start = time.perf_counter()
            result = evonas.search(space, strategy, evaluator, budget=args.budget, seed=seed, progress=False)
            seconds.setdefault(name, []).append(time.perf_counter() - start)
            made = getattr(mutation, "refined", getattr(mutation, "guided", None))
            if made is not None:
                own_share.setdefault(name, []).append(made / max(made + mutation.fallbacks, 1))
            found = result.individuals[:args.budget]
            best = np.maximum.accumulate([ind.values["accuracy"] for ind in found])
            curves.setdefault(name, []).append(best)
            rows += [{"mutation": name, "seed": seed, "evaluation": i + 1, "best_accuracy": round(float(b), 3)}
                     for i, b in enumerate(best)]
            truth = ""
            if table is not None:  # the table's verdict on the cell the supernet ranked best
                champion = max(found, key=lambda ind: ind.values["accuracy"]).arch
                tested.setdefault(name, []).append(table.evaluate([champion])[0]["test_accuracy"])
                truth = f", table test accuracy {tested[name][-1]:.2f} %"
            print(f"  {name} seed {seed}: best {best[-1]:.2f} %{truth} ({seconds[name][-1]:.0f} s)", flush=True)
    atomic_write_csv(out / "runs.csv", rows)
    baseline = "space-mutation" if "space-mutation" in curves else next(iter(curves))
    target = float(np.median([c[-1] for c in curves[baseline]]))
    summary = {"space": args.space, "strategy": args.strategy, "target_top1": target, "seeds": args.seeds,
               "budget": args.budget, "supernet_epochs": args.supernet_epochs}
    print(f"target: the {baseline} runs' median final best, {target:.2f} % supernet top-1")
    for name, runs in curves.items():
        reach = [int(np.argmax(c >= target)) + 1 if (c >= target).any() else None for c in runs]
        finals = [float(c[-1]) for c in runs]
        summary[name] = {"median_final_best": float(np.median(finals)), "evaluations_to_target": reach,
                         "median_evaluations_to_target": _median_reach(reach, args.budget),
                         "seconds_per_run": float(np.median(seconds[name])),
                         "own_children_share": float(np.mean(own_share[name])) if name in own_share else None}
        share = f"; {np.mean(own_share[name]):.0%} of children its own" if name in own_share else ""
        if name in tested:
            summary[name]["median_table_test_accuracy"] = float(np.median(tested[name]))
            share += f"; the best cells' median table test accuracy {np.median(tested[name]):.2f} %"
        test = ""
        if name != baseline:  # one-sided: does this mutation find better cells / reach the target sooner?
            p_best = mannwhitneyu(finals, [c[-1] for c in curves[baseline]], alternative="greater").pvalue
            p_reach = mannwhitneyu(_reach_or_never(reach, args.budget),
                                   _reach_or_never(summary[baseline]["evaluations_to_target"], args.budget),
                                   alternative="less").pvalue
            summary[name].update(p_final_best_greater=float(p_best), p_reach_sooner=float(p_reach))
            test = f"; Mann-Whitney vs {baseline}: final best p={p_best:.3f}, reach sooner p={p_reach:.3f}"
        print(f"{name:<15} median final best {np.median(finals):.2f} %; evaluations to the target {reach} "
              f"(median {summary[name]['median_evaluations_to_target']}); {np.median(seconds[name]):.0f} s per run"
              f"{share}{test}")
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    plot_curves(out / "curves.png", curves, target, f"{args.strategy} on the {args.space} supernet, "
                f"{args.seeds} seeds")
    print(f"wrote {out / 'runs.csv'}, {out / 'summary.json'}, {out / 'curves.png'}")
    return 0


def plot_curves(path: Path, curves: dict, target: float, title: str) -> None:
    """Median best-so-far supernet top-1 per mutation over evaluations (band: the runs' quartiles)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from evonas.viz.pareto import save_figure

    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for name, runs in curves.items():
        data = np.asarray([c[:min(map(len, runs))] for c in runs])
        x = np.arange(1, data.shape[1] + 1)
        ax.plot(x, np.median(data, axis=0), label=name)
        ax.fill_between(x, *np.percentile(data, [25, 75], axis=0), alpha=0.2)
    ax.axhline(target, color="grey", linestyle=":", label="target")
    ax.set(xlabel="evaluations", ylabel="best supernet top-1 so far (%)", title=title)
    ax.legend()
    save_figure(fig, path)


def _reach_or_never(reach: list, budget: int) -> list[int]:
    """Evaluations to the target, a run that never reached it counted as budget + 1."""
    return [budget + 1 if r is None else r for r in reach]


def _median_reach(reach: list, budget: int):
    """The median evaluations to the target (None: more than half the runs never reached it)."""
    median = float(np.median(_reach_or_never(reach, budget)))
    return None if median > budget else median


if __name__ == "__main__":
    raise SystemExit(main())
