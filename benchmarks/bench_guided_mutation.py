"""Do the learned / guided mutations help evolution? The space's random mutation against 'gradient' (a few
Adam steps on architecture weights over the supernet's mixture) and 'perturbation' (DAP's valuation: the op
whose removal hurts most), at equal evaluations.

A DARTS supernet (C=8, 5 cells) is trained once on cifar10-mini (cached in
``--out``); then ``--strategy`` (regularized ``evolution`` or pymoo's ``ga``)
searches the DARTS space with the supernet's top-1 as fitness, ``--seeds``
times per mutation. Prints, per mutation, the median best fitness at the
end and the evaluations each run needed to reach the plain runs' median
final best (the target), the share of children the guided operator made
itself (the rest fell back to the space's mutation) and wall time. Writes
``runs.csv`` and ``summary.json``.

Measured on 2 cores (median best supernet top-1; runs reaching the plain runs' median):

    evolution, 8-epoch supernet, 3 seeds, budget 40:  random 25.00 % (2/3), gradient 24.41 % (1/3),
                                                      perturbation 25.39 % (2/3)
    evolution, 30-epoch supernet, 5 seeds, budget 60: random 31.84 % (3/5), gradient 30.27 % (1/5),
                                                      perturbation 30.86 % (1/5)
    ga, 8-epoch supernet, 3 seeds, budget 40:         random 25.59 % (2/3), perturbation 24.41 % (1/3)

    python benchmarks/bench_guided_mutation.py [--strategy evolution|ga] [--seeds 3] [--budget 40]
        [--mutations space-mutation,gradient,perturbation] [--out runs/bench_guided_mutation]
"""
from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np

import evonas
from evonas.evaluators.supernet import SupernetEvaluator
from evonas.registry import operators, strategies
from evonas.runtime.atomic import atomic_write_csv
from evonas.spaces.darts import DartsSpace

MUTATIONS = ("space-mutation", "gradient", "perturbation")


def make_mutation(name: str, args):
    if name == "gradient":
        return operators.create("gradient", steps=args.steps, learning_rate=args.learning_rate)
    if name == "perturbation":
        return operators.create("perturbation", batches=args.batches)
    return name


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strategy", choices=("evolution", "ga"), default="evolution")
    parser.add_argument("--mutations", default=",".join(MUTATIONS))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--budget", type=int, default=40)
    parser.add_argument("--supernet-epochs", type=int, default=8)
    parser.add_argument("--steps", type=int, default=3, help="gradient: Adam steps per child")
    parser.add_argument("--learning-rate", type=float, default=0.3, help="gradient: Adam's, on architecture weights")
    parser.add_argument("--batches", type=int, default=2, help="perturbation: validation batches per valuation")
    parser.add_argument("--out", default="runs/bench_guided_mutation")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    space = DartsSpace()
    evaluator = SupernetEvaluator(epochs=args.supernet_epochs, supernet_kwargs={"C": 8, "layers": 5},
                                  recalibration_images=256, val_images=512, checkpoint=str(out / "supernet.pt"),
                                  progress=False)
    began = time.perf_counter()
    evaluator.setup(space)
    print(f"supernet: {args.supernet_epochs} epochs ({time.perf_counter() - began:.0f} s, cached in {out}); "
          f"{args.strategy}, budget {args.budget}, {args.seeds} seeds")
    rows, curves, seconds, own_share = [], {}, {}, {}
    for name in args.mutations.split(","):
        for seed in range(args.seeds):
            mutation = make_mutation(name, args)
            options = {"pop_size": 10, "mutation": mutation}
            if args.strategy == "evolution":
                options["sample_size"] = 3
            strategy = strategies.create(args.strategy, **options)
            start = time.perf_counter()
            result = evonas.search(space, strategy, evaluator, budget=args.budget, seed=seed, progress=False,
                                   evaluator_ready=True)
            seconds.setdefault(name, []).append(time.perf_counter() - start)
            made = getattr(mutation, "refined", getattr(mutation, "guided", None))
            if made is not None:
                own_share.setdefault(name, []).append(made / max(made + mutation.fallbacks, 1))
            best = np.maximum.accumulate([ind.values["accuracy"] for ind in result.individuals])[:args.budget]
            curves.setdefault(name, []).append(best)
            rows += [{"mutation": name, "seed": seed, "evaluation": i + 1, "best_accuracy": round(float(b), 3)}
                     for i, b in enumerate(best)]
            print(f"  {name} seed {seed}: best {best[-1]:.2f} % ({seconds[name][-1]:.0f} s)", flush=True)
    atomic_write_csv(out / "runs.csv", rows)
    baseline = "space-mutation" if "space-mutation" in curves else next(iter(curves))
    target = float(np.median([c[-1] for c in curves[baseline]]))
    summary = {"strategy": args.strategy, "target_top1": target, "seeds": args.seeds, "budget": args.budget}
    print(f"target: the {baseline} runs' median final best, {target:.2f} % supernet top-1")
    for name, runs in curves.items():
        reach = [int(np.argmax(c >= target)) + 1 if (c >= target).any() else None for c in runs]
        finals = [float(c[-1]) for c in runs]
        summary[name] = {"median_final_best": float(np.median(finals)), "evaluations_to_target": reach,
                         "seconds_per_run": float(np.median(seconds[name])),
                         "own_children_share": float(np.mean(own_share[name])) if name in own_share else None}
        share = f"; {np.mean(own_share[name]):.0%} of children its own" if name in own_share else ""
        print(f"{name:<15} median final best {np.median(finals):.2f} %; evaluations to the target {reach}; "
              f"{np.median(seconds[name]):.0f} s per run{share}")
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
