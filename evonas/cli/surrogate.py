"""``evonas surrogate fit``: a surrogate fitness model fitted on search histories."""
from __future__ import annotations

import argparse

from evonas.cli.common import COUNT, FRACTION

__all__ = ["add_parser", "run"]


def add_parser(subparsers) -> None:
    surrogate = subparsers.add_parser("surrogate", help="fit surrogate fitness models on search histories")
    sub = surrogate.add_subparsers(dest="surrogate_command", required=True, metavar="{fit}")
    fit = sub.add_parser("fit", help="fit a surrogate of one objective on history.csv files",
                         description="Fit a regressor of OBJECTIVE on the architectures of evonas history.csv "
                                     "files (or run directories); prints held-out Kendall tau / Spearman / R^2.")
    fit.add_argument("histories", nargs="+", metavar="HISTORY", help="history.csv files or run directories")
    fit.add_argument("-o", "--output", required=True, metavar="FILE", help="model file (a FILE.json sidecar too)")
    fit.add_argument("--objective", required=True, metavar="NAME[:min|max]", help="column to learn")
    fit.add_argument("--space", default="darts", help="space the histories come from (default darts)")
    fit.add_argument("--space-opt", action="append", metavar="KEY=VALUE")
    fit.add_argument("--model", default="xgboost", help="xgboost (default), lightgbm or ridge")
    fit.add_argument("--model-opt", action="append", metavar="KEY=VALUE", help="e.g. max_depth=4 num_rounds=800")
    fit.add_argument("--test-fraction", type=FRACTION, default=0.2)
    fit.add_argument("--seed", type=COUNT, default=0)
    surrogate.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """``evonas surrogate fit`` (the only subcommand)."""
    from evonas.evaluators.surrogate import fit_surrogate
    from evonas.registry import spaces
    from evonas.search_config import parse_options

    space = spaces.create(args.space, **parse_options(args.space_opt))
    model, report = fit_surrogate(args.histories, space=space, objective=args.objective, model=args.model,
                                  test_fraction=args.test_fraction, seed=args.seed,
                                  model_params=parse_options(args.model_opt))
    path = model.save(args.output)
    print(f"surrogate of {model.objective} on {report['n']} architectures ({report['n_train']} train / "
          f"{report['n_test']} held out): kendall tau {report['kendall_tau']:.3f}, spearman "
          f"{report['spearman']:.3f}, r2 {report['r2']:.3f}, rmse {report['rmse']:.4g}")
    print(f"saved {path} and {path.name}.json; use it with --evaluator surrogate --evaluator-opt path={path}")
    return 0
