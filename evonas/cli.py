"""The ``evonas`` command.

Subcommands register themselves through small ``_add_*`` functions; each
handler returns an exit code. Errors caused by bad input
(:class:`~evonas.errors.EvonasError`) are printed as one line
``evonas: error: ...`` with exit code 2 and no traceback.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Callable, Sequence

from evonas.errors import ConfigError, EvonasError

Handler = Callable[[argparse.Namespace], int]


# --------------------------------------------------------------------------- data


def _data_info(args: argparse.Namespace) -> int:
    from evonas.data import dataset_info

    info = dataset_info(args.dataset, root=args.root)
    if args.json:
        print(json.dumps(info.to_dict(), indent=2))
        return 0
    size = "x".join(map(str, info.image_size)) if info.image_size else "varies"
    counts = ""
    if info.count <= 2_000_000:
        import numpy as np

        from evonas.data import get_dataset, labels_of

        per_class = np.bincount(labels_of(get_dataset(args.dataset, root=args.root)), minlength=len(info.classes))
        counts = f"  per class:  {int(per_class.min())}-{int(per_class.max())}\n"
    print(
        f"dataset:    {info.name}\n"
        f"format:     {info.format}\n"
        f"images:     {info.count}\n"
        f"{counts}"
        f"classes:    {len(info.classes)} ({', '.join(info.classes[:10])}{', ...' if len(info.classes) > 10 else ''})\n"
        f"image size: {size}, {info.channels} channel(s)\n"
        f"family:     {info.family}" + (f"\npath:       {info.path}" if info.path else "")
    )
    return 0


def _data_pack(args: argparse.Namespace) -> int:
    from evonas.data import pack_lmdb

    meta = pack_lmdb(args.source, args.out, root=args.root, overwrite=args.overwrite,
                     progress=not args.quiet)
    print(f"packed {meta['count']} images, {len(meta['classes'])} classes into {args.out}")
    return 0


def _data_verify(args: argparse.Namespace) -> int:
    from evonas.data import verify_lmdb

    count = verify_lmdb(args.path, decode=args.decode)
    print(f"{args.path}: {count} records, all checksums good" + (", all images decode" if args.decode else ""))
    return 0


def _add_data(subparsers) -> None:
    data = subparsers.add_parser("data", help="inspect datasets and pack them into LMDB")
    sub = data.add_subparsers(dest="data_command", required=True, metavar="{info,pack,verify}")

    info = sub.add_parser("info", help="print image count, classes and image size")
    info.add_argument("dataset", help="a name (cifar10-mini, mnist-test, cifar10, cifar100, imagefolder) or a path")
    info.add_argument("--root", help="local folder for cifar10 / cifar100 / imagefolder")
    info.add_argument("--json", action="store_true", help="print JSON instead of text")
    info.set_defaults(handler=_data_info)

    pack = sub.add_parser("pack", help="pack a dataset or image folder into an LMDB")
    pack.add_argument("source", help="a dataset name or path (image folder, .npz)")
    pack.add_argument("out", help="the LMDB to write, e.g. train.lmdb")
    pack.add_argument("--root", help="local folder for cifar10 / cifar100 / imagefolder")
    pack.add_argument("--overwrite", action="store_true", help="replace an existing evonas LMDB at OUT")
    pack.add_argument("--quiet", action="store_true", help="no progress bar")
    pack.set_defaults(handler=_data_pack)

    verify = sub.add_parser("verify", help="check every record of an LMDB (in a subprocess)")
    verify.add_argument("path")
    verify.add_argument("--decode", action="store_true", help="also decode every image")
    verify.set_defaults(handler=_data_verify)


# --------------------------------------------------------------------------- train / evaluate


def _train(args: argparse.Namespace) -> int:
    from evonas.search_config import parse_options
    from evonas.training.standalone import StandaloneConfig, build_space, train_standalone

    if args.resume:
        result = train_standalone(None, args.resume, resume=True, progress=not args.quiet)
        run_dir = args.resume
    else:
        if not args.arch:
            raise ConfigError("--genotype / --arch is required (a published name, JSON, Genotype(...) text or a file)")
        values = {key: value for key, value in vars(args).items() if key in _TRAIN_FLAGS and value is not None}
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


_TRAIN_FLAGS = {
    "space", "dataset", "root", "test_fraction", "init_channels", "layers", "auxiliary", "auxiliary_weight",
    "drop_path_prob", "epochs", "batch_size", "learning_rate", "momentum", "weight_decay", "grad_clip",
    "cutout", "seed", "workers", "device", "channels_last", "max_batches",
}


def _evaluate(args: argparse.Namespace) -> int:
    from evonas.training.standalone import evaluate_checkpoint

    result = evaluate_checkpoint(args.checkpoint, dataset=args.dataset, root=args.root, arch=args.arch,
                                 batch_size=args.batch_size, device=args.device, workers=args.workers)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{result['checkpoint']} (epoch {result['epoch']}) on {result['images']} {result['dataset']} "
              f"images: top-1 {result['top1']:.2f}%, top-5 {result['top5']:.2f}%, loss {result['loss']:.4f}")
    return 0


def _export(args: argparse.Namespace) -> int:
    from evonas.deploy.export import export_run
    from evonas.search_config import parse_options

    space = None
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


def _add_export(subparsers) -> None:
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
    export.add_argument("--image-size", type=int, help="input height = width (default: the search's or data's, "
                        "else 32)")
    export.add_argument("--exporter", default="dynamo", choices=("dynamo", "torchscript"),
                        help="torch.onnx exporter (default dynamo)")
    export.add_argument("--seed", type=int, default=0, help="initialises untrained networks")
    export.add_argument("--space", help="the space of a search run started from Python (evonas search runs name "
                        "theirs)")
    export.add_argument("--space-opt", action="append", metavar="KEY=VALUE")
    export.add_argument("--quiet", action="store_true")
    export.set_defaults(handler=_export)


def _add_train(subparsers) -> None:
    train = subparsers.add_parser(
        "train", help="train a stand-alone network from scratch",
        description="Train a network from an architecture with the DARTS recipe (defaults: C=36, 20 cells, "
                    "600 epochs, batch 96, lr 0.025 cosine, wd 3e-4, Cutout 16, auxiliary 0.4, drop path 0.2).")
    train.add_argument("--genotype", "--arch", dest="arch",
                       help="architecture: a published name (DARTS_V2, SCARLET_A, ...), JSON, Genotype(...) text or a file")
    train.add_argument("--space", help="search space of the architecture (default darts)")
    train.add_argument("--space-opt", action="append", metavar="KEY=VALUE", help="search space option")
    train.add_argument("--net-opt", action="append", metavar="KEY=VALUE",
                       help="network option passed to space.build (e.g. width_mult=0.5)")
    train.add_argument("--dataset", default="cifar10-mini", help="dataset name or path (default cifar10-mini)")
    train.add_argument("--root", help="local folder for cifar10 / cifar100 / imagefolder")
    train.add_argument("--run-dir", help="where to write the run (default runs/train-GENOTYPE-DATASET)")
    train.add_argument("--resume", metavar="RUN_DIR", help="continue a killed run from its latest checkpoint")
    train.add_argument("--epochs", type=int)
    train.add_argument("--batch-size", type=int)
    train.add_argument("--lr", dest="learning_rate", type=float)
    train.add_argument("--momentum", type=float)
    train.add_argument("--weight-decay", type=float)
    train.add_argument("--grad-clip", type=float, help="0 disables")
    train.add_argument("--init-channels", "-C", type=int)
    train.add_argument("--layers", type=int, help="number of cells")
    train.add_argument("--no-auxiliary", dest="auxiliary", action="store_const", const=False)
    train.add_argument("--auxiliary-weight", type=float)
    train.add_argument("--drop-path", dest="drop_path_prob", type=float)
    train.add_argument("--cutout", type=int, help="Cutout square side in pixels, 0 disables")
    train.add_argument("--test-fraction", type=float, help="held-out share for datasets without a test split")
    train.add_argument("--seed", type=int)
    train.add_argument("--workers", type=int, help="DataLoader worker processes")
    train.add_argument("--device", help="auto (default), cpu, cuda, cuda:N")
    train.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=None,
                       help="NHWC memory format (default: on for the CPU, off on GPUs)")
    train.add_argument("--max-batches", type=int, help="cap training batches per epoch (smoke runs)")
    train.add_argument("--quiet", action="store_true", help="no progress bars, warnings only")
    train.set_defaults(handler=_train)

    evaluate = subparsers.add_parser("evaluate", help="test accuracy of a trained checkpoint")
    evaluate.add_argument("--checkpoint", required=True, help="a checkpoint.pt or a run directory")
    evaluate.add_argument("--dataset", help="evaluate on another dataset (default: the run's held-out split)")
    evaluate.add_argument("--root")
    evaluate.add_argument("--genotype", "--arch", dest="arch", help="refuse the checkpoint unless it is of this architecture")
    evaluate.add_argument("--batch-size", type=int)
    evaluate.add_argument("--workers", type=int, default=0)
    evaluate.add_argument("--device", default="auto")
    evaluate.add_argument("--json", action="store_true")
    evaluate.set_defaults(handler=_evaluate)


# --------------------------------------------------------------------------- search


def _executor_options(args) -> dict | None:
    """The executor's options from --workers / --address (None: its defaults)."""
    if args.address and args.executor != "ray":
        raise ConfigError("--address is an option of --executor ray")
    options = {"workers": args.workers} if args.workers else {}
    if args.address:
        options["address"] = args.address
    return options or None


def _search(args: argparse.Namespace) -> int:
    from evonas.loop import search
    from evonas.search_config import build_components, load_config_file, make_config, parse_options

    if args.resume:
        from evonas.runtime.run_dir import RunDir

        saved = RunDir(args.resume).read_json("search.json")
        config = make_config(saved, {"run_dir": args.resume, "budget": args.budget})
    else:
        file_values = load_config_file(args.config) if args.config else {}
        overrides = {key: getattr(args, key) for key in ("space", "strategy", "evaluator", "budget", "seed",
                                                         "run_dir")}
        overrides["objectives"] = args.objectives
        overrides["constraints"] = args.constraint
        config = make_config(file_values, overrides)
        for flag, name in (("space_opt", "space_options"), ("strategy_opt", "strategy_options"),
                           ("evaluator_opt", "evaluator_options")):
            getattr(config, name).update(parse_options(getattr(args, flag)))
        if args.pop_size is not None:
            config.strategy_options["pop_size"] = args.pop_size
        if config.run_dir is None:
            config.run_dir = f"runs/search-{config.space}-{config.strategy}-seed{config.seed}"
    space, strategy, evaluator = build_components(config)
    from evonas.runtime.checkpoint import has_checkpoint
    from evonas.runtime.run_dir import RunDir
    from evonas.loop import CHECKPOINT

    run = RunDir(config.run_dir)
    with run.locked():  # held from here to the end, so search.json cannot be replaced under a running search
        if not args.resume:
            if has_checkpoint(run.path / CHECKPOINT):
                raise ConfigError(f"{run.path} already holds a search; continue it with --resume {run.path}")
        result = search(space, strategy, evaluator, budget=config.budget, seed=config.seed, run_dir=config.run_dir,
                        constraints=config.constraints, resume=bool(args.resume), progress=not args.quiet,
                        executor=args.executor, executor_options=_executor_options(args))
    print(_front_table(result))
    chosen = getattr(strategy, "chosen", lambda: None)()
    if chosen is not None:  # a strategy with its own final-architecture rule (RelativeNAS)
        print(f"chosen architecture: {space.key(chosen)} ({Path(config.run_dir) / 'chosen.json'})")
    extra = getattr(strategy, "result_files", None)
    for name in (extra() if callable(extra) else {}):
        print(f"also written: {Path(config.run_dir) / name}")
    print(f"{len(result.individuals)} evaluations; results in {config.run_dir} (history.csv, front.json, plots)")
    return 0


def _front_table(result) -> str:
    names = [o.name for o in result.objectives]
    header = ["#", "gen", *[f"{o.name} ({o.direction})" for o in result.objectives], "key"]
    rows = [[str(i), str(ind.generation), *[f"{ind.values[n]:.6g}" for n in names], ind.key[:48]]
            for i, ind in enumerate(result.front)]
    widths = [max(len(r[c]) for r in [header, *rows]) for c in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)) for row in [header, *rows]]
    return f"Pareto front ({len(result.front)} architectures):\n" + "\n".join(lines)


def _add_search(subparsers) -> None:
    search = subparsers.add_parser(
        "search", help="evolutionary search over a space",
        description="Run an evolutionary search; settings come from flags and/or a TOML/YAML --config file.")
    search.add_argument("--config", help="TOML or YAML file with the settings (flags override it)")
    search.add_argument("--space", help="search space (darts, toy, ...)")
    search.add_argument("--strategy", help="nsga2, ga, nsga3, agemoea, smsemoa, deap-ga, deap-nsga2, evolution, relative, random")
    search.add_argument("--evaluator", nargs="+", help="supernet, cost, hamming, zdt, ... (several: results merged)")
    search.add_argument("--objectives", nargs="+", metavar="NAME[:min|max]",
                        help="objectives among the evaluator's values, e.g. params:min latency:min")
    search.add_argument("--constraint", action="append", metavar="EXPR", help="e.g. 'flops <= 300e6' (repeatable)")
    search.add_argument("--budget", type=int, help="distinct architectures to evaluate")
    search.add_argument("--pop-size", type=int)
    search.add_argument("--seed", type=int)
    search.add_argument("--run-dir")
    search.add_argument("--resume", metavar="RUN_DIR", help="continue a killed search")
    search.add_argument("--space-opt", action="append", metavar="KEY=VALUE")
    search.add_argument("--strategy-opt", action="append", metavar="KEY=VALUE")
    search.add_argument("--evaluator-opt", action="append", metavar="[EVALUATOR.]KEY=VALUE",
                        help="e.g. cost.net_kwargs='{\"C\": 16, \"layers\": 8}' (prefix needed with several)")
    search.add_argument("--executor", help="where batches are evaluated: local (default), processes (a pool on "
                        "this machine) or ray (Ray actors on this machine or a cluster)")
    search.add_argument("--workers", type=int, help="worker processes / Ray actors (default: the CPU count; for ray, "
                        "one per GPU when the cluster has GPUs)")
    search.add_argument("--address", help="--executor ray: the cluster to join ('auto': the one `ray start` began "
                        "on this node, ray://HOST:10001 a remote one; default: a private local cluster)")
    search.add_argument("--quiet", action="store_true", help="no progress bar, warnings only")
    search.set_defaults(handler=_search)


# --------------------------------------------------------------------------- score / surrogate


def _score(args: argparse.Namespace) -> int:
    from evonas.evaluators.nb301 import NB301Evaluator, check_nb301_genotypes
    from evonas.spaces.darts import DartsSpace

    genotypes = list(zip(args.genotypes, check_nb301_genotypes(args.genotypes)))  # bad specs fail before loading
    evaluator = NB301Evaluator(args.nb301, version=args.version, noisy=args.noisy, seed=args.seed,
                               runtime=not args.no_runtime, cost=not args.no_cost)
    evaluator.setup(DartsSpace())
    rows = evaluator.evaluate([g for _, g in genotypes])
    if args.json:
        print(json.dumps([{"genotype": spec, **row} for (spec, _), row in zip(genotypes, rows)], indent=1))
        return 0
    columns = [c for c in ("nb301_accuracy", "nb301_std", "nb301_runtime", "params", "flops") if c in rows[0]]
    formats = {"nb301_accuracy": "{:.2f}", "nb301_std": "{:.3f}", "nb301_runtime": "{:.0f}", "params": "{:.0f}",
               "flops": "{:.0f}"}
    table = [["genotype", *columns]] + [[spec[:40], *[formats[c].format(row[c]) for c in columns]]
                                        for (spec, _), row in zip(genotypes, rows)]
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    print("\n".join("  ".join(cell.ljust(w) for cell, w in zip(r, widths)) for r in table))
    noise = f", noisy (seed {args.seed})" if args.noisy else ""
    print(f"NAS-Bench-301 v{args.version} predictions{noise}; accuracy in percent, runtime in seconds; params / "
          "flops (multiply-adds) of the C=36, 20-cell CIFAR-10 network")
    return 0


def _train_supernet(args: argparse.Namespace) -> int:
    from evonas.registry import evaluators, spaces
    from evonas.runtime import distributed
    from evonas.search_config import parse_options

    options = parse_options(args.opt)
    for reserved, flag in (("checkpoint", "--checkpoint FILE"), ("progress", "--quiet")):
        if reserved in options:
            raise ConfigError(f"--opt {reserved}=... is set by {flag}")
    # under torchrun: data-parallel over the ranks (gloo when the supernet is asked to stay on the CPU)
    distributed.init_from_env("gloo" if options.get("device") == "cpu" else None)
    try:
        space = spaces.create(args.space, **parse_options(args.space_opt))
        evaluator = evaluators.create("supernet", checkpoint=args.checkpoint, progress=not args.quiet, **options)
        evaluator.setup(space)
        if distributed.rank() == 0:
            shared = evaluator.shared
            import shlex

            again = " ".join(["--space", args.space, *(f"--space-opt {shlex.quote(o)}" for o in args.space_opt or ()),
                              "--evaluator supernet", *(f"--evaluator-opt {shlex.quote(o)}" for o in args.opt or ()),
                              *([f"--evaluator-opt micro_batches={shared.micro_batches}"]
                                if shared.micro_batches != 1 and "micro_batches" not in options else []),
                              f"--evaluator-opt {shlex.quote('checkpoint=' + args.checkpoint)}"])
            epochs = evaluator.settings["epochs"]
            print(f"{args.checkpoint}: {args.space} supernet, {epochs} epoch{'s' if epochs != 1 else ''} on "
                  f"{shared.world} process(es) (settings digest {evaluator.digest}). Search with it: "
                  f"evonas search {again}")
    finally:
        if distributed.is_distributed():
            import torch.distributed

            torch.distributed.destroy_process_group()
    return 0


def _add_train_supernet(subparsers) -> None:
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
    command.set_defaults(handler=_train_supernet)


def _add_score(subparsers) -> None:
    score = subparsers.add_parser(
        "score", help="score DARTS genotypes with the NAS-Bench-301 surrogate models",
        description="Predict CIFAR-10 accuracy and training time of DARTS genotypes with the official "
                    "NAS-Bench-301 model files (download: see the README).")
    score.add_argument("genotypes", nargs="+", metavar="GENOTYPE",
                       help="published name (DARTS_V2, ...), JSON, Genotype(...) text or a file")
    score.add_argument("--nb301", required=True, metavar="DIR", help="unzipped nb_models_1.0 folder")
    score.add_argument("--version", default="1.0", choices=["1.0", "0.9"])
    score.add_argument("--noisy", action="store_true", help="mean + N(0, member std) as nasbench301 with_noise")
    score.add_argument("--seed", type=int, default=0, help="seed of the noisy draws")
    score.add_argument("--no-runtime", action="store_true", help="skip the runtime ensemble")
    score.add_argument("--no-cost", action="store_true", help="skip params / flops")
    score.add_argument("--json", action="store_true", help="print JSON instead of a table")
    score.set_defaults(handler=_score)


def _surrogate_fit(args: argparse.Namespace) -> int:
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


def _add_surrogate(subparsers) -> None:
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
    fit.add_argument("--test-fraction", type=float, default=0.2)
    fit.add_argument("--seed", type=int, default=0)
    fit.set_defaults(handler=_surrogate_fit)


# --------------------------------------------------------------------------- rank


def _rank(args: argparse.Namespace) -> int:
    from evonas.evaluators.tabular import load_nb201_table
    from evonas.ranking import rank_architectures
    from evonas.registry import evaluators
    from evonas.search_config import parse_options
    from evonas.spaces.nb201 import NB201Space
    from evonas.spaces.nb201.cost import nb201_params

    space, table = NB201Space(), load_nb201_table(args.table)
    if args.truth not in next(iter(table.values())):
        raise ConfigError(f"unknown truth column {args.truth!r}; valid: "
                          f"{', '.join(c for c in next(iter(table.values())) if c != 'index')}")
    options = parse_options(args.evaluator_opt)
    if args.scorer == "naswot":
        options.setdefault("net_kwargs", {"C": 8, "N": 1})  # ranks as the full network does, 20x faster
        evaluator, score, label = evaluators.create("naswot", **options), "naswot", "naswot"
    elif args.scorer == "synflow":
        evaluator, score, label = evaluators.create("synflow", **options), "synflow", "synflow"
    else:
        options = {"progress": not args.quiet, **options}
        options.setdefault("supernet_kwargs", {"C": 16, "N": 2})
        options["metric"] = args.score
        evaluator = evaluators.create("supernet", **options)
        score = "accuracy" if args.score == "accuracy" else "val_loss"
        label = f"supernet {args.score}"
    report = rank_architectures(space, evaluator, lambda arch: table[space.key(arch)][args.truth], k=args.archs,
                                seed=args.seed, score=score, params_of=nb201_params, out_dir=args.out)
    s, b = report["scorer"], report["params_baseline"]
    print(f"{args.archs} NAS-Bench-201 cells against {args.truth}: {label}: Kendall tau "
          f"{s['kendall_tau']:+.3f}, Spearman {s['spearman']:+.3f}, precision@10% {s['precision_top_10']:.2f}; "
          f"#params: tau {b['kendall_tau']:+.3f}, Spearman {b['spearman']:+.3f}, precision@10% "
          f"{b['precision_top_10']:.2f}")
    print(f"every scored cell in {args.out}/ranking.csv; scatter in {args.out}/ranking.png")
    return 0


def _add_rank(subparsers) -> None:
    rank = subparsers.add_parser(
        "rank", help="how well a scorer ranks NAS-Bench-201 cells (Kendall tau against the table)",
        description="Score random NAS-Bench-201 cells with the NASWOT zero-cost score (default: it ranks better "
                    "than the parameter count), SynFlow (--scorer synflow) or a trained weight-sharing supernet "
                    "(--scorer supernet; options with --evaluator-opt) and compare with their accuracies in the "
                    "12-epoch table, beside the 'more parameters is better' predictor.")
    rank.add_argument("--archs", type=int, default=50, help="random cells to score (default 50)")
    rank.add_argument("--scorer", choices=("naswot", "synflow", "supernet"), default="naswot",
                      help="the NASWOT (default) or SynFlow zero-cost score of untrained networks, or a trained "
                           "weight-sharing supernet")
    rank.add_argument("--score", choices=("accuracy", "loss"), default="accuracy",
                      help="the supernet's score (--scorer supernet)")
    rank.add_argument("--truth", default="cifar10_test", help="table column to rank against (default cifar10_test)")
    rank.add_argument("--table", help="another NAS-Bench-201 table file (default: the one shipped)")
    rank.add_argument("--evaluator-opt", action="append", metavar="KEY=VALUE",
                      help='option of the scorer\'s evaluator, e.g. for the supernet epochs=20 '
                           'sampler=\'"fair"\' supernet_kwargs=\'{"C": 16, "N": 2}\'')
    rank.add_argument("--seed", type=int, default=0)
    rank.add_argument("--out", default="runs/rank", help="where ranking.csv / .json / .png go")
    rank.add_argument("--quiet", action="store_true")
    rank.set_defaults(handler=_rank)


# --------------------------------------------------------------------------- op-clusters


def _op_clusters(args: argparse.Namespace) -> int:
    from evonas.op_clusters import run_op_clusters

    ops = [op.strip() for op in args.ops.split(",") if op.strip()]
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


def _add_op_clusters(subparsers) -> None:
    from evonas.op_clusters import EDGE_SETS
    from evonas.spaces.darts.ops import GENOTYPE_PRIMITIVES

    clusters = subparsers.add_parser(
        "op-clusters", help="which candidate ops behave alike: correlation and k-means of their features",
        description="Train a DARTS search network over OPS (first-order DARTS; kept in OUT/search_network.pt "
                    "and reused when the settings match), run training images through it, and correlate and "
                    "cluster the features the ops produce on the same edges (StacNAS' analysis behind its op "
                    "groups). Writes op_clusters.json, op_correlation.csv and heat maps.")
    clusters.add_argument("--ops", default=",".join(GENOTYPE_PRIMITIVES),
                          help="comma-separated op names (default: DARTS' seven)")
    clusters.add_argument("--dataset", default="cifar10-mini", help="dataset name (default cifar10-mini)")
    clusters.add_argument("--root", help="dataset folder, for datasets that need one")
    clusters.add_argument("--epochs", type=int, default=2, help="search epochs before measuring (default 2)")
    clusters.add_argument("--steps-per-epoch", type=int, help="cap the steps of an epoch")
    clusters.add_argument("--C", type=int, default=8, help="initial channels (default 8)")
    clusters.add_argument("--layers", type=int, default=5, help="cells (default 5)")
    clusters.add_argument("--batch-size", type=int, default=64)
    clusters.add_argument("--images", type=int, default=512, help="training images measured (default 512)")
    clusters.add_argument("--edges", choices=EDGE_SETS, default="first-last",
                          help="per cell, StacNAS' two edges (default) or all of them")
    clusters.add_argument("--max-k", type=int, default=4, help="groups tried: 2 .. min(ops - 1, MAX_K) (default 4)")
    clusters.add_argument("--device", default="auto")
    clusters.add_argument("--seed", type=int, default=0)
    clusters.add_argument("--out", default="runs/op-clusters", help="output folder (default runs/op-clusters)")
    clusters.add_argument("--quiet", action="store_true")
    clusters.set_defaults(handler=_op_clusters)


# --------------------------------------------------------------------------- entry point

_ADDERS = [_add_data, _add_train, _add_train_supernet, _add_search, _add_export, _add_score, _add_surrogate,
           _add_rank, _add_op_clusters]


def build_parser() -> argparse.ArgumentParser:
    """The full ``evonas`` argument parser."""
    from evonas import __version__

    parser = argparse.ArgumentParser(prog="evonas", description="Evolutionary neural architecture search.")
    parser.add_argument("--version", action="version", version=f"evonas {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in _ADDERS:
        add(subparsers)
    return parser


def _configure_console_logging(*, debug: bool, quiet: bool) -> None:
    """Log to stderr at INFO (DEBUG with -v, WARNING with --quiet).

    The level sits on the console handler, not on the loggers, so a run's
    ``log.txt`` (attached by the run directory) still gets every INFO line.
    """
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "evonas-console"]:
        root.removeHandler(old)
    handler = logging.StreamHandler()
    handler.set_name("evonas-console")
    handler.setLevel(logging.DEBUG if debug else logging.WARNING if quiet else logging.INFO)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if debug else logging.INFO)


def one_line(exc: BaseException) -> str:
    """The message of ``exc`` as one line.

    An error raised in a DataLoader worker reaches the main process as
    "Caught X in DataLoader worker process N. Original Traceback ...": only
    the original message (the traceback's last line, without the type) is kept.
    """
    text = str(exc).strip()
    if "Original Traceback" in text:
        last = text.splitlines()[-1]
        text = last.split(": ", 1)[1] if ": " in last else last
    return " ".join(text.split())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``evonas`` command; return its exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _configure_console_logging(debug=args.verbose, quiet=getattr(args, "quiet", False))
    try:
        return int(args.handler(args) or 0)
    except EvonasError as exc:
        print(f"evonas: error: {one_line(exc)}", file=sys.stderr)
        return 2
    except OSError as exc:  # a full disk, a read-only folder, a vanished file: the system's reason, one line
        where = f": {exc.filename}" if exc.filename else ""
        print(f"evonas: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("evonas: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
