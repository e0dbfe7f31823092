"""``evonas export``: a run's architectures as genotype JSON, PyTorch and ONNX files."""
from __future__ import annotations

import argparse
from pathlib import Path

from evonas.cli.common import COUNT, POSITIVE_INT
from evonas.errors import ConfigError

__all__ = ["add_parser", "run"]


def add_parser(subparsers) -> None:
    export = subparsers.add_parser(
        "export", help="write a run's architectures as genotype JSON, PyTorch and ONNX files",
        description="Export the front (and chosen architecture) of a search run, or the network of a training "
                    "run: genotype.json, model.pt (state dict), model.pt2 (torch.export, runs without evonas) "
                    "and model.onnx, checked in onnxruntime against PyTorch.")
    export.add_argument("run_dir", metavar="RUN_DIR", help="a run directory of 'evonas search' or 'evonas train'")
    export.add_argument("--out", help="where to write (default RUN_DIR/export)")
    export.add_argument("--trained", action="append", metavar="TRAIN_RUN",
                        help="a run of 'evonas train': its weights are used for the architecture it trained")
    export.add_argument("--net-opt", action="append", metavar="KEY=VALUE",
                        help="network option of untrained networks (default: the search's cost net_kwargs)")
    export.add_argument("--image-size", type=POSITIVE_INT,
                        help="input height = width (default: the search's or data's, else 32)")
    export.add_argument("--exporter", default="dynamo", choices=("dynamo", "torchscript"),
                        help="torch.onnx exporter (default dynamo)")
    export.add_argument("--seed", type=COUNT, default=0, help="initialises untrained networks")
    export.add_argument("--space", help="the space of a search run started from Python (evonas search runs name "
                        "theirs)")
    export.add_argument("--space-opt", action="append", metavar="KEY=VALUE")
    export.add_argument("--quiet", action="store_true")
    export.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from evonas.deploy.export import export_run
    from evonas.search_config import parse_options

    space = None
    if args.space_opt and not args.space:
        raise ConfigError("--space-opt sets options of the space named by --space; name it (--space NAME)")
    if args.space:
        from evonas.registry import spaces

        space = spaces.create(args.space, **parse_options(args.space_opt))
    rows = export_run(args.run_dir, args.out, trained=args.trained or (), net_options=parse_options(args.net_opt),
                      image_size=args.image_size, exporter=args.exporter, seed=args.seed, space=space,
                      progress=not args.quiet)
    print(f"{'name':10s} {'params':>10s}  {'ONNX |diff|':>11s}  weights")
    for row in rows:
        print(f"{row['name']:10s} {row['params']:10,d}  {row['onnx_max_abs_difference']:11.1e}  {row['weights']}")
    print(f"{len(rows)} architecture(s) in {Path(rows[0]['folder']).parent} (genotype.json, meta.json, model.pt, "
          "model.pt2, model.onnx; index.json, index.csv)")
    return 0
