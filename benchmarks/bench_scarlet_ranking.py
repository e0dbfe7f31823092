"""Does the equivariant stabilizer make the SCARLET supernet rank architectures better?

Trains two small CIFAR-sized SCARLET supernets on one half of cifar10-mini,
identical but for the skip path (learnable stabilizer vs plain identity),
samples K architectures, trains each stand-alone from scratch briefly on the
same half, and prints Kendall tau between supernet top-1 (after BN
recalibration) and stand-alone top-1 on the other half, for both supernets,
beside the parameter count's tau, plus candidates scored per second. With
``--truth-seeds 2`` each architecture is trained twice (the truth is the
mean): the tau between the two seeds is the ceiling any scorer can reach at
this budget. The stabilizer's effect is reported as the paired bootstrap
95 % interval of tau(stabilizer) - tau(plain) over the architectures.
Small budgets make every figure noisy: read them with that interval.

Measured on 2 cores (``--k 16 --supernet-epochs 20 --standalone-epochs 3 --truth-seeds 2 --jobs 2 --threads 1
--weight-sharing entangled``, 19 minutes): Kendall tau +0.03 with stabilizers (random init), +0.18 with plain
skips, +0.13 for #params; seed against seed +0.13 (the truth does not repeat at this budget); the difference's
interval [-0.59, +0.24].

    python benchmarks/bench_scarlet_ranking.py [--k 8] [--supernet-epochs 6] [--standalone-epochs 3] \\
        [--truth-seeds 1] [--weight-sharing independent|entangled] [--device auto] [--jobs 1]
"""
from __future__ import annotations

import argparse
import functools
import json
import time
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch
from scipy.stats import kendalltau, spearmanr
from torch.utils.data import DataLoader

from evonas.data import Subset, default_transforms, get_dataset, split_indices
from evonas.evaluators.supernet import SupernetEvaluator
from evonas.runtime.device import resolve_device
from evonas.spaces.scarlet.space import ScarletSpace
from evonas.spaces.scarlet.supernet import WEIGHT_SHARING
from evonas.training.loops import evaluate, train_one_epoch


def standalone_accuracy(space, arch, train_set, val_set, *, epochs: int, seed: int, device: torch.device,
                        workers: int) -> float:
    """Top-1 (%) on ``val_set`` of ``arch`` trained from scratch for ``epochs`` on ``train_set``."""
    torch.manual_seed(seed)
    channels_last = device.type == "cpu"
    model = space.build(arch, num_classes=10).to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=4e-5, nesterov=True)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs)
    loader = DataLoader(train_set, batch_size=64, shuffle=True, generator=torch.Generator().manual_seed(seed),
                        num_workers=workers, persistent_workers=workers > 0)
    for _ in range(epochs):
        train_one_epoch(model, loader, optimizer, device=device, grad_clip=5.0, channels_last=channels_last,
                        progress=False)
        scheduler.step()
    return evaluate(model, DataLoader(val_set, batch_size=256), device=device, channels_last=channels_last).top1


def _standalone_job(item, *, space, train_set, val_set, epochs: int, device: str, workers: int):
    """(seed, index, arch) -> (seed, index, stand-alone top-1 %); one thread per job when jobs run side by
    side."""
    seed, index, arch = item
    if torch.multiprocessing.parent_process() is not None:  # a pool worker: daemonic, so no loader workers
        torch.set_num_threads(1)
        workers = 0
    return seed, index, standalone_accuracy(space, arch, train_set, val_set, epochs=epochs, seed=seed,
                                            device=torch.device(device), workers=workers)


def paired_tau_difference(a, b, truth, *, resamples: int = 2000, seed: int = 0) -> tuple[float, float]:
    """95 % bootstrap interval of Kendall tau(a, truth) - tau(b, truth), resampling architectures (pairs kept)."""
    a, b, truth = map(np.asarray, (a, b, truth))
    rng = np.random.default_rng(seed)
    diffs = []
    for _ in range(resamples):
        i = rng.integers(len(truth), size=len(truth))
        ta, tb = kendalltau(a[i], truth[i]).statistic, kendalltau(b[i], truth[i]).statistic
        if np.isfinite(ta) and np.isfinite(tb):
            diffs.append(ta - tb)
    return float(np.percentile(diffs, 2.5)), float(np.percentile(diffs, 97.5))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--k", type=int, default=8, help="architectures to rank")
    parser.add_argument("--width-mult", type=float, default=0.25)
    parser.add_argument("--supernet-epochs", type=int, default=6)
    parser.add_argument("--standalone-epochs", type=int, default=3)
    parser.add_argument("--truth-seeds", type=int, default=1,
                        help="stand-alone trainings per architecture (the truth is their mean; 2+: the seed-to-seed "
                             "tau, the ceiling of any scorer)")
    parser.add_argument("--sampler", choices=("uniform", "fair"), default="uniform")
    parser.add_argument("--weight-sharing", choices=WEIGHT_SHARING, default="independent",
                        help="independent candidates (the paper's supernet) or entangled (nested slices)")
    parser.add_argument("--warmup-epochs", type=int, default=0, help="supernet learning-rate warm-up")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto", help="auto (a GPU when one is visible), cpu, cuda")
    parser.add_argument("--workers", type=int, default=0,
                        help="DataLoader worker processes (supernets; stand-alone jobs of --jobs > 1 load in-process)")
    parser.add_argument("--jobs", type=int, default=1, help="stand-alone trainings run at once (GPU)")
    parser.add_argument("--out", help="also write the figures to this JSON file")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads (the 2-core reference machine)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    began = time.perf_counter()

    space = ScarletSpace(variant="cifar", width_mult=args.width_mult)
    rng = np.random.default_rng(args.seed)
    archs = [space.sample(rng) for _ in range(args.k)]
    skips = [sum(name == "skip" for name in space.to_json(a)) for a in archs]

    scores, rates = {}, {}
    for stabilizer in (True, False):
        evaluator = SupernetEvaluator(supernet_kwargs={"stabilizer": stabilizer,
                                                       "weight_sharing": args.weight_sharing},
                                      epochs=args.supernet_epochs, warmup_epochs=args.warmup_epochs,
                                      sampler=args.sampler, learning_rate=0.05, weight_decay=4e-5,
                                      recalibration_images=256, seed=args.seed, device=str(device),
                                      workers=args.workers, progress=False)
        evaluator.setup(space)
        start = time.perf_counter()
        scores[stabilizer] = evaluator.evaluate(archs)
        rates[stabilizer] = len(archs) / (time.perf_counter() - start)
        shown = " ".join(f"{s['accuracy']:.1f}" for s in scores[stabilizer])
        print(f"supernet ({'stabilizer' if stabilizer else 'plain skip'}) top-1 %: {shown} "
              f"({time.perf_counter() - began:.0f} s)", flush=True)

    base = get_dataset("cifar10-mini")
    train_idx, val_idx = split_indices(base.targets, (0.5, 0.5), seed=args.seed)
    train_tf, eval_tf = default_transforms("cifar10", cutout=None)
    train_set, val_set = Subset(base, train_idx, train_tf), Subset(base, val_idx, eval_tf)
    train_one = functools.partial(_standalone_job, space=space, train_set=train_set, val_set=val_set,
                                  epochs=args.standalone_epochs, device=str(device), workers=args.workers)
    runs = np.zeros((args.truth_seeds, len(archs)))
    jobs = [(t, i, arch) for t in range(args.truth_seeds) for i, arch in enumerate(archs)]
    # tiny networks leave a GPU mostly idle: --jobs trains several at once (spawned processes; on a CPU, one
    # thread each)
    with (torch.multiprocessing.get_context("spawn").Pool(args.jobs) if args.jobs > 1 else nullcontext()) as pool:
        results = pool.imap_unordered(train_one, jobs) if pool else map(train_one, jobs)
        for done, (t, i, top1) in enumerate(results, 1):
            runs[t, i] = top1
            print(f"stand-alone {done}/{len(jobs)}: arch {i} seed {t} {top1:.2f} % "
                  f"({time.perf_counter() - began:.0f} s)", flush=True)
    truth = runs.mean(axis=0).tolist()
    params = [float(sum(p.numel() for p in space.build(a, num_classes=10).parameters())) for a in archs]

    print(f"{args.k} SCARLET-CIFAR architectures (width {args.width_mult}, {np.mean(skips):.1f} skips on average), "
          f"supernets {args.supernet_epochs} epochs ({args.sampler}, {args.weight_sharing} weights), "
          f"stand-alone {args.standalone_epochs} epochs, "
          f"on {device} ({time.perf_counter() - began:.0f} s in all)")
    print(f"{'arch':>4} {'skips':>5} {'stand-alone %':>14} {'stabilized %':>13} {'plain skip %':>13}")
    for i in range(len(archs)):
        print(f"{i:>4} {skips[i]:>5} {truth[i]:>14.2f} {scores[True][i]['accuracy']:>13.2f} "
              f"{scores[False][i]['accuracy']:>13.2f}")
    summary = {"settings": vars(args), "device": str(device), "archs": [space.to_json(a) for a in archs],
               "standalone_top1": truth, "standalone_top1_per_seed": runs.tolist(), "params": params,
               "kendall_tau_params": kendalltau(params, truth).statistic,
               "seconds": round(time.perf_counter() - began, 1)}
    print(f"{'#params':>16}: Kendall tau {summary['kendall_tau_params']:+.3f}")
    if args.truth_seeds > 1:
        summary["kendall_tau_between_seeds"] = kendalltau(runs[0], runs[1]).statistic
        print(f"{'seed vs seed':>16}: Kendall tau {summary['kendall_tau_between_seeds']:+.3f} (stand-alone seed 0 vs "
              f"seed 1: the ceiling at this budget)")
    for stabilizer, label in ((True, "with stabilizer"), (False, "plain skip")):
        accuracy = [s["accuracy"] for s in scores[stabilizer]]
        neg_loss = [-s["val_loss"] for s in scores[stabilizer]]
        figures = {"kendall_tau_accuracy": kendalltau(accuracy, truth).statistic,
                   "kendall_tau_loss": kendalltau(neg_loss, truth).statistic,
                   "spearman_accuracy": spearmanr(accuracy, truth).statistic,
                   "candidates_per_second": rates[stabilizer], "scores": scores[stabilizer]}
        summary["stabilizer" if stabilizer else "plain_skip"] = figures
        print(f"{label:>16}: Kendall tau (accuracy) {figures['kendall_tau_accuracy']:+.3f}, "
              f"(loss) {figures['kendall_tau_loss']:+.3f}; Spearman (accuracy) {figures['spearman_accuracy']:+.3f}; "
              f"{rates[stabilizer]:.2f} candidates/s")
    low, high = paired_tau_difference([s["accuracy"] for s in scores[True]], [s["accuracy"] for s in scores[False]],
                                      truth, seed=args.seed)
    summary["tau_difference_95ci"] = [low, high]
    print(f"tau(stabilizer) - tau(plain skip), accuracy: paired bootstrap 95 % interval [{low:+.3f}, {high:+.3f}]")
    if args.out:
        Path(args.out).write_text(json.dumps(summary, indent=2))
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
