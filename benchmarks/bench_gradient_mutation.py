"""Does the learned 'gradient' mutation help evolution? Regularized evolution with and without it.

A DARTS supernet (C=8, 5 cells) is trained once on cifar10-mini (cached in
``--out``); then regularized evolution searches the DARTS space with the
supernet's top-1 as fitness, ``--seeds`` times with the space's random
mutation and ``--seeds`` times with the ``gradient`` mutation (a few Adam
steps on architecture weights over the supernet's continuous mixture,
started from the parent). Prints, per variant, the median best fitness after
each budget and the evaluations needed to reach the plain runs' median
final best, plus wall time. Writes ``runs.csv`` and ``summary.json``.

    python benchmarks/bench_gradient_mutation.py [--seeds 5] [--budget 60] [--out runs/bench_gradient_mutation]
"""
from __future__ import annotations

import argparse
import csv
import json
import logging
import time
from pathlib import Path

import numpy as np

import evonas
from evonas.evaluators.supernet import SupernetEvaluator
from evonas.registry import operators, strategies
from evonas.spaces.darts import DartsSpace


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--budget", type=int, default=60)
    parser.add_argument("--supernet-epochs", type=int, default=8)
    parser.add_argument("--steps", type=int, default=3, help="gradient steps per child")
    parser.add_argument("--learning-rate", type=float, default=0.3, help="Adam's, on architecture weights")
    parser.add_argument("--out", default="runs/bench_gradient_mutation")
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
    print(f"supernet: {args.supernet_epochs} epochs ({time.perf_counter() - began:.0f} s, cached in {out})")
    rows, curves, seconds, refined = [], {}, {}, []
    for variant in ("space-mutation", "gradient"):
        for seed in range(args.seeds):
            mutation = "space-mutation" if variant == "space-mutation" else operators.create(
                "gradient", steps=args.steps, learning_rate=args.learning_rate)
            strategy = strategies.create("evolution", pop_size=10, sample_size=3, mutation=mutation)
            start = time.perf_counter()
            result = evonas.search(space, strategy, evaluator, budget=args.budget, seed=seed, progress=False,
                                   evaluator_ready=True)
            if variant == "gradient":
                refined.append(mutation.refined / max(mutation.refined + mutation.fallbacks, 1))
            seconds.setdefault(variant, []).append(time.perf_counter() - start)
            best = np.maximum.accumulate([ind.values["accuracy"] for ind in result.individuals])[:args.budget]
            curves.setdefault(variant, []).append(best)
            rows += [{"variant": variant, "seed": seed, "evaluation": i + 1, "best_accuracy": round(float(b), 3)}
                     for i, b in enumerate(best)]
    with (out / "runs.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    target = float(np.median([c[-1] for c in curves["space-mutation"]]))
    summary = {"target_top1": target, "seeds": args.seeds, "budget": args.budget, "gradient_steps": args.steps}
    print(f"target: the plain runs' median final best, {target:.2f} % supernet top-1")
    for variant, runs in curves.items():
        reach = [int(np.argmax(c >= target)) + 1 if (c >= target).any() else None for c in runs]
        finals = [float(c[-1]) for c in runs]
        summary[variant] = {"median_final_best": float(np.median(finals)), "evaluations_to_target": reach,
                            "seconds_per_run": float(np.median(seconds[variant]))}
        print(f"{variant:<15} median final best {np.median(finals):.2f} %; evaluations to the target {reach}; "
              f"{np.median(seconds[variant]):.0f} s per run")
    summary["gradient_children_refined_share"] = float(np.mean(refined))
    print(f"gradient mutation: {np.mean(refined):.0%} of children made by the gradient steps (the rest fell back "
          f"to the space's mutation)")
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
