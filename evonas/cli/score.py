"""``evonas score``: DARTS genotypes scored with the NAS-Bench-301 surrogate models."""
from __future__ import annotations

import argparse
import json

from evonas.cli.common import COUNT, format_table

__all__ = ["add_parser", "run"]

_FORMATS = {"nb301_accuracy": "{:.2f}", "nb301_std": "{:.3f}", "nb301_runtime": "{:.0f}", "params": "{:.0f}",
            "flops": "{:.0f}"}


def add_parser(subparsers) -> None:
    score = subparsers.add_parser(
        "score", help="score DARTS genotypes with the NAS-Bench-301 surrogate models",
        description="Predict CIFAR-10 accuracy and training time of DARTS genotypes with the official "
                    "NAS-Bench-301 model files (download: see the README).")
    score.add_argument("genotypes", nargs="+", metavar="GENOTYPE",
                       help="published name (DARTS_V2, ...), JSON, Genotype(...) text or a file")
    score.add_argument("--nb301", required=True, metavar="DIR", help="unzipped nb_models_1.0 folder")
    score.add_argument("--version", default="1.0", choices=["1.0", "0.9"])
    score.add_argument("--noisy", action="store_true", help="mean + N(0, member std) as nasbench301 with_noise")
    score.add_argument("--seed", type=COUNT, default=0, help="seed of the noisy draws")
    score.add_argument("--no-runtime", action="store_true", help="skip the runtime ensemble")
    score.add_argument("--no-cost", action="store_true", help="skip params / flops")
    score.add_argument("--json", action="store_true", help="print JSON instead of a table")
    score.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from evonas.evaluators.nb301 import NB301Evaluator, check_nb301_genotypes
    from evonas.registry import spaces

    genotypes = list(zip(args.genotypes, check_nb301_genotypes(args.genotypes)))  # bad specs fail before loading
    evaluator = NB301Evaluator(args.nb301, version=args.version, noisy=args.noisy, seed=args.seed,
                               runtime=not args.no_runtime, cost=not args.no_cost)
    evaluator.setup(spaces.create("darts"))  # NAS-Bench-301 scores DARTS cells
    rows = evaluator.evaluate([g for _, g in genotypes])
    if args.json:
        print(json.dumps([{"genotype": spec, **row} for (spec, _), row in zip(genotypes, rows)], indent=1))
        return 0
    columns = [c for c in ("nb301_accuracy", "nb301_std", "nb301_runtime", "params", "flops") if c in rows[0]]
    print(format_table(["genotype", *columns], [[spec[:40], *[_FORMATS[c].format(row[c]) for c in columns]]
                                                for (spec, _), row in zip(genotypes, rows)]))
    noise = f", noisy (seed {args.seed})" if args.noisy else ""
    print(f"NAS-Bench-301 v{args.version} predictions{noise}; accuracy in percent, runtime in seconds; params / "
          "flops (multiply-adds) of the C=36, 20-cell CIFAR-10 network")
    return 0
