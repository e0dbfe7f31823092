"""Does a weight-sharing supernet rank NAS-Bench-201 cells as training them does? Variants side by side.

Trains a NAS-Bench-201 supernet on the embedded cifar10-mini data (one part
for weights, another for scoring), scores ``--archs`` random cells and
compares with the cells' CIFAR-10 test accuracy after 12 epochs (the table
shipped with evonas): Kendall tau, Spearman, precision at the top 10 %,
always beside the "more parameters is better" predictor. Variants: uniform
(SPOS) vs FairNAS strict-fair path sampling; BN recalibration on vs off;
accuracy vs loss as the score. Writes each variant's ``ranking.csv`` /
``ranking.json`` / ``ranking.png`` and ``summary.json`` under ``--out``.
``--zero-cost`` ranks with the zero-cost proxies of untrained networks
instead (no supernet): every proxy (NASWOT, jacov, grad_norm, SNIP, GraSP,
Fisher, SynFlow, Zen, params, FLOPs; C=8, N=1 networks) and the
``zc-ensemble`` evaluator, on ``--archs`` random cells for each of
``--seeds``, all in one run; writes ``zero-cost-seed<S>.csv`` (every cell's
proxies and truth) and ``zero-cost.json`` under ``--out``.
``--few-shot`` compares, in one run and on the same cells, the one-shot
supernet (``--epochs``), few-shot supernets split on ``--split-edges``
(the ``few-shot-supernet`` evaluator: one sub-supernet per op, each from the
one-shot weights, ``--sub-epochs`` more epochs on its own cells), the
one-shot supernet trained as many more epochs as all sub-supernets
together (equal cost), and the parameter count; by accuracy and by loss,
with the CPU minutes each took; writes ``few-shot.json`` / ``few-shot.csv``.

    python benchmarks/bench_ranking.py [--archs 50] [--epochs 20] [--C 16] [--N 2] [--device auto]
    python benchmarks/bench_ranking.py --zero-cost --archs 1000 --seeds 0 1 2
    python benchmarks/bench_ranking.py --few-shot --archs 100 --epochs 30 --sub-epochs 6 --split-edges 0 \
        --train-dtype bfloat16
"""
from __future__ import annotations

import argparse
import json
import sys
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
                        help="rank with every zero-cost proxy and the zc-ensemble evaluator instead (no training; "
                             "try --archs 1000 --seeds 0 1 2)")
    parser.add_argument("--seeds", type=int, nargs="+", help="--zero-cost: one sample of --archs cells per seed "
                        "(default: --seed)")
    parser.add_argument("--proxies", nargs="+", help="--zero-cost: the proxies to report (default: all)")
    parser.add_argument("--ensemble", nargs="+", help="--zero-cost: the proxies zc-ensemble averages "
                        "(default: its own default)")
    parser.add_argument("--zc-net", type=int, nargs=2, default=[8, 1], metavar=("C", "N"),
                        help="--zero-cost: channels and cells per stage of the scored networks (default 8 1)")
    parser.add_argument("--reference", type=int, default=100,
                        help="--zero-cost: cells in zc-ensemble's reference sample (default 100)")
    parser.add_argument("--few-shot", action="store_true",
                        help="one-shot vs few-shot supernets vs the one-shot trained as long vs #params, one run")
    parser.add_argument("--sub-epochs", type=int, default=6, help="--few-shot: epochs of each sub-supernet")
    parser.add_argument("--split-edges", type=int, nargs="*", default=[0],
                        help="--few-shot: the edges (0-5, benchmark order) whose op splits the supernet")
    parser.add_argument("--sampler", default="uniform", help="--few-shot: uniform or fair")
    parser.add_argument("--train-dtype", default="float32", help="--few-shot: float32 or bfloat16")
    args = parser.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    out = Path(args.out)
    space, table = NB201Space(), load_nb201_table()
    truth = lambda arch: table[space.key(arch)]["cifar10_test"]  # noqa: E731
    if args.zero_cost:
        return zero_cost(args, space, truth, out)
    if args.few_shot:
        return few_shot(args, space, truth, out)

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


def zero_cost(args, space, truth, out: Path) -> int:
    """Every zero-cost proxy and the ``zc-ensemble`` evaluator on ``args.archs`` cells per seed, in one run."""
    import csv

    import numpy as np
    from tqdm import tqdm

    from evonas.evaluators.zero_cost import ZeroCostEnsembleEvaluator
    from evonas.evaluators.zero_cost.ensemble import DEFAULT_ENSEMBLE, PREFIX, mean_rank
    from evonas.evaluators.zero_cost.proxies import PROXIES
    from evonas.operators.base import unique_offspring
    from evonas.ranking import ranking_statistics

    proxies = tuple(args.proxies or PROXIES)
    members = tuple(args.ensemble or DEFAULT_ENSEMBLE)
    seeds = args.seeds if args.seeds else [args.seed]
    out.mkdir(parents=True, exist_ok=True)
    print(f"{args.archs} random NAS-Bench-201 cells per sample, seeds {seeds}, against CIFAR-10 test accuracy "
          f"after 12 epochs; networks C={args.zc_net[0]}, N={args.zc_net[1]}, batch 64 cifar10-mini; "
          f"zc-ensemble = {'+'.join(members)}, {args.reference} reference cells", flush=True)
    labels = [*proxies, "zc-ensemble", "mean rank in sample"]
    summary: dict = {"settings": {**vars(args), "ensemble": members, "proxies": proxies}, "samples": {}}
    for seed in seeds:
        began = time.perf_counter()
        rng = np.random.default_rng(seed)  # the cells rank_architectures / evonas rank draw for this seed
        sample = lambda *_, rng=rng: space.sample(rng)  # noqa: E731
        archs = unique_offspring(sample, args.archs, key=space.key, retry=sample, max_tries=100)
        evaluator = ZeroCostEnsembleEvaluator(proxies=members, report=proxies, reference=args.reference,
                                              net_kwargs={"C": args.zc_net[0], "N": args.zc_net[1]}, seed=seed)
        evaluator.setup(space)
        set_up = time.perf_counter() - began
        rows = []  # in chunks, for the progress bar: a cell's values do not depend on the batch it is in
        for start in tqdm(range(0, len(archs), 25), desc=f"seed {seed}", unit="x25 cells", file=sys.stderr):
            rows += evaluator.evaluate(archs[start:start + 25])
        seconds = time.perf_counter() - began
        true = np.asarray([truth(a) for a in archs], dtype=float)
        table = {name: np.asarray([row[PREFIX + name] for row in rows]) for name in dict.fromkeys(proxies + members)}
        scores = {**{name: table[name] for name in proxies},
                  "zc-ensemble": np.asarray([row["zc_ensemble"] for row in rows]),
                  "mean rank in sample": mean_rank(table, members)}
        stats = {name: ranking_statistics(np.where(np.isfinite(v), v, -1e300), true) for name, v in scores.items()}
        summary["samples"][seed] = {"stats": stats, "seconds": round(seconds, 1), "setup_seconds": round(set_up, 1)}
        with open(out / f"zero-cost-seed{seed}.csv", "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["arch", "truth", *scores])
            for i, arch in enumerate(archs):
                writer.writerow([space.key(arch), true[i], *(repr(float(v[i])) for v in scores.values())])
        print(f"seed {seed}: {seconds:.0f} s ({set_up:.0f} s for the reference sample; "
              f"{(seconds - set_up) / args.archs * 1000:.0f} ms a cell)", flush=True)
        for name in labels:
            s = stats[name]
            print(f"  {name:20s} tau {s['kendall_tau']:+.3f}  spearman {s['spearman']:+.3f}  precision@10% "
                  f"{s['precision_top_10']:.2f}", flush=True)
    print("Kendall tau by sample (seeds " + " / ".join(map(str, seeds)) + "):")
    for name in labels:
        taus = [summary["samples"][seed]["stats"][name]["kendall_tau"] for seed in seeds]
        print(f"  {name:20s} " + " / ".join(f"{t:+.3f}" for t in taus))
    if "naswot" in proxies:
        beats = [summary["samples"][seed]["stats"]["zc-ensemble"]["kendall_tau"]
                 > summary["samples"][seed]["stats"]["naswot"]["kendall_tau"] for seed in seeds]
        print(f"zc-ensemble beats naswot on {sum(beats)} of {len(seeds)} samples")
    (out / "zero-cost.json").write_text(json.dumps(summary, indent=1))
    print(f"every cell's proxies in {out}/zero-cost-seed<S>.csv")
    return 0


def few_shot(args, space, truth, out: Path) -> int:
    """One-shot vs few-shot supernets vs the one-shot trained as long vs #params, on the same cells, one run."""
    import csv

    import numpy as np

    from evonas.evaluators.few_shot import FewShotSupernetEvaluator
    from evonas.operators.base import unique_offspring
    from evonas.ranking import ranking_statistics

    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)  # the cells rank_architectures / evonas rank draw for this seed
    sample = lambda *_: space.sample(rng)  # noqa: E731
    archs = unique_offspring(sample, args.archs, key=space.key, retry=sample, max_tries=100)
    true = np.asarray([truth(a) for a in archs], dtype=float)
    common = dict(dataset=args.dataset, supernet_kwargs=dict(C=args.C, N=args.N), epochs=args.epochs,
                  sampler=args.sampler, recalibration_images=args.recalibration_images, val_images=args.val_images,
                  seed=args.seed, device=args.device, progress=False, train_dtype=args.train_dtype)
    one_shot_file = str(out / "one-shot.pt")  # trained once, shared by every variant
    subs = int(np.prod([5] * len(args.split_edges)))
    variants = {
        "one-shot": SupernetEvaluator(checkpoint=one_shot_file, **common),
        f"few-shot (edges {','.join(map(str, args.split_edges))}: {subs} x {args.sub_epochs} epochs)":
            FewShotSupernetEvaluator(split_edges=tuple(args.split_edges), sub_epochs=args.sub_epochs,
                                     one_shot_checkpoint=one_shot_file, checkpoint=str(out / "few-shot.pt"),
                                     **common),
        f"one-shot + {subs * args.sub_epochs} epochs (equal cost)":
            FewShotSupernetEvaluator(split_edges=(), sub_epochs=subs * args.sub_epochs,
                                     one_shot_checkpoint=one_shot_file, checkpoint=str(out / "continued.pt"),
                                     **common),
    }
    print(f"{args.archs} random NAS-Bench-201 cells (seed {args.seed}) against CIFAR-10 test accuracy after 12 "
          f"epochs; supernets C={args.C}, N={args.N} on {args.dataset}, {args.sampler} sampling, one-shot "
          f"{args.epochs} epochs, train_dtype {args.train_dtype}, {torch.get_num_threads()} thread(s)", flush=True)
    summary: dict = {"settings": vars(args), "variants": {}}
    columns: dict[str, np.ndarray] = {}
    began = time.perf_counter()
    for name, evaluator in variants.items():
        start, cpu = time.perf_counter(), time.process_time()
        evaluator.setup(space)
        trained, trained_cpu = time.perf_counter() - start, time.process_time() - cpu
        rows = evaluator.evaluate(archs)
        scored = time.perf_counter() - start - trained
        stats = {"accuracy": ranking_statistics(np.asarray([r["accuracy"] for r in rows]), true),
                 "loss": ranking_statistics(-np.asarray([r["val_loss"] for r in rows]), true)}
        columns[f"{name} accuracy"] = np.asarray([r["accuracy"] for r in rows])
        columns[f"{name} val_loss"] = np.asarray([r["val_loss"] for r in rows])
        summary["variants"][name] = {"stats": stats, "setup_minutes": round(trained / 60, 2),
                                     "setup_cpu_minutes": round(trained_cpu / 60, 2),
                                     "scoring_minutes": round(scored / 60, 2)}
        print(f"{name:44s} tau accuracy {stats['accuracy']['kendall_tau']:+.3f} / loss "
              f"{stats['loss']['kendall_tau']:+.3f}  (spearman {stats['accuracy']['spearman']:+.3f} / "
              f"{stats['loss']['spearman']:+.3f}; training {trained / 60:.1f} min wall, {trained_cpu / 60:.1f} CPU; "
              f"scoring {scored / 60:.1f} min)", flush=True)
    params = np.asarray([space.analytic_cost(a)["params"] for a in archs])
    summary["params"] = ranking_statistics(params, true)
    print(f"{'parameter count':44s} tau {summary['params']['kendall_tau']:+.3f}  "
          f"(spearman {summary['params']['spearman']:+.3f})")
    summary["minutes"] = round((time.perf_counter() - began) / 60, 2)
    summary["cpu_minutes"] = round(time.process_time() / 60, 2)
    (out / "few-shot.json").write_text(json.dumps(summary, indent=1))
    with open(out / "few-shot.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["arch", "truth", "params", *columns])
        for i, arch in enumerate(archs):
            writer.writerow([space.key(arch), true[i], params[i], *(repr(float(v[i])) for v in columns.values())])
    print(f"{summary['minutes']} min wall, {summary['cpu_minutes']} CPU min in all; results in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
