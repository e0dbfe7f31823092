"""``evonas search``: an evolutionary search, set by flags and/or a TOML / YAML file.

Its ``--help`` lists every registered space, strategy, evaluator, operator
and executor with the first sentence of its docstring (generated from the
registries, so a plugin's components are listed too).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from evonas.cli.common import COUNT, NON_NEGATIVE, POSITIVE_INT, format_table, registry_help
from evonas.errors import ConfigError

__all__ = ["SMOKE_STRATEGIES", "add_parser", "executor_options", "front_table", "run"]
#: the built-in strategies with a smoke mode (a ``smoke_steps`` option); a plugin's is found by that option too
SMOKE_STRATEGIES = ("dap", "darts", "stacnas", "relative")


def add_parser(subparsers) -> None:
    from evonas.registry import evaluators, executors, operators, spaces, strategies

    search = subparsers.add_parser(
        "search", help="evolutionary search over a space",
        description="Run an evolutionary search; settings come from flags and/or a TOML/YAML --config file. "
                    "The components it can combine are listed below.",
        epilog=registry_help(("search spaces (--space)", spaces), ("strategies (--strategy)", strategies),
                             ("evaluators (--evaluator)", evaluators),
                             ("operators (--strategy-opt mutation='\"NAME\"' / crossover='\"NAME\"')", operators),
                             ("executors (--executor)", executors)))
    search.add_argument("--config", help="TOML or YAML file with the settings (flags override it)")
    search.add_argument("--space", help="search space (one of the search spaces listed below)")
    search.add_argument("--strategy", help="search strategy (one of the strategies listed below)")
    search.add_argument("--evaluator", nargs="+",
                        help="evaluator(s) listed below (several: their results are merged)")
    search.add_argument("--objectives", nargs="+", metavar="NAME[:min|max]",
                        help="objectives among the evaluator's values, e.g. params:min latency:min")
    search.add_argument("--constraint", action="append", metavar="EXPR", help="e.g. 'flops <= 300e6' (repeatable)")
    search.add_argument("--budget", type=POSITIVE_INT, help="distinct architectures to evaluate")
    search.add_argument("--pop-size", type=POSITIVE_INT)
    search.add_argument("--seed", type=COUNT)
    search.add_argument("--run-dir")
    search.add_argument("--resume", metavar="RUN_DIR", help="continue a killed search")
    search.add_argument("--space-opt", action="append", metavar="KEY=VALUE")
    search.add_argument("--strategy-opt", action="append", metavar="KEY=VALUE",
                        help="e.g. screen='{\"candidates\": 10}' (predictor-guided evolution: evolution, ga, nsga2, "
                        "deap-ga, deap-nsga2, ...)")
    search.add_argument("--evaluator-opt", action="append", metavar="[EVALUATOR.]KEY=VALUE",
                        help="e.g. cost.net_kwargs='{\"C\": 16, \"layers\": 8}' (prefix needed with several)")
    search.add_argument("--executor", help="where batches are evaluated (one of the executors listed below; "
                        "default local)")
    search.add_argument("--workers", type=POSITIVE_INT,
                        help="worker processes / Ray actors (default: the CPU count; for ray, one per GPU when the "
                             "cluster has GPUs)")
    search.add_argument("--address", help="--executor ray: the cluster to join ('auto': the one `ray start` began "
                        "on this node, ray://HOST:10001 a remote one; default: a private local cluster)")
    search.add_argument("--report-every", type=int, metavar="N", help="write RUN_DIR/report.html (evonas report) "
                        "every N generations and at the end")
    search.add_argument("--tensorboard", metavar="DIR", help="log values, hypervolume, the front and supernet "
                        "training to TensorBoard event files in DIR")
    search.add_argument("--checkpoint-every", type=NON_NEGATIVE, metavar="SECONDS",
                        help="seconds between checkpoints of the run directory (default 2; 0: after every "
                             "generation; the first and last generation always write one)")
    search.add_argument("--smoke", nargs="?", type=POSITIVE_INT, const=2, metavar="STEPS",
                        help="a smoke run: every phase of the strategy's setting (e.g. --strategy-opt published=true) "
                             "at full size for STEPS (2) steps, printing and writing RUN_DIR/smoke.json (seconds per "
                             "step, peak memory, projected cost of the full run); strategies with a smoke mode: "
                             + ", ".join(SMOKE_STRATEGIES))
    search.add_argument("--quiet", action="store_true", help="no progress bar, warnings only")
    search.add_argument("--no-plots", dest="plots", action="store_false",
                        help="do not draw progress.png / pareto.png at the end (matplotlib: about half a second a "
                             "run, whatever its length; history.csv, front.json and checkpoints are still written)")
    search.set_defaults(handler=run)


def executor_options(args: argparse.Namespace) -> dict | None:
    """The executor's options from --workers / --address (None: its defaults)."""
    if args.address and args.executor != "ray":
        raise ConfigError("--address is an option of --executor ray")
    options = {"workers": args.workers} if args.workers is not None else {}
    if args.address:
        options["address"] = args.address
    return options or None


def _config(args: argparse.Namespace):
    """The search's :class:`~evonas.search_config.SearchConfig`: the resumed run's, or file + flags."""
    from evonas.search_config import fill_published, load_config_file, make_config, parse_options

    if args.resume:
        from evonas.runtime.run_dir import RunDir

        fixed = [flag for flag, value in (
            ("--config", args.config), ("--space", args.space), ("--strategy", args.strategy),
            ("--evaluator", args.evaluator), ("--objectives", args.objectives), ("--constraint", args.constraint),
            ("--pop-size", args.pop_size), ("--seed", args.seed), ("--space-opt", args.space_opt),
            ("--strategy-opt", args.strategy_opt), ("--evaluator-opt", args.evaluator_opt), ("--smoke", args.smoke),
            ("--run-dir", args.run_dir if args.run_dir != args.resume else None)) if value is not None]
        if fixed:
            raise ConfigError(f"--resume continues {args.resume} with the settings it was started with; "
                              f"{', '.join(fixed)} cannot change (only --budget, where it runs: --executor, "
                              "--workers, --address, and --checkpoint-every)")

        saved = RunDir(args.resume).read_json("search.json")
        return make_config(saved, {"run_dir": args.resume, "budget": args.budget})
    file_values = load_config_file(args.config) if args.config else {}
    overrides = {key: getattr(args, key) for key in ("space", "strategy", "evaluator", "budget", "seed", "run_dir")}
    overrides["objectives"] = args.objectives
    overrides["constraints"] = args.constraint
    config = make_config(file_values, overrides)
    for flag, name in (("space_opt", "space_options"), ("strategy_opt", "strategy_options"),
                       ("evaluator_opt", "evaluator_options")):
        getattr(config, name).update(parse_options(getattr(args, flag)))
    if args.pop_size is not None:
        config.strategy_options["pop_size"] = args.pop_size
    if args.smoke is not None:
        _check_smoke(config.strategy)
        config.strategy_options["smoke_steps"] = args.smoke
    given = set(file_values) | {key for key, value in overrides.items() if value is not None}
    for line in fill_published(config, given):
        print(f"evonas: the strategy's settings fix the {line}", file=sys.stderr)
    if config.run_dir is None:
        config.run_dir = f"runs/search-{config.space}-{config.strategy}-seed{config.seed}"
    return config


def _check_smoke(name: str) -> None:
    """``--smoke`` needs a strategy with a smoke mode (a ``smoke_steps`` option): a one-line error otherwise."""
    import inspect

    from evonas.registry import strategies

    factory = strategies.get(name)
    classes = getattr(factory, "__mro__", (factory,))  # a subclass may pass it on to its base (**config)
    if not any("smoke_steps" in inspect.signature(getattr(c, "__init__", c)).parameters for c in classes
               if c is not object):
        raise ConfigError(f"--smoke: strategy {name!r} has no smoke mode; strategies with one: "
                          f"{', '.join(SMOKE_STRATEGIES)}")


def run(args: argparse.Namespace) -> int:
    from evonas.loop import CHECKPOINT, search
    from evonas.runtime.checkpoint import has_checkpoint
    from evonas.runtime.executors import resolve_executor
    from evonas.runtime.run_dir import RunDir
    from evonas.search_config import build_components

    config = _config(args)
    space, strategy, evaluator = build_components(config)
    executor = resolve_executor(args.executor, **(executor_options(args) or {}))  # bad options: nothing written
    run_dir = RunDir(config.run_dir)
    callbacks = _view_callbacks(args, run_dir.path)
    with run_dir.locked():  # held from here to the end; search() writes search.json as a Python run does
        if not args.resume and has_checkpoint(run_dir.path / CHECKPOINT):
            raise ConfigError(f"{run_dir.path} already holds a search; continue it with --resume {run_dir.path}")
        result = search(space, strategy, evaluator, budget=config.budget, seed=config.seed, run_dir=config.run_dir,
                        constraints=config.constraints, resume=bool(args.resume), progress=not args.quiet,
                        plots=args.plots, executor=executor, callbacks=callbacks,
                        **({} if args.checkpoint_every is None else {"checkpoint_every": args.checkpoint_every}))
    print(front_table(result))
    if config.constraints and result.individuals and not result.feasible:
        print(f"evonas: warning: none of the {len(result.individuals)} architectures met the constraint(s) "
              f"{', '.join(config.constraints)}, so the front is empty; loosen them (history.csv has each "
              "architecture's feasibility)", file=sys.stderr)
    chosen = strategy.chosen()
    if chosen is not None:  # a strategy with its own final-architecture rule (RelativeNAS)
        print(f"chosen architecture: {space.key(chosen)} ({Path(config.run_dir) / 'chosen.json'})")
    for name in strategy.result_files():
        print(f"also written: {Path(config.run_dir) / name}")
    print(f"{len(result.individuals)} evaluations; results in {config.run_dir} (history.csv, front.json"
          f"{', plots' if args.plots else ''})")
    for callback in callbacks:
        if getattr(callback, "written", None) is not None:
            print(f"report: {callback.written}")
    return 0


def _view_callbacks(args: argparse.Namespace, run_dir: Path) -> list:
    """The --report-every / --tensorboard callbacks (:mod:`evonas.report`)."""
    callbacks = []
    if args.report_every is not None:
        from evonas.report.live import ReportCallback

        if args.report_every < 1:
            raise ConfigError(f"--report-every takes a positive number of generations, got {args.report_every}")
        callbacks.append(ReportCallback(run_dir, every=args.report_every))
    if args.tensorboard:
        from evonas.report.tensorboard import TensorBoardCallback

        callbacks.append(TensorBoardCallback(args.tensorboard))
    return callbacks


def front_table(result) -> str:
    """The Pareto front of a :class:`~evonas.result.SearchResult` as an aligned text table."""
    names = [o.name for o in result.objectives]
    header = ["#", "gen", *[f"{o.name} ({o.direction})" for o in result.objectives], "key"]
    rows = [[str(i), str(ind.generation), *[f"{ind.values[n]:.6g}" for n in names], ind.key[:48]]
            for i, ind in enumerate(result.front)]
    return f"Pareto front ({len(result.front)} architectures):\n" + format_table(header, rows)
