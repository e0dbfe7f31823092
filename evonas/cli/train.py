"""``evonas train``: train a stand-alone network from scratch (the DARTS recipe by default)."""
from __future__ import annotations

import argparse

from evonas.cli.common import COUNT, FRACTION, NON_NEGATIVE, POSITIVE, POSITIVE_INT, PROBABILITY
from evonas.errors import ConfigError

__all__ = ["TRAIN_FLAGS", "add_parser", "run"]

#: the flags that become :class:`~evonas.training.standalone.StandaloneConfig` fields (when given)
TRAIN_FLAGS = {
    "space", "dataset", "root", "test_fraction", "init_channels", "layers", "auxiliary", "auxiliary_weight",
    "drop_path_prob", "epochs", "batch_size", "learning_rate", "momentum", "weight_decay", "grad_clip",
    "cutout", "seed", "workers", "device", "channels_last", "max_batches",
}


def add_parser(subparsers) -> None:
    train = subparsers.add_parser(
        "train", help="train a stand-alone network from scratch",
        description="Train a network from an architecture with the DARTS recipe (defaults: C=36, 20 cells, "
                    "600 epochs, batch 96, lr 0.025 cosine, wd 3e-4, Cutout 16, auxiliary 0.4, drop path 0.2).")
    train.add_argument("--genotype", "--arch", dest="arch",
                       help="architecture: a published name (DARTS_V2, SCARLET_A, ...), JSON, Genotype(...) text "
                            "or a file")
    train.add_argument("--space", help="search space of the architecture (default darts)")
    train.add_argument("--space-opt", action="append", metavar="KEY=VALUE", help="search space option")
    train.add_argument("--net-opt", action="append", metavar="KEY=VALUE",
                       help="network option passed to space.build (e.g. width_mult=0.5)")
    train.add_argument("--dataset", help="dataset name or path (default cifar10-mini)")
    train.add_argument("--root", help="local folder for cifar10 / cifar100 / imagefolder")
    train.add_argument("--run-dir", help="where to write the run (default runs/train-GENOTYPE-DATASET)")
    train.add_argument("--resume", metavar="RUN_DIR", help="continue a killed run from its latest checkpoint")
    train.add_argument("--epochs", type=POSITIVE_INT)
    train.add_argument("--batch-size", type=POSITIVE_INT)
    train.add_argument("--lr", dest="learning_rate", type=POSITIVE)
    train.add_argument("--momentum", type=NON_NEGATIVE)
    train.add_argument("--weight-decay", type=NON_NEGATIVE)
    train.add_argument("--grad-clip", type=NON_NEGATIVE, help="0 disables")
    train.add_argument("--init-channels", "-C", type=POSITIVE_INT)
    train.add_argument("--layers", type=POSITIVE_INT, help="number of cells")
    train.add_argument("--no-auxiliary", dest="auxiliary", action="store_const", const=False)
    train.add_argument("--auxiliary-weight", type=NON_NEGATIVE)
    train.add_argument("--drop-path", dest="drop_path_prob", type=PROBABILITY)
    train.add_argument("--cutout", type=COUNT, help="Cutout square side in pixels, 0 disables")
    train.add_argument("--test-fraction", type=FRACTION, help="held-out share for datasets without a test split")
    train.add_argument("--seed", type=COUNT)
    train.add_argument("--workers", type=COUNT, help="DataLoader worker processes")
    train.add_argument("--device", help="auto (default), cpu, cuda, cuda:N")
    train.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=None,
                       help="NHWC memory format (default: on for the CPU, off on GPUs)")
    train.add_argument("--max-batches", type=POSITIVE_INT, help="cap training batches per epoch (smoke runs)")
    train.add_argument("--quiet", action="store_true", help="no progress bars, warnings only")
    train.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from evonas.search_config import parse_options
    from evonas.training.standalone import StandaloneConfig, build_space, train_standalone

    if args.resume:
        flag = {"arch": "--genotype", "learning_rate": "--lr", "drop_path_prob": "--drop-path",
                "auxiliary": "--no-auxiliary"}
        given = [flag.get(key, f"--{key.replace('_', '-')}") for key, value in vars(args).items()
                 if (key in TRAIN_FLAGS or key in ("arch", "space_opt", "net_opt")) and value is not None]
        if args.run_dir is not None and args.run_dir != args.resume:
            given.append("--run-dir")
        if given:
            raise ConfigError(f"--resume continues {args.resume} with the settings it was started with; "
                              f"{', '.join(sorted(given))} cannot change (start a new run to train otherwise)")
        result = train_standalone(None, args.resume, resume=True, progress=not args.quiet)
        run_dir = args.resume
    else:
        if not args.arch:
            raise ConfigError("--genotype / --arch is required (a published name, JSON, Genotype(...) text or a file)")
        values = {key: value for key, value in vars(args).items() if key in TRAIN_FLAGS and value is not None}
        values["space_options"] = parse_options(args.space_opt)
        values["net_options"] = parse_options(args.net_opt)
        probe = StandaloneConfig.from_dict({"arch": None, **values})
        space = build_space(probe)
        arch = space.validate(args.arch)
        config = StandaloneConfig.from_dict({**values, "arch": space.to_json(arch)})
        name = args.arch if args.arch.replace("_", "").isalnum() else space.key(arch)[:8].replace("|", "_")
        run_dir = args.run_dir or f"runs/train-{config.space}-{name}-{config.dataset}"
        result = train_standalone(config, run_dir, progress=not args.quiet)
    print(f"{run_dir}: {result['parameters']:,} parameters, final test top-1 {result['test_top1']:.2f}% "
          f"(top-5 {result['test_top5']:.2f}%, loss {result['test_loss']:.4f}) on {result['test_images']} "
          f"held-out images after {result['epochs']} epoch{'s' if result['epochs'] != 1 else ''}")
    return 0
