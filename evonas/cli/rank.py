"""``evonas rank``: how well a scorer ranks NAS-Bench-201 cells (the experiment is
:func:`evonas.ranking.rank_nb201_cells`)."""
from __future__ import annotations

import argparse

from evonas.cli.common import COUNT, POSITIVE_INT

__all__ = ["add_parser", "run"]


def add_parser(subparsers) -> None:
    from evonas.ranking import SCORERS

    rank = subparsers.add_parser(
        "rank", help="how well a scorer ranks NAS-Bench-201 cells (Kendall tau against the table)",
        description="Score random NAS-Bench-201 cells with the NASWOT zero-cost score (default: it ranks better "
                    "than the parameter count), SynFlow (--scorer synflow), another zero-cost proxy (jacov, "
                    "grad_norm, snip, grasp, fisher, zen, params, flops), their ensemble (--scorer zc-ensemble) "
                    "or a trained weight-sharing supernet (--scorer supernet, or few-shot-supernet: one sub-supernet "
                    "per op of split edges; options with --evaluator-opt) and "
                    "compare with their accuracies in the "
                    "12-epoch table, beside the 'more parameters is better' predictor.")
    rank.add_argument("--archs", type=POSITIVE_INT, default=50, help="random cells to score (default 50)")
    rank.add_argument("--scorer", choices=SCORERS, default="naswot",
                      help="the NASWOT (default), SynFlow or another zero-cost score of untrained networks, their "
                           "ensemble zc-ensemble, or a trained weight-sharing supernet")
    rank.add_argument("--score", choices=("accuracy", "loss"), default="accuracy",
                      help="the supernet's score (--scorer supernet)")
    rank.add_argument("--truth", default="cifar10_test", help="table column to rank against (default cifar10_test)")
    rank.add_argument("--table", help="another NAS-Bench-201 table file (default: the one shipped)")
    rank.add_argument("--evaluator-opt", action="append", metavar="KEY=VALUE",
                      help='option of the scorer\'s evaluator, e.g. for the supernet epochs=20 '
                           'sampler=\'"fair"\' supernet_kwargs=\'{"C": 16, "N": 2}\'')
    rank.add_argument("--seed", type=COUNT, default=0)
    rank.add_argument("--out", default="runs/rank", help="where ranking.csv / .json / .png go")
    rank.add_argument("--quiet", action="store_true")
    rank.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from evonas.ranking import rank_nb201_cells
    from evonas.search_config import parse_options

    report = rank_nb201_cells(archs=args.archs, scorer=args.scorer, score=args.score, truth=args.truth,
                              table=args.table, evaluator_options=parse_options(args.evaluator_opt),
                              seed=args.seed, out_dir=args.out, progress=not args.quiet)
    s, b = report["scorer"], report["params_baseline"]
    print(f"{args.archs} NAS-Bench-201 cells against {args.truth}: {report['label']}: Kendall tau "
          f"{s['kendall_tau']:+.3f}, Spearman {s['spearman']:+.3f}, precision@10% {s['precision_top_10']:.2f}; "
          f"#params: tau {b['kendall_tau']:+.3f}, Spearman {b['spearman']:+.3f}, precision@10% "
          f"{b['precision_top_10']:.2f}")
    print(f"every scored cell in {args.out}/ranking.csv; scatter in {args.out}/ranking.png")
    return 0
