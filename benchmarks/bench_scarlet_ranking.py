"""Does the equivariant stabilizer make the SCARLET supernet rank architectures better?

Trains two small CIFAR-sized SCARLET supernets on one half of cifar10-mini,
identical but for the skip path (learnable stabilizer vs plain identity),
samples K architectures, trains each stand-alone from scratch briefly on the
same half, and prints Kendall tau between supernet top-1 (after BN
recalibration) and stand-alone top-1 on the other half, for both supernets,
plus candidates scored per second. Small budgets make every figure noisy:
report them as they come.

    python benchmarks/bench_scarlet_ranking.py [--k 8] [--supernet-epochs 6] [--standalone-epochs 3]
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from scipy.stats import kendalltau
from torch.utils.data import DataLoader

from evonas.data import Subset, default_transforms, get_dataset, split_indices
from evonas.evaluators.supernet import SupernetEvaluator
from evonas.spaces.scarlet.space import ScarletSpace
from evonas.training.loops import evaluate, train_one_epoch


def standalone_accuracy(space, arch, train_set, val_set, *, epochs: int, seed: int) -> float:
    torch.manual_seed(seed)
    model = space.build(arch, num_classes=10).to(memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=4e-5, nesterov=True)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs)
    loader = DataLoader(train_set, batch_size=64, shuffle=True, generator=torch.Generator().manual_seed(seed))
    for _ in range(epochs):
        train_one_epoch(model, loader, optimizer, device=torch.device("cpu"), grad_clip=5.0, channels_last=True,
                        progress=False)
        scheduler.step()
    return evaluate(model, DataLoader(val_set, batch_size=256), device=torch.device("cpu"), channels_last=True).top1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--k", type=int, default=8, help="architectures to rank")
    parser.add_argument("--width-mult", type=float, default=0.25)
    parser.add_argument("--supernet-epochs", type=int, default=6)
    parser.add_argument("--standalone-epochs", type=int, default=3)
    parser.add_argument("--sampler", choices=("uniform", "fair"), default="uniform")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(2)

    space = ScarletSpace(variant="cifar", width_mult=args.width_mult)
    rng = np.random.default_rng(args.seed)
    archs = [space.sample(rng) for _ in range(args.k)]
    skips = [sum(name == "skip" for name in space.to_json(a)) for a in archs]

    scores, rates = {}, {}
    for stabilizer in (True, False):
        evaluator = SupernetEvaluator(supernet_kwargs={"stabilizer": stabilizer}, epochs=args.supernet_epochs,
                                      sampler=args.sampler, learning_rate=0.05, weight_decay=4e-5,
                                      recalibration_images=256,
                                      seed=args.seed, progress=False)
        evaluator.setup(space)
        start = time.perf_counter()
        scores[stabilizer] = evaluator.evaluate(archs)
        rates[stabilizer] = len(archs) / (time.perf_counter() - start)

    base = get_dataset("cifar10-mini")
    train_idx, val_idx = split_indices(base.targets, (0.5, 0.5), seed=args.seed)
    train_tf, eval_tf = default_transforms("cifar10", cutout=None)
    train_set, val_set = Subset(base, train_idx, train_tf), Subset(base, val_idx, eval_tf)
    truth = [standalone_accuracy(space, a, train_set, val_set, epochs=args.standalone_epochs, seed=args.seed)
             for a in archs]

    print(f"{args.k} SCARLET-CIFAR architectures (width {args.width_mult}, {np.mean(skips):.1f} skips on average), "
          f"supernets {args.supernet_epochs} epochs ({args.sampler}), stand-alone {args.standalone_epochs} epochs")
    print(f"{'arch':>4} {'skips':>5} {'stand-alone %':>14} {'stabilized %':>13} {'plain skip %':>13}")
    for i, arch in enumerate(archs):
        print(f"{i:>4} {skips[i]:>5} {truth[i]:>14.2f} {scores[True][i]['accuracy']:>13.2f} "
              f"{scores[False][i]['accuracy']:>13.2f}")
    for stabilizer, label in ((True, "with stabilizer"), (False, "plain skip")):
        acc_tau = kendalltau([s["accuracy"] for s in scores[stabilizer]], truth).statistic
        loss_tau = kendalltau([-s["val_loss"] for s in scores[stabilizer]], truth).statistic
        print(f"{label:>16}: Kendall tau (accuracy) {acc_tau:+.3f}, (loss) {loss_tau:+.3f}; "
              f"{rates[stabilizer]:.2f} candidates/s")


if __name__ == "__main__":
    main()
