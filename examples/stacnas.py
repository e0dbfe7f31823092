"""StacNAS on a CPU: two-stage grouped DARTS search, then the cell it found.

Stage 1 trains a search network whose every edge mixes one op per group
(pooling, identity, separable, dilated) plus ``none``; each edge keeps its
strongest group. Stage 2 trains a new, deeper network whose edges mix their
group's two ops plus ``none`` and derives the final cell by raw
architecture logits. Weights and architecture weights learn from the same
batches (one-level). Li et al., "StacNAS: Towards Stable and Consistent
Differentiable Neural Architecture Search", 2019.

Toy scale by default (about 3.5 minutes on 2 CPU cores): C=8, 5 then 8
cells, 4 epochs of 20 steps per stage on cifar10-mini. ``--published``
uses the paper's scale (C=16, 14 then 20 cells, 80 epochs per stage on the
whole CIFAR-10 training set; about 0.8 GPU-days: give ``--dataset cifar10
--root``). Each epoch's cell is costed (parameters of the C=36, 20-cell
network); the run directory gets ``search_curve.csv`` / ``.png``,
``chosen.json`` / ``.txt`` / ``.png`` and checkpoints (``--resume``).

    python examples/stacnas.py                      # about 3.5 minutes on 2 CPU cores
    python examples/stacnas.py --published --dataset cifar10 --root ~/data --device cuda
    python examples/stacnas.py --published --smoke --micro-batch 16

``--smoke [STEPS]`` runs every phase (both stages, the derivation, the
stand-alone network) at the chosen scale for STEPS (2) steps on the
embedded images and prints each phase's seconds per step, peak memory and
the projected cost of the full run (``smoke.json``); the progress bar counts
epochs.
"""
from __future__ import annotations

import argparse
import logging
import shutil
from pathlib import Path

import evonas
from evonas.evaluators.cost import CostEvaluator
from evonas.spaces.darts import DartsSpace
from evonas.strategies.gradient import StacNASSearch

SCALES = {
    "default": dict(C=8, layers=5, layers_stage2=8, epochs=4, steps_per_epoch=20, batch_size=64),
    "published": dict(C=16, layers=14, layers_stage2=20, epochs=80, steps_per_epoch=None, batch_size=64),
}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--published", action="store_true", help="the paper's scale (see the module docstring)")
    parser.add_argument("--smoke", nargs="?", type=int, const=2, metavar="STEPS",
                        help="a smoke run: every phase for STEPS (2) steps, with the projected cost")
    parser.add_argument("--micro-batch", type=int, help="run each batch as chunks of this many images")
    for name in ("C", "layers", "layers_stage2", "epochs", "steps_per_epoch", "batch_size"):
        parser.add_argument(f"--{name.replace('_', '-')}", dest=name, type=int, help="override the scale's value")
    parser.add_argument("--dataset", default=None, help="cifar10-mini (the default) or, with --published, cifar10")
    parser.add_argument("--root", help="folder of the dataset (cifar10 needs one; nothing is downloaded)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--run-dir", default="runs/stacnas")
    parser.add_argument("--resume", action="store_true", help="continue the run in --run-dir")
    parser.add_argument("--quiet", action="store_true")
    return parser.parse_args(argv)


def main(argv=None) -> StacNASSearch:
    args = parse_args(argv)
    console = logging.StreamHandler()
    console.setLevel(logging.WARNING if args.quiet else logging.INFO)
    logging.basicConfig(level=logging.INFO, format="%(message)s", handlers=[console])
    scale = dict(SCALES["published" if args.published else "default"])
    scale.update({k: getattr(args, k) for k in scale if getattr(args, k) is not None})
    if args.dataset is None and not args.published:
        args.dataset = "cifar10-mini"
    if args.published:
        scale.pop("steps_per_epoch")
    if args.dataset is not None:
        scale["dataset"] = args.dataset
    strategy = StacNASSearch(root=args.root, device=args.device, published=args.published,
                             smoke_steps=args.smoke, micro_batch=args.micro_batch, **scale)
    cost = CostEvaluator(metrics=("params",), net_kwargs={"C": 36, "layers": 20})
    run_dir = Path(args.run_dir)
    if not args.resume and run_dir.exists():
        shutil.rmtree(run_dir)
    evonas.search(DartsSpace(), strategy, cost, budget=1_000, seed=args.seed, run_dir=run_dir,
                  resume=args.resume, progress=not args.quiet)
    groups = strategy.stage_results[0]
    print(f"stage 1 groups (normal cell, 14 edges): {' '.join(groups['normal'])}")
    print(f"stage 1 groups (reduction cell):        {' '.join(groups['reduce'])}")
    chosen = strategy.chosen()
    params = strategy.curve[-1].get("params")
    print(f"StacNAS cell: {chosen}")
    print(f"{params / 1e6:.2f}M parameters at C=36, 20 cells; results in {run_dir} (search_curve.png, chosen.png); "
          f"train it with: evonas train --genotype {run_dir / 'chosen.json'}")
    return strategy


if __name__ == "__main__":
    main()
