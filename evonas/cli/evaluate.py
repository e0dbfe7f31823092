"""``evonas evaluate``: test accuracy of a trained checkpoint."""
from __future__ import annotations

import argparse
import json

from evonas.cli.common import COUNT, POSITIVE_INT

__all__ = ["add_parser", "run"]


def add_parser(subparsers) -> None:
    evaluate = subparsers.add_parser("evaluate", help="test accuracy of a trained checkpoint")
    evaluate.add_argument("--checkpoint", required=True, help="a checkpoint.pt or a run directory")
    evaluate.add_argument("--dataset", help="evaluate on another dataset (default: the run's held-out split)")
    evaluate.add_argument("--root")
    evaluate.add_argument("--genotype", "--arch", dest="arch",
                          help="refuse the checkpoint unless it is of this architecture")
    evaluate.add_argument("--batch-size", type=POSITIVE_INT)
    evaluate.add_argument("--workers", type=COUNT, default=0)
    evaluate.add_argument("--device", default="auto")
    evaluate.add_argument("--json", action="store_true")
    evaluate.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from evonas.training.standalone import evaluate_checkpoint

    result = evaluate_checkpoint(args.checkpoint, dataset=args.dataset, root=args.root, arch=args.arch,
                                 batch_size=args.batch_size, device=args.device, workers=args.workers)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{result['checkpoint']} (epoch {result['epoch']}) on {result['images']} {result['dataset']} "
              f"images: top-1 {result['top1']:.2f}%, top-5 {result['top5']:.2f}%, loss {result['loss']:.4f}")
    return 0
