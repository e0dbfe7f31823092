"""What RelativeNAS' weight set buys: one pass with inherited weights against training from scratch.

1. A weight set is grown by a short RelativeNAS search (``--warm-generations``
   generations of ``--pop-size`` members on cifar10-mini, the example's scale).
2. ``--pairs`` random pairs of new architectures are then trained the
   RelativeNAS way: each member inherits the set, trains one pass over the
   training half and is measured on the validation half; the pair's time
   (train + evaluate both, merge) is recorded.
3. The same architectures are trained from a fresh random initialisation
   (no weight set), pass after pass up to ``--max-passes``, measured after
   each pass.

Prints, in one run: the time per pair with the weight set and per pair of
one-pass trainings from scratch, the validation top-1 after one pass with
and without inheritance, and how many passes from scratch reach the
inherited top-1 (the time saving). Writes ``pairs.csv`` and ``summary.json``
to ``--out``.

    python benchmarks/bench_relativenas.py [--pairs 4] [--warm-generations 3] [--out runs/bench_relativenas]
"""
from __future__ import annotations

import argparse
import csv
import json
import logging
import time
from pathlib import Path

import numpy as np
import torch

import evonas
from evonas.evaluators.supernet import SupernetEvaluator
from evonas.spaces.darts import DartsSpace
from evonas.strategies.relative import RelativeNAS
from evonas.training.weight_set import merge_weight_set, op_owners, snapshot, train_member


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pop-size", type=int, default=8)
    parser.add_argument("--warm-generations", type=int, default=3)
    parser.add_argument("--pairs", type=int, default=4)
    parser.add_argument("--max-passes", type=int, default=6)
    parser.add_argument("--C", type=int, default=8)
    parser.add_argument("--layers", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=0.05, help="of every training here, both ways")
    parser.add_argument("--dataset", default="cifar10-mini")
    parser.add_argument("--root")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", default="runs/bench_relativenas")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(torch.get_num_threads())

    space = DartsSpace(encoding="relativenas")
    evaluator = SupernetEvaluator(dataset=args.dataset, root=args.root, epochs=0,
                                  supernet_kwargs={"C": args.C, "layers": args.layers}, batch_size=args.batch_size,
                                  val_images=None, recalibration_images=256, device=args.device, progress=False)
    began = time.perf_counter()
    strategy = RelativeNAS(pop_size=args.pop_size, generations=args.warm_generations)
    evonas.search(space, strategy, evaluator, budget=args.pop_size * args.warm_generations, seed=0, progress=False)
    warm_seconds = time.perf_counter() - began
    shared = evaluator.shared
    module, owners, one_pass = shared.module, op_owners(shared.module), shared.steps_per_epoch

    rng = np.random.default_rng(123)
    rows = []
    for pair in range(args.pairs):
        archs = [space.sample(rng), space.sample(rng)]
        weight_set = snapshot(module)
        start = time.perf_counter()
        inherited = [train_member(shared, a, weight_set, steps=one_pass, learning_rate=args.learning_rate)
                     for a in archs]
        fast = int(inherited[1].val_loss < inherited[0].val_loss)
        merged = merge_weight_set(weight_set, inherited[fast].state, inherited[1 - fast].state,
                                  fast_modules=module.path_modules(archs[fast]),
                                  slow_modules=module.path_modules(archs[1 - fast]), owners=owners)
        pair_seconds = time.perf_counter() - start
        scratch_seconds = 0.0
        for member, (arch, result) in enumerate(zip(archs, inherited)):
            torch.manual_seed(1000 * pair + member)
            fresh = snapshot(space.build_supernet(C=args.C, layers=args.layers, num_classes=shared.num_classes))
            module.load_state_dict(fresh)
            optimizer = shared.new_optimizer(args.learning_rate)
            curve = []
            for p in range(args.max_passes):
                start = time.perf_counter()
                shared.train(steps=one_pass, paths=[arch], optimizer=optimizer)
                top1 = shared.validate(arch)["accuracy"]
                if p == 0:
                    scratch_seconds += time.perf_counter() - start
                curve.append(top1)
            reach = next((p + 1 for p, top1 in enumerate(curve) if top1 >= result.accuracy), None)
            rows.append({"pair": pair, "member": member, "arch": space.key(arch),
                         "inherited_top1": round(result.accuracy, 2), "scratch_top1_1_pass": round(curve[0], 2),
                         "scratch_top1_best": round(max(curve), 2),
                         "passes_to_match": reach if reach is not None else f">{args.max_passes}",
                         "pair_seconds": round(pair_seconds, 2)})
        rows[-1]["scratch_pair_seconds"] = rows[-2]["scratch_pair_seconds"] = round(scratch_seconds, 2)
        module.load_state_dict(merged)  # the set goes on as in a search: the next pair inherits this pair's merge
        shared.mark_changed()

    with (out / "pairs.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    matched = [r["passes_to_match"] for r in rows if isinstance(r["passes_to_match"], int)]
    summary = {
        "scale": {k: getattr(args, k) for k in ("pop_size", "warm_generations", "C", "layers", "batch_size",
                                               "learning_rate", "dataset")},
        "steps_per_pass": one_pass, "warm_up_seconds": round(warm_seconds, 1),
        "pair_seconds_weight_set": float(np.median([r["pair_seconds"] for r in rows])),
        "pair_seconds_scratch_one_pass": float(np.median([r["scratch_pair_seconds"] for r in rows])),
        "top1_inherited_median": float(np.median([r["inherited_top1"] for r in rows])),
        "top1_scratch_one_pass_median": float(np.median([r["scratch_top1_1_pass"] for r in rows])),
        "passes_to_match": [r["passes_to_match"] for r in rows],
        "members_matched_within_max_passes": f"{len(matched)}/{len(rows)}",
        "passes_to_match_median": float(np.median([r["passes_to_match"] if isinstance(r["passes_to_match"], int)
                                                    else args.max_passes + 1 for r in rows])),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    print(f"weight set grown by {args.warm_generations} generations x {args.pop_size} members "
          f"({warm_seconds:.0f} s); {one_pass} steps per pass on {args.dataset}")
    print(f"time per pair (train both one pass + evaluate + merge): weight set {summary['pair_seconds_weight_set']:.1f}"
          f" s, from scratch {summary['pair_seconds_scratch_one_pass']:.1f} s (same work; the set changes what it "
          f"buys)")
    print(f"validation top-1 after one pass: inherited {summary['top1_inherited_median']:.1f} %, from scratch "
          f"{summary['top1_scratch_one_pass_median']:.1f} % (medians of {len(rows)} members)")
    print(f"passes from scratch to reach what one inherited pass gives: {summary['passes_to_match']} "
          f"(matched within {args.max_passes}: {summary['members_matched_within_max_passes']}; median "
          f"{summary['passes_to_match_median']}: that many times the training time per member without the set)")
    print(f"results in {out} (pairs.csv, summary.json)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
