"""Predictor-guided evolution (``screen=``) against the same strategies without it, on the NAS-Bench-201 table.

Single objective (CIFAR-10 validation accuracy after 12 epochs, the table
shipped with evonas): regularized evolution with and without a
:class:`~evonas.screening.PredictorScreen`, ``--seeds`` runs each; the
figure is the number of evaluations until the table's best validation
accuracy is found (a run that does not find it within its budget counts as
twice that budget: a lower bound, which can only hurt the screened side's
test, since plain evolution gets the larger budget). Goal: the screened
median at most half the plain median, and a one-sided Mann-Whitney U test
(scipy) of "screened needs fewer" at p < 0.05.

Two objectives (accuracy vs parameters): NSGA-II with screening at
``--mo-budget`` evaluations against plain NSGA-II at ``--mo-baseline-budget``,
hypervolume normalised by the whole table's ideal and nadir points (as in
``bench_search_quality.py``). Goal: the screened median at least the plain
one (and the one-sided test of "screened is smaller" is reported, with plain
NSGA-II's hypervolume at ``--mo-budget``, from the same runs, for scale).

NSGA-II's screen takes the parameter count from the ``analytic-cost``
evaluator (``--mo-features``: an objective that a feature evaluator
measures is not predicted) and orders its candidates by predicted
hypervolume gain (``--mo-order``); its other settings are the evolution
screen's (``--mo-candidates``, ``--mo-pop-size`` override them).

Both are measured in the same run and printed with their goals; the
screen's settings are flags.

``--oracle-noise 0,1,2,4`` adds a diagnostic to the two-objective part:
the same NSGA-II screen with its accuracy regressor replaced by the
table's own accuracy plus a normal error of that many points per cell
(:class:`NoisyOracleScreen`), with how well each noise level ranks 500
random cells (Kendall tau, all and the best 30 %): how good an accuracy
predictor has to be for the goal. ``summary.json`` goes to ``--out``.

    python benchmarks/bench_predictor.py [--seeds 20] [--budget 400] [--mo-budget 100] [--mo-baseline-budget 300]
    python benchmarks/bench_predictor.py --skip single --no-quality --oracle-noise 0,1,1.5,2,3,4
"""
from __future__ import annotations

import argparse
import json
import time
import zlib
from pathlib import Path

import numpy as np
from scipy.stats import mannwhitneyu

from evonas.core import Objective, hypervolume, to_minimization
from evonas.evaluators.base import SelectObjectives
from evonas.evaluators.tabular import NB201TableEvaluator
from evonas.loop import search
from evonas.registry import strategies
from evonas.screening import PredictorScreen
from evonas.spaces.nb201 import NB201Space
from evonas.spaces.nb201.cost import nb201_params

MO_OBJECTIVES = [Objective("accuracy", "max"), Objective("params", "min")]


def evaluations_to_optimum(individuals, optimum: float, budget: int) -> int:
    """1-based index of the first evaluation reaching ``optimum``; ``2 * budget`` when none does."""
    for ind in individuals:
        if ind.values["accuracy"] >= optimum:
            return ind.index + 1
    return 2 * budget


def single_objective(args, screen: dict, optimum: float) -> dict:
    out = {}
    for label, option, budget in (("plain", None, args.baseline_budget), ("screened", screen, args.budget)):
        began, hits = time.perf_counter(), []
        for seed in range(args.seeds):
            strategy = strategies.create("evolution", pop_size=args.pop_size, screen=option)
            result = search(NB201Space(), strategy, NB201TableEvaluator(cost=False), budget=budget, seed=seed,
                            progress=False, plots=False)
            hits.append(evaluations_to_optimum(result.individuals, optimum, budget))
        out[label] = {"evaluations_to_optimum": hits, "median": float(np.median(hits)),
                      "found": int(sum(h <= budget for h in hits)), "budget": budget,
                      "seconds": round(time.perf_counter() - began, 1)}
    p = mannwhitneyu(out["screened"]["evaluations_to_optimum"], out["plain"]["evaluations_to_optimum"],
                     alternative="less").pvalue
    ratio = out["screened"]["median"] / out["plain"]["median"]
    out["ratio"], out["p"] = float(ratio), float(p)
    out["goal_met"] = bool(ratio <= 0.5 and p < 0.05)
    return out


class NoisyOracleScreen(PredictorScreen):
    """A diagnostic, not a method: the NSGA-II screen with its accuracy regressor replaced by the table's own
    validation accuracy plus an error of ``noise`` points (normal, drawn once per cell from ``noise_seed``: the
    same cell is always mispredicted the same way within a run); the parameter count is exact. Sweeping
    ``noise`` gives the hypervolume a screen reaches as a function of how well its predictor ranks cells."""

    def __init__(self, *, noise: float = 0.0, noise_seed: int = 0, **options) -> None:
        super().__init__(**options)
        self._accuracy: dict | None = None

    def __getstate__(self) -> dict:
        return {**super().__getstate__(), "_accuracy": None}  # (the table is read again on use)

    def predict(self, archs):
        if self._accuracy is None:
            table = NB201TableEvaluator(cost=False)
            table.setup(self.space)
            self._accuracy = {key: row["cifar10_valid_val"] for key, row in table.table.items()}
        keys = [self.space.key(a) for a in archs]
        accuracy = np.asarray([self._accuracy[k] for k in keys]) + self.config["noise"] * oracle_error(
            keys, self.config["noise_seed"])
        return to_minimization(np.column_stack([accuracy, [nb201_params(a) for a in archs]]), MO_OBJECTIVES)


def oracle_error(keys, seed: int) -> np.ndarray:
    """One standard normal draw per cell key, the same for a key and a seed whenever it is asked for."""
    return np.asarray([np.random.default_rng([seed, zlib.crc32(k.encode())]).standard_normal() for k in keys])


def table_bounds():
    """Ideal and nadir (minimisation form) of the whole table, accuracy and parameters."""
    space, table = NB201Space(), NB201TableEvaluator()
    table.setup(space)
    every = space.all_archs()
    values = np.asarray([[table.table[space.key(a)]["cifar10_valid_val"], nb201_params(a)] for a in every])
    F = to_minimization(values, MO_OBJECTIVES)
    return F.min(axis=0), F.max(axis=0)


def nsga2_runs(args, screen, budget: int, pop_size: int, bounds) -> tuple[list[float], list[float]]:
    """Hypervolumes of ``--seeds`` NSGA-II runs of ``budget`` evaluations over the table (``screen``: None, a
    dict of screen options, or a function of the seed giving a screen), and of their first ``--mo-budget``."""
    ideal, nadir = bounds
    volumes, early = [], []
    for seed in range(args.seeds):
        option = screen(seed) if callable(screen) else screen
        strategy = strategies.create("nsga2", pop_size=pop_size, screen=option)
        evaluator = SelectObjectives(NB201TableEvaluator(cost=True), MO_OBJECTIVES)
        result = search(NB201Space(), strategy, evaluator, budget=budget, seed=seed, progress=False, plots=False)
        found = np.asarray([[i.values["accuracy"], i.values["params"]] for i in result.individuals[:budget]])
        volumes.append(hypervolume(found, MO_OBJECTIVES, ideal=ideal, nadir=nadir))
        early.append(hypervolume(found[:args.mo_budget], MO_OBJECTIVES, ideal=ideal, nadir=nadir))
    return volumes, early


def multi_objective(args, screen: dict) -> dict:
    bounds, out = table_bounds(), {}
    for label, option, budget in (("plain", None, args.mo_baseline_budget), ("screened", screen, args.mo_budget)):
        began = time.perf_counter()
        volumes, early = nsga2_runs(args, option, budget,
                                    args.pop_size if option is None else (args.mo_pop_size or args.pop_size), bounds)
        out[label] = {"hypervolume": volumes, "median": float(np.median(volumes)), "budget": budget,
                      "seconds": round(time.perf_counter() - began, 1)}
        if label == "plain":  # the same runs' first --mo-budget evaluations: what the screen adds at that budget
            out["plain_at_screened_budget"] = {"hypervolume": early, "median": float(np.median(early)),
                                               "budget": args.mo_budget}
    p = mannwhitneyu(out["screened"]["hypervolume"], out["plain"]["hypervolume"], alternative="less").pvalue
    out["p_screened_smaller"] = float(p)
    out["goal_met"] = bool(out["screened"]["median"] >= out["plain"]["median"])
    return out


def oracle_sweep(args, screen: dict, plain_median: float) -> dict:
    """For each ``--oracle-noise`` level: how well the noisy oracle ranks 500 random cells (Kendall tau, all and
    the best 30 %, the held-out cells of :func:`predictor_quality`) and the hypervolume NSGA-II screened by it
    reaches at ``--mo-budget``, against plain NSGA-II's median at ``--mo-baseline-budget``."""
    from scipy.stats import kendalltau

    space, bounds, out = NB201Space(), table_bounds(), {}
    rng = np.random.default_rng(12345)
    test = [space.sample(rng) for _ in range(500)]
    oracle = NoisyOracleScreen(warmup=2).setup(space, MO_OBJECTIVES)
    truth = oracle.predict(test)[:, 0]  # noise 0: the table itself (minimisation form)
    best = truth <= np.quantile(truth, 0.3)
    for noise in args.oracle_noise:
        predicted = truth - noise * oracle_error([space.key(a) for a in test], 0)  # (minimisation form)
        def make(seed: int, noise: float = noise) -> NoisyOracleScreen:
            return NoisyOracleScreen(**screen, noise=noise, noise_seed=seed)

        volumes, _ = nsga2_runs(args, make, args.mo_budget, args.mo_pop_size or args.pop_size, bounds)
        out[noise] = {"tau": float(kendalltau(predicted, truth)[0]),
                      "tau_best_30pc": float(kendalltau(predicted[best], truth[best])[0]),
                      "hypervolume": volumes, "median": float(np.median(volumes)),
                      "meets_plain": bool(np.median(volumes) >= plain_median)}
    return out


def predictor_quality(args, screen: dict) -> dict:
    """Kendall tau between the screen's predictions and the table on 500 random held-out cells, after 20, 50 and
    100 random training cells (accuracy and parameters, and accuracy among the best 30 % of the held-out cells):
    how well the regressor ranks what it has not seen."""
    from scipy.stats import kendalltau

    space = NB201Space()
    evaluator = SelectObjectives(NB201TableEvaluator(cost=True), MO_OBJECTIVES)
    evaluator.setup(space)
    rng = np.random.default_rng(12345)
    test = [space.sample(rng) for _ in range(500)]
    truth = np.asarray([[-r["accuracy"], r["params"]] for r in evaluator.evaluate(test)])
    out = {}
    for n in (20, 50, 100):
        predictor = PredictorScreen(**{**screen, "warmup": 2}).setup(space, MO_OBJECTIVES)
        train = [space.sample(rng) for _ in range(n)]
        predictor.observe(train, evaluator.evaluate(train))
        predicted = predictor.predict(test)
        out[n] = {o.name: float(kendalltau(predicted[:, j], truth[:, j])[0]) for j, o in enumerate(MO_OBJECTIVES)}
        best = truth[:, 0] <= np.quantile(truth[:, 0], 0.3)  # the best 30 % by accuracy (minimisation form)
        out[n]["accuracy_best_30pc"] = float(kendalltau(predicted[best, 0], truth[best, 0])[0])
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--pop-size", type=int, default=20)
    parser.add_argument("--budget", type=int, default=400, help="evaluations of each screened evolution run")
    parser.add_argument("--baseline-budget", type=int, default=800, help="evaluations of each plain evolution run")
    parser.add_argument("--mo-budget", type=int, default=100, help="evaluations of screened NSGA-II")
    parser.add_argument("--mo-baseline-budget", type=int, default=300, help="evaluations of plain NSGA-II")
    parser.add_argument("--candidates", type=int, default=10, help="offspring made per offspring evaluated")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--refit-every", type=int, default=2)
    parser.add_argument("--explore", type=float, default=0.1)
    parser.add_argument("--model", default="auto", help="the screen's regressor: auto (ridge on NAS-Bench-201), "
                        "ridge, xgboost, lightgbm")
    parser.add_argument("--target", default="log-gap", help="what the regressors are fitted on: log-gap or value")
    parser.add_argument("--model-params", type=json.loads, default=None,
                        help="JSON of the regressor's parameters (default: the screen's, FAST_PARAMS)")
    parser.add_argument("--features", nargs="+", default=None,
                        help="registry names of evaluators whose values join the encoding (e.g. analytic-cost)")
    parser.add_argument("--feature-options", type=json.loads, default=None,
                        help="JSON of their options ({name: options} with several)")
    parser.add_argument("--no-exact-features", dest="exact_features", action="store_false",
                        help="predict an objective the --features evaluator reports instead of taking its value")
    parser.add_argument("--path-encoding", action="store_true",
                        help="the screens also read the space's path encoding (BANANAS)")
    parser.add_argument("--order", default="rank", help="several objectives: rank (non-dominated rank, crowding) "
                        "or hypervolume (greedy predicted hypervolume gain); NSGA-II's screen: --mo-order")
    parser.add_argument("--mo-candidates", type=int, default=None,
                        help="--candidates of the NSGA-II screen (default: --candidates)")
    parser.add_argument("--mo-features", nargs="+", default=["analytic-cost"],
                        help="--features of the NSGA-II screen (default analytic-cost: the parameter count, exact; "
                        "none: the encoding only)")
    parser.add_argument("--mo-feature-options", type=json.loads, default={"metrics": ["params"]},
                        help="JSON of their options")
    parser.add_argument("--mo-order", default="hypervolume", help="--order of the NSGA-II screen")
    parser.add_argument("--mo-pop-size", type=int, default=None,
                        help="population of screened NSGA-II (default: --pop-size; plain NSGA-II keeps --pop-size)")
    parser.add_argument("--oracle-noise", type=lambda text: [float(v) for v in text.split(",") if v.strip()],
                        default=[], help="comma-separated errors (accuracy points) of a noisy-oracle NSGA-II screen, "
                        "e.g. 0,1,2,4: how good the accuracy predictor must be for the goal (a diagnostic)")
    parser.add_argument("--skip", choices=("single", "multi"), help="leave one part out")
    parser.add_argument("--no-quality", action="store_true", help="skip the predictor's Kendall tau on held-out cells")
    parser.add_argument("--out", default="runs/bench_predictor")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    screen = {"candidates": args.candidates, "warmup": args.warmup, "refit_every": args.refit_every,
              "explore": args.explore, "model": args.model, "model_params": args.model_params,
              "features": (args.features[0] if args.features and len(args.features) == 1 else args.features),
              "feature_options": args.feature_options,
              "exact_features": args.exact_features, "order": args.order, "path_encoding": args.path_encoding,
              "target": args.target}
    table = NB201TableEvaluator(cost=False)
    table.setup(NB201Space())
    optimum = table.optimum()["accuracy"]
    summary = {"seeds": args.seeds, "pop_size": args.pop_size, "screen": screen, "optimum": optimum}
    print(f"NAS-Bench-201 CIFAR-10 (12-epoch table), {args.seeds} seeds, population {args.pop_size}, "
          f"screen {json.dumps(screen)}")
    if args.skip != "single":
        single = summary["single"] = single_objective(args, screen, optimum)
        print(f"\nregularized evolution: evaluations until the table's best validation accuracy ({optimum:.2f} %)")
        for label in ("plain", "screened"):
            row = single[label]
            q1, q3 = np.percentile(row["evaluations_to_optimum"], [25, 75])
            print(f"  {label:<9} median {row['median']:6.1f} (IQR {q1:.0f}-{q3:.0f}), found in {row['found']}/"
                  f"{args.seeds} runs of {row['budget']} evaluations, {row['seconds']} s")
        print(f"  goal: screened median <= 0.5 x plain median and one-sided Mann-Whitney p < 0.05; "
              f"measured {single['ratio']:.2f} x, p = {single['p']:.2g}: {'MET' if single['goal_met'] else 'NOT MET'}")
    if args.skip != "multi":
        features = None if args.mo_features == ["none"] else args.mo_features
        mo_screen = {**screen, "candidates": args.mo_candidates or args.candidates, "order": args.mo_order,
                     "features": features[0] if features and len(features) == 1 else features,
                     "feature_options": args.mo_feature_options if features else None}
        summary["mo_screen"] = mo_screen
        print(f"NSGA-II screen {json.dumps(mo_screen)}, population {args.mo_pop_size or args.pop_size}")
        multi = summary["multi"] = multi_objective(args, mo_screen)
        print("\nNSGA-II, accuracy vs parameters: hypervolume (normalised by the whole table)")
        for label in ("plain", "plain_at_screened_budget", "screened"):
            row = multi[label]
            q1, q3 = np.percentile(row["hypervolume"], [25, 75])
            seconds = f", {row['seconds']} s" if "seconds" in row else " (the same runs, first evaluations)"
            print(f"  {label.split('_')[0]:<9} at {row['budget']:>4} evaluations: median {row['median']:.4f} "
                  f"(IQR {q1:.4f}-{q3:.4f}){seconds}")
        print(f"  goal: screened at {args.mo_budget} >= plain at {args.mo_baseline_budget} (medians); "
              f"one-sided p(screened smaller) = {multi['p_screened_smaller']:.2g}: "
              f"{'MET' if multi['goal_met'] else 'NOT MET'}")
        if args.oracle_noise:
            oracle = summary["oracle"] = oracle_sweep(args, mo_screen, multi["plain"]["median"])
            print(f"\nthe same NSGA-II screen with a noisy oracle for its accuracy predictor (the table's accuracy "
                  f"plus a normal error of sigma points per cell; a diagnostic, not a method): hypervolume at "
                  f"{args.mo_budget} against plain NSGA-II's {multi['plain']['median']:.4f} at "
                  f"{args.mo_baseline_budget}")
            for noise, row in oracle.items():
                print(f"  sigma {noise:4.1f}: Kendall tau on 500 random cells {row['tau']:.2f} (among the best 30 %: "
                      f"{row['tau_best_30pc']:.2f}); hypervolume median {row['median']:.4f} "
                      f"({'at least' if row['meets_plain'] else 'below'} plain)")
    quality = summary["predictor_kendall_tau"] = predictor_quality(args, screen) if not args.no_quality else {}
    print("\npredictor on 500 held-out random cells, Kendall tau after n random training cells: " + "; ".join(
        f"n={n}: accuracy {q['accuracy']:.2f} (among the best 30 %: {q['accuracy_best_30pc']:.2f}), "
        f"params {q['params']:.2f}" for n, q in quality.items()))
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    print(f"\nsummary in {out / 'summary.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
