"""SCARLET-NAS on a CPU: stabilized single-path supernet + NSGA-II, then export.

1. Train a weight-sharing SCARLET supernet (CIFAR-sized variant: 19
   searchable MobileNetV2-style layers, 13 choices each incl. skip) on one
   half of the embedded cifar10-mini data. Skips carry learnable equivariant
   stabilizers (bias-free 1x1 convs) in the supernet (``--no-stabilizer``
   for the paper's ablation).

   On a CPU the example uses *entangled* candidate weights by default (the
   12 MBConv candidates of a layer are nested slices of the largest one).
   The paper's supernet, 12 independent candidates per layer
   (``--weight-sharing independent``), barely learns in a CPU budget: on
   cifar10-mini it scored paths at 17-20 % top-1 after 4,500 uniform steps
   (150 epochs, on a GPU), where the entangled one reached 37-42 % after
   2,400 (80 epochs). Use the independent supernet with GPU-sized budgets.
2. NSGA-II (pymoo, through ``evonas.search``) over supernet top-1 on the
   other half (after BN recalibration per candidate; maximised) and the
   multiply-adds of the *exported* model (identity skips, no stabilizer;
   minimised), optionally parameters and a MACs constraint.
3. Print the front, write the run directory (history, front.json,
   pareto.png, progress.png) and export the front's models as stand-alone
   PyTorch modules with plain identity skips (``exported/*.pt``).

    python examples/scarlet_evolve.py                   # ~10 minutes on 2 CPU cores
    python examples/scarlet_evolve.py --weight-sharing independent --sampler fair --supernet-epochs 100 \\
        --width-mult 1.0 --dataset cifar10 --root ~/data --budget 1000 --pop-size 50 --device cuda

``--smoke [STEPS]`` runs instead the published network in smoke mode
(:mod:`evonas.training.scarlet_smoke`: the ImageNet supernet at width 1.0,
224x224 images, 1000 classes; supernet training, scoring, export and the
stand-alone network, STEPS steps each) and prints per phase seconds per
step, peak memory and the projected cost of a full run, whose unpublished
budgets are evonas' stand-ins (``SCARLET_ASSUMED``, listed in the report):

    python examples/scarlet_evolve.py --smoke 1 --micro-batch 32

Load an exported model with ``load_exported(path)`` from this file, or
``ScarletNet(arch, num_classes=..., variant=..., width_mult=...)`` and its
state dict.
"""
from __future__ import annotations

import argparse
import json
import logging
import shutil
from pathlib import Path

import numpy as np
import torch

import evonas
from evonas.evaluators.base import CompositeEvaluator, Objective, SelectObjectives
from evonas.evaluators.cost import CostEvaluator
from evonas.evaluators.supernet import EVAL_DTYPES, SupernetEvaluator
from evonas.runtime.atomic import atomic_torch_save
from evonas.spaces.scarlet.models import ScarletNet
from evonas.spaces.scarlet.space import ScarletSpace
from evonas.spaces.scarlet.supernet import WEIGHT_SHARING
from evonas.strategies.pymoo_moo import PymooStrategy
from evonas.training.bn import recalibrate_bn
from evonas.training.standalone import StandaloneConfig, train_standalone


def export_front(result, space, supernet_evaluator, out_dir: Path) -> list[Path]:
    """Stand-alone modules (identity skips) of the front, with the supernet's weights and recalibrated BN."""
    supernet = supernet_evaluator.supernet
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for rank, ind in enumerate(result.front):
        recalibrate_bn(supernet, lambda x, a=ind.arch: supernet(x, a), supernet_evaluator.shared.recalibration_batches)
        model = supernet.export(ind.arch).cpu().eval()
        assert not any("stabilizer" in name for name, _ in model.named_parameters())
        path = out_dir / f"front_{rank:02d}.pt"
        atomic_torch_save({"arch": space.to_json(ind.arch), "variant": space._variant,
                           "width_mult": space._width_mult, "num_classes": supernet.num_classes,
                           "values": ind.values, "state_dict": model.state_dict()}, path)
        paths.append(path)
    return paths


def verify_standalone(result, space, args) -> list[tuple[str, object, dict]]:
    """Train from scratch the front's most accurate architecture and one random initial one.

    Same recipe for both (``--verify-epochs`` epochs, SGD 0.05 cosine, batch
    64, no cutout) on the stand-alone trainer's own split; one training run
    each, so read a gap of a point or two as noise.
    """
    initial = [ind for ind in result.feasible if ind.generation == 0]
    if not result.front or not initial:
        print("no feasible front or initial architecture to compare (constraint too tight?)")
        return []
    best = max(result.front, key=lambda ind: ind.values["accuracy"])
    baseline = initial[int(np.random.default_rng(args.seed).integers(len(initial)))]
    rows = []
    for label, ind in (("front_best", best), ("random_initial", baseline)):
        config = StandaloneConfig(arch=space.to_json(ind.arch), space="scarlet",
                                  space_options={"variant": "cifar", "width_mult": args.width_mult},
                                  dataset=args.dataset, root=args.root, epochs=args.verify_epochs, batch_size=64,
                                  learning_rate=0.05, weight_decay=4e-5, cutout=0, workers=0, seed=args.seed,
                                  device=args.device)
        run_dir = Path(args.run_dir) / "verify" / label
        if args.resume and (run_dir / "final.json").is_file():
            final = json.loads((run_dir / "final.json").read_text())
        else:
            shutil.rmtree(run_dir, ignore_errors=True)  # an unfinished verification starts again
            final = train_standalone(config, run_dir)
        rows.append((label, ind, final))
    return rows


def load_exported(path) -> torch.nn.Module:
    """Rebuild a model written by :func:`export_front`."""
    saved = torch.load(path, map_location="cpu", weights_only=True)
    model = ScarletNet(saved["arch"], num_classes=saved["num_classes"], variant=saved["variant"],
                       width_mult=saved["width_mult"])
    model.load_state_dict(saved["state_dict"])
    return model.eval()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="cifar10-mini")
    parser.add_argument("--root", help="local folder for cifar10 / cifar100")
    parser.add_argument("--width-mult", type=float, default=0.25)
    parser.add_argument("--supernet-epochs", type=int, default=30)
    parser.add_argument("--warmup-epochs", type=int, default=2, help="supernet learning-rate warm-up")
    parser.add_argument("--weight-sharing", choices=WEIGHT_SHARING, default="entangled",
                        help="entangled: nested candidate slices (fast to train, CPU default); independent: "
                             "12 candidates with their own weights per layer (the paper's supernet)")
    parser.add_argument("--sampler", choices=("uniform", "fair"), default="uniform",
                        help="uniform single path (SPOS) or FairNAS strict fairness (13 paths per step)")
    parser.add_argument("--no-stabilizer", action="store_true", help="plain skips in the supernet (ablation)")
    parser.add_argument("--budget", type=int, default=96, help="distinct architectures to evaluate")
    parser.add_argument("--pop-size", type=int, default=16)
    parser.add_argument("--with-params", action="store_true", help="add parameters as a third objective")
    parser.add_argument("--max-macs", type=float, help="constraint on multiply-adds, e.g. 60e6")
    parser.add_argument("--recalibration-images", type=int, default=256)
    parser.add_argument("--val-images", type=int, default=1024)
    parser.add_argument("--eval-dtype", choices=EVAL_DTYPES, default="float32",
                        help="score candidates under bf16 autocast: 1.6-1.9x faster on CPUs with AMX / AVX-512 BF16 "
                             "(benchmarks/bench_supernet_eval.py), slower on others")
    parser.add_argument("--verify-epochs", type=int, default=0,
                        help="train the front's best and a random initial architecture from scratch for this "
                             "many epochs and compare them (0: skip)")
    parser.add_argument("--smoke", nargs="?", type=int, const=2, metavar="STEPS",
                        help="the published ImageNet network in smoke mode (see above) instead of the CPU search")
    parser.add_argument("--micro-batch", type=int, help="--smoke: run each batch of 256 as chunks of this many images")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--run-dir", default="runs/scarlet_evolve")
    parser.add_argument("--resume", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    if args.smoke:
        from evonas.training.scarlet_smoke import scarlet_smoke

        Path(args.run_dir).mkdir(parents=True, exist_ok=True)
        scarlet_smoke(steps=args.smoke, micro_batch=args.micro_batch, device=args.device, seed=args.seed,
                      run_dir=args.run_dir)
        print(f"written: {Path(args.run_dir) / 'smoke.json'}")
        return

    space = ScarletSpace(variant="cifar", width_mult=args.width_mult)
    supernet = SupernetEvaluator(
        dataset=args.dataset, root=args.root,
        supernet_kwargs={"stabilizer": not args.no_stabilizer, "weight_sharing": args.weight_sharing},
        epochs=args.supernet_epochs, warmup_epochs=args.warmup_epochs, sampler=args.sampler,
        learning_rate=0.05, weight_decay=4e-5,
        recalibration_images=args.recalibration_images, val_images=args.val_images,
        checkpoint=f"{args.run_dir}/supernet.pt", seed=args.seed, device=args.device, eval_dtype=args.eval_dtype)
    cost = CostEvaluator(metrics=("macs", "params"), input_shape=(1, 3, 32, 32))
    objectives = [Objective("accuracy", "max"), Objective("macs", "min")]
    if args.with_params:
        objectives.append(Objective("params", "min"))
    constraints = [f"macs <= {args.max_macs}"] if args.max_macs else []
    # cost first: an architecture over the MACs limit is never sent to the supernet
    evaluator = SelectObjectives(CompositeEvaluator([cost, supernet], constraints=constraints), objectives)
    result = evonas.search(space, PymooStrategy(algorithm="nsga2", pop_size=args.pop_size), evaluator,
                           budget=args.budget, seed=args.seed, run_dir=args.run_dir, constraints=constraints,
                           resume=args.resume)

    print(f"\n{len(result.individuals)} architectures evaluated; Pareto front ({len(result.front)}):")
    print(f"{'#':>3} {'gen':>4} {'supernet top-1 %':>17} {'MMACs':>8} {'params (M)':>11} {'depth':>6}  layers")
    for rank, ind in enumerate(result.front):
        names = space.to_json(ind.arch)
        depth = sum(name != "skip" for name in names)
        print(f"{rank:>3} {ind.generation:>4} {ind.values['accuracy']:>17.2f} {ind.values['macs'] / 1e6:>8.1f} "
              f"{ind.values['params'] / 1e6:>11.3f} {depth:>6}  {' '.join(names)}")
    initial = [ind for ind in result.feasible if ind.generation == 0]
    if initial and len(result.hypervolume) > 1:
        print(f"hypervolume (normalised): initial population {result.hypervolume[0][1]:.4f} -> "
              f"final {result.hypervolume[-1][1]:.4f}")
    paths = export_front(result, space, supernet, Path(args.run_dir) / "exported")
    print(f"exported {len(paths)} stand-alone models with identity skips to {Path(args.run_dir) / 'exported'}")
    if args.verify_epochs:
        print(f"\nstand-alone check ({args.verify_epochs} epochs from scratch, "
              f"held-out {100 * StandaloneConfig.test_fraction:.0f} % of {args.dataset}):")
        for label, ind, final in verify_standalone(result, space, args):
            print(f"{label:>15}: supernet top-1 {ind.values['accuracy']:6.2f} %, stand-alone top-1 "
                  f"{final['test_top1']:6.2f} %, {ind.values['macs'] / 1e6:6.1f} MMACs")
    print(f"run directory: {args.run_dir} (history.csv, front.json, pareto.png, progress.png)")


if __name__ == "__main__":
    main()
