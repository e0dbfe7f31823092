"""Cost of the fitness call: scoring SCARLET candidates in float32 vs bfloat16 autocast.

Trains (or loads, with ``--checkpoint``) the CIFAR-sized SCARLET supernet
with the settings of ``examples/scarlet_evolve.py``, then scores the same K
random architectures twice (BN recalibration + validation top-1 / loss), in
float32 and under bf16 autocast, and prints seconds per candidate, the
speed-up, and how far the bf16 scores move: Kendall tau between the two
rankings and the largest accuracy / loss differences.

    python benchmarks/bench_supernet_eval.py [--k 24] [--checkpoint runs/scarlet_evolve/supernet.pt]

(the example's supernet is reused when its checkpoint is passed; otherwise
one is trained first, about 5 minutes on 2 cores).
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from scipy.stats import kendalltau

from evonas.evaluators.supernet import SupernetEvaluator
from evonas.spaces.scarlet.space import ScarletSpace


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--k", type=int, default=24, help="architectures to score")
    parser.add_argument("--width-mult", type=float, default=0.25)
    parser.add_argument("--supernet-epochs", type=int, default=30)
    parser.add_argument("--warmup-epochs", type=int, default=2)
    parser.add_argument("--weight-sharing", default="entangled")
    parser.add_argument("--val-images", type=int, default=1024)
    parser.add_argument("--checkpoint", help="supernet checkpoint to load (or to write after training)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    space = ScarletSpace(variant="cifar", width_mult=args.width_mult)
    archs = [space.sample(np.random.default_rng(1000 + i)) for i in range(args.k)]
    settings = dict(supernet_kwargs={"stabilizer": True, "weight_sharing": args.weight_sharing},
                    epochs=args.supernet_epochs, warmup_epochs=args.warmup_epochs, learning_rate=0.05,
                    weight_decay=4e-5, recalibration_images=256, val_images=args.val_images,
                    checkpoint=args.checkpoint, seed=args.seed, device=args.device, progress=False)
    evaluator = SupernetEvaluator(**settings)
    evaluator.setup(space)
    scores, seconds = {}, {}
    for dtype in ("float32", "bfloat16"):
        evaluator.eval_dtype = dtype  # same trained supernet, scored in the other precision
        evaluator.evaluate(archs[:1])  # warm-up (allocations, oneDNN kernel selection)
        start = time.perf_counter()
        scores[dtype] = evaluator.evaluate(archs)
        seconds[dtype] = (time.perf_counter() - start) / len(archs)

    fp32, bf16 = scores["float32"], scores["bfloat16"]
    acc32, acc16 = [s["accuracy"] for s in fp32], [s["accuracy"] for s in bf16]
    loss32, loss16 = [s["val_loss"] for s in fp32], [s["val_loss"] for s in bf16]
    print(f"{args.k} SCARLET-CIFAR candidates (width {args.width_mult}, {args.weight_sharing} supernet), "
          f"256 recalibration + {args.val_images} validation images each, "
          f"{torch.get_num_threads()} threads, {evaluator.device}")
    print(f"float32 {seconds['float32']:.3f} s/candidate, bfloat16 {seconds['bfloat16']:.3f} s/candidate: "
          f"{seconds['float32'] / seconds['bfloat16']:.2f}x")
    print(f"supernet top-1 {min(acc32):.2f}-{max(acc32):.2f} % (float32); largest change under bf16 "
          f"{max(abs(a - b) for a, b in zip(acc32, acc16)):.2f} points, loss "
          f"{max(abs(a - b) for a, b in zip(loss32, loss16)):.4f} nats")
    print(f"Kendall tau float32 vs bfloat16: accuracy {kendalltau(acc32, acc16).statistic:+.3f}, "
          f"loss {kendalltau(loss32, loss16).statistic:+.3f}")


if __name__ == "__main__":
    main()
