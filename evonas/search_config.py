"""Search settings from the command line or a TOML / YAML file, and the components they name.

A config file holds the same settings as the ``evonas search`` flags::

    # search.toml
    space = "darts"
    strategy = "nsga2"
    evaluator = "cost"
    objectives = ["params:min", "flops:min"]
    constraints = ["flops <= 300e6"]
    budget = 200
    seed = 0
    run_dir = "runs/pareto"

    [space_options]
    [strategy_options]
    pop_size = 20
    [evaluator_options]
    metrics = ["params", "flops", "latency"]

Flags given on the command line override the file. A key that is not a
setting is an error naming it (with the closest valid key), and so is an
option a space, strategy or evaluator does not take (checked against the
keyword arguments its factory accepts).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

from evonas.errors import ConfigError
from evonas.evaluators.base import SelectObjectives, parse_objective
from evonas.registry import evaluators, spaces, strategies
from evonas.training.config import config_from_dict


@dataclass
class SearchConfig:
    """Everything ``evonas search`` needs; see the module docstring."""

    space: str = "darts"
    strategy: str = "nsga2"
    evaluator: str | list[str] = "cost"  # several: their results are merged (CompositeEvaluator)
    objectives: list[str] = field(default_factory=list)  # empty: the evaluator's own objectives
    constraints: list[str] = field(default_factory=list)
    budget: int = 100
    seed: int = 0
    run_dir: str | None = None
    space_options: dict[str, Any] = field(default_factory=dict)
    strategy_options: dict[str, Any] = field(default_factory=dict)
    evaluator_options: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def load_config_file(path: str | Path) -> dict:
    """Read a TOML (``.toml``) or YAML (``.yaml`` / ``.yml``) settings file."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"config file {path} is a directory; expected a TOML or YAML file (.toml, .yaml, .yml)")
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".toml":
        try:
            import tomllib
        except ModuleNotFoundError:  # Python 3.10
            import tomli as tomllib
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: invalid TOML ({exc})") from exc
    elif path.suffix in (".yaml", ".yml"):
        try:
            import yaml
        except ModuleNotFoundError as exc:
            raise ConfigError("YAML config files need PyYAML: pip install pyyaml (or use TOML)") from exc
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: invalid YAML ({exc})") from exc
    else:
        raise ConfigError(f"{path}: config files must end in .toml, .yaml or .yml")
    if not isinstance(data, dict):
        raise ConfigError(f"{path} does not hold a table of settings")
    return data


def make_config(file_values: dict | None = None, overrides: dict | None = None) -> SearchConfig:
    """Merge a file's settings with command-line overrides (None values are ignored)."""
    values = dict(file_values or {})
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    config = config_from_dict(SearchConfig, values)
    for name in ("space_options", "strategy_options", "evaluator_options"):
        if not isinstance(getattr(config, name), dict):
            raise ConfigError(f"{name} must be a table of settings")
    return config


def parse_options(pairs: list[str] | None) -> dict[str, Any]:
    """``["pop_size=20", "metrics=[\\"params\\"]"]`` -> dict; values are JSON when they parse as JSON."""
    options: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"option {pair!r} must look like KEY=VALUE")
        try:
            options[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            options[key.strip()] = raw
    return options


def evaluator_tables(names: str | list[str], options: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The options of each named evaluator: ``options`` may hold one table per evaluator (``{"supernet": {...},
    "cost": {...}}``); keys written ``name.option`` are sorted into those tables; with one evaluator plain keys
    work too. ConfigError for a key that names no evaluator when there are several."""
    names = [names] if isinstance(names, str) else list(names)
    if not names:
        raise ConfigError("name at least one evaluator")
    tables: dict[str, dict[str, Any]] = {name: {} for name in names}
    for key, value in options.items():
        if key in tables and isinstance(value, dict):
            tables[key].update(value)
            continue
        owner, dot, option = key.partition(".")
        if dot and owner in tables:
            tables[owner][option] = value
        elif len(names) == 1:
            tables[names[0]][key] = value
        else:
            raise ConfigError(f"evaluator option {key!r}: with several evaluators write EVALUATOR.OPTION "
                              f"(one of {', '.join(names)})")
    return tables


def build_evaluator(names: str | list[str], options: dict[str, Any], constraints: Sequence[Any] = ()):
    """One evaluator, or a CompositeEvaluator of several.

    ``options``: see :func:`evaluator_tables`. An option the evaluator does
    not take is a ConfigError with the closest valid name. ``constraints``
    gate the composite: an architecture that violates one on the values of
    the evaluators named first is not sent to the later ones (name cheap
    evaluators first).
    """
    from evonas.evaluators.base import CompositeEvaluator

    names = [names] if isinstance(names, str) else list(names)
    tables = evaluator_tables(names, options)
    if len(names) == 1:
        return evaluators.create(names[0], **tables[names[0]])
    return CompositeEvaluator([evaluators.create(name, **tables[name]) for name in names],
                              constraints=constraints)


def fill_published(config: SearchConfig, given: set[str]) -> list[str]:
    """Fill in what the strategy's settings fix outside its own options
    (:meth:`~evonas.strategies.base.Strategy.published_components`, e.g. RelativeNAS' weight set under
    ``published=True``) where its user set nothing: ``space`` / ``evaluator`` when not in ``given`` (the names
    of the settings the user set), and their options under the user's own (which win). Returns one line per
    component filled in, for the user to read."""
    fixed = strategies.create(config.strategy, **config.strategy_options).published_components()
    filled = []
    for kind in ("space", "evaluator"):
        if kind not in fixed:
            continue
        if kind not in given:
            setattr(config, kind, fixed[kind])
        names = getattr(config, kind)
        if (names if isinstance(names, str) else list(names)) not in (fixed[kind], [fixed[kind]]):
            continue  # the user's own component: its options are the user's too
        options = fixed.get(f"{kind}_options", {})
        ours = getattr(config, f"{kind}_options")
        setattr(config, f"{kind}_options", {**options, **ours})
        shown = ", ".join(f"{k}={json.dumps(v)}" for k, v in options.items() if k not in ours)
        filled.append(f"{kind} {fixed[kind]}" + (f" with {shown}" if shown else ""))
    return filled


def build_components(config: SearchConfig):
    """Create ``(space, strategy, evaluator)`` from their registry names and options."""
    space = spaces.create(config.space, **config.space_options)
    strategy = strategies.create(config.strategy, **config.strategy_options)
    evaluator = build_evaluator(config.evaluator, config.evaluator_options, config.constraints)
    if config.objectives:
        evaluator = SelectObjectives(evaluator, [parse_objective(o) for o in config.objectives])
    return space, strategy, evaluator


__all__ = ["SearchConfig", "build_components", "build_evaluator", "evaluator_tables", "fill_published",
           "load_config_file", "make_config", "parse_options"]
