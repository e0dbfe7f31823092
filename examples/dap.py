"""DAP on a CPU: a population of discrete cells, each edge expanded and its ops valued by perturbation, then
the selections, and the cell it found.

Every edge of DAP's search network is the unweighted sum of the ops it holds
(plus ``none``). For each member of a small population and each edge, the
edge is expanded to all ops, a network is trained, and each op is removed in
turn, the network fine-tuned a few steps and its validation accuracy
measured: the larger the drop, the more the op matters. The population's
valuations are averaged; every edge keeps its 2, then its 1 most needed
ops; every node its 2 most needed inputs (github.com/afzalxo/PertNAS).

Toy scale by default: 1 member, C=8, 5 cells, 10 training steps of 32
images per rebuild, fine-tunes of 2 / 3 / 4 steps, 256 held-out training
images for the decisions: 32 units of work (14 expansions, the coarse
selection, 14 fine selections, 3 topology selections) of about 30 s of
CPU time each on one thread: about 16 minutes on a free core (the progress
bar counts the units and estimates the rest; on a machine shared with other
jobs it takes longer). ``--published``
uses the released code's settings (4 members, batch 256, 5 epochs per
rebuild with the cosine stepped per epoch, fine-tunes of 70 / 130 / 180
steps, its 9-op list, no weight restore, flip + translate 2 + Cutout 8, fp16
autocast on CUDA, and decisions on the CIFAR-10 *test* set, as it does:
give ``--root``; on GPUs run it as ``torchrun --nproc_per_node=4
examples/dap.py --published ...``, one member per GPU).
``--published --smoke`` runs every phase of that configuration at full size
for a step or two on the embedded images and prints each phase's seconds
per step, peak memory and the projected cost of the full run
(``smoke.json`` in the run directory; ``--micro-batch 64`` runs the batch of
256 as 4 chunks with gradient accumulation where it does not fit).

Each unit's current cell is costed (parameters of the C=36, 20-cell
network), or scored by NAS-Bench-301 with ``--nb301 MODEL_DIR`` (the
official ``nb_models_1.0`` folder; the paper reports 94.71 % for its best
evolutionary cell, ``DAP_BEST_EVOLUTIONARY``). The run directory gets
``search_curve.csv`` / ``.png``, ``chosen.json`` / ``.txt`` / ``.png`` and
checkpoints (``--resume``).

    python examples/dap.py                          # about 16 minutes on 2 CPU cores
    python examples/dap.py --published --smoke --micro-batch 64
    torchrun --nproc_per_node=2 examples/dap.py --run-dir runs/dap-2proc
"""
from __future__ import annotations

import argparse
import logging
import shutil
from pathlib import Path

import evonas
from evonas.evaluators.cost import CostEvaluator
from evonas.runtime import distributed
from evonas.spaces.darts import DartsSpace
from evonas.strategies.dap import DAP, OP_LISTS

#: the example's toy scale (``--published`` starts from the released code's settings instead)
TOY = dict(population=1, C=8, layers=5, batch_size=32, train_steps=10, expand_steps=2, select_steps=3,
           topology_steps=4, val_images=256)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--published", action="store_true", help="the released code's settings (see above)")
    parser.add_argument("--smoke", nargs="?", type=int, const=2, metavar="STEPS",
                        help="a smoke run: every phase for STEPS (2) steps at full size, with the projected cost")
    parser.add_argument("--micro-batch", type=int, help="run each batch as chunks of this many images")
    for name in ("population", "C", "layers", "batch_size", "train_steps", "expand_steps", "select_steps",
                 "topology_steps", "val_images"):
        parser.add_argument(f"--{name.replace('_', '-')}", dest=name, type=int, help="override the default")
    parser.add_argument("--dataset", help="cifar10-mini (the default) or, with --published, cifar10")
    parser.add_argument("--root", help="folder of the dataset (cifar10 needs one; nothing is downloaded)")
    parser.add_argument("--nb301", metavar="MODEL_DIR", help="score the cells with NAS-Bench-301 models")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--run-dir", default="runs/dap")
    parser.add_argument("--resume", action="store_true", help="continue the run in --run-dir")
    parser.add_argument("--quiet", action="store_true")
    return parser.parse_args(argv)


def main(argv=None) -> DAP:
    args = parse_args(argv)
    console = logging.StreamHandler()
    console.setLevel(logging.WARNING if args.quiet else logging.INFO)
    logging.basicConfig(level=logging.INFO, format="%(message)s", handlers=[console])
    distributed.init_from_env()  # under torchrun: join the group (one member per process)
    rank = distributed.rank()
    options = {} if args.published else dict(TOY)
    options.update({k: getattr(args, k) for k in ("population", "C", "layers", "batch_size", "train_steps",
                                                  "expand_steps", "select_steps", "topology_steps", "val_images")
                    if getattr(args, k) is not None})
    if args.dataset is not None:
        options["dataset"] = args.dataset
    strategy = DAP(root=args.root, device=args.device, published=args.published, smoke_steps=args.smoke,
                   micro_batch=args.micro_batch, **options)
    op_list = OP_LISTS.get(strategy.config["ops"])  # DAP's own op lists need a space that holds them
    ops = getattr(DartsSpace().cell_tools, op_list) if op_list else None
    space = DartsSpace(primitives=tuple(dict.fromkeys(ops))) if ops else DartsSpace()
    if args.nb301:
        from evonas.evaluators.nb301 import NB301Evaluator

        evaluator = NB301Evaluator(args.nb301)
    else:
        evaluator = CostEvaluator(metrics=("params",), net_kwargs={"C": 36, "layers": 20})
    run_dir = Path(args.run_dir) if rank == 0 else Path(f"{args.run_dir}-rank{rank}")  # one run directory each
    if not args.resume and run_dir.exists():
        shutil.rmtree(run_dir)
    evonas.search(space, strategy, evaluator, budget=1_000, seed=args.seed, run_dir=run_dir, resume=args.resume,
                  progress=not args.quiet and rank == 0)
    if rank > 0:
        return strategy
    chosen = strategy.chosen()
    last = strategy.curve[-1]
    score = (f"NAS-Bench-301 {last['nb301_accuracy']:.2f} %" if "nb301_accuracy" in last
             else f"{last['params'] / 1e6:.2f}M parameters at C=36, 20 cells")
    print(f"DAP cell (normal = reduce): {chosen.normal}")
    print(f"{score}; results in {run_dir} (search_curve.png, chosen.png); train it with: "
          f"evonas train --genotype {run_dir / 'chosen.json'}")
    return strategy


if __name__ == "__main__":
    main()
