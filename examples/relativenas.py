"""RelativeNAS on a CPU: slow-fast learning of continuous DARTS cells with a shared weight set.

A population of 32-number architecture vectors (DARTS normal + reduction
cell, RelativeNAS' 7 ops, duplicate inputs allowed) is paired at random each
generation. Both members of a pair inherit every weight from the weight set
(the search network holding all candidate ops), train their own path, and
the one with the lower validation loss is the fast learner: it writes its
weights back first, and the slow learner moves towards it in the vector
space. Tan et al., "RelativeNAS: Relative Neural Architecture Search via
Slow-Fast Learning", IEEE TNNLS 2021.

Scaled down by default (a few minutes on 2 CPU cores): 8 members, 4
generations, a C=8, 5-cell search network on the embedded cifar10-mini,
20 training steps per member. ``--published`` uses the paper's scale
(20 members, 50 generations, C=16, 8 cells, one pass of batch 256 over half
of CIFAR-10 per member, Cutout 16, the released code's learning rates and
its augmented validation images: about 9 GPU-hours; give ``--dataset
cifar10 --root``; the settings are ``RELATIVENAS_PUBLISHED`` and
``RELATIVENAS_PUBLISHED_SUPERNET`` of :mod:`evonas.strategies.relative`).

    python examples/relativenas.py                  # about 5 minutes on 2 CPU cores
    python examples/relativenas.py --published --dataset cifar10 --root ~/data --device cuda
    python examples/relativenas.py --published --smoke    # every published phase at full size, a step or two each
    python examples/relativenas.py --resume          # continue a killed run (also mid-generation)

``--smoke [STEPS]`` runs one short generation (the first pair's members
trained STEPS steps at the batch of 256 and measured, two members scored,
the chosen cell's C=36, 20-cell stand-alone network trained STEPS steps of
batch 128) on the embedded images and prints, per phase, seconds per step,
peak memory and the projected cost of the full run (``smoke.json`` in the
run directory).

The run directory gets ``history.csv``, ``trajectory.csv`` / ``.png`` (the
population's diversity and fitness per generation), ``chosen.json`` /
``chosen.txt`` / ``chosen.png`` (the final architecture: the best member of
the last generation on the final weights) and checkpoints. Train the chosen
cell with ``evonas train --genotype RUN_DIR/chosen.json``.
"""
from __future__ import annotations

import argparse
import logging
import shutil
from pathlib import Path

import evonas
from evonas.evaluators.supernet import SupernetEvaluator
from evonas.spaces.darts import DartsSpace
from evonas.strategies.relative import (
    LR_SCHEDULES,
    RELATIVENAS_PUBLISHED,
    RELATIVENAS_PUBLISHED_SUPERNET,
    RelativeNAS,
    published_weight_set,
)

SCALES = {
    # members, generations, C, cells, batch, member steps (None: one pass), validation images (None: all)
    "default": dict(pop_size=8, generations=4, C=8, layers=5, batch_size=64, member_steps=20, val_images=256),
    "published": dict(pop_size=RELATIVENAS_PUBLISHED["pop_size"], generations=RELATIVENAS_PUBLISHED["generations"],
                      C=RELATIVENAS_PUBLISHED_SUPERNET["supernet_kwargs"]["C"],
                      layers=RELATIVENAS_PUBLISHED_SUPERNET["supernet_kwargs"]["layers"],
                      batch_size=RELATIVENAS_PUBLISHED_SUPERNET["batch_size"], member_steps=None, val_images=None),
}
CUTOUT = {"default": None, "published": RELATIVENAS_PUBLISHED_SUPERNET["cutout"]}  # the released code: Cutout 16


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--published", action="store_true", help="the paper's scale (see the module docstring)")
    for name in ("pop_size", "generations", "C", "layers", "batch_size", "member_steps", "val_images"):
        parser.add_argument(f"--{name.replace('_', '-')}", dest=name, type=int, help="override the scale's value")
    parser.add_argument("--dataset", default="cifar10-mini")
    parser.add_argument("--root", help="folder of the dataset (cifar10 needs one; nothing is downloaded)")
    parser.add_argument("--lr-schedule", choices=LR_SCHEDULES,
                        help="'published': the learning rates the released code used (the default with --published; "
                             "else 'cosine')")
    parser.add_argument("--augmented-validation", action="store_true",
                        help="measure members on augmented validation images (the released code)")
    parser.add_argument("--smoke", nargs="?", type=int, const=2, metavar="STEPS",
                        help="a smoke run: every phase for STEPS (2) steps at full size, with the projected cost")
    parser.add_argument("--micro-batch", type=int,
                        help="smoke run: the stand-alone batch as chunks of this many images")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--run-dir", default="runs/relativenas")
    parser.add_argument("--resume", action="store_true", help="continue the run in --run-dir")
    parser.add_argument("--quiet", action="store_true")
    return parser.parse_args(argv)


def main(argv=None) -> RelativeNAS:
    args = parse_args(argv)
    console = logging.StreamHandler()
    console.setLevel(logging.WARNING if args.quiet else logging.INFO)  # the run's log.txt gets INFO either way
    logging.basicConfig(level=logging.INFO, format="%(message)s", handlers=[console])
    name = "published" if args.published else "default"
    scale = dict(SCALES[name])
    scale.update({k: getattr(args, k) for k in scale if getattr(args, k) is not None})
    space = DartsSpace(encoding="relativenas")
    own = {"seed": args.seed, "device": args.device, "progress": not args.quiet}
    if args.published:  # the published weight set (CIFAR-10, or the embedded images in a smoke run)
        given = {k: scale[k] for k in ("batch_size", "val_images") if getattr(args, k) is not None}
        if args.C is not None or args.layers is not None:
            given["supernet_kwargs"] = {"C": scale["C"], "layers": scale["layers"]}
        evaluator = SupernetEvaluator(**published_weight_set(root=args.root, smoke_steps=args.smoke, **own, **given,
                                                             **({"dataset": args.dataset}
                                                                if args.dataset != "cifar10-mini" else {})))
    else:
        evaluator = SupernetEvaluator(
            dataset=args.dataset, root=args.root, epochs=0,  # the weight set starts from a random network
            supernet_kwargs={"C": scale["C"], "layers": scale["layers"]}, batch_size=scale["batch_size"],
            val_images=scale["val_images"], recalibration_images=min(512, scale["val_images"] or 512),
            cutout=CUTOUT[name], **own)
    strategy = RelativeNAS(pop_size=scale["pop_size"], generations=scale["generations"],
                           member_steps=scale["member_steps"], published=args.published, lr_schedule=args.lr_schedule,
                           augmented_validation=args.augmented_validation or None, smoke_steps=args.smoke,
                           micro_batch=args.micro_batch)
    run_dir = Path(args.run_dir)
    if not args.resume and run_dir.exists():
        shutil.rmtree(run_dir)
    evonas.search(space, strategy, evaluator, budget=scale["pop_size"] * scale["generations"], seed=args.seed,
                  run_dir=run_dir, resume=args.resume, progress=not args.quiet)
    last = strategy.trajectory[-1]
    print(f"RelativeNAS: {strategy.completed} generations of {scale['pop_size']} members; last generation: "
          f"best supernet top-1 {last['best_accuracy']:.1f} %, diversity {last['diversity']:.2f}")
    print(f"chosen: {strategy.chosen()}")
    print(f"results in {run_dir} (trajectory.png, chosen.png, chosen.json, history.csv)")
    return strategy


if __name__ == "__main__":
    main()
