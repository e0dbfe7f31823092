"""``evonas op-clusters``: which candidate ops behave alike (StacNAS' analysis behind its op groups)."""
from __future__ import annotations

import argparse

from evonas.cli.common import COUNT, POSITIVE_INT

__all__ = ["add_parser", "run"]


def add_parser(subparsers) -> None:
    from evonas.op_clusters import EDGE_SETS

    clusters = subparsers.add_parser(
        "op-clusters", help="which candidate ops behave alike: correlation and k-means of their features",
        description="Train a DARTS search network over OPS (first-order DARTS; kept in OUT/search_network.pt "
                    "and reused when the settings match), run training images through it, and correlate and "
                    "cluster the features the ops produce on the same edges (StacNAS' analysis behind its op "
                    "groups). Writes op_clusters.json, op_correlation.csv and heat maps.")
    clusters.add_argument("--ops", help="comma-separated op names (default: the DARTS space's seven)")
    clusters.add_argument("--dataset", default="cifar10-mini", help="dataset name (default cifar10-mini)")
    clusters.add_argument("--root", help="dataset folder, for datasets that need one")
    clusters.add_argument("--epochs", type=POSITIVE_INT, default=2, help="search epochs before measuring (default 2)")
    clusters.add_argument("--steps-per-epoch", type=POSITIVE_INT, help="cap the steps of an epoch")
    clusters.add_argument("--C", type=POSITIVE_INT, default=8, help="initial channels (default 8)")
    clusters.add_argument("--layers", type=POSITIVE_INT, default=5, help="cells (default 5)")
    clusters.add_argument("--batch-size", type=POSITIVE_INT, default=64)
    clusters.add_argument("--images", type=POSITIVE_INT, default=512, help="training images measured (default 512)")
    clusters.add_argument("--edges", choices=EDGE_SETS, default="first-last",
                          help="per cell, StacNAS' two edges (default) or all of them")
    clusters.add_argument("--max-k", type=POSITIVE_INT, default=4,
                          help="groups tried: 2 .. min(ops - 1, MAX_K) (default 4)")
    clusters.add_argument("--device", default="auto")
    clusters.add_argument("--seed", type=COUNT, default=0)
    clusters.add_argument("--out", default="runs/op-clusters", help="output folder (default runs/op-clusters)")
    clusters.add_argument("--quiet", action="store_true")
    clusters.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from evonas.op_clusters import run_op_clusters

    if args.ops:
        ops = [op.strip() for op in args.ops.split(",") if op.strip()]
    else:
        from evonas.registry import spaces

        ops = list(spaces.create("darts").candidate_ops)
    report = run_op_clusters(args.out, ops=ops, images=args.images, edges=args.edges, max_k=args.max_k,
                             dataset=args.dataset, root=args.root, epochs=args.epochs, C=args.C,
                             layers=args.layers, steps_per_epoch=args.steps_per_epoch,
                             batch_size=args.batch_size, seed=args.seed, device=args.device,
                             progress=not args.quiet)
    summary = f"{len(report['edges'])} edges, {report['images']} images"
    if report["consensus"]:
        k = max(report["consensus"], key=int)
        groups = "  ".join("{" + ", ".join(group) + "}" for group in report["consensus"][k])
        summary += f"; {k} groups across edges: {groups}"
    print(summary)
    print(f"correlations and k-means groups per edge in {args.out}/op_clusters.json; heat maps "
          f"{args.out}/op_correlation.png, op_correlation_edges.png")
    return 0
