"""Does a weight-sharing supernet rank NAS-Bench-201 cells as training them does? Variants side by side.

Trains a NAS-Bench-201 supernet on the embedded cifar10-mini data (one part
for weights, another for scoring), scores ``--archs`` random cells and
compares with the cells' CIFAR-10 test accuracy after 12 epochs (the table
shipped with evonas): Kendall tau, Spearman, precision at the top 10 %,
always beside the "more parameters is better" predictor. Variants: uniform
(SPOS) vs FairNAS strict-fair path sampling; BN recalibration on vs off;
accuracy vs loss as the score. Writes each variant's ``ranking.csv`` /
``ranking.json`` / ``ranking.png`` and ``summary.json`` under ``--out``.
``--zero-cost`` ranks with zero-cost scores of untrained networks instead
(NASWOT on a C=8, N=1 network and SynFlow; no supernet, about a minute for
1,000 cells).

    python benchmarks/bench_ranking.py [--archs 50] [--epochs 20] [--C 16] [--N 2] [--device auto]
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from evonas.evaluators.supernet import SupernetEvaluator
from evonas.evaluators.tabular import load_nb201_table
from evonas.ranking import rank_architectures
from evonas.spaces.nb201 import NB201Space
from evonas.spaces.nb201.cost import nb201_params


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", type=int, default=50)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--C", type=int, default=16)
    parser.add_argument("--N", type=int, default=2, help="cells per stage")
    parser.add_argument("--recalibration-images", type=int, default=256)
    parser.add_argument("--val-images", type=int, default=512)
    parser.add_argument("--dataset", default="cifar10-mini")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/bench_ranking")
    parser.add_argument("--zero-cost", action="store_true",
                        help="rank with the NASWOT and SynFlow zero-cost scores instead (no training; try "
                             "--archs 1000)")
    args = parser.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    out = Path(args.out)
    space, table = NB201Space(), load_nb201_table()
    truth = lambda arch: table[space.key(arch)]["cifar10_test"]  # noqa: E731
    if args.zero_cost:
        from evonas.evaluators.zero_cost import NaswotEvaluator, SynflowEvaluator

        scorers = {"naswot": NaswotEvaluator(net_kwargs={"C": 8, "N": 1}, seed=args.seed),
                   "synflow": SynflowEvaluator()}
        print(f"{args.archs} random cells (seed {args.seed}) against CIFAR-10 test accuracy after 12 epochs")
        for name, evaluator in scorers.items():
            began = time.perf_counter()
            report = rank_architectures(space, evaluator, truth, k=args.archs, seed=args.seed, score=name,
                                        params_of=nb201_params, out_dir=out / name)
            s, b = report["scorer"], report["params_baseline"]
            print(f"  {name:8s} tau {s['kendall_tau']:+.3f}  spearman {s['spearman']:+.3f}  precision@10% "
                  f"{s['precision_top_10']:.2f}  ({(time.perf_counter() - began) / args.archs * 1000:.0f} ms a cell)")
        print(f"  #params  tau {b['kendall_tau']:+.3f}  spearman {b['spearman']:+.3f}  precision@10% "
              f"{b['precision_top_10']:.2f}")
        return 0

    summary, began = {}, time.perf_counter()
    for sampler in ("uniform", "fair"):
        checkpoint = str(out / f"supernet-{sampler}.pt")  # trained once per sampler, reused by its variants
        for recalibrate in (True, False):
            for metric in ("accuracy", "loss"):
                name = f"{sampler}-{'recal' if recalibrate else 'norecal'}-{metric}"
                evaluator = SupernetEvaluator(
                    dataset=args.dataset, supernet_kwargs=dict(C=args.C, N=args.N), epochs=args.epochs,
                    sampler=sampler, recalibration_images=args.recalibration_images if recalibrate else 0,
                    val_images=args.val_images, metric=metric, checkpoint=checkpoint, seed=args.seed,
                    device=args.device, progress=False)
                report = rank_architectures(space, evaluator, truth, k=args.archs, seed=args.seed,
                                            score="accuracy" if metric == "accuracy" else "val_loss",
                                            params_of=nb201_params, out_dir=out / name)
                summary[name] = report
                s, b = report["scorer"], report["params_baseline"]
                print(f"{name:<28} tau {s['kendall_tau']:+.3f}  spearman {s['spearman']:+.3f}  "
                      f"precision@10% {s['precision_top_10']:.2f}   | #params tau {b['kendall_tau']:+.3f}",
                      flush=True)
    summary["settings"] = vars(args)
    summary["seconds"] = round(time.perf_counter() - began, 1)
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    print(f"{summary['seconds']} s; results in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
