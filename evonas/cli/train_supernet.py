"""``evonas train-supernet``: train a weight-sharing supernet once (data-parallel under torchrun) and save it
(the work is :func:`evonas.training.supernet_job.train_supernet`)."""
from __future__ import annotations

import argparse
import shlex

from evonas.errors import ConfigError

__all__ = ["add_parser", "run"]


def add_parser(subparsers) -> None:
    command = subparsers.add_parser(
        "train-supernet", help="train a weight-sharing supernet once (data-parallel under torchrun) and save it",
        description="Train the supernet evaluator's supernet and save it to --checkpoint; 'evonas search "
                    "--evaluator supernet --evaluator-opt checkpoint=FILE' with the same options loads it instead "
                    "of training. Under 'torchrun --nproc_per_node=N --no-python evonas train-supernet ...' "
                    "each rank trains 1/N of every batch (DistributedDataParallel) and rank 0 saves.")
    command.add_argument("--space", default="darts", help="search space (default darts)")
    command.add_argument("--space-opt", action="append", metavar="KEY=VALUE")
    command.add_argument("--opt", action="append", metavar="KEY=VALUE",
                         help="supernet evaluator option, e.g. epochs=50 or 'supernet_kwargs={\"C\": 16}'")
    command.add_argument("--checkpoint", required=True, help="the file to save the trained supernet to")
    command.add_argument("--quiet", action="store_true")
    command.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from evonas.search_config import parse_options
    from evonas.training.supernet_job import train_supernet

    options = parse_options(args.opt)
    for reserved, flag in (("checkpoint", "--checkpoint FILE"), ("progress", "--quiet")):
        if reserved in options:
            raise ConfigError(f"--opt {reserved}=... is set by {flag}")
    trained = train_supernet(args.space, checkpoint=args.checkpoint, space_options=parse_options(args.space_opt),
                             options=options, progress=not args.quiet)
    if trained is None:  # not rank 0
        return 0
    again = " ".join(["--space", args.space, *(f"--space-opt {shlex.quote(o)}" for o in args.space_opt or ()),
                      "--evaluator supernet", *(f"--evaluator-opt {shlex.quote(o)}" for o in args.opt or ()),
                      *([f"--evaluator-opt micro_batches={trained['micro_batches']}"]
                        if trained["micro_batches"] != 1 and "micro_batches" not in options else []),
                      f"--evaluator-opt {shlex.quote('checkpoint=' + args.checkpoint)}"])
    epochs = trained["epochs"]
    print(f"{args.checkpoint}: {args.space} supernet, {epochs} epoch{'s' if epochs != 1 else ''} on "
          f"{trained['world']} process(es) (settings digest {trained['digest']}). Search with it: "
          f"evonas search {again}")
    return 0
